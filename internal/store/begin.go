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
// generation, or re-opens a failed or canceled one (keeping its window and
// checkpoint; the attempt takes a new generation), and gives it the
// account's lease. It refuses with *AlreadyRunningError while another live
// sync holds the account, and a resume with *SupersededError or
// *TooOldError. running (may be nil) tells whether the holder still runs:
// a live holder is never taken over, however late its renewals; a closed
// one is at once. In the same transaction it sweeps what other attempts of
// the account left behind. Calling it again from the same run returns the
// log unchanged.
func (s *Store) BeginSync(ctx context.Context, st SyncStart, running HolderRunning) (SyncLog, error) {
	check, err := s.checkHolder(ctx, st.AccountID, st.SyncID, running)
	if err != nil {
		return SyncLog{}, err
	}
	var log SyncLog
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		a, clock, err := s.lockAccount(tx, st.AccountID)
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
		if err := s.takeLease(tx, &a, clock, st.SyncID, check); err != nil {
			return err
		}
		if !found {
			err = s.createSyncLog(tx, st, &a, &log)
		} else {
			err = s.reopenSyncLog(tx, st, &a, &log)
		}
		if err != nil {
			return err
		}
		return s.sweep(tx, log)
	})
	var busy *AlreadyRunningError
	if errors.As(err, &busy) {
		return SyncLog{}, s.alreadyRunning(ctx, st.AccountID, busy.Other)
	}
	return log, err
}

// checkStart refuses what may not start: a resume of nothing, of a finished
// sync, of one a newer sync superseded, or of one too old.
func checkStart(st SyncStart, found bool, log SyncLog, a SyncAccount) error {
	switch {
	case !found && st.Resume:
		return fmt.Errorf(
			"%w: cannot resume sync %q: it has no sync log (it never started writing); start a new sync instead",
			ErrNotFound,
			st.SyncID,
		)
	case !found:
		return nil
	case log.Status == contract.StatusSuccess || log.Status == contract.StatusPartial:
		return fmt.Errorf(
			"%w: %s ended %s at %s",
			ErrFinished,
			st.SyncID,
			log.Status,
			log.FinishedAt.Format(time.RFC3339),
		)
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

// checkHolder asks Temporal, outside any transaction, about the sync that
// holds the account's lease, if another does: a running holder keeps it
// (*AlreadyRunningError), whatever its lease's expiry says; a closed (or
// unknown) one may be taken over. Without Temporal to ask (running nil),
// the lease's expiry decides, in BeginSync's transaction.
func (s *Store) checkHolder(ctx context.Context, account, syncID string, running HolderRunning) (takeoverCheck, error) {
	var a SyncAccount
	err := s.db.WithContext(ctx).Where("cloud_provider = ? AND account_id = ?", inventory.CloudProvider, account).
		Take(&a).Error
	switch {
	case errors.Is(err, gorm.ErrRecordNotFound):
		return takeoverCheck{}, nil
	case err != nil:
		return takeoverCheck{}, err
	case a.LeaseSyncID == "" || a.LeaseSyncID == syncID:
		return takeoverCheck{}, nil
	case running == nil:
		return takeoverCheck{holder: a.LeaseSyncID}, nil
	}
	alive, err := running(ctx, a.LeaseSyncID)
	if err != nil {
		return takeoverCheck{}, fmt.Errorf(
			"cannot tell whether %s, which holds account %s, still runs: %w",
			a.LeaseSyncID,
			account,
			err,
		)
	}
	if alive {
		return takeoverCheck{}, s.alreadyRunning(ctx, account, a.LeaseSyncID)
	}
	return takeoverCheck{holder: a.LeaseSyncID, closed: true, asked: true}, nil
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
		AccountID: st.AccountID, AccountName: cmp.Or(st.AccountName, contract.DefaultAccount),
		Status: contract.StatusRunning, ExpireDays: st.ExpireDays,
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
	log.RunID, log.Status, log.Attempts, log.LeaseToken, log.Generation =
		st.RunID, contract.StatusRunning, log.Attempts+1, a.LeaseToken, a.LastGeneration
	log.ErrorMessage, log.FinishedAt, log.UpdatedAt, log.AttemptStartedAt = nil, nil, now, &now
	log.NextOffset, log.NextRow, log.ListingAnchor = 0, 0, nil
	return tx.Select("run_id", "status", "attempts", "lease_token", "generation", "error_message", "finished_at",
		"updated_at", "attempt_started_at", "next_offset", "next_row", "listing_anchor").Save(log).Error
}

// sweep runs in BeginSync's transaction, once the attempt holds its
// account: any other sync of the account still marked running is dead (it
// lost the lease without closing its log: terminated or timed out), and
// every staging row of the account's syncs but this attempt's is an
// orphan. It reads only the account's own syncs.
func (s *Store) sweep(tx *gorm.DB, log SyncLog) error {
	now := utcNow()
	err := tx.Model(&SyncLog{}).
		Where("cloud_provider = ? AND account_id = ? AND status = ? AND sync_id <> ?",
			log.CloudProvider, log.AccountID, contract.StatusRunning, log.SyncID).
		Updates(map[string]any{"status": contract.StatusFailed, "error_message": "abandoned: " +
			"its workflow stopped without closing the sync log (terminated or timed out); " +
			log.SyncID + " took the account over",
			"finished_at": now, "updated_at": now}).Error
	if err != nil {
		return err
	}
	accountSyncs := tx.Model(&SyncLog{}).Select("sync_id").
		Where("cloud_provider = ? AND account_id = ?", log.CloudProvider, log.AccountID)
	for _, table := range stagingTables {
		err := tx.Exec(
			"DELETE FROM "+table+" WHERE sync_id IN (?) AND NOT (sync_id = ? AND generation = ?)",
			accountSyncs,
			log.SyncID,
			log.Generation,
		).Error
		if err != nil {
			return err
		}
	}
	return nil
}

// Writer is the identity the sync writes with.
func (l SyncLog) Writer() Writer {
	return Writer{
		SyncID:      l.SyncID,
		AccountID:   l.AccountID,
		AccountName: l.AccountName,
		Generation:  l.Generation,
		Token:       l.LeaseToken,
	}
}
