package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"expiry-sync/internal/inventory"
)

// The invariants this file keeps, per account:
//   - Generations: every new sync takes the next generation; a row records
//     the generation that wrote it, and an older sync never overwrites it.
//   - One writer: a sync writes only while it holds the account's lease, and
//     each write checks the lease token inside its own transaction (fencing),
//     so a sync that lost the lease (terminated, partitioned, superseded)
//     cannot write even if one of its activities still runs.
//   - A live sync is never taken over: a contender takes the lease only
//     once Temporal says the holder's workflow is closed (or does not know
//     it); without Temporal to ask, once the lease expired. Expiry is
//     measured on the database's clock, never a worker's: worker clocks may
//     disagree by minutes.
//   - The holder renews its lease in a row of its own (lease_renewals),
//     which its commits never lock: a renewal never queues behind its own
//     long commit. A takeover locks both rows, the fence first.

// LeaseTTL is how long a lease lasts without renewal. The sync's HoldLease
// activity renews it several times per TTL (RenewEvery); a terminated sync
// stops blocking its account at once, as Temporal says it is closed.
var LeaseTTL = 20 * time.Second

// RenewEvery is how often the holder renews its lease: six times per
// LeaseTTL, so that a few missed renewals (a database hiccup) keep it.
func RenewEvery() time.Duration { return LeaseTTL / 6 }

// MaxResumeAge: a sync whose window was computed longer ago than this is not
// resumed: "expiring within N days" of a day ago is no longer what the user
// asked for. Start a new sync instead.
const MaxResumeAge = 24 * time.Hour

// SyncAccount is one row of sync_accounts.
type SyncAccount struct {
	CloudProvider       string `gorm:"primaryKey"`
	AccountID           string `gorm:"primaryKey"`
	LastGeneration      int64
	CompletedGeneration int64
	CompletedSyncID     string
	CompletedAt         *time.Time
	LeaseSyncID         string
	LeaseToken          int64
}

// TableName pins the table name.
func (SyncAccount) TableName() string { return "sync_accounts" }

// LeaseRenewal is one row of lease_renewals: the lease's clock, which the
// holder renews without touching sync_accounts.
type LeaseRenewal struct {
	CloudProvider string `gorm:"primaryKey"`
	AccountID     string `gorm:"primaryKey"`
	LeaseSyncID   string
	LeaseToken    int64
	ExpiresMs     int64
}

// TableName pins the table name.
func (LeaseRenewal) TableName() string { return "lease_renewals" }

// Writer is who writes: a sync, by the lease token it holds.
type Writer struct {
	SyncID      string
	AccountID   string // the domain id: what the lease and generations key on
	AccountName string // the name rows are written with
	Generation  int64
	Token       int64
}

// AlreadyRunningError: another live sync holds the account; this one yields.
type AlreadyRunningError struct {
	Account, Other string
	Since          time.Time
}

func (e *AlreadyRunningError) Error() string {
	return fmt.Sprintf(
		"account %s is already being synced by %s (running since %s): wait for it to end, "+
			"or cancel it with 'starter cancel %s'",
		e.Account,
		e.Other,
		e.Since.UTC().Format(time.RFC3339),
		e.Other,
	)
}

// LeaseLostError: the sync no longer holds its account's lease, so it may
// not write: another sync took the account over after this one stopped
// renewing (terminated, or cut off from the database for longer than LeaseTTL).
type LeaseLostError struct {
	SyncID, Account, Holder string
}

func (e *LeaseLostError) Error() string {
	holder := "nobody"
	if e.Holder != "" {
		holder = e.Holder
	}
	return fmt.Sprintf(
		"sync %s no longer holds account %s (held by %s): it stopped writing",
		e.SyncID,
		e.Account,
		holder,
	)
}

// SupersededError: a newer sync of the account completed; resuming this one
// would bring back an older view of the cloud.
type SupersededError struct {
	SyncID, By string
	At         time.Time
}

func (e *SupersededError) Error() string {
	return fmt.Sprintf(
		"sync %s was superseded by %s at %s: start a new sync",
		e.SyncID,
		e.By,
		e.At.UTC().Format(time.RFC3339),
	)
}

// TooOldError: the sync's window was computed more than MaxResumeAge ago.
type TooOldError struct {
	SyncID     string
	ComputedAt time.Time
}

func (e *TooOldError) Error() string {
	return fmt.Sprintf("sync %s lists the window computed at %s, more than %s ago: start a new sync",
		e.SyncID, e.ComputedAt.UTC().Format(time.RFC3339), MaxResumeAge)
}

// HolderRunning reports whether the workflow of a sync still runs (false:
// closed, or unknown to Temporal); nil means Temporal cannot be asked: the
// lease then ends only by expiring.
type HolderRunning func(ctx context.Context, syncID string) (bool, error)

// lockAccount reads the account's row and its lease clock for update,
// creating them first. The fence row is always locked before the clock.
func (s *Store) lockAccount(tx *gorm.DB, account string) (SyncAccount, LeaseRenewal, error) {
	a := SyncAccount{CloudProvider: inventory.CloudProvider, AccountID: account}
	c := LeaseRenewal{CloudProvider: inventory.CloudProvider, AccountID: account}
	if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&a).Error; err != nil {
		return a, c, err
	}
	if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&c).Error; err != nil {
		return a, c, err
	}
	where := "cloud_provider = ? AND account_id = ?"
	if err := s.forUpdate(tx).Where(where, inventory.CloudProvider, account).Take(&a).Error; err != nil {
		return a, c, err
	}
	err := s.forUpdate(tx).Where(where, inventory.CloudProvider, account).Take(&c).Error
	return a, c, err
}

// dbNowMs is the database's clock in milliseconds since the epoch.
func (s *Store) dbNowMs(tx *gorm.DB) (int64, error) {
	q := "SELECT CAST(ROUND(UNIX_TIMESTAMP(NOW(3)) * 1000) AS SIGNED)"
	if s.Dialect() != "mysql" {
		q = "SELECT CAST(ROUND((julianday('now') - 2440587.5) * 86400000.0) AS INTEGER)"
	}
	var ms int64
	err := tx.Raw(q).Scan(&ms).Error
	return ms, err
}

// takeoverCheck is what a contender learned, before its transaction, of
// the sync holding the account's lease.
type takeoverCheck struct {
	holder string // "" when nobody else held it
	closed bool   // Temporal says the holder's workflow is closed (or unknown)
	asked  bool   // Temporal was asked; if not, only expiry frees the lease
}

// mayTake says whether syncID may take the lease that a and c describe,
// now: it is free, its own, or held by the sync the check found closed (or,
// with nobody to ask, whose lease expired). A live holder keeps it
// however long it goes without renewing.
func (k takeoverCheck) mayTake(a SyncAccount, c LeaseRenewal, syncID string, now int64) bool {
	switch {
	case a.LeaseSyncID == "" || a.LeaseSyncID == syncID:
		return true
	case a.LeaseSyncID != k.holder:
		return false // another contender took it since the check
	case k.asked:
		return k.closed
	}
	return c.LeaseToken != a.LeaseToken || c.ExpiresMs <= now
}

// takeLease gives the lease to syncID with a new token, if it may take it.
func (s *Store) takeLease(tx *gorm.DB, a *SyncAccount, c LeaseRenewal, syncID string, k takeoverCheck) error {
	now, err := s.dbNowMs(tx)
	if err != nil {
		return err
	}
	if !k.mayTake(*a, c, syncID, now) {
		return &AlreadyRunningError{Account: a.AccountID, Other: a.LeaseSyncID}
	}
	a.LeaseSyncID, a.LeaseToken = syncID, a.LeaseToken+1
	return s.setLease(tx, a.AccountID, a.LeaseSyncID, a.LeaseToken, now+LeaseTTL.Milliseconds())
}

// setLease writes the lease's holder and token into both its rows (the
// fence and the clock), in the caller's transaction.
func (s *Store) setLease(tx *gorm.DB, account, syncID string, token, expiresMs int64) error {
	where := "cloud_provider = ? AND account_id = ?"
	err := tx.Model(&SyncAccount{}).Where(where, inventory.CloudProvider, account).
		Updates(map[string]any{"lease_sync_id": syncID, "lease_token": token}).Error
	if err != nil {
		return err
	}
	return tx.Model(&LeaseRenewal{}).Where(where, inventory.CloudProvider, account).
		Updates(map[string]any{"lease_sync_id": syncID, "lease_token": token, "expires_ms": expiresMs}).Error
}

// RenewLease extends w's lease by LeaseTTL from now (the database's now).
// It touches only the lease's clock row, which no commit locks, so it
// never waits for the holder's own writes. It fails with *LeaseLostError
// once w no longer holds the account.
func (s *Store) RenewLease(ctx context.Context, w Writer) error {
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var c LeaseRenewal
		err := s.forUpdate(tx).Where("cloud_provider = ? AND account_id = ?", inventory.CloudProvider, w.AccountID).
			Take(&c).Error
		if errors.Is(err, gorm.ErrRecordNotFound) ||
			(err == nil && (c.LeaseSyncID != w.SyncID || c.LeaseToken != w.Token)) {
			return errNotRenewed
		}
		if err != nil {
			return err
		}
		now, err := s.dbNowMs(tx)
		if err != nil {
			return err
		}
		return tx.Model(&LeaseRenewal{}).
			Where("cloud_provider = ? AND account_id = ?", inventory.CloudProvider, w.AccountID).
			Update("expires_ms", now+LeaseTTL.Milliseconds()).Error
	})
	if errors.Is(err, errNotRenewed) {
		a, aerr := s.Account(ctx, w.AccountID)
		if aerr != nil && !errors.Is(aerr, ErrNotFound) {
			return aerr
		}
		return &LeaseLostError{SyncID: w.SyncID, Account: w.AccountID, Holder: a.LeaseSyncID}
	}
	return err
}

var errNotRenewed = errors.New("lease not held")

// LeaseClock reads an account's lease clock (tests and diagnostics).
func (s *Store) LeaseClock(ctx context.Context, account string) (LeaseRenewal, error) {
	var c LeaseRenewal
	err := s.db.WithContext(ctx).Where("cloud_provider = ? AND account_id = ?", inventory.CloudProvider, account).
		Take(&c).Error
	return c, err
}

// fence locks the account's row and checks that w still holds its lease:
// every write of a sync runs it first, in the write's own transaction.
func (s *Store) fence(tx *gorm.DB, w Writer) error {
	return s.checkLease(s.forUpdate(tx), w)
}

// fenceShared is fence for a sync's data writes (pages, staged tags). It
// locks the account's row in share mode: the sync's concurrent writes do
// not queue behind each other on it, while a takeover, which updates the
// row, still waits for every write in flight, and every later write sees
// the new holder. A transaction that fences shared never updates the
// account's row (that would deadlock against another shared holder).
func (s *Store) fenceShared(tx *gorm.DB, w Writer) error {
	if s.Dialect() != "mysql" {
		return s.checkLease(tx, w) // SQLite: one writer anyway
	}
	// LOCK IN SHARE MODE: MariaDB has no FOR SHARE; MySQL 8 takes both.
	var a SyncAccount
	res := tx.Raw("SELECT lease_sync_id, lease_token FROM sync_accounts WHERE cloud_provider = ? "+
		"AND account_id = ? LOCK IN SHARE MODE",
		inventory.CloudProvider, w.AccountID).Scan(&a)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return &LeaseLostError{SyncID: w.SyncID, Account: w.AccountID}
	}
	return leaseHeld(a, w)
}

func (s *Store) checkLease(q *gorm.DB, w Writer) error {
	var a SyncAccount
	err := q.Where("cloud_provider = ? AND account_id = ?", inventory.CloudProvider, w.AccountID).Take(&a).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return &LeaseLostError{SyncID: w.SyncID, Account: w.AccountID}
	}
	if err != nil {
		return err
	}
	return leaseHeld(a, w)
}

// leaseHeld: the account's row says w holds the lease.
func leaseHeld(a SyncAccount, w Writer) error {
	if a.LeaseSyncID != w.SyncID || a.LeaseToken != w.Token {
		return &LeaseLostError{SyncID: w.SyncID, Account: w.AccountID, Holder: a.LeaseSyncID}
	}
	return nil
}

// releaseLease frees w's lease; the caller fenced w in its transaction.
func (s *Store) releaseLease(tx *gorm.DB, w Writer) error {
	return s.setLease(tx, w.AccountID, "", w.Token, 0)
}

// Account reads an account's row (tests and reports).
func (s *Store) Account(ctx context.Context, account string) (SyncAccount, error) {
	var a SyncAccount
	err := s.db.WithContext(ctx).Where("cloud_provider = ? AND account_id = ?", inventory.CloudProvider, account).
		Take(&a).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return a, fmt.Errorf("%w: account %s has no sync", ErrNotFound, account)
	}
	return a, err
}
