package cli

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/pflag"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"expiry-sync/workflows"
)

// Limits of a schedule's settings.
const (
	minInterval      = time.Minute      // shorter intervals would overlap every sync
	minCatchupWindow = 10 * time.Second // Temporal raises anything shorter to this
	// defaultCatchupWindow is what Temporal applies when none is set.
	defaultCatchupWindow = 365 * 24 * time.Hour
	maxScheduleIDLen     = 200
)

var scheduleIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

// overlapPolicies are the --overlap-policy values, in the order the help lists them.
var overlapPolicies = []struct {
	name   string
	policy enumspb.ScheduleOverlapPolicy
}{
	{"skip", enumspb.SCHEDULE_OVERLAP_POLICY_SKIP},
	{"buffer-one", enumspb.SCHEDULE_OVERLAP_POLICY_BUFFER_ONE},
	{"buffer-all", enumspb.SCHEDULE_OVERLAP_POLICY_BUFFER_ALL},
	{"allow-all", enumspb.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL},
	{"cancel-other", enumspb.SCHEDULE_OVERLAP_POLICY_CANCEL_OTHER},
	{"terminate-other", enumspb.SCHEDULE_OVERLAP_POLICY_TERMINATE_OTHER},
}

func overlapNames() []string {
	names := make([]string, len(overlapPolicies))
	for i, p := range overlapPolicies {
		names[i] = p.name
	}
	return names
}

// overlapName spells a policy as --overlap-policy does; unspecified is
// Temporal's default, skip.
func overlapName(p enumspb.ScheduleOverlapPolicy) string {
	if p == enumspb.SCHEDULE_OVERLAP_POLICY_UNSPECIFIED {
		return "skip"
	}
	for _, o := range overlapPolicies {
		if o.policy == p {
			return o.name
		}
	}
	return strings.ToLower(strings.TrimPrefix(p.String(), "SCHEDULE_OVERLAP_POLICY_"))
}

// overlapFlag is --overlap-policy. It also takes the official CLI's
// spellings (Skip, BufferOne, ...).
type overlapFlag enumspb.ScheduleOverlapPolicy

func (f *overlapFlag) String() string { return overlapName(enumspb.ScheduleOverlapPolicy(*f)) }
func (f *overlapFlag) Type() string   { return "policy" }
func (f *overlapFlag) Set(s string) error {
	norm := strings.NewReplacer("-", "", "_", "").Replace(strings.ToLower(strings.TrimSpace(s)))
	for _, p := range overlapPolicies {
		if strings.ReplaceAll(p.name, "-", "") == norm {
			*f = overlapFlag(p.policy)
			return nil
		}
	}
	return fmt.Errorf("allowed %s", strings.Join(overlapNames(), ", "))
}

// durationFlag is a duration flag whose parse error says what is allowed.
type durationFlag struct{ d time.Duration }

// String is empty for 0 so that the help shows no "(default 0s)".
func (f *durationFlag) String() string {
	if f.d == 0 {
		return ""
	}
	return formatDuration(f.d)
}
func (f *durationFlag) Type() string { return "duration" }
func (f *durationFlag) Set(s string) error {
	d, err := parseDuration(s)
	f.d = d
	return err
}

func parseDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return 0, errors.New("not a duration: use a number with a unit, e.g. 90s, 30m, 6h or 24h")
	}
	return d, nil
}

// intervalFlag is --interval: EVERY or EVERY/OFFSET, as the official CLI
// takes it (60m/15m runs at a quarter past each hour).
type intervalFlag struct{ every, offset time.Duration }

// String is empty when unset so that the help shows no default.
func (f *intervalFlag) String() string {
	if f.every == 0 {
		return ""
	}
	return f.text()
}

func (f *intervalFlag) text() string {
	if f.offset == 0 {
		return formatDuration(f.every)
	}
	return formatDuration(f.every) + "/" + formatDuration(f.offset)
}
func (f *intervalFlag) Type() string { return "duration[/offset]" }
func (f *intervalFlag) Set(s string) error {
	every, offset, hasOffset := strings.Cut(s, "/")
	var err error
	if f.every, err = parseDuration(every); err != nil {
		return err
	}
	f.offset = 0
	if hasOffset {
		f.offset, err = parseDuration(offset)
	}
	return err
}

// timeFlag is an RFC 3339 time; "" means none.
type timeFlag struct{ t time.Time }

func (f *timeFlag) String() string {
	if f.t.IsZero() {
		return ""
	}
	return f.t.Format(time.RFC3339)
}
func (f *timeFlag) Type() string { return "time" }
func (f *timeFlag) Set(s string) error {
	if strings.TrimSpace(s) == "" {
		f.t = time.Time{}
		return nil
	}
	t, err := time.Parse(time.RFC3339, strings.TrimSpace(s))
	if err != nil {
		return errors.New("not a time: use RFC 3339, e.g. 2026-12-01T02:00:00Z or 2026-12-01T10:00:00+08:00")
	}
	f.t = t
	return nil
}

// formatDuration prints 1h instead of 1h0m0s; it parses back with time.ParseDuration.
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// scheduleOptions are the flags of `schedule create` and `schedule update`,
// named as the official CLI's `temporal schedule create`.
type scheduleOptions struct {
	input          workflows.SyncInput
	target         target // create only: update keeps the schedule's
	cron           string
	interval       intervalFlag
	overlap        overlapFlag
	timezone       string
	jitter         durationFlag
	catchup        durationFlag
	startTime      timeFlag
	endTime        timeFlag
	pauseOnFailure bool
	paused         bool
	notes          string
}

// scheduleFlags are the schedule's own flags `update` may change (besides
// the sync knobs).
var scheduleFlags = []string{"cron", "interval", "time-zone", "jitter", "overlap-policy", "catchup-window",
	"start-time", "end-time", "pause-on-failure", "paused", "notes"}

func addScheduleFlags(f *pflag.FlagSet, o *scheduleOptions) {
	addSyncInputFlags(f, &o.input)
	o.overlap = overlapFlag(enumspb.SCHEDULE_OVERLAP_POLICY_SKIP)
	f.StringVar(
		&o.cron,
		"cron",
		"",
		`run a sync at the times of this cron expression: "minute hour day-of-month month day-of-week", e.g. `+
			`"0 2 * * *" (02:00 every day), or @hourly, @daily, @weekly, @monthly`,
	)
	f.Var(
		&o.interval,
		"interval",
		"run a sync at this interval, e.g. 6h, or 60m/15m for a quarter past each hour (at least 1m); "+
			"runs fall on multiples of the interval since the Unix epoch, plus the offset",
	)
	f.StringVar(&o.timezone, "time-zone", "UTC", "IANA time zone in which --cron is read, e.g. Asia/Shanghai")
	f.Var(
		&o.overlap,
		"overlap-policy",
		"what to do when a sync is due while the previous one still runs: "+strings.Join(overlapNames(), ", "),
	)
	f.Var(&o.jitter, "jitter", "start each sync up to this much later, at random (spreads load), e.g. 5m")
	f.Var(
		&o.catchup,
		"catchup-window",
		"after a Temporal outage, still start the syncs missed within this window (at least 10s; "+
			"0 keeps Temporal's default of one year)",
	)
	f.Var(&o.startTime, "start-time", "start no sync before this time (RFC 3339)")
	f.Var(&o.endTime, "end-time", "start no sync after this time (RFC 3339)")
	f.BoolVar(&o.pauseOnFailure, "pause-on-failure", false, "pause the schedule when a sync fails")
	f.BoolVar(&o.paused, "paused", false, "create the schedule paused")
	f.StringVar(&o.notes, "notes", "", "a note kept on the schedule, e.g. who asked for it and why")
}

// validateScheduleID checks an ID given to create.
func validateScheduleID(id string) error {
	if len(id) > maxScheduleIDLen || !scheduleIDPattern.MatchString(id) {
		return fmt.Errorf(
			"schedule ID %q is invalid: allowed 1..%d characters of A-Z a-z 0-9 . _ -",
			id,
			maxScheduleIDLen,
		)
	}
	return nil
}

// validate checks the flags that were given (all of them for create: their
// defaults are valid) before anything is dialed.
func (o *scheduleOptions) validate(changed func(string) bool, creating bool) error {
	if err := o.validateTimes(changed, creating); err != nil {
		return err
	}
	if changed("time-zone") || creating {
		if err := validateTimezone(o.timezone); err != nil {
			return err
		}
	}
	if o.jitter.d < 0 {
		return fmt.Errorf("--jitter=%s is out of range: allowed 0s or more", formatDuration(o.jitter.d))
	}
	if o.catchup.d != 0 && o.catchup.d < minCatchupWindow {
		return fmt.Errorf(
			"--catchup-window=%s is out of range: allowed %s or more (Temporal's minimum), "+
				"or 0 for Temporal's default of one year",
			formatDuration(o.catchup.d),
			formatDuration(minCatchupWindow),
		)
	}
	if start, end := o.startTime.t, o.endTime.t; !start.IsZero() && !end.IsZero() && !end.After(start) {
		return fmt.Errorf("--end-time=%s is not after --start-time=%s", o.endTime.String(), o.startTime.String())
	}
	_, err := validateFlags(o.input)
	return err
}

// validateTimes checks --cron and --interval.
func (o *scheduleOptions) validateTimes(changed func(string) bool, creating bool) error {
	cron, interval := changed("cron"), changed("interval")
	switch {
	case cron && interval:
		return errors.New("--cron and --interval cannot be combined: give exactly one")
	case creating && !cron && !interval:
		return errors.New(
			"give exactly one of --cron EXPR or --interval DURATION (see 'starter schedule create --help')",
		)
	}
	if cron {
		expr := strings.TrimSpace(o.cron)
		switch {
		case expr == "":
			return errors.New(`--cron "" is empty: give a cron expression such as "0 2 * * *" or @daily`)
		case strings.HasPrefix(expr, "@every"):
			return fmt.Errorf("--cron %q: use --interval for intervals, e.g. --interval 6h", o.cron)
		case strings.HasPrefix(expr, "TZ=") || strings.HasPrefix(expr, "CRON_TZ="):
			return fmt.Errorf("--cron %q: give the time zone with --time-zone, not in the expression", o.cron)
		}
	}
	if interval {
		switch iv := o.interval; {
		case iv.every < minInterval:
			return fmt.Errorf(
				"--interval=%s is out of range: allowed %s or more",
				iv.text(),
				formatDuration(minInterval),
			)
		case iv.offset < 0 || iv.offset >= iv.every:
			return fmt.Errorf("--interval=%s: the offset is out of range: allowed 0s up to the interval", iv.text())
		}
	}
	return nil
}

func validateTimezone(tz string) error {
	bad := fmt.Errorf(
		"--time-zone %q is not a known time zone: use an IANA name such as UTC, Asia/Shanghai or Europe/Berlin",
		tz,
	)
	if strings.TrimSpace(tz) == "" || tz == "Local" {
		return bad
	}
	if _, err := time.LoadLocation(tz); err != nil {
		return bad
	}
	return nil
}

// applySpec sets the schedule's times from the flags that were given.
func (o *scheduleOptions) applySpec(spec *client.ScheduleSpec, changed func(string) bool) {
	if changed("cron") {
		spec.CronExpressions, spec.Calendars, spec.Intervals = []string{strings.TrimSpace(o.cron)}, nil, nil
	}
	if changed("interval") {
		spec.Intervals = []client.ScheduleIntervalSpec{{Every: o.interval.every, Offset: o.interval.offset}}
		spec.Calendars, spec.CronExpressions = nil, nil
	}
	if changed("time-zone") || spec.TimeZoneName == "" {
		spec.TimeZoneName = o.timezone
	}
	if changed("jitter") {
		spec.Jitter = o.jitter.d
	}
	if changed("start-time") {
		spec.StartAt = o.startTime.t
	}
	if changed("end-time") {
		spec.EndAt = o.endTime.t
	}
}

// applyPolicies sets the schedule's policies and state from the flags given.
func (o *scheduleOptions) applyPolicies(
	p *client.SchedulePolicies,
	s *client.ScheduleState,
	changed func(string) bool,
) {
	if changed("overlap-policy") {
		p.Overlap = enumspb.ScheduleOverlapPolicy(o.overlap)
	}
	if changed("catchup-window") {
		p.CatchupWindow = o.catchup.d
	}
	if changed("pause-on-failure") {
		p.PauseOnFailure = o.pauseOnFailure
	}
	if changed("paused") {
		s.Paused = o.paused
	}
	if changed("notes") {
		s.Note = o.notes
	}
}
