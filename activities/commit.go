package activities

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"

	"expiry-sync/internal/contract"
	"expiry-sync/internal/inventory"
	"expiry-sync/internal/store"
)

// CommitBatch upserts one chunk, with the tags FetchTags or SnapshotTags
// staged for its resources, and records the checkpoint in one transaction.
// Unlike CommitPage it does not forget the tags it wrote: a page listed
// before this one was committed may hold some of its resources again (the
// account changed between the two calls), and their second read is staged
// under the same ids.
func (a *Activities) CommitBatch(
	ctx context.Context,
	in contract.CommitBatchInput,
) (contract.CommitBatchResult, error) {
	defer keepAlive(ctx, nil)()
	acc, err := a.account(in.Account)
	if err != nil {
		return contract.CommitBatchResult{}, err
	}
	var tagged []string
	for _, r := range in.Rows {
		if r.Tags.Status == inventory.TagsOK {
			tagged = append(tagged, r.ResourceID)
		}
	}
	at := store.Attempt{SyncID: in.SyncID, Generation: in.Generation}
	staged, err := a.Store.SnapshotTags(ctx, at, tagged)
	if err != nil {
		return contract.CommitBatchResult{}, databaseError("read the staged tags", err)
	}
	start := time.Now()
	applied, err := a.Store.CommitBatch(ctx, store.BatchCommit{
		Writer: acc.writer(in.SyncID, in.Generation, in.LeaseToken),
		Batch:  in.Batch, NextOffset: in.NextOffset, NextRow: in.NextRow, Anchor: in.Anchor,
		Rows: in.Rows, SyncedAt: in.SyncedAt, StagedTags: staged, SkipWritten: true,
	})
	if err != nil {
		return contract.CommitBatchResult{}, writeError(fmt.Sprintf("batch %d", in.Batch), err)
	}
	a.Metrics.BatchCommitted(acc.Name, len(in.Rows), applied)
	activity.GetLogger(ctx).Info("committed a batch", "sync_id", in.SyncID, "account", acc.Name, "batch", in.Batch,
		"rows", len(in.Rows), "next_offset", in.NextOffset, "applied", applied, "took", time.Since(start))
	return contract.CommitBatchResult{
		Applied: applied,
		Retries: retries(ctx),
		WriteMS: float64(time.Since(start).Microseconds()) / 1000,
	}, nil
}
