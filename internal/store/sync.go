package store

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

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
	AccountID   string
	ExpireDays  int
	WindowBegin time.Time
	WindowEnd   time.Time
}

// StaleAfter: a running sync whose log has not moved for this long is taken
// for dead (its workflow was terminated) and no longer holds its account.
const StaleAfter = 15 * time.Minute

// AlreadyRunningError: another sync of the account runs; this one yields.
type AlreadyRunningError struct {
	Account, Other string
	Since          time.Time
}

func (e *AlreadyRunningError) Error() string {
	return fmt.Sprintf("account %s is already being synced by %s (running since %s): wait for it to end, or cancel it with 'starter cancel %s'",
		e.Account, e.Other, e.Since.UTC().Format(time.RFC3339), e.Other)
}

// BeginSync opens the sync log of a new sync, or re-opens a failed or
// canceled one for a new attempt, keeping its window and checkpoint. Two
// syncs of one account never run at once: when another one runs, the
// later attempt is closed as failed and an *AlreadyRunningError returned.
// Calling it again from the same run returns the log unchanged.
func (s *Store) BeginSync(ctx context.Context, st SyncStart) (SyncLog, error) {
	log, err := s.openSyncLog(ctx, st)
	if err != nil {
		return log, err
	}
	if other, err := s.earlierRunningSync(ctx, log); err != nil || other == nil {
		return log, err
	} else {
		yield := &AlreadyRunningError{Account: log.AccountID, Other: other.SyncID, Since: *other.AttemptStartedAt}
		return log, errors.Join(yield, s.EndSync(ctx, log.SyncID, StatusFailed, yield.Error(), 0))
	}
}

// earlierRunningSync finds a live sync of the same account whose attempt
// opened before this one (ties: the smaller sync id). Each of two syncs
// opening at once sees the other's committed log, so exactly one yields.
func (s *Store) earlierRunningSync(ctx context.Context, log SyncLog) (*SyncLog, error) {
	var others []SyncLog
	err := s.db.WithContext(ctx).
		Where("cloud_provider = ? AND account_id = ? AND status = ? AND sync_id <> ? AND updated_at >= ?",
			log.CloudProvider, log.AccountID, StatusRunning, log.SyncID, utcNow().Add(-StaleAfter)).
		Find(&others).Error
	if err != nil {
		return nil, err
	}
	for _, o := range others {
		if o.AttemptStartedAt == nil {
			continue
		}
		before := o.AttemptStartedAt.Before(*log.AttemptStartedAt) ||
			(o.AttemptStartedAt.Equal(*log.AttemptStartedAt) && o.SyncID < log.SyncID)
		if before {
			return &o, nil
		}
	}
	return nil, nil
}

func (s *Store) openSyncLog(ctx context.Context, st SyncStart) (SyncLog, error) {
	var log SyncLog
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		err := s.forUpdate(tx).Where("sync_id = ?", st.SyncID).Take(&log).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			now := utcNow()
			log = SyncLog{
				SyncID: st.SyncID, RunID: st.RunID, CloudProvider: inventory.CloudProvider,
				AccountID: st.AccountID, Status: StatusRunning, ExpireDays: st.ExpireDays,
				WindowBegin: utcSecond(st.WindowBegin), WindowEnd: utcSecond(st.WindowEnd),
				Attempts: 1, StartedAt: now, UpdatedAt: now, AttemptStartedAt: &now,
			}
			return tx.Create(&log).Error
		}
		if err != nil {
			return err
		}
		switch {
		case log.RunID == st.RunID:
			return nil // a retry of this run's own call
		case log.Status == StatusSuccess || log.Status == StatusPartial:
			return fmt.Errorf("%w: %s ended %s at %s", ErrFinished, st.SyncID, log.Status, log.FinishedAt.Format(time.RFC3339))
		}
		now := utcNow()
		log.RunID, log.Status, log.Attempts = st.RunID, StatusRunning, log.Attempts+1
		log.ErrorMessage, log.FinishedAt, log.UpdatedAt, log.AttemptStartedAt = nil, nil, now, &now
		return tx.Select("run_id", "status", "attempts", "error_message", "finished_at", "updated_at", "attempt_started_at").Save(&log).Error
	})
	return log, err
}

// BatchCommit is one chunk of rows and the checkpoint after it.
type BatchCommit struct {
	SyncID     string
	AccountID  string
	Batch      int // 1, 2, 3, ... in commit order within the sync
	NextOffset int
	NextRow    int
	Rows       []inventory.Row
	SyncedAt   time.Time
	// TagsStaged: the tags of rows read OK are in tag_snapshots (staged by
	// this sync), not in Rows; the INSERT copies them inside the database.
	TagsStaged bool
}

// CommitBatch upserts the rows and moves the sync log's checkpoint in one
// transaction. A batch that is already committed changes nothing and
// returns false: re-running a committed chunk is harmless.
func (s *Store) CommitBatch(ctx context.Context, b BatchCommit) (bool, error) {
	applied := false
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&SyncLog{}).
			Where("sync_id = ? AND last_committed_batch = ? AND status = ?", b.SyncID, b.Batch-1, StatusRunning).
			Updates(map[string]any{
				"last_committed_batch": b.Batch,
				"batches_committed":    gorm.Expr("batches_committed + 1"),
				"rows_written":         gorm.Expr("rows_written + ?", len(b.Rows)),
				"next_offset":          b.NextOffset,
				"next_row":             b.NextRow,
				"updated_at":           utcNow(),
			})
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
	}
	return m
}

// FinishSync closes a sync whose every batch is committed: resources of the
// account inside the sync's window that it did not see become inactive
// (never deleted), and the totals are counted from the rows themselves.
// Calling it again on a finished sync returns the log unchanged.
func (s *Store) FinishSync(ctx context.Context, syncID string, retries int) (SyncLog, error) {
	var log SyncLog
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := s.forUpdate(tx).Where("sync_id = ?", syncID).Take(&log).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return fmt.Errorf("%w: %s", ErrNotFound, syncID)
			}
			return err
		}
		if log.Status == StatusSuccess || log.Status == StatusPartial {
			return nil
		}
		if log.Status != StatusRunning {
			return fmt.Errorf("%w: %s is %s, not finished", ErrNotRunning, syncID, log.Status)
		}
		res := tx.Model(&ExpiringResource{}).
			Where("cloud_provider = ? AND account_id = ? AND is_active = ? AND last_sync_id <> ? AND expire_time BETWEEN ? AND ?",
				log.CloudProvider, log.AccountID, true, syncID, log.WindowBegin, log.WindowEnd).
			Update("is_active", false)
		if res.Error != nil {
			return res.Error
		}
		log.DeactivatedResources = int(res.RowsAffected)
		if err := tx.Exec("DELETE FROM tag_snapshots WHERE sync_id = ?", syncID).Error; err != nil {
			return err
		}
		if err := countTotals(tx, &log); err != nil {
			return err
		}
		now := utcNow()
		log.Status, log.FinishedAt, log.UpdatedAt, log.Retries = StatusSuccess, &now, now, retries
		if log.TagErrorResources > 0 {
			log.Status = StatusPartial
		}
		return tx.Save(&log).Error
	})
	return log, err
}

func countTotals(tx *gorm.DB, log *SyncLog) error {
	var counts []struct {
		TagStatus string
		N         int
	}
	err := tx.Model(&ExpiringResource{}).Select("tag_status, COUNT(*) AS n").
		Where("cloud_provider = ? AND account_id = ? AND last_sync_id = ?", log.CloudProvider, log.AccountID, log.SyncID).
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
// canceled) and why; its checkpoint stays for a resume.
func (s *Store) EndSync(ctx context.Context, syncID, status, reason string, retries int) error {
	now := utcNow()
	return s.db.WithContext(ctx).Model(&SyncLog{}).
		Where("sync_id = ? AND status = ?", syncID, StatusRunning).
		Updates(map[string]any{"status": status, "error_message": truncate(reason, 4000), "retries": retries, "finished_at": now, "updated_at": now}).Error
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
