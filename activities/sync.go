package activities

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"expiry-sync/internal/huawei"
	"expiry-sync/internal/inventory"
	"expiry-sync/internal/store"
)

// BeginSyncInput opens or resumes a sync.
type BeginSyncInput struct {
	SyncID      string    `json:"sync_id"`
	RunID       string    `json:"run_id"`
	Resume      bool      `json:"resume,omitempty"`
	ExpireDays  int       `json:"expire_days"`
	WindowBegin time.Time `json:"window_begin"`
	WindowEnd   time.Time `json:"window_end"`
}

// Checkpoint is where a sync continues: the window it lists and the first
// uncommitted row.
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
}

// BeginSync opens the sync log, or re-opens it to resume from its checkpoint
// (keeping the window of the first attempt, so offsets still line up).
func (a *Activities) BeginSync(ctx context.Context, in BeginSyncInput) (Checkpoint, error) {
	defer keepAlive(ctx, nil)()
	if in.Resume {
		if _, err := a.Store.GetSyncLog(ctx, in.SyncID); errors.Is(err, store.ErrNotFound) {
			return Checkpoint{}, temporal.NewNonRetryableApplicationError(
				fmt.Sprintf("cannot resume sync %q: it has no sync log (it never committed anything); start a new sync instead", in.SyncID),
				ErrTypeInvalidInput, nil)
		}
	}
	log, err := a.Store.BeginSync(ctx, store.SyncStart{
		SyncID: in.SyncID, RunID: in.RunID, AccountID: a.AccountID, ExpireDays: in.ExpireDays,
		WindowBegin: in.WindowBegin, WindowEnd: in.WindowEnd,
	})
	var running *store.AlreadyRunningError
	if errors.As(err, &running) {
		return Checkpoint{}, temporal.NewNonRetryableApplicationError(running.Error(), ErrTypeAlreadyRunning, nil)
	}
	if err != nil {
		return Checkpoint{}, databaseError("open sync log", err)
	}
	return Checkpoint{
		AccountID:   log.AccountID,
		WindowBegin: log.WindowBegin, WindowEnd: log.WindowEnd, NextOffset: log.NextOffset, NextRow: log.NextRow,
		LastCommittedBatch: log.LastCommittedBatch, RowsCommitted: log.RowsWritten, Attempt: log.Attempts,
		StartedAt: log.StartedAt,
	}, nil
}

// ListPageInput selects one listing page.
type ListPageInput struct {
	WindowBegin time.Time `json:"window_begin"`
	WindowEnd   time.Time `json:"window_end"`
	Statuses    []int     `json:"statuses,omitempty"`
	Offset      int       `json:"offset"`
	Limit       int       `json:"limit"`
}

// ListPageResult is one page: at most 500 resources cross history at once.
type ListPageResult struct {
	Resources  []inventory.Resource `json:"resources"`
	TotalCount int                  `json:"total_count"`
	Received   int                  `json:"received"`
	Retries    int                  `json:"retries,omitempty"`
}

// ListPage lists one page of resources expiring inside the window.
func (a *Activities) ListPage(ctx context.Context, in ListPageInput) (ListPageResult, error) {
	defer keepAlive(ctx, nil)()
	page, err := a.Huawei.ListPage(ctx, huawei.ListQuery{
		ExpireBegin: in.WindowBegin, ExpireEnd: in.WindowEnd, StatusList: in.Statuses, Offset: in.Offset, Limit: in.Limit,
	})
	if err != nil {
		return ListPageResult{}, huaweiError(err)
	}
	return ListPageResult{Resources: page.Resources, TotalCount: page.TotalCount, Received: page.Received, Retries: retries(ctx)}, nil
}

// FetchTagsInput is a small group of resources whose tags one activity reads.
type FetchTagsInput struct {
	SyncID    string                `json:"sync_id"`
	Resources []inventory.TagTarget `json:"resources"`
	// FromSnapshot: the sync has read these resources' project and type in
	// bulk; a resource the snapshot lacks is queried on its own.
	FromSnapshot bool `json:"from_snapshot,omitempty"`
}

// FetchTagsResult holds one result per resource, in input order, without
// the tags themselves: those are staged in the database (tag_snapshots) for
// the batch that commits the resource, so that they never cross history.
type FetchTagsResult struct {
	Results []inventory.TagResult `json:"results"`
	Retries int                   `json:"retries,omitempty"`
}

// stageEvery spaces FetchTags's staging of the tags it read (one small
// INSERT): what is staged is what a retry does not read again.
const stageEvery = time.Second

// FetchTags reads the tags of each resource of the group and stages them.
// Its staged progress is heartbeated, so a retry (after an API failure or a
// dead worker) resumes where the last attempt stopped.
func (a *Activities) FetchTags(ctx context.Context, in FetchTagsInput) (FetchTagsResult, error) {
	var done []inventory.TagResult
	if activity.HasHeartbeatDetails(ctx) {
		if err := activity.GetHeartbeatDetails(ctx, &done); err != nil || len(done) > len(in.Resources) {
			done = nil // unreadable progress: start the group over, results are idempotent
		}
	}
	beat := &progress{}
	defer keepAlive(ctx, beat)()
	todo := in.Resources[len(done):]
	var inSnapshot map[string]store.Tags
	if in.FromSnapshot {
		var err error
		if inSnapshot, err = a.Store.SnapshotTags(ctx, in.SyncID, resourceIDs(todo)); err != nil {
			return FetchTagsResult{}, databaseError("read tag snapshot", err)
		}
	}
	var staged []store.SnapshotEntry
	// stage saves what was read, then offers it as the progress to resume from.
	stage := func() error {
		if err := a.Store.SaveTagSnapshot(ctx, in.SyncID, staged); err != nil {
			return databaseError("stage tags", err)
		}
		staged = staged[:0]
		beat.set(slices.Clone(done))
		return nil
	}
	lastStage, callRetries := time.Now(), 0
	for _, r := range todo {
		if _, ok := inSnapshot[r.ResourceID]; ok {
			done = append(done, inventory.TagResult{ResourceID: r.ResourceID, Status: inventory.TagsOK})
			continue
		}
		res, retried, err := a.tagsWithRetries(ctx, r)
		callRetries += retried
		if err != nil {
			if serr := stage(); serr != nil {
				return FetchTagsResult{}, serr
			}
			activity.RecordHeartbeat(ctx, done) // before failing: the retry starts from here
			return FetchTagsResult{}, huaweiError(err)
		}
		if res.Status == inventory.TagsOK {
			staged = append(staged, store.SnapshotEntry{ResourceID: r.ResourceID, Tags: res.Tags})
		}
		res.Tags = nil
		done = append(done, res)
		if time.Since(lastStage) >= stageEvery {
			if err := stage(); err != nil {
				return FetchTagsResult{}, err
			}
			lastStage = time.Now()
		}
	}
	if err := stage(); err != nil {
		return FetchTagsResult{}, err
	}
	return FetchTagsResult{Results: done, Retries: retries(ctx) + callRetries}, nil
}

// callAttempts is how many times FetchTags tries one resource's tags before
// it fails the activity (and Temporal's retry policy takes over): a lone
// 500 or 429 among hundreds of calls should not cost the whole group an
// activity retry and its growing backoff.
const callAttempts = 3

// tagsWithRetries queries one resource's tags, retrying retryable failures
// after the server's Retry-After or a short doubling pause.
func (a *Activities) tagsWithRetries(ctx context.Context, r inventory.TagTarget) (inventory.TagResult, int, error) {
	pause := 250 * time.Millisecond
	for attempt := 1; ; attempt++ {
		res, err := a.Huawei.ResourceTags(ctx, r)
		var ae *huawei.APIError
		if err == nil || attempt == callAttempts || !errors.As(err, &ae) || !ae.Kind.Retryable() {
			return res, attempt - 1, err
		}
		wait := pause
		if ae.RetryAfter > 0 {
			wait = ae.RetryAfter
		}
		select {
		case <-ctx.Done():
			return res, attempt - 1, ctx.Err()
		case <-time.After(wait):
		}
		pause *= 2
	}
}

func resourceIDs(targets []inventory.TagTarget) []string {
	ids := make([]string, len(targets))
	for i, t := range targets {
		ids[i] = t.ResourceID
	}
	return ids
}

// SnapshotTagsInput names one project and TMS type to read in bulk.
type SnapshotTagsInput struct {
	SyncID    string `json:"sync_id"`
	ProjectID string `json:"project"`
	TMSType   string `json:"type"`
}

// SnapshotTagsResult says how many resources the snapshot holds, or that
// TMS cannot list this type in bulk (its resources are then queried one by one).
type SnapshotTagsResult struct {
	Resources   int    `json:"resources"`
	Calls       int    `json:"calls"`
	Unsupported string `json:"unsupported,omitempty"`
	Retries     int    `json:"retries,omitempty"`
}

// SnapshotTags reads the tags of every resource of a type in a project with
// TMS ListResource, 200 per call, and keeps them for this sync. The offset
// reached is heartbeated, so a retry goes on from there.
func (a *Activities) SnapshotTags(ctx context.Context, in SnapshotTagsInput) (SnapshotTagsResult, error) {
	res := SnapshotTagsResult{Retries: retries(ctx)}
	offset := 0
	if activity.HasHeartbeatDetails(ctx) {
		_ = activity.GetHeartbeatDetails(ctx, &offset)
	}
	beat := &progress{}
	defer keepAlive(ctx, beat)()
	for {
		page, err := a.Huawei.ListTagged(ctx, in.ProjectID, in.TMSType, offset, huawei.MaxBulkPageSize)
		if err != nil {
			return res, huaweiError(err)
		}
		res.Calls++
		if page.Unsupported != "" {
			res.Unsupported = page.Unsupported
			return res, nil
		}
		entries := make([]store.SnapshotEntry, len(page.Resources))
		for i, r := range page.Resources {
			entries[i] = store.SnapshotEntry{ResourceID: r.ResourceID, Tags: r.Tags}
		}
		if err := a.Store.SaveTagSnapshot(ctx, in.SyncID, entries); err != nil {
			return res, databaseError("save tag snapshot", err)
		}
		offset += len(page.Resources)
		res.Resources = offset
		beat.set(offset)
		if len(page.Resources) == 0 || offset >= page.TotalCount {
			return res, nil
		}
	}
}

// CommitBatchInput is one chunk of rows and the checkpoint after it.
type CommitBatchInput struct {
	SyncID     string          `json:"sync_id"`
	Batch      int             `json:"batch"`
	NextOffset int             `json:"next_offset"`
	NextRow    int             `json:"next_row"`
	SyncedAt   time.Time       `json:"synced_at"`
	Rows       []inventory.Row `json:"rows"`
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

// CommitBatch upserts one chunk, with the tags FetchTags or SnapshotTags
// staged for its resources, and records the checkpoint in one transaction.
func (a *Activities) CommitBatch(ctx context.Context, in CommitBatchInput) (CommitBatchResult, error) {
	defer keepAlive(ctx, nil)()
	start := time.Now()
	applied, err := a.Store.CommitBatch(ctx, store.BatchCommit{
		SyncID: in.SyncID, AccountID: a.AccountID, Batch: in.Batch, NextOffset: in.NextOffset,
		NextRow: in.NextRow, Rows: in.Rows, SyncedAt: in.SyncedAt, TagsStaged: true,
	})
	if err != nil {
		return CommitBatchResult{}, databaseError(fmt.Sprintf("batch %d", in.Batch), err)
	}
	return CommitBatchResult{Applied: applied, Retries: retries(ctx), WriteMS: float64(time.Since(start).Microseconds()) / 1000}, nil
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
	BatchesCommitted     int        `json:"batches_committed"`
	RowsWritten          int        `json:"rows_written"`
	Attempts             int        `json:"attempts"`
	Retries              int        `json:"retries"`
	StartedAt            time.Time  `json:"started_at"`
	FinishedAt           *time.Time `json:"finished_at,omitempty"`
	// TagErrors lists (up to 50) resources whose tags could not be read.
	TagErrors []TagError `json:"tag_errors,omitempty"`
}

// TagError is one resource stored without tags because TMS refused it.
type TagError struct {
	ResourceID string `json:"resource_id"`
	Error      string `json:"error"`
}

// maxListedTagErrors bounds the summary that crosses history.
const maxListedTagErrors = 50

// FinishSyncInput closes a sync whose every batch is committed.
type FinishSyncInput struct {
	SyncID  string `json:"sync_id"`
	Retries int    `json:"retries"` // retried activity attempts, for the log
}

// FinishSync deactivates what this sync did not see and closes its log.
func (a *Activities) FinishSync(ctx context.Context, in FinishSyncInput) (Summary, error) {
	defer keepAlive(ctx, nil)()
	syncID := in.SyncID
	log, err := a.Store.FinishSync(ctx, syncID, in.Retries)
	if err != nil {
		return Summary{}, databaseError("finish sync", err)
	}
	s := Summary{
		SyncID: log.SyncID, Status: log.Status, ExpireDays: log.ExpireDays, WindowBegin: log.WindowBegin,
		WindowEnd: log.WindowEnd, TotalResources: log.TotalResources, TaggedResources: log.TaggedResources,
		UntaggedResources: log.UntaggedResources, VanishedResources: log.VanishedResources,
		TagErrorResources: log.TagErrorResources, DeactivatedResources: log.DeactivatedResources,
		BatchesCommitted: log.BatchesCommitted, RowsWritten: log.RowsWritten, Attempts: log.Attempts,
		Retries: log.Retries, StartedAt: log.StartedAt, FinishedAt: log.FinishedAt,
	}
	if log.TagErrorResources > 0 {
		rows, err := a.Store.TagErrors(ctx, syncID, maxListedTagErrors)
		if err != nil {
			return Summary{}, databaseError("list tag errors", err)
		}
		for _, r := range rows {
			s.TagErrors = append(s.TagErrors, TagError{ResourceID: r.ResourceID, Error: r.TagError})
		}
	}
	return s, nil
}

// EndSyncInput records why a sync stopped before finishing.
type EndSyncInput struct {
	SyncID  string `json:"sync_id"`
	Status  string `json:"status"` // failed or canceled
	Reason  string `json:"reason"`
	Retries int    `json:"retries"`
}

// EndSync marks the sync log failed or canceled, keeping its checkpoint.
func (a *Activities) EndSync(ctx context.Context, in EndSyncInput) error {
	defer keepAlive(ctx, nil)()
	if err := a.Store.EndSync(ctx, in.SyncID, in.Status, in.Reason, in.Retries); err != nil {
		return databaseError("close sync log", err)
	}
	return nil
}
