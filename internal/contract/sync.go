package contract

import (
	"fmt"
	"time"

	"expiry-sync/internal/inventory"
)

// BeginSyncInput opens or resumes a sync.
type BeginSyncInput struct {
	// Account names the account (empty: the default one).
	Account     string    `json:"account,omitempty"`
	SyncID      string    `json:"sync_id"`
	RunID       string    `json:"run_id"`
	Resume      bool      `json:"resume,omitempty"`
	ExpireDays  int       `json:"expire_days"` // 0: the account's defaults fill ExpireDays, LookbackDays and TagMode
	WindowBegin time.Time `json:"window_begin"`
	WindowEnd   time.Time `json:"window_end"`
	Now         time.Time `json:"now,omitzero"` // the workflow's clock
	// LookbackDays and TagMode are only set by the account's defaults.
	LookbackDays int    `json:"lookback_days,omitempty"`
	TagMode      string `json:"tag_mode,omitempty"`
}

// Checkpoint is where a sync continues: the window it lists, the first
// uncommitted row, and who the sync writes as (generation and lease token).
type Checkpoint struct {
	AccountID          string    `json:"account_id"`
	WindowBegin        time.Time `json:"window_begin"`
	WindowEnd          time.Time `json:"window_end"`
	NextOffset         int       `json:"next_offset"`
	NextRow            int       `json:"next_row"`
	LastCommittedBatch int       `json:"last_committed_batch"`
	RowsCommitted      int       `json:"rows_committed"`
	Attempt            int       `json:"attempt"`
	StartedAt          time.Time `json:"started_at"` // of the sync's first attempt
	// ExpireDays, LookbackDays and TagMode are the knobs the sync runs with
	// once the account's defaults filled those the input left unset.
	ExpireDays   int    `json:"expire_days,omitempty"`
	LookbackDays int    `json:"lookback_days,omitempty"`
	TagMode      string `json:"tag_mode,omitempty"`
	Generation   int64  `json:"generation,omitempty"`
	LeaseToken   int64  `json:"lease_token,omitempty"`
	// Anchor: the last ids of the last committed page, which the page at
	// NextOffset must overlap (see ListPage).
	Anchor []string `json:"anchor,omitempty"`
}

// HoldLeaseInput names the lease a sync holds.
type HoldLeaseInput struct {
	// Account names the account (empty: the default one).
	Account    string `json:"account,omitempty"`
	SyncID     string `json:"sync_id"`
	Generation int64  `json:"generation"`
	LeaseToken int64  `json:"lease_token"`
}

// Summary is the outcome of a finished sync, as recorded in its sync log.
type Summary struct {
	SyncID               string     `json:"sync_id"`
	Status               string     `json:"status"`
	ExpireDays           int        `json:"expire_days"`
	WindowBegin          time.Time  `json:"window_begin"`
	WindowEnd            time.Time  `json:"window_end"`
	TotalResources       int        `json:"total_resources"`
	TaggedResources      int        `json:"tagged_resources"`
	UntaggedResources    int        `json:"untagged_resources"`
	VanishedResources    int        `json:"vanished_resources"`
	TagErrorResources    int        `json:"tag_error_resources"`
	DeactivatedResources int        `json:"deactivated_resources"`
	RecheckedResources   int        `json:"rechecked_resources,omitempty"`
	QuarantinedRecords   int        `json:"quarantined_records,omitempty"`
	BatchesCommitted     int        `json:"batches_committed"`
	RowsWritten          int        `json:"rows_written"`
	Attempts             int        `json:"attempts"`
	Retries              int        `json:"retries"`
	StartedAt            time.Time  `json:"started_at"`
	FinishedAt           *time.Time `json:"finished_at,omitempty"`
	// TagErrors lists (up to 50) resources whose tags could not be read.
	TagErrors []TagError `json:"tag_errors,omitempty"`
	// Notes say why the sync is partial and where bulk tags fell back.
	Notes Notes `json:"notes,omitzero"`
}

// Notes is what a sync could not do as asked; it crosses history, so each
// list is short (the workflow caps them).
type Notes struct {
	Degraded         []string `json:"degraded,omitempty"`    // why the sync is partial
	Fallbacks        []string `json:"fallbacks,omitempty"`   // bulk tag reads done one by one instead
	Quarantined      []string `json:"quarantined,omitempty"` // a sample of the skipped records
	QuarantinedCount int      `json:"quarantined_count,omitempty"`
}

// TagError is one resource whose tags could not be read (its last known
// tags are kept).
type TagError struct {
	ResourceID string `json:"resource_id"`
	Error      string `json:"error"`
}

// FinishSyncInput closes a sync whose every batch is committed and whose
// unseen resources are re-checked.
type FinishSyncInput struct {
	// Account names the account (empty: the default one).
	Account    string `json:"account,omitempty"`
	SyncID     string `json:"sync_id"`
	Retries    int    `json:"retries"` // retried activity attempts, for the log
	Generation int64  `json:"generation,omitempty"`
	LeaseToken int64  `json:"lease_token,omitempty"`
	Notes      Notes  `json:"notes,omitzero"`
	// Listing: what the attempt's listing saw of BSS's total_count (nil in
	// histories from before it was kept: not checked).
	Listing *ListingCheck `json:"listing,omitempty"`
}

// ListingCheck is what an attempt's listing saw of BSS's total_count, for
// FinishSync to compare with the distinct resources the listing wrote.
type ListingCheck struct {
	// LastTotal is the total_count of the last page listed; MinTotal and
	// MaxTotal bound what the pages said (it moves when the account changes
	// while the sync lists it).
	LastTotal int `json:"last_total"`
	MinTotal  int `json:"min_total"`
	MaxTotal  int `json:"max_total"`
	// Moved: how much the total moved from page to page, in all: the
	// account's changes the listing saw.
	Moved int `json:"moved,omitempty"`
	// Counted: some page gave a total_count (BSS may leave it out).
	Counted bool `json:"counted,omitempty"`
	// Quarantined: unreadable records the pages held (a record listed on
	// two overlapping pages counts twice).
	Quarantined int `json:"quarantined,omitempty"`
	// Doubts: where the listing could not prove by overlap that it saw each
	// record (a tie of expire times longer than a page, a page of records
	// without ids).
	Doubts []string `json:"doubts,omitempty"`
}

// Observe records one page's total_count (-1: BSS did not say).
func (c *ListingCheck) Observe(total int) {
	if total < 0 {
		return
	}
	if !c.Counted {
		c.MinTotal, c.MaxTotal, c.LastTotal = total, total, total
	}
	c.Moved += max(total-c.LastTotal, c.LastTotal-total)
	c.Counted, c.LastTotal = true, total
	c.MinTotal, c.MaxTotal = min(c.MinTotal, total), max(c.MaxTotal, total)
}

// Shortfall says, in one sentence, why the listing may have missed
// resources ("" when it proved it did not): where it could not prove by
// overlap that it saw each record (a doubt), or where BSS counts more
// than it saw (distinct resources written and unreadable records, against
// the last total_count) beyond what the account's changes during the
// listing explain.
func (c ListingCheck) Shortfall(listed int) string {
	missing := c.LastTotal - listed - c.Quarantined
	churn := max(c.Moved, c.MaxTotal-c.MinTotal)
	counted := fmt.Sprintf(
		"the listing saw %d distinct resources and %d unreadable records where BSS's total_count says %d",
		listed,
		c.Quarantined,
		c.LastTotal,
	)
	var s string
	switch {
	case len(c.Doubts) > 0:
		s = "the listing could not prove it saw every resource: " + c.Doubts[0]
		if c.Counted && missing > 0 {
			s += "; " + counted
		}
		s += "; some may be missing from the inventory"
	case c.Counted && missing > churn:
		s = fmt.Sprintf("%s: %d may be missing from the inventory", counted, missing)
		if churn > 0 {
			s += fmt.Sprintf(" (the total moved by %d while the sync listed)", churn)
		}
	default:
		return ""
	}
	return s + "; run the sync again, and report it if it repeats"
}

// EndSyncInput records why a sync stopped before finishing.
type EndSyncInput struct {
	// Account names the account (empty: the default one).
	Account    string `json:"account,omitempty"`
	SyncID     string `json:"sync_id"`
	Status     string `json:"status"` // failed or canceled
	Reason     string `json:"reason"`
	Retries    int    `json:"retries"`
	Generation int64  `json:"generation,omitempty"`
	LeaseToken int64  `json:"lease_token,omitempty"`
}

// ListPageInput selects one listing page.
type ListPageInput struct {
	// Account names the account (empty: the default one).
	Account     string    `json:"account,omitempty"`
	WindowBegin time.Time `json:"window_begin"`
	WindowEnd   time.Time `json:"window_end"`
	Statuses    []int     `json:"statuses,omitempty"`
	Offset      int       `json:"offset"`
	Limit       int       `json:"limit"`
	// SyncID and Generation: leave out the resources this attempt of the
	// sync has already written (a page listed again after the listing
	// shifted), and tell apart those an earlier attempt wrote (Known).
	SyncID     string `json:"sync_id,omitempty"`
	Generation int64  `json:"generation,omitempty"`
	// Anchor: the last ids of the previous page. This page starts inside
	// them when the listing did not shift under the sync; leave them out.
	Anchor []string `json:"anchor,omitempty"`
	// Overlap: how many of the page's last ids to return as its Tail.
	Overlap int `json:"overlap,omitempty"`
	// StageFrom: when BSS's total_count is at least this (1: always), the
	// page is staged in the database under PageKey and crosses history by
	// reference; CommitPage writes it. 0: the page is returned by value.
	StageFrom int   `json:"stage_from,omitempty"`
	PageKey   int64 `json:"page_key,omitempty"`
	// Before, Lead and Through: the previous page's last tie (see
	// ListPageResult); zero when it was not sorted by expire time.
	Before  time.Time `json:"before,omitzero"`
	Lead    int       `json:"lead,omitempty"`
	Through time.Time `json:"through,omitzero"`
	// LeaseToken fences the page it stages.
	LeaseToken int64 `json:"lease_token,omitempty"`
}

// ListPageResult is one page: at most 500 resources cross history at once.
type ListPageResult struct {
	// Resources are the page's resources this sync has not written yet.
	Resources []inventory.Resource `json:"resources"`
	// Known are those an earlier attempt of the sync wrote: their BSS
	// fields are written again, their tags are not read again.
	Known      []inventory.Resource `json:"known,omitempty"`
	TotalCount int                  `json:"total_count"` // -1: BSS did not say
	Received   int                  `json:"received"`    // records in the answer
	Retries    int                  `json:"retries,omitempty"`
	// Connected: the page overlaps the Anchor (or there is nothing to
	// overlap), so no resource can have slid past the sync between the two
	// pages. When false, the workflow lists again further back.
	Connected bool `json:"connected,omitempty"`
	// Tail: the ids of the page's records from Advance on, the next page's
	// Anchor.
	Tail []string `json:"tail,omitempty"`
	// Advance: the next page starts this many records after this one (0,
	// in histories from before it was said: Received less the overlap).
	Advance int `json:"advance,omitempty"`
	// Before and Lead: when the page is sorted by expire time, the expire
	// time of its last tie, and how many records of the next page come
	// before that tie (see activities/boundary.go).
	Before time.Time `json:"before,omitzero"`
	Lead   int       `json:"lead,omitempty"`
	// Through: a tie of expire times filled the page and was read whole
	// (Received reaches past it); the next page starts on its last
	// position, and its first record must expire at this.
	Through time.Time `json:"through,omitzero"`
	// Head: the expire times of the page's first records (zero: unreadable),
	// which CommitPage checks against the page before's Before and Lead.
	Head []time.Time `json:"head,omitempty"`
	// Doubt: why no overlap can prove that the listing saw each record
	// around this page once (a tie of expire times filling a page); the
	// sync's count of what it listed settles it.
	Doubt       string                  `json:"doubt,omitempty"`
	Quarantined []inventory.Quarantined `json:"quarantined,omitempty"`
	// Staged: the page's resources are staged (see StageFrom), not in
	// Resources and Known; Pairs counts them by the project/type pairs whose
	// tags TMS may list in bulk.
	Staged bool        `json:"staged,omitempty"`
	Pairs  []PairCount `json:"pairs,omitempty"`
}

// PairCount is how many resources of a page have one project and TMS type.
type PairCount struct {
	Pair      string `json:"pair"` // "project/type"
	Resources int    `json:"resources"`
}

// CommitPageInput writes one staged page and records the checkpoint after it.
type CommitPageInput struct {
	// Account names the account (empty: the default one).
	Account    string `json:"account,omitempty"`
	SyncID     string `json:"sync_id"`
	Generation int64  `json:"generation"`
	LeaseToken int64  `json:"lease_token"`
	PageKey    int64  `json:"page_key"`
	Offset     int    `json:"offset"` // where the page was listed, for messages
	Batch      int    `json:"batch"`  // the checkpoint's batch number
	// Anchor: the last ids of the previous committed page; the page must
	// overlap them (see ListPageResult.Connected) or nothing is written.
	// AnchorBefore and AnchorLead: that page's last tie, when it was sorted.
	Anchor        []string  `json:"anchor,omitempty"`
	AnchorBefore  time.Time `json:"anchor_before,omitzero"`
	AnchorLead    int       `json:"anchor_lead,omitempty"`
	AnchorThrough time.Time `json:"anchor_through,omitzero"`
	NextOffset    int       `json:"next_offset"`
	Tail          []string  `json:"tail,omitempty"` // the checkpoint's next anchor
	BatchSize     int       `json:"batch_size"`     // rows per INSERT
	SyncedAt      time.Time `json:"synced_at"`
	// Denied: TMS refused the account's tag reads (an older worker's
	// account-wide refusal); none are tried.
	Denied string `json:"denied,omitempty"`
	// Denials: the tag scopes TMS refused so far (see Denial); their
	// resources get an error without a call, keeping their stored tags.
	Denials []Denial `json:"denials,omitempty"`
	// More: the pages listed after this one, in order, written in the same
	// transaction as long as each overlaps the one before it.
	More []PageRef `json:"more,omitempty"`
	// Shape is the first page's, as ListPage saw it (see PageRef).
	Shape
}

// Pages lists every page of the CommitPage, its first included.
func (in CommitPageInput) Pages() []PageRef {
	first := PageRef{PageKey: in.PageKey, Offset: in.Offset, NextOffset: in.NextOffset, Tail: in.Tail, Shape: in.Shape}
	return append([]PageRef{first}, in.More...)
}

// PageRef is a staged page of a CommitPage after its first.
type PageRef struct {
	PageKey    int64    `json:"page_key"`
	Offset     int      `json:"offset"`
	NextOffset int      `json:"next_offset"`
	Tail       []string `json:"tail,omitempty"`
	Shape
}

// Shape is what the overlap checks need of a staged page beyond its
// staged resources (see ListPageResult): its first records' expire times,
// the ids of its unreadable records, and its last tie.
type Shape struct {
	Head           []time.Time `json:"head,omitempty"`
	QuarantinedIDs []string    `json:"quarantined_ids,omitempty"`
	Before         time.Time   `json:"before,omitzero"`
	Lead           int         `json:"lead,omitempty"`
	Through        time.Time   `json:"through,omitzero"`
}

// CommitPageResult counts what a CommitPage wrote.
type CommitPageResult struct {
	// Connected is false when the page does not overlap the anchor: the
	// listing shifted, nothing was written.
	Connected bool `json:"connected"`
	// Pages: how many of the pages given were written (the first and as
	// many of More as overlap the page before them); 0 means 1 for a
	// CommitPage without More.
	Pages   int  `json:"pages,omitempty"`
	Applied bool `json:"applied"` // false: an earlier attempt committed it
	Rows    int  `json:"rows"`
	Kept    int  `json:"kept,omitempty"` // written by an earlier attempt: tags kept
	// Tag outcomes of the rows written: read OK (from the snapshot or one by
	// one), read one by one (calls), refused, gone, of no TMS type.
	Tagged      int      `json:"tagged,omitempty"`
	TagCalls    int      `json:"tag_calls,omitempty"`
	TagErrors   int      `json:"tag_errors,omitempty"`
	Vanished    int      `json:"vanished,omitempty"`
	Unsupported int      `json:"unsupported,omitempty"`
	Denied      string   `json:"denied,omitempty"`  // see FetchTagsResult.Denied
	Denials     []Denial `json:"denials,omitempty"` // see FetchTagsResult.Denials
	Retries     int      `json:"retries,omitempty"`
	WriteMS     float64  `json:"write_ms"`
	// Doubt: a page written although no overlap could prove the listing
	// saw each record around it once (see ListPageResult.Doubt).
	Doubt string `json:"doubt,omitempty"`
}

// FetchTagsInput is a small group of resources whose tags one activity reads.
type FetchTagsInput struct {
	// Generation and LeaseToken fence the tags it stages.
	Generation int64 `json:"generation,omitempty"`
	LeaseToken int64 `json:"lease_token,omitempty"`
	// Account names the account (empty: the default one).
	Account   string                `json:"account,omitempty"`
	SyncID    string                `json:"sync_id"`
	Resources []inventory.TagTarget `json:"resources"`
	// FromSnapshot: the sync has read these resources' project and type in
	// bulk; a resource the snapshot lacks is queried on its own.
	FromSnapshot bool `json:"from_snapshot,omitempty"`
	// Denials: the tag scopes TMS refused so far; their resources get an
	// error without a call.
	Denials []Denial `json:"denials,omitempty"`
}

// Denial is a refusal of TMS to read the tags of a scope: a TMS resource
// type ("ecs"), a type in one enterprise project ("ecs@<id>", when the
// answer says so), or every type ("*", a refusal that is no missing
// permission of one type). A tag read also needs the owning service's
// permission, so one type's refusal says nothing of the others: the sync
// keeps reading them, keeps the refused scope's stored tags, and ends
// partial. Reason is the refusal's text, naming the permission.
type Denial struct {
	Scope  string `json:"scope"`
	Reason string `json:"reason"`
}

// EveryTagScope is the Denial.Scope of a refusal of every type.
const EveryTagScope = "*"

// FetchTagsResult holds one result per resource, in input order, without
// the tags themselves: those are staged (store.SaveTagSnapshot) for
// the batch that commits the resource, so that they never cross history.
type FetchTagsResult struct {
	Results []inventory.TagResult `json:"results"`
	Retries int                   `json:"retries,omitempty"`
	// Denied is set by older workers when TMS refused the account (a 403
	// that is not throttling), taken then as account-wide: the group's
	// remaining resources are reported as errors with it, keeping their
	// stored tags, and the workflow stops asking TMS.
	Denied string `json:"denied,omitempty"`
	// Denials are the scopes this activity found refused (see Denial):
	// their resources are reported as errors, keeping their stored tags;
	// the other resources are read.
	Denials []Denial `json:"denials,omitempty"`
}

// SnapshotTagsInput names one project and TMS type to read in bulk.
type SnapshotTagsInput struct {
	// Generation and LeaseToken fence the tags it stages.
	Generation int64 `json:"generation,omitempty"`
	LeaseToken int64 `json:"lease_token,omitempty"`
	// Account names the account (empty: the default one).
	Account   string `json:"account,omitempty"`
	SyncID    string `json:"sync_id"`
	ProjectID string `json:"project"`
	TMSType   string `json:"type"`
	// Expected is how many of this pair's resources the sync needs (0:
	// unknown): a bulk strategy that would cost more calls than reading them
	// one by one is not attempted.
	Expected int `json:"expected,omitempty"`
}

// SnapshotTagsResult says how many resources the snapshot holds, or that
// bulk listing cannot serve this pair (its resources are then queried one by
// one) and why.
type SnapshotTagsResult struct {
	Resources   int    `json:"resources"`
	Calls       int    `json:"calls"`
	Unsupported string `json:"unsupported,omitempty"`
	Retries     int    `json:"retries,omitempty"`
	Strategy    string `json:"strategy,omitempty"`
}

// CommitBatchInput is one chunk of rows and the checkpoint after it.
type CommitBatchInput struct {
	// Account names the account (empty: the default one).
	Account    string          `json:"account,omitempty"`
	SyncID     string          `json:"sync_id"`
	Batch      int             `json:"batch"`
	NextOffset int             `json:"next_offset"`
	NextRow    int             `json:"next_row"`
	SyncedAt   time.Time       `json:"synced_at"`
	Rows       []inventory.Row `json:"rows"`
	Generation int64           `json:"generation,omitempty"`
	LeaseToken int64           `json:"lease_token,omitempty"`
	// Anchor: the last ids of the page NextOffset follows.
	Anchor []string `json:"anchor,omitempty"`
}

// CommitBatchResult says whether this call wrote the batch (false: an
// earlier attempt already had).
type CommitBatchResult struct {
	Applied bool `json:"applied"`
	Retries int  `json:"retries,omitempty"`
	// WriteMS is the time the transaction took: the database's share of the
	// write phase, without Temporal's dispatch.
	WriteMS float64 `json:"write_ms"`
}

// RecheckInput asks to re-check, by id, the active resources a sync's
// listing did not see.
type RecheckInput struct {
	// Account names the account (empty: the default one).
	Account    string    `json:"account,omitempty"`
	SyncID     string    `json:"sync_id"`
	Generation int64     `json:"generation"`
	LeaseToken int64     `json:"lease_token"`
	Until      time.Time `json:"until"` // the window's end: every unseen row expiring by then
	// Statuses: the sync's status filter, which older workers judged by; a
	// resource is gone only when closed or released, whatever it says.
	Statuses []int     `json:"statuses"`
	SyncedAt time.Time `json:"synced_at"`
}

// RecheckResult counts what BSS said.
type RecheckResult struct {
	Found int `json:"found"` // still listed, not closed: kept active, refreshed (e.g. renewed)
	Gone  int `json:"gone"`  // closed, or absent from BSS's whole answer: deactivated at the end
	// Quarantined: nothing proved (an unreadable record, an answer that
	// could not be read whole): left as they are. Unknown names a few.
	Quarantined int      `json:"quarantined"`
	Unknown     []string `json:"unknown,omitempty"`
	Calls       int      `json:"calls"`
	Retries     int      `json:"retries,omitempty"`
	// Refused: BSS refused the look-up for good; the re-check stopped, the
	// sync completes partial, saying why and what the look-up needs.
	Refused string `json:"refused,omitempty"`
}
