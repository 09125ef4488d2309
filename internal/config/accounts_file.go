package config

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"expiry-sync/internal/yamlkeys"
)

// AccountsFileEnv names the variable that holds the accounts file's path.
const AccountsFileEnv = "EXPIRY_SYNC_ACCOUNTS_FILE"

// Sites are the Huawei Cloud sites an account belongs to (huawei.SiteEndpoints).
var Sites = []string{"cn", "intl", "eu"}

// Limits of the per-account sync defaults: those of the sync's input
// (workflows.SyncInput; a test keeps them equal).
const (
	MaxExpireDays   = 3650
	MaxLookbackDays = 365
)

// TagModes are the tag modes a sync takes (workflows.TagModes).
var TagModes = []string{"per-resource", "bulk", "auto"}

// accountName: what a name may hold. It goes into workflow ids, search
// attribute queries and a VARCHAR(64) column.
var accountName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// AllowedAccountNames says what an account name may hold.
const AllowedAccountNames = "1..64 of A-Z a-z 0-9 . _ - starting with a letter or digit"

// CheckAccountName says what is wrong with an account name, if anything.
func CheckAccountName(name string) error {
	if !accountName.MatchString(name) {
		return fmt.Errorf("%q is not an account name: allowed %s", name, AllowedAccountNames)
	}
	return nil
}

// accountEntry is one account as the file writes it. Keys are referenced
// (a file or a variable), never written in the file.
type accountEntry struct {
	Name              string       `yaml:"name"`
	DomainID          string       `yaml:"domain_id"`
	CustomerID        string       `yaml:"customer_id"`
	Site              string       `yaml:"site"`
	Credentials       string       `yaml:"credentials"`
	AccessKeyFile     string       `yaml:"access_key_file"`
	AccessKeyEnv      string       `yaml:"access_key_env"`
	SecretKeyFile     string       `yaml:"secret_key_file"`
	SecretKeyEnv      string       `yaml:"secret_key_env"`
	SecurityTokenFile string       `yaml:"security_token_file"`
	SecurityTokenEnv  string       `yaml:"security_token_env"`
	BSSEndpoint       string       `yaml:"bss_endpoint"`
	TMSEndpoint       string       `yaml:"tms_endpoint"`
	HTTPTimeout       string       `yaml:"http_timeout"`
	BSSRate           *float64     `yaml:"bss_rate"`
	TMSRate           *float64     `yaml:"tms_rate"`
	Defaults          SyncDefaults `yaml:"defaults"`
}

// Defaults of an account's optional fields: those of the HUAWEI_* variables.
const (
	defaultHTTPTimeout = 30 * time.Second
	defaultBSSRate     = 10 // Huawei's documented limit per account and API
	defaultTMSRate     = 20
)

// fieldError is a problem with one field of one account.
type fieldError struct {
	field, text string
}

func (e *fieldError) Error() string { return e.field + " " + e.text }

func fieldErr(field, format string, args ...any) error {
	return &fieldError{field: field, text: fmt.Sprintf(format, args...)}
}

// account checks the entry and resolves it: the keys are read from their
// files or variables here, once, at start.
func (e accountEntry) account() (Account, error) {
	if e.Name == "" {
		return Account{}, fieldErr("name", "is missing: every account needs a name (%s)", AllowedAccountNames)
	}
	if !accountName.MatchString(e.Name) {
		return Account{}, fieldErr("name", "%q is not allowed: use %s", e.Name, AllowedAccountNames)
	}
	h := Huawei{
		DomainID: e.DomainID, Site: e.Site, Credentials: e.Credentials,
		BSSEndpoint: e.BSSEndpoint, TMSEndpoint: e.TMSEndpoint,
		HTTPTimeout: defaultHTTPTimeout, BSSRate: defaultBSSRate, TMSRate: defaultTMSRate,
	}
	if h.Site == "" {
		h.Site = Sites[0]
	}
	if h.Credentials == "" {
		h.Credentials = CredentialsKeys
	}
	if e.CustomerID != "" {
		h.DomainID, h.PartnerDomainID = e.CustomerID, e.DomainID
	}
	if err := e.checkIDs(); err != nil {
		return Account{}, err
	}
	if err := e.checkEndpoints(&h); err != nil {
		return Account{}, err
	}
	if err := e.checkDefaults(); err != nil {
		return Account{}, err
	}
	if err := e.resolveCredentials(&h); err != nil {
		return Account{}, err
	}
	return Account{Name: e.Name, Huawei: h, Defaults: e.Defaults}, nil
}

func (e accountEntry) checkIDs() error {
	switch {
	case e.DomainID == "":
		return fieldErr("domain_id", "is missing: the account (domain) id is required")
	case len(e.DomainID) > 64:
		return fieldErr("domain_id", "is %d characters long: allowed at most 64", len(e.DomainID))
	case len(e.CustomerID) > 64:
		return fieldErr("customer_id", "is %d characters long: allowed at most 64", len(e.CustomerID))
	case e.CustomerID != "" && e.CustomerID == e.DomainID:
		return fieldErr(
			"customer_id",
			"equals domain_id: customer_id names a partner's customer; leave it out for the account itself",
		)
	}
	return nil
}

func (e accountEntry) checkEndpoints(h *Huawei) error {
	if !slices.Contains(Sites, h.Site) {
		return fieldErr(
			"site",
			"%q is not a Huawei Cloud site: allowed cn (China), intl (international) or eu (Europe)",
			h.Site,
		)
	}
	for field, v := range map[string]string{"bss_endpoint": e.BSSEndpoint, "tms_endpoint": e.TMSEndpoint} {
		if v != "" && !isHTTPURL(v) {
			return fieldErr(field, "%q is not an http(s) URL: leave it out to use the site's", v)
		}
	}
	if e.HTTPTimeout != "" {
		d, err := time.ParseDuration(e.HTTPTimeout)
		if err != nil || !httpTimeoutOK(d) {
			return fieldErr("http_timeout", "%q is not allowed: use a duration 1s..10m, e.g. 30s", e.HTTPTimeout)
		}
		h.HTTPTimeout = d
	}
	for field, r := range map[string]struct {
		v   *float64
		dst *float64
	}{"bss_rate": {e.BSSRate, &h.BSSRate}, "tms_rate": {e.TMSRate, &h.TMSRate}} {
		if r.v == nil {
			continue
		}
		if *r.v < 0 || *r.v > 1000 {
			return fieldErr(
				field,
				"%g is out of range: allowed 0..1000 calls per second for the account (0 = unlimited)",
				*r.v,
			)
		}
		*r.dst = *r.v
	}
	return nil
}

func (e accountEntry) checkDefaults() error {
	d := e.Defaults
	switch {
	case d.ExpireDays < 0 || d.ExpireDays > MaxExpireDays:
		return fieldErr(
			"defaults.expire_days",
			"%d is out of range: allowed 1..%d (0 or left out: the starter's)",
			d.ExpireDays,
			MaxExpireDays,
		)
	case d.LookbackDays < 0 || d.LookbackDays > MaxLookbackDays:
		return fieldErr("defaults.lookback_days", "%d is out of range: allowed 0..%d", d.LookbackDays, MaxLookbackDays)
	case d.TagMode != "" && !slices.Contains(TagModes, d.TagMode):
		return fieldErr(
			"defaults.tag_mode",
			"%q is not allowed: use one of %s",
			d.TagMode,
			strings.Join(TagModes, ", "),
		)
	}
	return nil
}

// keyRef is one credential as the file references it.
type keyRef struct {
	name       string // access_key, secret_key, security_token
	file, env  string
	dst        *Secret
	required   bool
	whatItHold string
}

// resolveCredentials reads the keys the entry references, or checks that
// none is referenced when the SDK's provider chain finds them.
func (e accountEntry) resolveCredentials(h *Huawei) error {
	refs := []keyRef{
		{"access_key", e.AccessKeyFile, e.AccessKeyEnv, &h.AccessKey, true, "an access key"},
		{"secret_key", e.SecretKeyFile, e.SecretKeyEnv, &h.SecretKey, true, "a secret key"},
		{"security_token", e.SecurityTokenFile, e.SecurityTokenEnv, &h.SecurityToken, false, "a security token"},
	}
	switch h.Credentials {
	case CredentialsChain:
		for _, r := range refs {
			if r.file != "" || r.env != "" {
				return fieldErr(
					"credentials",
					"is chain, which finds the keys itself "+
						"(HUAWEICLOUD_SDK_* variables, profile file, ECS/CCE metadata): remove %s_file/%s_env",
					r.name,
					r.name,
				)
			}
		}
		return nil
	case CredentialsKeys:
	default:
		return fieldErr(
			"credentials",
			"%q is not allowed: use keys (access_key_* and secret_key_*, the default) or chain "+
				"(the Huawei SDK's provider chain)",
			h.Credentials,
		)
	}
	for _, r := range refs {
		if err := r.resolve(); err != nil {
			return err
		}
	}
	return nil
}

func (r keyRef) resolve() error {
	switch {
	case r.file != "" && r.env != "":
		return fieldErr(r.name+"_file", "and %s_env are both set: give one", r.name)
	case r.file != "":
		b, err := os.ReadFile(r.file)
		if err != nil {
			return fieldErr(r.name+"_file", "%s cannot be read: %v", r.file, errors.Unwrap(err))
		}
		*r.dst = Secret(strings.TrimSpace(string(b)))
		if *r.dst == "" {
			return fieldErr(r.name+"_file", "%s is empty: it must hold %s", r.file, r.whatItHold)
		}
	case r.env != "":
		*r.dst = Secret(strings.TrimSpace(os.Getenv(r.env)))
		if *r.dst == "" {
			return fieldErr(r.name+"_env", "names %s, which is not set or empty: it must hold %s", r.env, r.whatItHold)
		}
	case r.required:
		return fieldErr(
			r.name+"_file",
			"or %s_env is required: the account needs %s (or set credentials: chain)",
			r.name,
			r.whatItHold,
		)
	}
	return nil
}

// literalKeys are fields that would hold a key in the file itself.
var literalKeys = map[string]string{
	"access_key": "access_key", "secret_key": "secret_key", "security_token": "security_token",
	"ak": "access_key", "sk": "secret_key",
}

// LoadAccountsFile reads, checks and resolves an accounts file. Every
// error names the file, the account and the field, and says what is
// allowed; it never holds a key.
func LoadAccountsFile(file string) ([]Account, error) {
	where := fmt.Sprintf("accounts file %s (%s)", file, AccountsFileEnv)
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("%s cannot be read: %v", where, errors.Unwrap(err))
	}
	accounts, err := parseAccounts(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	return accounts, nil
}

// parseAccounts reads the file's content: a mapping with one key,
// accounts, a list of account entries.
func parseAccounts(b []byte) ([]Account, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, errors.New(withoutValues(strings.TrimPrefix(err.Error(), "yaml: ")))
	}
	if err := yamlkeys.Unique(&doc); err != nil {
		return nil, err
	}
	if len(doc.Content) == 0 {
		return nil, errors.New("is empty: it needs accounts: with at least one account (see docs/accounts.md)")
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("line %d: the file must be a mapping with the key accounts", root.Line)
	}
	var list *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		k := root.Content[i]
		if k.Value != "accounts" {
			return nil, fmt.Errorf("line %d: unknown field %q: allowed accounts", k.Line, k.Value)
		}
		list = root.Content[i+1]
	}
	if list == nil || list.Kind != yaml.SequenceNode || len(list.Content) == 0 {
		return nil, errors.New("accounts: is missing or empty: list at least one account (name, domain_id, site, keys)")
	}
	return parseAccountList(list.Content)
}

func parseAccountList(nodes []*yaml.Node) ([]Account, error) {
	var accounts []Account
	names, domains := map[string]string{}, map[string]string{}
	for i, n := range nodes {
		a, err := parseAccount(n)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", accountLabel(i, n), err)
		}
		label := accountLabel(i, n)
		if prev, dup := names[a.Name]; dup {
			return nil, fmt.Errorf("%s: name %q is already used by %s: names must be unique", label, a.Name, prev)
		}
		if prev, dup := domains[a.Huawei.DomainID]; dup {
			field := "domain_id"
			if a.Huawei.PartnerDomainID != "" {
				field = "customer_id"
			}
			return nil, fmt.Errorf(
				"%s: %s %s is already synced by %s: each account (domain) is listed once",
				label,
				field,
				a.Huawei.DomainID,
				prev,
			)
		}
		names[a.Name], domains[a.Huawei.DomainID] = label, label
		accounts = append(accounts, a)
	}
	return accounts, nil
}

// accountLabel names an entry in messages: by its name, else its rank.
func accountLabel(i int, n *yaml.Node) string {
	if n.Kind == yaml.MappingNode {
		for j := 0; j+1 < len(n.Content); j += 2 {
			if n.Content[j].Value == "name" && n.Content[j+1].Kind == yaml.ScalarNode && n.Content[j+1].Value != "" {
				return fmt.Sprintf("account %q (line %d)", n.Content[j+1].Value, n.Line)
			}
		}
	}
	return fmt.Sprintf("account #%d (line %d)", i+1, n.Line)
}

func parseAccount(n *yaml.Node) (Account, error) {
	var e accountEntry
	if err := decodeStrict(n, &e, ""); err != nil {
		return Account{}, err
	}
	return e.account()
}

// decodeStrict decodes a mapping into the struct dst points to, field by
// field: an unknown field, a literal key or a value of the wrong kind is
// an error naming the field (never its value, which could be a key).
func decodeStrict(n *yaml.Node, dst any, prefix string) error {
	v := reflect.ValueOf(dst).Elem()
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf(
			"line %d: %s must be a mapping of fields (name: value)",
			n.Line,
			cmp.Or(strings.TrimSuffix(prefix, "."), "an account"),
		)
	}
	fields := map[string]reflect.Value{}
	for i := range v.NumField() {
		fields[v.Type().Field(i).Tag.Get("yaml")] = v.Field(i)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, val := n.Content[i].Value, n.Content[i+1]
		if as, literal := literalKeys[key]; literal && prefix == "" {
			return fieldErr(
				key,
				"holds a key in the file: keys are never written there; "+
					"use %s_file (a file, e.g. a mounted secret) or %s_env (the name of a variable)",
				as,
				as,
			)
		}
		f, ok := fields[key]
		if !ok {
			return fieldErr(
				prefix+key,
				"is not a field (line %d): allowed %s",
				n.Content[i].Line,
				strings.Join(prefixed(prefix, slices.Sorted(maps.Keys(fields))), ", "),
			)
		}
		if f.Kind() == reflect.Struct {
			if err := decodeStrict(val, f.Addr().Interface(), prefix+key+"."); err != nil {
				return err
			}
			continue
		}
		if val.Kind != yaml.ScalarNode || val.Decode(f.Addr().Interface()) != nil {
			return fieldErr(prefix+key, "(line %d) must be %s", val.Line, kindText(f.Type()))
		}
	}
	return nil
}

func prefixed(prefix string, names []string) []string {
	for i := range names {
		names[i] = prefix + names[i]
	}
	return names
}

func kindText(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Int:
		return "a whole number"
	case reflect.Pointer, reflect.Float64:
		return "a number"
	}
	return "text"
}

// withoutValues drops the values a YAML syntax error quotes, which could be
// a key pasted by mistake.
func withoutValues(msg string) string {
	return regexp.MustCompile("`[^`]*`").ReplaceAllString(msg, "(value)")
}
