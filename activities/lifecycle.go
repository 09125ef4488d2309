package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

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
