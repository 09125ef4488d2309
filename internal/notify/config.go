// Package notify works out and sends renewal reminders: the routes file,
// the owner routing and thresholds, the digests in Chinese and English, and
// the channels (a signed generic webhook, DingTalk, Feishu/Lark, WeCom,
// Slack, e-mail). docs/notify.md describes the configuration.
package notify

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // routes name time zones; do not depend on the host having them

	"go.yaml.in/yaml/v3"

	"expiry-sync/internal/contract"
)

// ConfigEnv names the variable that holds the routes file's path.
const ConfigEnv = "EXPIRY_SYNC_NOTIFY_FILE"

// Defaults of the routes file.
var (
	DefaultOwnerKeys  = []string{"owner", "负责人", "team"}
	DefaultThresholds = Thresholds{30, 7, 1, Overdue}
)

// Overdue is the threshold of resources already past their expire time.
const Overdue = contract.OverdueThreshold

// Languages a digest is written in.
var Languages = []string{"zh", "en"}

// Config is the routes file.
type Config struct {
	// OwnerKeys: the tag keys naming a resource's owner, first present wins.
	OwnerKeys []string `yaml:"owner_keys"`
	// DefaultRoute receives the resources of no owner, or of an owner no
	// route names.
	DefaultRoute string `yaml:"default_route"`
	// Thresholds, Language, TimeZone and IncludeAutoRenew are the routes'
	// defaults.
	Thresholds       Thresholds `yaml:"thresholds"`
	Language         string     `yaml:"language"`
	TimeZone         string     `yaml:"time_zone"`
	IncludeAutoRenew bool       `yaml:"include_auto_renew"`
	// People maps owner tag values to their ids on the chat platforms: a
	// message mentions the owners of its resources (mention.go).
	People map[string]*Person `yaml:"people"`
	// AfterSync: send the due reminders right after each successful sync
	// of the account (the default); false sends them only when a reminders
	// run is started otherwise (starter notify schedule, or by hand).
	AfterSync *bool `yaml:"after_sync"`
	// Channels by name; routes refer to them.
	Channels map[string]*Channel `yaml:"channels"`
	Routes   []*Route            `yaml:"routes"`
}

// Route sends the reminders of some owners to some channels.
type Route struct {
	Name string `yaml:"name"`
	// Owners: owner tag values, matched exactly; Match: glob patterns
	// (path.Match syntax: *, ?, [a-z]) on the owner tag value.
	Owners     []string   `yaml:"owners"`
	Match      []string   `yaml:"match"`
	Channels   []string   `yaml:"channels"`
	Thresholds Thresholds `yaml:"thresholds"`
	Language   string     `yaml:"language"`
	// TimeZone: an IANA name (default the file's, else UTC); expire times
	// are written in it, and quiet hours without a timezone of their own
	// are in it.
	TimeZone   string      `yaml:"time_zone"`
	QuietHours *QuietHours `yaml:"quiet_hours"`
	// IncludeAutoRenew: also remind resources that renew automatically
	// (expire_policy 3); nil means the file's default.
	IncludeAutoRenew *bool `yaml:"include_auto_renew"`
	loc              *time.Location
}

// QuietHours is a daily window in which a route is not sent to; a run
// waits until it ends.
type QuietHours struct {
	Start    string `yaml:"start"` // "22:00"
	End      string `yaml:"end"`   // "08:00"; before Start means overnight
	TimeZone string `yaml:"timezone"`
	loc      *time.Location
	start    time.Duration
	end      time.Duration
}

// Thresholds are days before expiry, Overdue (0) for expired resources;
// in the file a number of days or the word "overdue".
type Thresholds []int

// UnmarshalYAML reads numbers and "overdue".
func (t *Thresholds) UnmarshalYAML(n *yaml.Node) error {
	var raw []string
	if err := n.Decode(&raw); err != nil {
		return fmt.Errorf("line %d: thresholds must be a list of days or \"overdue\", e.g. [30, 7, 1, overdue]", n.Line)
	}
	out := Thresholds{}
	for _, r := range raw {
		if strings.EqualFold(r, "overdue") {
			out = append(out, Overdue)
			continue
		}
		d, err := strconv.Atoi(r)
		if err != nil || d < 1 || d > 3650 {
			return fmt.Errorf(
				"line %d: threshold %q is not allowed: use a number of days 1..3650 or \"overdue\"",
				n.Line,
				r,
			)
		}
		out = append(out, d)
	}
	*t = out
	return nil
}

// LoadFromEnv reads the file ConfigEnv names; nil when it is unset.
func LoadFromEnv() (*Config, error) {
	p := os.Getenv(ConfigEnv)
	if p == "" {
		return nil, nil
	}
	return Load(p)
}

// Load reads, checks and completes a routes file. Secrets are checked to
// be references, not read: channels read them when they send.
func Load(file string) (*Config, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("%s=%s cannot be read: %w", ConfigEnv, file, errors.Unwrap(err))
	}
	c, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s (%s): %w", file, ConfigEnv, err)
	}
	return c, nil
}

// Parse reads a routes file's content.
func Parse(b []byte) (*Config, error) {
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return nil, errors.New(strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if err := c.complete(); err != nil {
		return nil, err
	}
	return &c, nil
}

func (c *Config) complete() error {
	if len(c.OwnerKeys) == 0 {
		c.OwnerKeys = DefaultOwnerKeys
	}
	if c.Thresholds == nil {
		c.Thresholds = DefaultThresholds
	}
	if c.Language == "" {
		c.Language = "en"
	}
	if err := checkLanguage("language", c.Language); err != nil {
		return err
	}
	if c.TimeZone == "" {
		c.TimeZone = "UTC"
	}
	if _, err := loadZone("time_zone", c.TimeZone); err != nil {
		return err
	}
	if err := c.checkPeople(); err != nil {
		return err
	}
	for name, ch := range c.Channels {
		if ch == nil {
			return fmt.Errorf("channels.%s is empty: give it a type, one of %s", name, strings.Join(ChannelTypes, ", "))
		}
		ch.Name, ch.cfg = name, c
		if err := ch.check(); err != nil {
			return fmt.Errorf("channels.%s: %w", name, err)
		}
	}
	seen := map[string]bool{}
	for i, r := range c.Routes {
		if r == nil || r.Name == "" {
			return fmt.Errorf("routes[%d] has no name", i)
		}
		if seen[r.Name] {
			return fmt.Errorf("routes[%d]: the name %q is used twice", i, r.Name)
		}
		seen[r.Name] = true
		if err := c.completeRoute(r); err != nil {
			return fmt.Errorf("routes[%d] (%s): %w", i, r.Name, err)
		}
	}
	if c.DefaultRoute == "" {
		return errors.New("default_route is not set: name the route that gets the resources of no known owner")
	}
	if c.Route(c.DefaultRoute) == nil {
		return fmt.Errorf(
			"default_route %q is not a route: allowed %s",
			c.DefaultRoute,
			strings.Join(c.RouteNames(), ", "),
		)
	}
	return nil
}

func (c *Config) completeRoute(r *Route) error {
	if r.Thresholds == nil {
		r.Thresholds = c.Thresholds
	}
	if len(r.Thresholds) == 0 {
		return errors.New("thresholds is empty: list days before expiry and/or overdue")
	}
	r.Thresholds = slices.Clone(r.Thresholds)
	slices.Sort(r.Thresholds)
	r.Thresholds = slices.Compact(r.Thresholds)
	if r.Language == "" {
		r.Language = c.Language
	}
	if err := checkLanguage("language", r.Language); err != nil {
		return err
	}
	if r.TimeZone == "" {
		r.TimeZone = c.TimeZone
	}
	var err error
	if r.loc, err = loadZone("time_zone", r.TimeZone); err != nil {
		return err
	}
	if r.IncludeAutoRenew == nil {
		r.IncludeAutoRenew = &c.IncludeAutoRenew
	}
	for _, m := range r.Match {
		if _, err := path.Match(m, ""); err != nil {
			return fmt.Errorf("match %q is not a valid pattern (path.Match syntax: *, ?, [a-z])", m)
		}
	}
	if len(r.Channels) == 0 {
		return errors.New("channels is empty: name at least one channel")
	}
	for _, name := range r.Channels {
		if c.Channels[name] == nil {
			return fmt.Errorf("channel %q is not defined: allowed %s", name, strings.Join(c.ChannelNames(), ", "))
		}
	}
	if r.QuietHours != nil {
		if r.QuietHours.TimeZone == "" { // the route's
			r.QuietHours.TimeZone = r.TimeZone
		}
		if err := r.QuietHours.parse(); err != nil {
			return fmt.Errorf("quiet_hours: %w", err)
		}
	}
	return nil
}

func checkLanguage(field, v string) error {
	if !slices.Contains(Languages, v) {
		return fmt.Errorf("%s %q is not allowed: use one of %s", field, v, strings.Join(Languages, ", "))
	}
	return nil
}

// loadZone reads an IANA time zone name; "Local" (the worker host's zone)
// is refused: a routes file means the same on every worker.
func loadZone(field, name string) (*time.Location, error) {
	loc, err := time.LoadLocation(name)
	if err != nil || name == "Local" {
		return nil, fmt.Errorf("%s %q is unknown: use an IANA name such as Asia/Shanghai or Europe/Berlin", field, name)
	}
	return loc, nil
}

// Location is the route's time zone.
func (r *Route) Location() *time.Location {
	if r.loc == nil {
		return time.UTC
	}
	return r.loc
}

// Route finds a route by name.
func (c *Config) Route(name string) *Route {
	for _, r := range c.Routes {
		if r.Name == name {
			return r
		}
	}
	return nil
}

// RouteNames lists the routes in file order.
func (c *Config) RouteNames() []string {
	var out []string
	for _, r := range c.Routes {
		out = append(out, r.Name)
	}
	return out
}

// ChannelNames lists the channels, sorted.
func (c *Config) ChannelNames() []string {
	var out []string
	for n := range c.Channels {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

func (q *QuietHours) parse() error {
	var err error
	if q.start, err = clock(q.Start); err != nil {
		return fmt.Errorf("start: %w", err)
	}
	if q.end, err = clock(q.End); err != nil {
		return fmt.Errorf("end: %w", err)
	}
	if q.start == q.end {
		return errors.New("start and end are equal: the window would be empty")
	}
	if q.TimeZone == "" {
		q.TimeZone = "UTC"
	}
	if q.loc, err = time.LoadLocation(q.TimeZone); err != nil {
		return fmt.Errorf("timezone %q is unknown: use an IANA name such as Asia/Shanghai or Europe/Berlin", q.TimeZone)
	}
	return nil
}

func clock(v string) (time.Duration, error) {
	t, err := time.Parse("15:04", v)
	if err != nil {
		return 0, fmt.Errorf("%q is not a time of day: use HH:MM, e.g. 22:00", v)
	}
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute, nil
}

// Until returns when the quiet window around t ends, or the zero time when
// t is outside it.
func (q *QuietHours) Until(t time.Time) time.Time {
	if q == nil {
		return time.Time{}
	}
	local := t.In(q.loc)
	midnight := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, q.loc)
	of := local.Sub(midnight)
	switch {
	case q.start < q.end && of >= q.start && of < q.end:
		return midnight.Add(q.end).UTC()
	case q.start > q.end && of >= q.start: // overnight, before midnight
		return midnight.AddDate(0, 0, 1).Add(q.end).UTC()
	case q.start > q.end && of < q.end: // overnight, after midnight
		return midnight.Add(q.end).UTC()
	}
	return time.Time{}
}

// SendsAfterSync says whether a successful sync sends the due reminders.
func (c *Config) SendsAfterSync() bool { return c.AfterSync == nil || *c.AfterSync }
