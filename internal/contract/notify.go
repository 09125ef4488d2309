package contract

import (
	"time"
)

// ErrTypeNotifyOff: no routes file is configured (EXPIRY_SYNC_NOTIFY_FILE).
const ErrTypeNotifyOff = "NotifyNotConfigured"

// PlanInput asks what is due for an account at AsOf.
type PlanInput struct {
	// Account names the account; AccountID is its domain id (inputs from
	// before names); neither: the default account, else every account.
	Account   string `json:"account,omitempty"`
	AccountID string `json:"account_id,omitempty"`
	// AllAccounts: every account, whatever the default.
	AllAccounts bool `json:"all_accounts,omitempty"`
	// AfterSync: a successful sync started this run (see the routes
	// file's after_sync).
	AfterSync bool      `json:"after_sync,omitempty"`
	AsOf      time.Time `json:"as_of"`
	Routes    []string  `json:"routes,omitempty"`
}

// NotifyPlan is what each route has to send.
type NotifyPlan struct {
	Configured bool `json:"configured"`
	// Skipped says why nothing is planned although reminders are configured.
	Skipped   string `json:"skipped,omitempty"`
	Account   string `json:"account,omitempty"` // its name
	AccountID string `json:"account_id"`
	// Accounts: the input named no account and the worker has no default:
	// the run reminds each of these accounts on its own.
	Accounts []string       `json:"accounts,omitempty"`
	Routes   []PlannedRoute `json:"routes,omitempty"`
}

// NotifyAccount is an account as reminders name it.
type NotifyAccount struct {
	Name     string `json:"name"`
	DomainID string `json:"domain_id"`
}

// PlannedRoute is one route with something to send.
type PlannedRoute struct {
	Route      string             `json:"route"`
	Thresholds []PlannedThreshold `json:"thresholds"`
	// QuietUntil: the route is in its quiet hours until then.
	QuietUntil *time.Time `json:"quiet_until,omitempty"`
}

// PlannedThreshold counts a route's resources due for one threshold.
type PlannedThreshold struct {
	Threshold int `json:"threshold_days"`
	Resources int `json:"resources"`
}

// ClaimInput claims what a route has to send at AsOf.
type ClaimInput struct {
	AccountID string    `json:"account_id"`
	Route     string    `json:"route"`
	AsOf      time.Time `json:"as_of"`
}

// ClaimedDigest is a digest recorded and ready to send.
type ClaimedDigest struct {
	DigestID  string       `json:"digest_id"`
	Threshold int          `json:"threshold_days"`
	Resources int          `json:"resources"`
	Channels  []ChannelRef `json:"channels"`
}

// ChannelRef names a channel and its type.
type ChannelRef struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// SendInput sends one digest on one channel.
type SendInput struct {
	DigestID string `json:"digest_id"`
	Channel  string `json:"channel"`
}

// SendOutcome is how a send ended.
type SendOutcome struct {
	Channel   string `json:"channel"`
	Type      string `json:"type,omitempty"`
	Recipient string `json:"recipient,omitempty"`
	Status    string `json:"status"`
	Attempts  int    `json:"attempts,omitempty"`
	Error     string `json:"error,omitempty"`
	// Parts: the messages the digest took on this channel; PartsSent: those
	// the platform accepted; Unconfirmed: resources named in a message that
	// got no answer (never counted as delivered).
	Parts       int `json:"parts,omitempty"`
	PartsSent   int `json:"parts_sent,omitempty"`
	Unconfirmed int `json:"unconfirmed,omitempty"`
}

// SettleInput closes a digest.
type SettleInput struct {
	DigestID string `json:"digest_id"`
	Reason   string `json:"reason,omitempty"` // why sends still pending were given up
}

// DigestOutcome is a digest's final state.
type DigestOutcome struct {
	DigestID  string        `json:"digest_id"`
	Threshold int           `json:"threshold_days"`
	Resources int           `json:"resources"`
	Sends     []SendOutcome `json:"sends"`
	// Released: some of its reminders were not delivered (not sent, or
	// refused), so a later run sends them again; ReleasedItems counts them
	// (a resource per channel).
	Released      bool `json:"released,omitempty"`
	ReleasedItems int  `json:"released_items,omitempty"`
}

// TestInput sends a test message on each channel of a route.
type TestInput struct {
	Route string `json:"route"`
}
