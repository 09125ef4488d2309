package activities

import (
	"cmp"
	"context"
	"errors"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"expiry-sync/internal/contract"
	"expiry-sync/internal/store"
)

// BeginSync opens the sync log with the account's next generation, or
// re-opens a failed or canceled one, and takes the account's lease.
func (a *Activities) BeginSync(ctx context.Context, in contract.BeginSyncInput) (contract.Checkpoint, error) {
	defer keepAlive(ctx, nil)()
	acc, err := a.account(in.Account)
	if err != nil {
		return contract.Checkpoint{}, err
	}
	knobs := acc.knobs(in)
	log, err := a.Store.BeginSync(ctx, store.SyncStart{
		SyncID: in.SyncID, RunID: in.RunID, AccountID: acc.DomainID, AccountName: acc.Name,
		ExpireDays: knobs.ExpireDays, WindowBegin: knobs.WindowBegin, WindowEnd: knobs.WindowEnd,
		Resume: in.Resume, Now: in.Now,
	}, a.HolderRunning)
	if err != nil {
		return contract.Checkpoint{}, beginError(err)
	}
	activity.GetLogger(ctx).Info("sync opened", "sync_id", in.SyncID, "account", acc.Name, "attempt", log.Attempts,
		"generation", log.Generation, "window_begin", log.WindowBegin, "window_end", log.WindowEnd)
	return contract.Checkpoint{
		AccountID:   log.AccountID,
		WindowBegin: log.WindowBegin, WindowEnd: log.WindowEnd, NextOffset: log.NextOffset, NextRow: log.NextRow,
		LastCommittedBatch: log.LastCommittedBatch, RowsCommitted: log.RowsWritten, Attempt: log.Attempts,
		StartedAt: log.StartedAt, Generation: log.Generation, LeaseToken: log.LeaseToken, Anchor: log.Anchor(),
		ExpireDays: log.ExpireDays, LookbackDays: knobs.LookbackDays, TagMode: knobs.TagMode,
	}, nil
}

// knobs fills what a sync's input left unset (ExpireDays 0: the account's
// defaults, else the global ones) and computes its window from the
// workflow's clock.
func (acc *Account) knobs(in contract.BeginSyncInput) contract.BeginSyncInput {
	if in.ExpireDays > 0 {
		return in
	}
	d := acc.Defaults
	in.ExpireDays = cmp.Or(d.ExpireDays, contract.DefaultExpireDays)
	in.LookbackDays = cmp.Or(d.LookbackDays, contract.DefaultLookbackDays)
	in.TagMode = d.TagMode
	in.WindowBegin, in.WindowEnd = in.Now.AddDate(0, 0, -in.LookbackDays), in.Now.AddDate(0, 0, in.ExpireDays)
	return in
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
		return temporal.NewNonRetryableApplicationError(running.Error(), contract.ErrTypeAlreadyRunning, nil)
	case errors.As(err, &superseded),
		errors.As(err, &tooOld),
		errors.Is(err, store.ErrNotFound),
		errors.Is(err, store.ErrFinished):
		return temporal.NewNonRetryableApplicationError(err.Error(), contract.ErrTypeResumeRefused, nil)
	}
	return databaseError("open sync log", err)
}

// HoldLease keeps the sync's lease on its account for as long as the sync
// runs: the workflow starts it beside its work and cancels it at the end.
// When the sync stops (terminated, its worker gone), renewals stop and the
// account is free within store.LeaseTTL. It fails only when another sync
// holds the account, which the workflow then stops for.
func (a *Activities) HoldLease(ctx context.Context, in contract.HoldLeaseInput) error {
	acc, err := a.account(in.Account)
	if err != nil {
		return err
	}
	w := acc.writer(in.SyncID, in.Generation, in.LeaseToken)
	tick := time.NewTicker(store.RenewEvery())
	defer tick.Stop()
	for {
		err := a.Store.RenewLease(ctx, w)
		var lost *store.LeaseLostError
		if errors.As(err, &lost) {
			if lost.Holder == "" && a.syncEnded(ctx, in) {
				return nil // FinishSync or EndSync freed it: the sync is over, not robbed
			}
			return temporal.NewNonRetryableApplicationError(lost.Error(), contract.ErrTypeLeaseLost, nil)
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

// syncEnded says whether the attempt's own sync log is closed: its end
// released the lease, which a renewal racing with it then misses.
func (a *Activities) syncEnded(ctx context.Context, in contract.HoldLeaseInput) bool {
	log, err := a.Store.GetSyncLog(ctx, in.SyncID)
	return err == nil && log.Generation == in.Generation && log.Status != contract.StatusRunning
}

// storeNotes is the notes as the sync log keeps them.
func storeNotes(n contract.Notes) store.SyncNotes {
	return store.SyncNotes{
		Degraded:         n.Degraded,
		Fallbacks:        n.Fallbacks,
		Quarantined:      n.Quarantined,
		QuarantinedCount: n.QuarantinedCount,
	}
}

// maxListedTagErrors bounds the summary that crosses history.
const maxListedTagErrors = 50

// FinishSync deactivates what the re-check found gone and closes the log.
func (a *Activities) FinishSync(ctx context.Context, in contract.FinishSyncInput) (contract.Summary, error) {
	defer keepAlive(ctx, nil)()
	acc, err := a.account(in.Account)
	if err != nil {
		return contract.Summary{}, err
	}
	w := acc.writer(in.SyncID, in.Generation, in.LeaseToken)
	log, err := a.Store.FinishSync(
		ctx,
		store.SyncFinish{Writer: w, Retries: in.Retries, Notes: storeNotes(in.Notes), Listing: in.Listing},
	)
	if err != nil {
		return contract.Summary{}, writeError("finish sync", err)
	}
	a.Metrics.SyncFinished(acc.Name, log.Status, log.StartedAt, log.FinishedAt)
	activity.GetLogger(ctx).Info("sync finished", "sync_id", in.SyncID, "account", acc.Name, "status", log.Status,
		"resources", log.TotalResources, "deactivated", log.DeactivatedResources, "rechecked", log.RecheckedResources)
	n := log.GetNotes()
	s := contract.Summary{
		SyncID: log.SyncID, Status: log.Status, ExpireDays: log.ExpireDays, WindowBegin: log.WindowBegin,
		WindowEnd: log.WindowEnd, TotalResources: log.TotalResources, TaggedResources: log.TaggedResources,
		UntaggedResources: log.UntaggedResources, VanishedResources: log.VanishedResources,
		TagErrorResources: log.TagErrorResources, DeactivatedResources: log.DeactivatedResources,
		RecheckedResources: log.RecheckedResources, QuarantinedRecords: log.QuarantinedRecords,
		BatchesCommitted: log.BatchesCommitted, RowsWritten: log.RowsWritten, Attempts: log.Attempts,
		Retries: log.Retries, StartedAt: log.StartedAt, FinishedAt: log.FinishedAt,
		Notes: contract.Notes{
			Degraded:         n.Degraded,
			Fallbacks:        n.Fallbacks,
			Quarantined:      n.Quarantined,
			QuarantinedCount: n.QuarantinedCount,
		},
	}
	if log.TagErrorResources > 0 {
		rows, err := a.Store.TagErrors(ctx, in.SyncID, maxListedTagErrors)
		if err != nil {
			return contract.Summary{}, databaseError("list tag errors", err)
		}
		for _, r := range rows {
			s.TagErrors = append(s.TagErrors, contract.TagError{ResourceID: r.ResourceID, Error: r.TagError})
		}
	}
	return s, nil
}

// EndSync marks the sync log failed or canceled, keeping its checkpoint,
// and frees the account. An attempt that no longer holds its account (a
// resume or another sync took it over) changes nothing.
func (a *Activities) EndSync(ctx context.Context, in contract.EndSyncInput) error {
	defer keepAlive(ctx, nil)()
	acc, err := a.account(in.Account)
	if err != nil {
		return err
	}
	w := acc.writer(in.SyncID, in.Generation, in.LeaseToken)
	ended, err := a.Store.EndSync(ctx, w, in.Status, in.Reason, in.Retries)
	if err != nil {
		return databaseError("close sync log", err)
	}
	if !ended {
		activity.GetLogger(ctx).Info("sync attempt ended after it lost its account: "+
			"its log and staging are another attempt's now, left as they are",
			"sync_id", in.SyncID, "account", acc.Name, "generation", in.Generation, "status", in.Status)
		return nil
	}
	activity.GetLogger(ctx).Info("sync ended", "sync_id", in.SyncID, "account", acc.Name, "status", in.Status,
		"reason", in.Reason)
	return nil
}
