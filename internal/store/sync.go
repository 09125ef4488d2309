package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
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
	// StagedTags: when set, the tags of rows read OK come from it (stored
	// JSON text by resource id, as SnapshotTags returns them), not from
	// Rows; a row read OK that it lacks fails the commit (ErrNotStaged).
	StagedTags map[string]string
	// ChunkRows bounds the rows of one INSERT (0: all in one).
	ChunkRows int
	// Pages: the staged pages the rows come from, dropped with the commit,
	// and with them the staged tags of the rows (no other row needs them:
	// the sync never writes a row twice).
	Pages []PageKey
	// SkipWritten: leave out the rows the attempt wrote already (rows
	// that come by value, from a listing that may have repeated them).
	SkipWritten bool
}

// CommitBatch upserts the rows and moves the sync log's checkpoint in one
// transaction, after checking that the sync still holds its account. A batch
// that is already committed changes nothing and returns false: re-running a
// committed chunk is harmless. A row that a newer generation wrote is left
// as it is.
func (s *Store) CommitBatch(ctx context.Context, b BatchCommit) (bool, error) {
	applied := false
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := s.fenceShared(tx, b.Writer); err != nil {
			return err
		}
		if b.SkipWritten {
			rows, err := s.unwritten(tx, b.Writer, b.Rows)
			if err != nil {
				return err
			}
			b.Rows = rows
		}
		update := map[string]any{
			"last_committed_batch": b.Batch,
			"batches_committed":    gorm.Expr("batches_committed + 1"),
			"rows_written":         gorm.Expr("rows_written + ?", len(b.Rows)),
			"listed_resources":     gorm.Expr("listed_resources + ?", len(b.Rows)),
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
			Where("sync_id = ? AND last_committed_batch = ? AND status = ?",
				b.SyncID, b.Batch-1, contract.StatusRunning).
			Updates(update)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return s.explainSkippedBatch(tx, b)
		}
		applied = true
		if err := s.upsertChunks(tx, toModels(b), b.StagedTags, b.ChunkRows); err != nil {
			return err
		}
		return dropPages(tx, b.Pages)
	})
	if errors.Is(err, errAlreadyCommitted) {
		return false, nil
	}
	return applied, err
}

var errAlreadyCommitted = errors.New("already committed")

// unwritten are the rows w's attempt has not written yet: a page listed
// before the page that held them was committed may hold them again (the
// listing shifted, or BSS reordered a tie), and one resource is one row
// of the attempt, counted once in listed_resources.
func (s *Store) unwritten(tx *gorm.DB, w Writer, rows []inventory.Row) ([]inventory.Row, error) {
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.ResourceID
	}
	var written []string
	err := tx.Model(&ExpiringResource{}).
		Where("cloud_provider = ? AND account_id = ? AND resource_id IN ? "+
			"AND last_sync_id = ? AND sync_generation >= ?",
			inventory.CloudProvider, w.AccountID, ids, w.SyncID, w.Generation).Pluck("resource_id", &written).Error
	if err != nil || len(written) == 0 {
		return rows, err
	}
	return slices.DeleteFunc(
		slices.Clone(rows),
		func(r inventory.Row) bool { return slices.Contains(written, r.ResourceID) },
	), nil
}

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
	case log.Status != contract.StatusRunning:
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

func toModels(b BatchCommit) []ExpiringResource {
	out := make([]ExpiringResource, len(b.Rows))
	for i, r := range b.Rows {
		out[i] = NewRow(b.AccountID, b.SyncID, r, b.SyncedAt)
		out[i].SyncGeneration, out[i].AccountName = b.Generation, b.accountName()
	}
	return out
}

// NewRow is the row a sync writes for a listed resource and its tags. A
// text field longer than its column is stored cut and named in CutFields.
func NewRow(accountID, syncID string, r inventory.Row, syncedAt time.Time) ExpiringResource {
	synced := utcSecond(syncedAt)
	cut := r.Fit()
	m := ExpiringResource{
		CutFields:     strings.Join(cut, ","),
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
	// Listing is what the attempt's listing saw of BSS's total_count; nil:
	// not checked.
	Listing *contract.ListingCheck
}

// FinishSync closes a sync whose every batch is committed and whose
// re-check is done, as the newest completed sync of its account: it
// deactivates the resources its re-check found closed or gone (never
// deletes), counts the totals from the rows, records the account's completed
// generation and frees the lease. It is partial when the notes say the
// sync could not do something as asked, when its listing saw fewer
// resources than BSS counts, or when it stored a value cut. Calling it
// again on a finished sync returns the log unchanged.
func (s *Store) FinishSync(ctx context.Context, f SyncFinish) (SyncLog, error) {
	var log SyncLog
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		found, err := s.lockSyncLog(tx, f.SyncID, &log)
		switch {
		case err != nil:
			return err
		case !found:
			return fmt.Errorf("%w: %s", ErrNotFound, f.SyncID)
		case log.Status == contract.StatusSuccess || log.Status == contract.StatusPartial:
			return nil
		case log.Status != contract.StatusRunning:
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
		notes, err := s.finishNotes(tx, f, log)
		if err != nil {
			return err
		}
		if err := log.SetNotes(notes); err != nil {
			return err
		}
		now := utcNow()
		log.Status, log.FinishedAt, log.UpdatedAt, log.Retries = contract.StatusSuccess, &now, now, f.Retries
		log.QuarantinedRecords = f.Notes.QuarantinedCount
		if log.TagErrorResources > 0 || len(notes.Degraded) > 0 || f.Notes.QuarantinedCount > 0 {
			log.Status = contract.StatusPartial
		}
		return tx.Save(&log).Error
	})
	return log, err
}

// finishNotes are the workflow's notes, and what the rows tell: a listing
// that saw fewer resources than BSS counts, values stored cut.
func (s *Store) finishNotes(tx *gorm.DB, f SyncFinish, log SyncLog) (SyncNotes, error) {
	notes := f.Notes
	notes.Degraded = slices.Clone(notes.Degraded)
	if f.Listing != nil {
		if short := f.Listing.Shortfall(log.ListedResources); short != "" {
			notes.Degraded = append(notes.Degraded, short)
		}
	}
	var cut int64
	err := tx.Model(&ExpiringResource{}).
		Where("cloud_provider = ? AND account_id = ? AND last_sync_id = ? AND sync_generation = ? AND cut_fields <> ''",
			inventory.CloudProvider, f.AccountID, f.SyncID, f.Generation).Count(&cut).Error
	if err != nil {
		return notes, err
	}
	if cut > 0 {
		notes.Degraded = append(notes.Degraded, fmt.Sprintf(
			"%d resources had values longer than their columns: "+
				"stored cut, the fields named in expiring_resources.cut_fields",
			cut,
		))
	}
	return notes, nil
}

// completeGeneration records w's generation as the account's newest
// completed one and frees the lease; a newer completed generation refuses.
func (s *Store) completeGeneration(tx *gorm.DB, w Writer) error {
	var a SyncAccount
	if err := tx.Where("cloud_provider = ? AND account_id = ?", inventory.CloudProvider, w.AccountID).
		Take(&a).Error; err != nil {
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
	err := tx.Model(&SyncAccount{}).
		Where("cloud_provider = ? AND account_id = ?", inventory.CloudProvider, w.AccountID).
		Updates(map[string]any{
			"completed_generation": w.Generation, "completed_sync_id": w.SyncID, "completed_at": now,
		}).Error
	if err != nil {
		return err
	}
	return s.releaseLease(tx, w)
}

// deactivateGone marks inactive the resources this attempt's re-check
// found closed or no longer listed, keeping the last status BSS gave.
func (s *Store) deactivateGone(tx *gorm.DB, w Writer) (int, error) {
	res := tx.Exec(
		`UPDATE expiring_resources SET is_active = ?, sync_generation = ?,
		status = COALESCE((SELECT g.bss_status FROM sync_gone g WHERE g.sync_id = ? AND g.generation = ? `+
			`AND g.resource_id = expiring_resources.resource_id), status)
		WHERE cloud_provider = ? AND account_id = ? AND is_active = ? AND sync_generation < ?
		AND resource_id IN (SELECT resource_id FROM sync_gone WHERE sync_id = ? AND generation = ?)`,
		false, w.Generation, w.SyncID, w.Generation,
		inventory.CloudProvider, w.AccountID, true, w.Generation, w.SyncID, w.Generation)
	return int(res.RowsAffected), res.Error
}

// dropStaging removes what a sync staged while it ran.
func (s *Store) dropStaging(tx *gorm.DB, syncID string) error {
	s.snapshots.drop(syncID)
	for _, table := range stagingTables {
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
		Where("cloud_provider = ? AND account_id = ? AND last_sync_id = ? AND is_active = ? "+
			"AND expire_time BETWEEN ? AND ?",
			log.CloudProvider, log.AccountID, log.SyncID, true, log.WindowBegin, log.WindowEnd).
		Group("tag_status").Scan(&counts).Error
	if err != nil {
		return err
	}
	log.TotalResources, log.TaggedResources, log.UntaggedResources, log.VanishedResources, log.TagErrorResources =
		0, 0, 0, 0, 0
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

// EndSync records that w's attempt stopped without finishing (failed or
// canceled) and why; its checkpoint stays for a resume. It frees the lease
// and drops what the sync staged. Like every write it is fenced: when w no
// longer holds the account (a sync took it over, or a resume of the same
// sync began), it changes nothing and says so (false), so that a late end
// of a stopped attempt never closes or wipes the one that replaced it.
func (s *Store) EndSync(ctx context.Context, w Writer, status, reason string, retries int) (bool, error) {
	// Most ends of an attempt that holds nothing (refused at its start,
	// or taken over) are told apart without a lock: such an end must not
	// wait for the commits of the sync that holds the account.
	if err := s.checkLease(s.db.WithContext(ctx), w); err != nil {
		var lost *LeaseLostError
		if errors.As(err, &lost) {
			return false, nil
		}
		return false, err
	}
	now := utcNow()
	ended := false
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var lost *LeaseLostError
		if err := s.fence(tx, w); errors.As(err, &lost) {
			return nil
		} else if err != nil {
			return err
		}
		res := tx.Model(&SyncLog{}).
			Where("sync_id = ? AND generation = ? AND status = ?", w.SyncID, w.Generation, contract.StatusRunning).
			Updates(map[string]any{
				"status": status, "error_message": truncate(reason, 4000), "retries": retries,
				"finished_at": now, "updated_at": now,
			})
		if res.Error != nil {
			return res.Error
		}
		ended = res.RowsAffected > 0
		if err := s.releaseLease(tx, w); err != nil {
			return err
		}
		return s.dropStaging(tx, w.SyncID)
	})
	return ended, err
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
