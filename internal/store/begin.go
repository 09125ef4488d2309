package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"expiry-sync/internal/contract"
	"expiry-sync/internal/inventory"
)

// SyncStart opens (or re-opens, to resume) a sync log.
type SyncStart struct {
	SyncID      string
	RunID       string // the workflow run opening this attempt
	AccountID   string // the domain id
	AccountName string // the name the worker's accounts file gives it
	ExpireDays  int
	WindowBegin time.Time
	WindowEnd   time.Time
	// Resume re-opens a failed or canceled sync; without it, a new sync.
	Resume bool
	// Now is the workflow's clock, to tell how old a resumed window is.
	Now time.Time
}

// BeginSync opens the sync log of a new sync with the account's next
// generation, or re-opens a failed or canceled one (keeping its generation,
// window and checkpoint), and gives it the account's lease. It refuses with
// *AlreadyRunningError while another live sync holds the account, and a
// resume with *SupersededError or *TooOldError. running (may be nil) tells
// whether the holder of an unexpired lease still runs: a terminated sync's
// lease is taken over at once. Calling it again from the same run returns the
// log unchanged.
func (s *Store) BeginSync(ctx context.Context, st SyncStart, running HolderRunning) (SyncLog, error) {
	holder, alive, err := s.leaseHolder(ctx, st.AccountID, st.SyncID, running)
	if err != nil {
		return SyncLog{}, err
	}
	if alive {
		return SyncLog{}, s.alreadyRunning(ctx, st.AccountID, holder)
	}
	var log SyncLog
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		a, err := s.lockAccount(tx, st.AccountID)
		if err != nil {
			return err
		}
		found, err := s.lockSyncLog(tx, st.SyncID, &log)
		if err != nil {
			return err
		}
		if found && log.RunID == st.RunID && a.LeaseSyncID == st.SyncID && a.LeaseToken == log.LeaseToken {
			return nil // a retry of this run's own call
		}
		if err := checkStart(st, found, log, a); err != nil {
			return err
		}
		if err := s.takeLease(tx, &a, st.SyncID, holder); err != nil {
			return err
		}
		if !found {
			return s.createSyncLog(tx, st, &a, &log)
		}
		return s.reopenSyncLog(tx, st, &a, &log)
	})
	var busy *AlreadyRunningError
	if errors.As(err, &busy) {
		return SyncLog{}, s.alreadyRunning(ctx, st.AccountID, busy.Other)
	}
	if err != nil {
		return log, err
	}
	return log, s.sweep(ctx, log)
}

// checkStart refuses what may not start: a resume of nothing, of a finished
// sync, of one a newer sync superseded, or of one too old.
func checkStart(st SyncStart, found bool, log SyncLog, a SyncAccount) error {
	switch {
	case !found && st.Resume:
		return fmt.Errorf("%w: cannot resume sync %q: it has no sync log (it never started writing); start a new sync instead", ErrNotFound, st.SyncID)
	case !found:
		return nil
	case log.Status == StatusSuccess || log.Status == StatusPartial:
		return fmt.Errorf("%w: %s ended %s at %s", ErrFinished, st.SyncID, log.Status, log.FinishedAt.Format(time.RFC3339))
	case a.CompletedGeneration > log.Generation:
		at := time.Time{}
		if a.CompletedAt != nil {
			at = *a.CompletedAt
		}
		return &SupersededError{SyncID: st.SyncID, By: a.CompletedSyncID, At: at}
	}
	computedAt := log.WindowEnd.AddDate(0, 0, -log.ExpireDays)
	if !st.Now.IsZero() && st.Now.Sub(computedAt) > MaxResumeAge {
		return &TooOldError{SyncID: st.SyncID, ComputedAt: computedAt}
	}
	return nil
}

// leaseHolder names the sync holding the account's unexpired lease, other
// than syncID, and whether it is alive (its workflow still runs).
func (s *Store) leaseHolder(ctx context.Context, account, syncID string, running HolderRunning) (string, bool, error) {
	var a SyncAccount
	err := s.db.WithContext(ctx).Where("cloud_provider = ? AND account_id = ?", inventory.CloudProvider, account).Take(&a).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	if a.LeaseSyncID == "" || a.LeaseSyncID == syncID {
		return "", false, nil
	}
	now, err := s.dbNowMs(s.db.WithContext(ctx))
	if err != nil || a.LeaseExpiresMs <= now {
		return "", false, err // expired: the holder stopped renewing
	}
	if running == nil {
		return a.LeaseSyncID, true, nil
	}
	alive, err := running(ctx, a.LeaseSyncID)
	if err != nil {
		return "", false, fmt.Errorf("cannot tell whether %s, which holds account %s, still runs: %w", a.LeaseSyncID, account, err)
	}
	return a.LeaseSyncID, alive, nil
}

func (s *Store) alreadyRunning(ctx context.Context, account, other string) error {
	e := &AlreadyRunningError{Account: account, Other: other}
	if log, err := s.GetSyncLog(ctx, other); err == nil && log.AttemptStartedAt != nil {
		e.Since = *log.AttemptStartedAt
	}
	return e
}

// lockSyncLog reads a sync log for update; false when there is none.
func (s *Store) lockSyncLog(tx *gorm.DB, syncID string, log *SyncLog) (bool, error) {
	err := s.forUpdate(tx).Where("sync_id = ?", syncID).Take(log).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return false, nil
	}
	return err == nil, err
}

// nextGeneration hands out the account's next generation.
func nextGeneration(tx *gorm.DB, a *SyncAccount) error {
	a.LastGeneration++
	return tx.Model(&SyncAccount{}).Where("cloud_provider = ? AND account_id = ?", a.CloudProvider, a.AccountID).
		Update("last_generation", a.LastGeneration).Error
}

func (s *Store) createSyncLog(tx *gorm.DB, st SyncStart, a *SyncAccount, log *SyncLog) error {
	if err := nextGeneration(tx, a); err != nil {
		return err
	}
	now := utcNow()
	*log = SyncLog{
		SyncID: st.SyncID, RunID: st.RunID, CloudProvider: inventory.CloudProvider,
		AccountID: st.AccountID, AccountName: cmp.Or(st.AccountName, contract.DefaultAccount), Status: StatusRunning, ExpireDays: st.ExpireDays,
		WindowBegin: utcSecond(st.WindowBegin), WindowEnd: utcSecond(st.WindowEnd),
		Attempts: 1, StartedAt: now, UpdatedAt: now, AttemptStartedAt: &now,
		Generation: a.LastGeneration, LeaseToken: a.LeaseToken,
	}
	return tx.Create(log).Error
}

// reopenSyncLog starts a new attempt of a failed or canceled sync. The
// attempt takes a new generation, as its listing is newer than anything
// written so far, and lists again from the start: the cloud may have
// changed since the last attempt, so the rows it wrote are refreshed from
// BSS (their tags are not read again) or, if no longer listed, re-checked.
func (s *Store) reopenSyncLog(tx *gorm.DB, st SyncStart, a *SyncAccount, log *SyncLog) error {
	if err := nextGeneration(tx, a); err != nil {
		return err
	}
	now := utcNow()
	log.RunID, log.Status, log.Attempts, log.LeaseToken, log.Generation = st.RunID, StatusRunning, log.Attempts+1, a.LeaseToken, a.LastGeneration
	log.ErrorMessage, log.FinishedAt, log.UpdatedAt, log.AttemptStartedAt = nil, nil, now, &now
	log.NextOffset, log.NextRow, log.ListingAnchor = 0, 0, nil
	return tx.Select("run_id", "status", "attempts", "lease_token", "generation", "error_message", "finished_at", "updated_at",
		"attempt_started_at", "next_offset", "next_row", "listing_anchor").Save(log).Error
}

// sweep runs once the sync holds its account: any other sync of the account
// still marked running is dead (it lost the lease without closing its log:
// terminated or timed out), and the staging rows of syncs that are not
// running are orphans.
func (s *Store) sweep(ctx context.Context, log SyncLog) error {
	db := s.db.WithContext(ctx)
	now := utcNow()
	err := db.Model(&SyncLog{}).
		Where("cloud_provider = ? AND account_id = ? AND status = ? AND sync_id <> ?", log.CloudProvider, log.AccountID, StatusRunning, log.SyncID).
		Updates(map[string]any{"status": StatusFailed, "error_message": "abandoned: its workflow stopped without closing the sync log (terminated or timed out); " + log.SyncID + " took the account over",
			"finished_at": now, "updated_at": now}).Error
	if err != nil {
		return err
	}
	for _, table := range stagingTables {
		if err := db.Exec("DELETE FROM "+table+" WHERE sync_id NOT IN (SELECT sync_id FROM resource_sync_logs WHERE status = ?)", StatusRunning).Error; err != nil {
			return err
		}
	}
	return nil
}

// Writer is the identity the sync writes with.
func (l SyncLog) Writer() Writer {
	return Writer{SyncID: l.SyncID, AccountID: l.AccountID, AccountName: l.AccountName, Generation: l.Generation, Token: l.LeaseToken}
}
