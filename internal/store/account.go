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
//   - Lease expiry is measured on the database's clock, never a worker's:
//     worker clocks may disagree by minutes.

// LeaseTTL is how long a lease lasts without renewal. The sync's HoldLease
// activity renews it every few seconds; a crashed or terminated sync stops
// blocking its account within this (sooner when Temporal says it is closed).
var LeaseTTL = 20 * time.Second

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
	LeaseExpiresMs      int64
}

// TableName pins the table name.
func (SyncAccount) TableName() string { return "sync_accounts" }

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
	return fmt.Sprintf("account %s is already being synced by %s (running since %s): wait for it to end, or cancel it with 'starter cancel %s'",
		e.Account, e.Other, e.Since.UTC().Format(time.RFC3339), e.Other)
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
	return fmt.Sprintf("sync %s no longer holds account %s (held by %s): it stopped writing", e.SyncID, e.Account, holder)
}

// SupersededError: a newer sync of the account completed; resuming this one
// would bring back an older view of the cloud.
type SupersededError struct {
	SyncID, By string
	At         time.Time
}

func (e *SupersededError) Error() string {
	return fmt.Sprintf("sync %s was superseded by %s at %s: start a new sync", e.SyncID, e.By, e.At.UTC().Format(time.RFC3339))
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

// HolderRunning reports whether the workflow of a sync still runs; nil
// means "unknown": the lease then ends only by expiring.
type HolderRunning func(ctx context.Context, syncID string) (bool, error)

// lockAccount reads the account's row for update, creating it first.
func (s *Store) lockAccount(tx *gorm.DB, account string) (SyncAccount, error) {
	a := SyncAccount{CloudProvider: inventory.CloudProvider, AccountID: account}
	if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&a).Error; err != nil {
		return a, err
	}
	err := s.forUpdate(tx).Where("cloud_provider = ? AND account_id = ?", inventory.CloudProvider, account).Take(&a).Error
	return a, err
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

// takeLease gives the lease to syncID with a new token, unless a sync other
// than takeover (a holder known to be dead) holds an unexpired lease.
func (s *Store) takeLease(tx *gorm.DB, a *SyncAccount, syncID, takeover string) error {
	now, err := s.dbNowMs(tx)
	if err != nil {
		return err
	}
	held := a.LeaseSyncID != "" && a.LeaseSyncID != syncID && a.LeaseExpiresMs > now
	if held && a.LeaseSyncID != takeover {
		return &AlreadyRunningError{Account: a.AccountID, Other: a.LeaseSyncID}
	}
	a.LeaseSyncID, a.LeaseToken, a.LeaseExpiresMs = syncID, a.LeaseToken+1, now+LeaseTTL.Milliseconds()
	return tx.Model(&SyncAccount{}).Where("cloud_provider = ? AND account_id = ?", a.CloudProvider, a.AccountID).
		Updates(map[string]any{"lease_sync_id": a.LeaseSyncID, "lease_token": a.LeaseToken, "lease_expires_ms": a.LeaseExpiresMs}).Error
}

// RenewLease extends w's lease by LeaseTTL from now (the database's now).
// It fails with *LeaseLostError once another sync holds the account.
func (s *Store) RenewLease(ctx context.Context, w Writer) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := s.fence(tx, w); err != nil {
			return err
		}
		now, err := s.dbNowMs(tx)
		if err != nil {
			return err
		}
		return tx.Model(&SyncAccount{}).Where("cloud_provider = ? AND account_id = ?", inventory.CloudProvider, w.AccountID).
			Update("lease_expires_ms", now+LeaseTTL.Milliseconds()).Error
	})
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
	res := tx.Raw("SELECT lease_sync_id, lease_token FROM sync_accounts WHERE cloud_provider = ? AND account_id = ? LOCK IN SHARE MODE",
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

// releaseLease frees w's lease, if w still holds it.
func (s *Store) releaseLease(tx *gorm.DB, w Writer) error {
	return tx.Model(&SyncAccount{}).
		Where("cloud_provider = ? AND account_id = ? AND lease_sync_id = ? AND lease_token = ?", inventory.CloudProvider, w.AccountID, w.SyncID, w.Token).
		Updates(map[string]any{"lease_sync_id": "", "lease_expires_ms": 0}).Error
}

// Account reads an account's row (tests and reports).
func (s *Store) Account(ctx context.Context, account string) (SyncAccount, error) {
	var a SyncAccount
	err := s.db.WithContext(ctx).Where("cloud_provider = ? AND account_id = ?", inventory.CloudProvider, account).Take(&a).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return a, fmt.Errorf("%w: account %s has no sync", ErrNotFound, account)
	}
	return a, err
}
