package activities

import (
	"context"
	"errors"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

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
	Now         time.Time `json:"now,omitzero"` // the workflow's clock
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
	Generation         int64     `json:"generation,omitempty"`
	LeaseToken         int64     `json:"lease_token,omitempty"`
	// Anchor: the last ids of the last committed page, which the page at
	// NextOffset must overlap (see ListPage).
	Anchor []string `json:"anchor,omitempty"`
}

// Writer is who the sync writes as.
func (c Checkpoint) Writer(syncID string) store.Writer {
	return store.Writer{SyncID: syncID, AccountID: c.AccountID, Generation: c.Generation, Token: c.LeaseToken}
}

// BeginSync opens the sync log with the account's next generation, or
// re-opens a failed or canceled one, and takes the account's lease.
func (a *Activities) BeginSync(ctx context.Context, in BeginSyncInput) (Checkpoint, error) {
	defer keepAlive(ctx, nil)()
	log, err := a.Store.BeginSync(ctx, store.SyncStart{
		SyncID: in.SyncID, RunID: in.RunID, AccountID: a.AccountID, ExpireDays: in.ExpireDays,
		WindowBegin: in.WindowBegin, WindowEnd: in.WindowEnd, Resume: in.Resume, Now: in.Now,
	}, a.HolderRunning)
	if err != nil {
		return Checkpoint{}, beginError(err)
	}
	activity.GetLogger(ctx).Info("sync opened", "sync_id", in.SyncID, "account", a.AccountID, "attempt", log.Attempts,
		"generation", log.Generation, "window_begin", log.WindowBegin, "window_end", log.WindowEnd)
	return Checkpoint{
		AccountID:   log.AccountID,
		WindowBegin: log.WindowBegin, WindowEnd: log.WindowEnd, NextOffset: log.NextOffset, NextRow: log.NextRow,
		LastCommittedBatch: log.LastCommittedBatch, RowsCommitted: log.RowsWritten, Attempt: log.Attempts,
		StartedAt: log.StartedAt, Generation: log.Generation, LeaseToken: log.LeaseToken, Anchor: log.Anchor(),
	}, nil
}

// beginError maps the store's refusals to non-retryable errors the starter
// shows as they are.
func beginError(err error) error {
	var (
		running    *store.AlreadyRunningError
		superseded *store.SupersededError
		tooOld     *store.TooOldError
	)
	switch {
	case errors.As(err, &running):
		return temporal.NewNonRetryableApplicationError(running.Error(), ErrTypeAlreadyRunning, nil)
	case errors.As(err, &superseded), errors.As(err, &tooOld), errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrFinished):
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeResumeRefused, nil)
	}
	return databaseError("open sync log", err)
}

// HoldLeaseInput names the lease a sync holds.
type HoldLeaseInput struct {
	SyncID     string `json:"sync_id"`
	AccountID  string `json:"account_id"`
	Generation int64  `json:"generation"`
	LeaseToken int64  `json:"lease_token"`
}

// renewEvery spaces lease renewals: a few per store.LeaseTTL, so that a
// database hiccup does not lose the lease.
const renewEvery = 3 * time.Second

// HoldLease keeps the sync's lease on its account for as long as the sync
// runs: the workflow starts it beside its work and cancels it at the end.
// When the sync stops (terminated, its worker gone), renewals stop and the
// account is free within store.LeaseTTL. It fails only when another sync
// holds the account, which the workflow then stops for.
func (a *Activities) HoldLease(ctx context.Context, in HoldLeaseInput) error {
	w := store.Writer{SyncID: in.SyncID, AccountID: in.AccountID, Generation: in.Generation, Token: in.LeaseToken}
	tick := time.NewTicker(renewEvery)
	defer tick.Stop()
	for {
		err := a.Store.RenewLease(ctx, w)
		var lost *store.LeaseLostError
		if errors.As(err, &lost) {
			return temporal.NewNonRetryableApplicationError(lost.Error(), ErrTypeLeaseLost, nil)
		}
		// Another error (the database is away) is retried at the next tick:
		// the lease outlives a few missed renewals.
		activity.RecordHeartbeat(ctx)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
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

func (n Notes) store() store.SyncNotes {
	return store.SyncNotes{Degraded: n.Degraded, Fallbacks: n.Fallbacks, Quarantined: n.Quarantined, QuarantinedCount: n.QuarantinedCount}
}

// TagError is one resource whose tags could not be read (its last known
// tags are kept).
type TagError struct {
	ResourceID string `json:"resource_id"`
	Error      string `json:"error"`
}

// maxListedTagErrors bounds the summary that crosses history.
const maxListedTagErrors = 50

// FinishSyncInput closes a sync whose every batch is committed and whose
// unseen resources are re-checked.
type FinishSyncInput struct {
	SyncID     string `json:"sync_id"`
	Retries    int    `json:"retries"` // retried activity attempts, for the log
	Generation int64  `json:"generation,omitempty"`
	LeaseToken int64  `json:"lease_token,omitempty"`
	Notes      Notes  `json:"notes,omitzero"`
}

// FinishSync deactivates what the re-check found gone and closes the log.
func (a *Activities) FinishSync(ctx context.Context, in FinishSyncInput) (Summary, error) {
	defer keepAlive(ctx, nil)()
	w := store.Writer{SyncID: in.SyncID, AccountID: a.AccountID, Generation: in.Generation, Token: in.LeaseToken}
	log, err := a.Store.FinishSync(ctx, store.SyncFinish{Writer: w, Retries: in.Retries, Notes: in.Notes.store()})
	if err != nil {
		return Summary{}, writeError("finish sync", err)
	}
	a.Metrics.SyncFinished(log.AccountID, log.Status, log.StartedAt, log.FinishedAt)
	activity.GetLogger(ctx).Info("sync finished", "sync_id", in.SyncID, "account", a.AccountID, "status", log.Status,
		"resources", log.TotalResources, "deactivated", log.DeactivatedResources, "rechecked", log.RecheckedResources)
	n := log.GetNotes()
	s := Summary{
		SyncID: log.SyncID, Status: log.Status, ExpireDays: log.ExpireDays, WindowBegin: log.WindowBegin,
		WindowEnd: log.WindowEnd, TotalResources: log.TotalResources, TaggedResources: log.TaggedResources,
		UntaggedResources: log.UntaggedResources, VanishedResources: log.VanishedResources,
		TagErrorResources: log.TagErrorResources, DeactivatedResources: log.DeactivatedResources,
		RecheckedResources: log.RecheckedResources, QuarantinedRecords: log.QuarantinedRecords,
		BatchesCommitted: log.BatchesCommitted, RowsWritten: log.RowsWritten, Attempts: log.Attempts,
		Retries: log.Retries, StartedAt: log.StartedAt, FinishedAt: log.FinishedAt,
		Notes: Notes{Degraded: n.Degraded, Fallbacks: n.Fallbacks, Quarantined: n.Quarantined, QuarantinedCount: n.QuarantinedCount},
	}
	if log.TagErrorResources > 0 {
		rows, err := a.Store.TagErrors(ctx, in.SyncID, maxListedTagErrors)
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
	SyncID     string `json:"sync_id"`
	Status     string `json:"status"` // failed or canceled
	Reason     string `json:"reason"`
	Retries    int    `json:"retries"`
	Generation int64  `json:"generation,omitempty"`
	LeaseToken int64  `json:"lease_token,omitempty"`
}

// EndSync marks the sync log failed or canceled, keeping its checkpoint,
// and frees the account.
func (a *Activities) EndSync(ctx context.Context, in EndSyncInput) error {
	defer keepAlive(ctx, nil)()
	w := store.Writer{SyncID: in.SyncID, AccountID: a.AccountID, Generation: in.Generation, Token: in.LeaseToken}
	if err := a.Store.EndSync(ctx, w, in.Status, in.Reason, in.Retries); err != nil {
		return databaseError("close sync log", err)
	}
	activity.GetLogger(ctx).Info("sync ended", "sync_id", in.SyncID, "account", a.AccountID, "status", in.Status, "reason", in.Reason)
	return nil
}
