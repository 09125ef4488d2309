package store

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"expiry-sync/internal/contract"
	"expiry-sync/internal/inventory"
)

// ErrNotFound: no sync log has that id.
var ErrNotFound = errors.New("sync log not found")

// ErrFinished: the sync already finished; there is nothing to resume.
var ErrFinished = errors.New("sync already finished")

// ErrOutOfOrder: a batch arrived before the one it follows was committed.
var ErrOutOfOrder = errors.New("batch out of order")

// ErrNotStaged: a batch names tags read OK that no tag read staged.
var ErrNotStaged = errors.New("tags not staged")

// ErrNotRunning: the sync was closed (failed, canceled, finished) meanwhile.
var ErrNotRunning = errors.New("sync is not running")

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
	for _, table := range []string{"tag_snapshots", "sync_gone"} {
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

// BatchCommit is one chunk of rows and the checkpoint after it.
type BatchCommit struct {
	Writer
	Batch      int // 1, 2, 3, ... in commit order within the sync
	NextOffset int
	NextRow    int
	// Anchor: the last ids of the page the checkpoint follows; the next page
	// listed must overlap them, or the listing shifted (see workflows).
	Anchor   []string
	Rows     []inventory.Row
	SyncedAt time.Time
	// TagsStaged: the tags of rows read OK are in tag_snapshots (staged by
	// this sync), not in Rows; the INSERT copies them inside the database.
	TagsStaged bool
}

// CommitBatch upserts the rows and moves the sync log's checkpoint in one
// transaction, after checking that the sync still holds its account. A batch
// that is already committed changes nothing and returns false: re-running a
// committed chunk is harmless. A row that a newer generation wrote is left
// as it is.
func (s *Store) CommitBatch(ctx context.Context, b BatchCommit) (bool, error) {
	applied := false
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := s.fence(tx, b.Writer); err != nil {
			return err
		}
		update := map[string]any{
			"last_committed_batch": b.Batch,
			"batches_committed":    gorm.Expr("batches_committed + 1"),
			"rows_written":         gorm.Expr("rows_written + ?", len(b.Rows)),
			"next_offset":          b.NextOffset,
			"next_row":             b.NextRow,
			"updated_at":           utcNow(),
		}
		if b.Anchor != nil {
			anchor, err := json.Marshal(b.Anchor)
			if err != nil {
				return err
			}
			update["listing_anchor"] = string(anchor)
		}
		res := tx.Model(&SyncLog{}).
			Where("sync_id = ? AND last_committed_batch = ? AND status = ?", b.SyncID, b.Batch-1, StatusRunning).
			Updates(update)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return s.explainSkippedBatch(tx, b)
		}
		applied = true
		if len(b.Rows) == 0 {
			return nil
		}
		return s.upsert(tx, toModels(b), b.stagedFrom())
	})
	if errors.Is(err, errAlreadyCommitted) {
		return false, nil
	}
	return applied, err
}

var errAlreadyCommitted = errors.New("already committed")

func (s *Store) explainSkippedBatch(tx *gorm.DB, b BatchCommit) error {
	var log SyncLog
	if err := tx.Where("sync_id = ?", b.SyncID).Take(&log).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return fmt.Errorf("%w: %s", ErrNotFound, b.SyncID)
		}
		return err
	}
	switch {
	case log.LastCommittedBatch >= b.Batch:
		return errAlreadyCommitted
	case log.Status != StatusRunning:
		return fmt.Errorf("%w: %s is %s, batch %d not written", ErrNotRunning, b.SyncID, log.Status, b.Batch)
	}
	return fmt.Errorf("%w: batch %d follows %d", ErrOutOfOrder, b.Batch, log.LastCommittedBatch)
}

// accountName is the name rows are written with ("default" when unset).
func (w Writer) accountName() string {
	if w.AccountName == "" {
		return contract.DefaultAccount
	}
	return w.AccountName
}

// stagedFrom names the sync whose staged tags the batch uses, or "".
func (b BatchCommit) stagedFrom() string {
	if b.TagsStaged {
		return b.SyncID
	}
	return ""
}

func toModels(b BatchCommit) []ExpiringResource {
	out := make([]ExpiringResource, len(b.Rows))
	for i, r := range b.Rows {
		out[i] = NewRow(b.AccountID, b.SyncID, r, b.SyncedAt)
		out[i].SyncGeneration, out[i].AccountName = b.Generation, b.accountName()
	}
	return out
}

// NewRow is the row a sync writes for a listed resource and its tags.
func NewRow(accountID, syncID string, r inventory.Row, syncedAt time.Time) ExpiringResource {
	synced := utcSecond(syncedAt)
	m := ExpiringResource{
		CloudProvider: inventory.CloudProvider, AccountID: accountID, ResourceID: r.ResourceID,
		ResourceName: r.Name, RegionCode: r.RegionCode, ProjectID: r.ProjectID,
		ServiceTypeCode: r.ServiceTypeCode, ResourceTypeCode: r.ResourceTypeCode,
		ResourceSpecCode: r.ResourceSpecCode, ParentResourceID: r.ParentResourceID,
		IsMainResource: r.IsMainResource, Status: r.Status, ExpireTime: utcSecond(r.ExpireTime),
		ExpirePolicy: r.ExpirePolicy, EnterpriseProjectID: r.EnterpriseProjectID,
		TagStatus: string(r.Tags.Status), TagError: truncate(r.Tags.Error, 1024),
		IsActive: true, FirstSeenAt: synced, LastSyncedAt: synced, LastSyncID: syncID,
	}
	if !r.EffectiveTime.IsZero() {
		t := utcSecond(r.EffectiveTime)
		m.EffectiveTime = &t
	}
	if r.Tags.Status == inventory.TagsOK {
		m.Tags = Tags(r.Tags.Tags)
		if m.Tags == nil {
			m.Tags = Tags{}
		}
		m.TagsReadAt = &synced
	}
	return m
}

// SyncFinish closes a sync whose every batch is committed.
type SyncFinish struct {
	Writer
	Retries int // retried activity attempts, for the log
	Notes   SyncNotes
}

// FinishSync closes a sync whose every batch is committed and whose
// re-check is done, as the newest completed sync of its account: it
// deactivates the resources its re-check found closed or gone (never
// deletes), counts the totals from the rows, records the account's completed
// generation and frees the lease. Calling it again on a finished sync
// returns the log unchanged.
func (s *Store) FinishSync(ctx context.Context, f SyncFinish) (SyncLog, error) {
	var log SyncLog
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		found, err := s.lockSyncLog(tx, f.SyncID, &log)
		switch {
		case err != nil:
			return err
		case !found:
			return fmt.Errorf("%w: %s", ErrNotFound, f.SyncID)
		case log.Status == StatusSuccess || log.Status == StatusPartial:
			return nil
		case log.Status != StatusRunning:
			return fmt.Errorf("%w: %s is %s, not finished", ErrNotRunning, f.SyncID, log.Status)
		}
		if err := s.fence(tx, f.Writer); err != nil {
			return err
		}
		if err := s.completeGeneration(tx, f.Writer); err != nil {
			return err
		}
		deactivated, err := s.deactivateGone(tx, f.Writer)
		if err != nil {
			return err
		}
		log.DeactivatedResources = deactivated
		if err := s.dropStaging(tx, f.SyncID); err != nil {
			return err
		}
		if err := countTotals(tx, &log); err != nil {
			return err
		}
		if err := log.SetNotes(f.Notes); err != nil {
			return err
		}
		now := utcNow()
		log.Status, log.FinishedAt, log.UpdatedAt, log.Retries = StatusSuccess, &now, now, f.Retries
		log.QuarantinedRecords = f.Notes.QuarantinedCount
		if log.TagErrorResources > 0 || len(f.Notes.Degraded) > 0 || f.Notes.QuarantinedCount > 0 {
			log.Status = StatusPartial
		}
		return tx.Save(&log).Error
	})
	return log, err
}

// completeGeneration records w's generation as the account's newest
// completed one and frees the lease; a newer completed generation refuses.
func (s *Store) completeGeneration(tx *gorm.DB, w Writer) error {
	var a SyncAccount
	if err := tx.Where("cloud_provider = ? AND account_id = ?", inventory.CloudProvider, w.AccountID).Take(&a).Error; err != nil {
		return err
	}
	if a.CompletedGeneration > w.Generation {
		at := time.Time{}
		if a.CompletedAt != nil {
			at = *a.CompletedAt
		}
		return &SupersededError{SyncID: w.SyncID, By: a.CompletedSyncID, At: at}
	}
	now := utcNow()
	return tx.Model(&SyncAccount{}).Where("cloud_provider = ? AND account_id = ?", inventory.CloudProvider, w.AccountID).
		Updates(map[string]any{"completed_generation": w.Generation, "completed_sync_id": w.SyncID, "completed_at": now,
			"lease_sync_id": "", "lease_expires_ms": 0}).Error
}

// deactivateGone marks inactive the resources the sync's re-check found
// closed or no longer listed, keeping the last status BSS gave.
func (s *Store) deactivateGone(tx *gorm.DB, w Writer) (int, error) {
	res := tx.Exec(`UPDATE expiring_resources SET is_active = ?, sync_generation = ?,
		status = COALESCE((SELECT g.bss_status FROM sync_gone g WHERE g.sync_id = ? AND g.resource_id = expiring_resources.resource_id), status)
		WHERE cloud_provider = ? AND account_id = ? AND is_active = ? AND sync_generation < ?
		AND resource_id IN (SELECT resource_id FROM sync_gone WHERE sync_id = ?)`,
		false, w.Generation, w.SyncID, inventory.CloudProvider, w.AccountID, true, w.Generation, w.SyncID)
	return int(res.RowsAffected), res.Error
}

// dropStaging removes what a sync staged while it ran.
func (s *Store) dropStaging(tx *gorm.DB, syncID string) error {
	for _, table := range []string{"tag_snapshots", "sync_gone"} {
		if err := tx.Exec("DELETE FROM "+table+" WHERE sync_id = ?", syncID).Error; err != nil {
			return err
		}
	}
	return nil
}

func countTotals(tx *gorm.DB, log *SyncLog) error {
	var counts []struct {
		TagStatus string
		N         int
	}
	err := tx.Model(&ExpiringResource{}).Select("tag_status, COUNT(*) AS n").
		Where("cloud_provider = ? AND account_id = ? AND last_sync_id = ? AND is_active = ? AND expire_time BETWEEN ? AND ?",
			log.CloudProvider, log.AccountID, log.SyncID, true, log.WindowBegin, log.WindowEnd).
		Group("tag_status").Scan(&counts).Error
	if err != nil {
		return err
	}
	log.TotalResources, log.TaggedResources, log.UntaggedResources, log.VanishedResources, log.TagErrorResources = 0, 0, 0, 0, 0
	for _, c := range counts {
		log.TotalResources += c.N
		switch inventory.TagStatus(c.TagStatus) {
		case inventory.TagsOK:
			log.TaggedResources = c.N
		case inventory.TagsUnsupported:
			log.UntaggedResources = c.N
		case inventory.TagsNotFound:
			log.VanishedResources = c.N
		case inventory.TagsError:
			log.TagErrorResources = c.N
		}
	}
	return nil
}

// EndSync records that a running sync stopped without finishing (failed or
// canceled) and why; its checkpoint stays for a resume. It frees the lease
// if the sync still holds it and drops what the sync staged.
func (s *Store) EndSync(ctx context.Context, w Writer, status, reason string, retries int) error {
	now := utcNow()
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		err := tx.Model(&SyncLog{}).Where("sync_id = ? AND status = ?", w.SyncID, StatusRunning).
			Updates(map[string]any{"status": status, "error_message": truncate(reason, 4000), "retries": retries, "finished_at": now, "updated_at": now}).Error
		if err != nil {
			return err
		}
		if err := s.releaseLease(tx, w); err != nil {
			return err
		}
		return s.dropStaging(tx, w.SyncID)
	})
}

// GetSyncLog reads one sync log.
func (s *Store) GetSyncLog(ctx context.Context, syncID string) (SyncLog, error) {
	var log SyncLog
	err := s.db.WithContext(ctx).Where("sync_id = ?", syncID).Take(&log).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return log, fmt.Errorf("%w: %s", ErrNotFound, syncID)
	}
	return log, err
}

// forUpdate locks the selected row on MySQL; SQLite has one writer anyway.
func (s *Store) forUpdate(tx *gorm.DB) *gorm.DB {
	if s.Dialect() == "mysql" {
		return tx.Clauses(clause.Locking{Strength: "UPDATE"})
	}
	return tx
}

func utcNow() time.Time { return utcSecond(time.Now()) }

// utcSecond keeps every stored time in one form (UTC, whole seconds), so
// SQLite's text timestamps compare correctly.
func utcSecond(t time.Time) time.Time { return t.UTC().Truncate(time.Second) }

// truncate cuts s to at most n bytes on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// TagErrors lists up to limit resources of a sync whose tags could not be read.
func (s *Store) TagErrors(ctx context.Context, syncID string, limit int) ([]ExpiringResource, error) {
	var rows []ExpiringResource
	err := s.db.WithContext(ctx).Select("resource_id", "tag_error").
		Where("last_sync_id = ? AND tag_status = ?", syncID, string(inventory.TagsError)).
		Order("resource_id").Limit(limit).Find(&rows).Error
	return rows, err
}
