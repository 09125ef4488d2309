// Package config reads expiry-sync's configuration from the environment.
// Every variable is documented in the README's configuration table.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"
)

// Secret holds a credential. It prints as "[redacted]" in every format so that
// it cannot reach a log line, an error text or a workflow payload by accident.
type Secret string

func (Secret) String() string                  { return "[redacted]" }
func (Secret) GoString() string                { return "[redacted]" }
func (Secret) MarshalJSON() ([]byte, error)    { return []byte(`"[redacted]"`), nil }
func (Secret) MarshalText() ([]byte, error)    { return []byte("[redacted]"), nil }
func (s Secret) Reveal() string                { return string(s) }
func (Secret) LogValue() slog.Value            { return slog.StringValue("[redacted]") }
func (s *Secret) UnmarshalText(b []byte) error { *s = Secret(strings.TrimSpace(string(b))); return nil }

// Huawei is how the worker reaches Huawei Cloud for one account.
type Huawei struct {
	// Credentials is CredentialsKeys (the keys below) or CredentialsChain
	// (the Huawei SDK's provider chain finds them).
	Credentials   string `env:"HUAWEI_CREDENTIALS" envDefault:"keys"`
	AccessKey     Secret `env:"HUAWEI_ACCESS_KEY"`
	AccessKeyFile string `env:"HUAWEI_ACCESS_KEY_FILE"`
	SecretKey     Secret `env:"HUAWEI_SECRET_KEY"`
	SecretKeyFile string `env:"HUAWEI_SECRET_KEY_FILE"`
	// SecurityToken goes with temporary keys (STS); empty for permanent ones.
	SecurityToken     Secret `env:"HUAWEI_SECURITY_TOKEN"`
	SecurityTokenFile string `env:"HUAWEI_SECURITY_TOKEN_FILE"`
	// DomainID is the account synced: the account_id of its rows, its
	// lease, and for a partner account the customer_id BSS lists.
	DomainID string `env:"HUAWEI_DOMAIN_ID"`
	// PartnerDomainID, set only by an accounts file's customer_id entry, is
	// the partner account whose keys sign the calls: BSS then lists the
	// customer DomainID's resources, and TMS (which has no customer_id)
	// reads no tags. The partner's rate limits apply.
	PartnerDomainID string
	// Site (cn, intl or eu) picks both endpoints from the SDK's region
	// tables (huawei.SiteEndpoints); an explicit endpoint overrides its preset.
	Site        string        `env:"HUAWEI_SITE" envDefault:"cn"`
	BSSEndpoint string        `env:"HUAWEI_BSS_ENDPOINT"`
	TMSEndpoint string        `env:"HUAWEI_TMS_ENDPOINT"`
	HTTPTimeout time.Duration `env:"HUAWEI_HTTP_TIMEOUT" envDefault:"30s"`
	// Client-side request rates (per second, per worker process) that keep the
	// worker under Huawei's API flow control; 0 disables the limiter.
	BSSRate float64 `env:"HUAWEI_BSS_RATE" envDefault:"10"`
	TMSRate float64 `env:"HUAWEI_TMS_RATE" envDefault:"20"`
}

// Credential sources of an account.
const (
	CredentialsKeys  = "keys"
	CredentialsChain = "chain"
)

// CallerDomainID is the account whose keys sign the calls (and whose
// flow-control limits apply): the partner's for a partner account.
func (h Huawei) CallerDomainID() string {
	if h.PartnerDomainID != "" {
		return h.PartnerDomainID
	}
	return h.DomainID
}

// Worker is the whole worker configuration.
type Worker struct {
	// Huawei is the single account of the HUAWEI_* environment, read when
	// AccountsFile is unset.
	Huawei Huawei
	// BSSIPRate is the BSS calls per second of the whole deployment (every
	// account, every worker): BSS counts its flow control per user and per
	// source IP, and the accounts a deployment serves share its egress
	// address. 0 = unlimited.
	BSSIPRate float64 `env:"HUAWEI_BSS_IP_RATE" envDefault:"10"`
	// AccountsFile (YAML, see docs/accounts.md) lists the accounts the
	// worker serves; unset, the worker serves Huawei as account "default".
	AccountsFile string `env:"EXPIRY_SYNC_ACCOUNTS_FILE"`
	// Accounts are the accounts the worker serves, resolved by LoadWorker
	// from AccountsFile or the HUAWEI_* environment (see ServedAccounts).
	Accounts []Account `env:"-"`
	Temporal Temporal
	// DatabaseURL is mysql://user:pass@host:3306/db or sqlite:///path/file.db;
	// empty means expiry-sync.db in the working directory.
	DatabaseURL Secret `env:"DATABASE_URL"`
	// DatabasePassword (or the file DatabasePasswordFile names) is the
	// password of DATABASE_URL's user, taken as is: unlike a password inside
	// the URL it needs no percent-escaping of / @ # ? % +.
	DatabasePassword     Secret `env:"DATABASE_PASSWORD"`
	DatabasePasswordFile string `env:"DATABASE_PASSWORD_FILE"`
	// DatabaseMigrationURL, when set, is the (more privileged) user the
	// worker applies migrations with; DATABASE_URL then needs only
	// SELECT, INSERT, UPDATE and DELETE.
	DatabaseMigrationURL Secret `env:"DATABASE_MIGRATION_URL"`
	// MaxConcurrentActivities bounds the activities one worker runs at once.
	MaxConcurrentActivities int `env:"WORKER_MAX_CONCURRENT_ACTIVITIES" envDefault:"64"`
	// TagMemoryMB bounds the staged tags one worker holds in memory; the
	// rest are staged and read one database row per resource.
	TagMemoryMB int `env:"WORKER_TAG_MEMORY_MB" envDefault:"64"`
	// MetricsListen (host:port) serves /metrics, /healthz and /readyz; empty: off.
	MetricsListen string `env:"METRICS_LISTEN"`
	// NotifyFile is the renewal reminders' routes file (YAML); unset, no
	// reminder is sent. Read anew by every reminder activity.
	NotifyFile string `env:"EXPIRY_SYNC_NOTIFY_FILE"`
	// RenewMode is what renewals may do on this worker: off (a dry run up
	// to the order), order (unpaid orders) or pay (docs/renewals.md).
	RenewMode string `env:"EXPIRY_SYNC_RENEW" envDefault:"off"`
	// RenewPolicyFile holds the renewal policies (YAML); unset, the default
	// policy. Read anew by every request.
	RenewPolicyFile string `env:"EXPIRY_SYNC_RENEW_POLICY_FILE"`
	Log             Log
}

// LoadWorker reads and validates the worker configuration.
func LoadWorker() (Worker, error) {
	var c Worker
	if err := env.Parse(&c); err != nil {
		return c, fmt.Errorf("configuration: %w", err)
	}
	if err := c.Temporal.load(); err != nil {
		return c, err
	}
	if err := c.applyDatabasePassword(); err != nil {
		return c, err
	}
	if err := c.loadAccounts(); err != nil {
		return c, err
	}
	return c, c.Validate()
}

// loadAccounts resolves Accounts: from AccountsFile, or the HUAWEI_*
// environment as the one account "default".
func (c *Worker) loadAccounts() error {
	if c.AccountsFile == "" {
		if err := c.Huawei.loadKeyFiles(); err != nil {
			return err
		}
		c.Accounts = []Account{{Name: DefaultAccount, Huawei: c.Huawei}}
		return nil
	}
	if set := c.Huawei.setVariables(); len(set) > 0 {
		return fmt.Errorf(
			"EXPIRY_SYNC_ACCOUNTS_FILE is set and so is %s: the accounts file names every account, keep one of them",
			strings.Join(set, ", "),
		)
	}
	accounts, err := LoadAccountsFile(c.AccountsFile)
	if err != nil {
		return err
	}
	c.Huawei, c.Accounts = Huawei{}, accounts
	return nil
}

// applyDatabasePassword puts DATABASE_PASSWORD(_FILE) into DATABASE_URL,
// escaped, so that any password works.
func (c *Worker) applyDatabasePassword() error {
	if err := readKeyFile("DATABASE_PASSWORD_FILE", c.DatabasePasswordFile, &c.DatabasePassword); err != nil {
		return err
	}
	if c.DatabasePassword == "" {
		return nil
	}
	u, err := url.Parse(c.DatabaseURL.Reveal())
	if err != nil || u.Scheme != "mysql" || u.User == nil {
		return errors.New(
			"DATABASE_PASSWORD is set but DATABASE_URL is not mysql://user@host:3306/db: " +
				"the password needs a MySQL URL with a user",
		)
	}
	if _, has := u.User.Password(); has {
		return errors.New("DATABASE_URL has a password and DATABASE_PASSWORD is set too: keep one of them")
	}
	u.User = url.UserPassword(u.User.Username(), c.DatabasePassword.Reveal())
	c.DatabaseURL = Secret(u.String())
	return nil
}

// Validate reports the first missing or out-of-range setting by its variable name.
func (c Worker) Validate() error {
	if err := c.Temporal.Validate(); err != nil {
		return err
	}
	if c.MaxConcurrentActivities < 1 || c.MaxConcurrentActivities > 10000 {
		return fmt.Errorf(
			"WORKER_MAX_CONCURRENT_ACTIVITIES=%d is out of range: allowed 1..10000",
			c.MaxConcurrentActivities,
		)
	}
	if c.TagMemoryMB < 0 || c.TagMemoryMB > 1<<20 {
		return fmt.Errorf(
			"WORKER_TAG_MEMORY_MB=%d is out of range: "+
				"allowed 0..1048576 (0: every tag read staged one row per resource)",
			c.TagMemoryMB,
		)
	}
	if c.MetricsListen != "" {
		if _, port, err := net.SplitHostPort(c.MetricsListen); err != nil || port == "" {
			return fmt.Errorf(
				"METRICS_LISTEN=%q is not host:port: allowed e.g. 0.0.0.0:9464 or 127.0.0.1:9464 (empty: off)",
				c.MetricsListen,
			)
		}
	}
	if err := c.Log.Validate(); err != nil {
		return err
	}
	if c.BSSIPRate < 0 {
		return fmt.Errorf("HUAWEI_BSS_IP_RATE=%g is out of range: allowed >= 0 (0 = unlimited)", c.BSSIPRate)
	}
	if err := CheckRenewMode(c.RenewMode); err != nil {
		return err
	}
	if _, err := LoadRenewPolicies(c.RenewPolicyFile); err != nil {
		return err
	}
	if c.AccountsFile != "" {
		return nil // LoadAccountsFile checked each account, naming its fields
	}
	return c.Huawei.Validate()
}

// Validate checks the Huawei settings without ever printing a key.
func (h Huawei) Validate() error {
	if err := h.validateCredentials(); err != nil {
		return err
	}
	switch {
	case h.DomainID == "":
		return errors.New("HUAWEI_DOMAIN_ID is not set: the worker needs the account (domain) id")
	case h.BSSEndpoint != "" && !isHTTPURL(h.BSSEndpoint):
		return fmt.Errorf(
			"HUAWEI_BSS_ENDPOINT=%q is not an http(s) URL (leave it unset to use HUAWEI_SITE's)",
			h.BSSEndpoint,
		)
	case h.TMSEndpoint != "" && !isHTTPURL(h.TMSEndpoint):
		return fmt.Errorf(
			"HUAWEI_TMS_ENDPOINT=%q is not an http(s) URL (leave it unset to use HUAWEI_SITE's)",
			h.TMSEndpoint,
		)
	case !httpTimeoutOK(h.HTTPTimeout):
		return fmt.Errorf("HUAWEI_HTTP_TIMEOUT=%s is out of range: allowed 1s..10m", h.HTTPTimeout)
	case h.BSSRate < 0 || h.TMSRate < 0:
		return fmt.Errorf(
			"HUAWEI_BSS_RATE=%g / HUAWEI_TMS_RATE=%g: rates must be >= 0 (0 = unlimited)",
			h.BSSRate,
			h.TMSRate,
		)
	}
	return nil
}

// validateCredentials checks that the keys are there, or that the chain
// is asked for alone.
func (h Huawei) validateCredentials() error {
	switch h.Credentials {
	case CredentialsChain:
		if h.AccessKey != "" || h.SecretKey != "" || h.SecurityToken != "" {
			return errors.New(
				"HUAWEI_CREDENTIALS=chain and HUAWEI_ACCESS_KEY/SECRET_KEY/SECURITY_TOKEN are both set: " +
					"keep one (the chain reads HUAWEICLOUD_SDK_AK/SK, the profile file or the ECS/CCE metadata)",
			)
		}
		return nil
	case CredentialsKeys, "":
	default:
		return fmt.Errorf(
			"HUAWEI_CREDENTIALS=%q is not allowed: use keys (HUAWEI_ACCESS_KEY and HUAWEI_SECRET_KEY) or chain "+
				"(the Huawei SDK's provider chain: HUAWEICLOUD_SDK_* variables, profile file, ECS/CCE metadata)",
			h.Credentials,
		)
	}
	switch {
	case h.AccessKey == "":
		return errors.New("HUAWEI_ACCESS_KEY (or HUAWEI_ACCESS_KEY_FILE) is not set: the worker needs an access key")
	case h.SecretKey == "":
		return errors.New("HUAWEI_SECRET_KEY (or HUAWEI_SECRET_KEY_FILE) is not set: the worker needs a secret key")
	}
	return nil
}

func isHTTPURL(s string) bool {
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")
}

func httpTimeoutOK(d time.Duration) bool { return d >= time.Second && d <= 10*time.Minute }

// loadKeyFiles reads a key from its *_FILE variable when the plain one is unset,
// so keys can come from mounted secrets instead of the environment.
func (h *Huawei) loadKeyFiles() error {
	if err := readKeyFile("HUAWEI_ACCESS_KEY_FILE", h.AccessKeyFile, &h.AccessKey); err != nil {
		return err
	}
	if err := readKeyFile("HUAWEI_SECRET_KEY_FILE", h.SecretKeyFile, &h.SecretKey); err != nil {
		return err
	}
	return readKeyFile("HUAWEI_SECURITY_TOKEN_FILE", h.SecurityTokenFile, &h.SecurityToken)
}

// setVariables names the account variables that are set, which an
// accounts file replaces.
func (h Huawei) setVariables() []string {
	var set []string
	for name, v := range map[string]string{
		"HUAWEI_ACCESS_KEY": h.AccessKey.Reveal(), "HUAWEI_ACCESS_KEY_FILE": h.AccessKeyFile,
		"HUAWEI_SECRET_KEY": h.SecretKey.Reveal(), "HUAWEI_SECRET_KEY_FILE": h.SecretKeyFile,
		"HUAWEI_SECURITY_TOKEN": h.SecurityToken.Reveal(), "HUAWEI_SECURITY_TOKEN_FILE": h.SecurityTokenFile,
		"HUAWEI_DOMAIN_ID": h.DomainID,
	} {
		if v != "" {
			set = append(set, name)
		}
	}
	slices.Sort(set)
	return set
}

func readKeyFile(name, path string, dst *Secret) error {
	if *dst != "" || path == "" {
		return nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("%s=%s cannot be read: %w", name, path, errors.Unwrap(err))
	}
	*dst = Secret(strings.TrimSpace(string(b)))
	return nil
}
