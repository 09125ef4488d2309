package activities

import (
	"context"

	"fmt"
	"time"

	"go.temporal.io/sdk/activity"

	"expiry-sync/internal/inventory"
	"expiry-sync/internal/store"
)

// CommitBatchInput is one chunk of rows and the checkpoint after it.
type CommitBatchInput struct {
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

// CommitBatch upserts one chunk, with the tags FetchTags or SnapshotTags
// staged for its resources, and records the checkpoint in one transaction.
func (a *Activities) CommitBatch(ctx context.Context, in CommitBatchInput) (CommitBatchResult, error) {
	defer keepAlive(ctx, nil)()
	start := time.Now()
	applied, err := a.Store.CommitBatch(ctx, store.BatchCommit{
		Writer: store.Writer{SyncID: in.SyncID, AccountID: a.AccountID, Generation: in.Generation, Token: in.LeaseToken},
		Batch:  in.Batch, NextOffset: in.NextOffset, NextRow: in.NextRow, Anchor: in.Anchor,
		Rows: in.Rows, SyncedAt: in.SyncedAt, TagsStaged: true,
	})
	if err != nil {
		return CommitBatchResult{}, writeError(fmt.Sprintf("batch %d", in.Batch), err)
	}
	a.Metrics.BatchCommitted(a.AccountID, len(in.Rows), applied)
	activity.GetLogger(ctx).Info("committed a batch", "sync_id", in.SyncID, "account", a.AccountID, "batch", in.Batch,
		"rows", len(in.Rows), "next_offset", in.NextOffset, "applied", applied, "took", time.Since(start))
	return CommitBatchResult{Applied: applied, Retries: retries(ctx), WriteMS: float64(time.Since(start).Microseconds()) / 1000}, nil
}
