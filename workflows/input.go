package workflows

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"

	"expiry-sync/internal/contract"
)

// Defaults and limits of the sync options; the starter's flags share them.
const (
	DefaultPageSize        = contract.MaxPageSize
	DefaultBatchSize       = 500
	DefaultTagConcurrency  = 20
	DefaultTagsPerActivity = 10

	MaxExpireDays = 3650
	// MinPageSize: consecutive pages share at least one id (see maxOverlap),
	// which a page of one cannot.
	MinPageSize        = 2
	MaxLookbackDays    = 365
	MaxBatchSize       = 500
	MaxTagConcurrency  = 200
	MaxTagsPerActivity = 100
)

// DefaultStatuses are the BSS statuses a sync lists: in use (2), frozen (4)
// and expired (5). Closed resources (3) need no renewal.
var DefaultStatuses = []int{2, 4, 5}

// SyncInput carries only the knobs of a sync, never data or credentials.
type SyncInput struct {
	// Account names the Huawei account to sync, as the worker's accounts
	// file (or "default", the HUAWEI_* environment's) names it; empty means
	// "default".
	Account string `json:"account,omitempty"`
	// ExpireDays: list resources expiring within this many days from the start.
	ExpireDays int `json:"expire_days"`
	// LookbackDays: also list resources that expired up to this many days ago
	// (frozen or in their grace period: still renewable).
	LookbackDays int `json:"lookback_days"`
	// PageSize: resources per BSS listing call (1..500).
	PageSize int `json:"page_size,omitempty"`
	// BatchSize: rows per database transaction (1..500).
	BatchSize int `json:"batch_size,omitempty"`
	// TagConcurrency: tag activities in flight at once (1..200).
	TagConcurrency int `json:"tag_concurrency,omitempty"`
	// TagsPerActivity: resources whose tags one activity reads (1..100).
	TagsPerActivity int `json:"tags_per_activity,omitempty"`
	// TagMode: per-resource (ShowResourceTag for each resource), bulk (TMS
	// ListResource, 200 resources a call, per project and type, falling back
	// to per-resource where it cannot serve) or auto (bulk for accounts of
	// AutoBulkResources and more). Empty means auto.
	TagMode string `json:"tag_mode,omitempty"`
	// Statuses: BSS statuses to list; empty means DefaultStatuses.
	Statuses []int `json:"statuses,omitempty"`
	// Resume: continue a failed or canceled sync of the same id from its checkpoint.
	Resume bool `json:"resume,omitempty"`
	// Cursor is set only when a run continues as new; never by a user.
	Cursor *Cursor `json:"cursor,omitempty"`
}

// WithDefaults fills the unset knobs.
func (in SyncInput) WithDefaults() SyncInput {
	if in.Account == "" {
		in.Account = contract.DefaultAccount
	}
	if in.PageSize == 0 {
		in.PageSize = DefaultPageSize
	}
	if in.BatchSize == 0 {
		in.BatchSize = DefaultBatchSize
	}
	if in.TagConcurrency == 0 {
		in.TagConcurrency = DefaultTagConcurrency
	}
	if in.TagsPerActivity == 0 {
		in.TagsPerActivity = DefaultTagsPerActivity
	}
	if len(in.Statuses) == 0 {
		in.Statuses = DefaultStatuses
	}
	if in.TagMode == "" {
		in.TagMode = TagModeAuto
	}
	return in
}

// Tag modes.
const (
	TagModePerResource = "per-resource"
	TagModeBulk        = "bulk"
	TagModeAuto        = "auto"
	// AutoBulkResources: from this many listed resources, auto reads tags in
	// bulk; below, a few per-resource calls cost less than listing whole
	// projects.
	AutoBulkResources = 2000
)

// TagModes lists the allowed tag modes.
var TagModes = []string{TagModePerResource, TagModeBulk, TagModeAuto}

// ChoiceError names a knob whose value is not one of the allowed ones.
type ChoiceError struct {
	Field   string
	Value   string
	Allowed []string
}

func (e *ChoiceError) Error() string {
	return fmt.Sprintf("%s=%q is not allowed: use one of %s", e.Field, e.Value, strings.Join(e.Allowed, ", "))
}

// RangeError names a knob whose value is outside its allowed range.
type RangeError struct {
	Field    string // the JSON name, e.g. expire_days
	Value    int
	Min, Max int
}

func (e *RangeError) Error() string {
	return fmt.Sprintf("%s=%d is out of range: allowed %d..%d", e.Field, e.Value, e.Min, e.Max)
}

// accountName is what an account may be called: it goes into workflow
// ids, search attributes and rows.
var accountName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// Validate names the first bad knob and its allowed range.
func (in SyncInput) Validate() error {
	for _, c := range []RangeError{
		{"expire_days", in.ExpireDays, 0, MaxExpireDays}, // 0: the account's defaults
		{"lookback_days", in.LookbackDays, 0, MaxLookbackDays},
		{"page_size", in.PageSize, MinPageSize, contract.MaxPageSize},
		{"batch_size", in.BatchSize, 1, MaxBatchSize},
		{"tag_concurrency", in.TagConcurrency, 1, MaxTagConcurrency},
		{"tags_per_activity", in.TagsPerActivity, 1, MaxTagsPerActivity},
	} {
		if c.Value < c.Min || c.Value > c.Max {
			return &c
		}
	}
	if !accountName.MatchString(in.Account) {
		return &ChoiceError{
			Field:   "account",
			Value:   in.Account,
			Allowed: []string{"1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit"},
		}
	}
	if in.TagMode != "" && !slices.Contains(TagModes, in.TagMode) {
		return &ChoiceError{Field: "tag_mode", Value: in.TagMode, Allowed: TagModes}
	}
	for _, s := range in.Statuses {
		if s < 2 || s > 5 {
			return &RangeError{Field: "statuses", Value: s, Min: 2, Max: 5}
		}
	}
	return nil
}

func invalidInput(err error) error {
	return temporal.NewNonRetryableApplicationError(
		"invalid sync input: "+err.Error(),
		contract.ErrTypeInvalidInput,
		nil,
	)
}

// Cursor is the small state a run hands to the next when it continues as new.
type Cursor struct {
	contract.Checkpoint
	Progress Progress `json:"progress"`
	// Snapshots: "project/type" pairs whose tags this sync has read in bulk;
	// NoBulk: those TMS cannot list in bulk. A few dozen at most.
	Snapshots []string `json:"snapshots,omitempty"`
	NoBulk    []string `json:"no_bulk,omitempty"`
	// Denied: TMS refused the account's tag reads (an older worker's
	// account-wide refusal); no more are tried.
	Denied string `json:"denied,omitempty"`
	// Denials: the tag scopes (TMS types, or types in one enterprise
	// project) TMS refused; the other scopes are still read. A few at most.
	Denials []contract.Denial `json:"denials,omitempty"`
	// ByReference: the attempt stages its pages (bulk mode, see
	// pipeline.go); PageKeys numbers them.
	ByReference bool  `json:"by_reference,omitempty"`
	PageKeys    int64 `json:"page_keys,omitempty"`
	// Notes: what the sync could not do as asked, for its summary.
	Notes contract.Notes `json:"notes,omitzero"`
	// AnchorBefore, AnchorLead and AnchorThrough: the last tie of the last
	// page taken, which the next must show it follows (with
	// Checkpoint.Anchor).
	AnchorBefore  time.Time `json:"anchor_before,omitzero"`
	AnchorLead    int       `json:"anchor_lead,omitempty"`
	AnchorThrough time.Time `json:"anchor_through,omitzero"`
	// Listing: what the attempt's listing saw of BSS's total_count, for
	// FinishSync; ListedTo: the offset the pages taken so far reach.
	Listing  contract.ListingCheck `json:"listing,omitzero"`
	ListedTo int                   `json:"listed_to,omitempty"`
}

// Progress is what the "progress" query answers.
type Progress struct {
	Phase            string    `json:"phase"`
	WindowBegin      time.Time `json:"window_begin"`
	WindowEnd        time.Time `json:"window_end"`
	TotalCount       int       `json:"total_count"`      // as BSS last reported it
	PagesListed      int       `json:"pages_listed"`     // in this attempt
	ResourcesListed  int       `json:"resources_listed"` // in this attempt
	TagsFetched      int       `json:"tags_fetched"`     // tag results (ok, 404 or 403)
	TagsSnapshotted  int       `json:"tags_snapshotted"` // resources read in bulk
	TagsUnsupported  int       `json:"tags_unsupported"` // resources of types TMS does not serve
	TagErrors        int       `json:"tag_errors"`       // resources whose tags could not be read (403, 400, no answer)
	Vanished         int       `json:"vanished"`         // resources TMS no longer knows (404)
	BatchesCommitted int       `json:"batches_committed"`
	RowsCommitted    int       `json:"rows_committed"`
	Retries          int       `json:"retries"`  // activity attempts that failed and were retried
	Failures         int       `json:"failures"` // activities that failed for good
	Runs             int       `json:"runs"`     // workflow runs of this attempt (continue-as-new)
	Attempt          int       `json:"attempt"`  // 1 + how many times the sync was resumed
	LastError        string    `json:"last_error,omitempty"`
	Generation       int64     `json:"generation,omitempty"`     // of the account, taken by this sync
	ListingShifts    int       `json:"listing_shifts,omitempty"` // pages listed again: the listing shifted
	Quarantined      int       `json:"quarantined,omitempty"`    // malformed BSS records skipped
	Rechecked        int       `json:"rechecked,omitempty"`      // unseen resources re-checked by id
	TagsDenied       string    `json:"tags_denied,omitempty"`    // why TMS refused the first scope it refused
}
