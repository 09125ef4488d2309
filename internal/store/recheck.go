package store

import (
	"context"
	"time"

	"gorm.io/gorm"

	"expiry-sync/internal/inventory"
)

// RecheckCandidates lists, in id order after `after`, up to limit resources
// of w's account that are active, expire by until, and were not written by
// w's generation: the ones its listing did not see. Each is re-checked by
// id before anything is declared gone.
func (s *Store) RecheckCandidates(
	ctx context.Context,
	w Writer,
	until time.Time,
	after string,
	limit int,
) ([]string, error) {
	var ids []string
	err := s.db.WithContext(ctx).Model(&ExpiringResource{}).
		Where("cloud_provider = ? AND account_id = ? AND is_active = ? AND expire_time <= ? "+
			"AND sync_generation < ? AND resource_id > ?",
			inventory.CloudProvider, w.AccountID, true, utcSecond(until), w.Generation, after).
		Order("resource_id").Limit(limit).Pluck("resource_id", &ids).Error
	return ids, err
}

// CountRecheckCandidates counts the resources RecheckCandidates would
// still give after `after`.
func (s *Store) CountRecheckCandidates(ctx context.Context, w Writer, until time.Time, after string) (int, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&ExpiringResource{}).
		Where("cloud_provider = ? AND account_id = ? AND is_active = ? AND expire_time <= ? "+
			"AND sync_generation < ? AND resource_id > ?",
			inventory.CloudProvider, w.AccountID, true, utcSecond(until), w.Generation, after).
		Count(&n).Error
	return int(n), err
}

// Recheck is what BSS said, by id, of some unseen resources.
type Recheck struct {
	Writer
	SyncedAt time.Time
	// Found are still listed and not closed: they stay active, with BSS's
	// current fields (a renewal's new expire time).
	Found []inventory.Resource
	// Gone are closed, or absent from BSS's complete answer.
	Gone []GoneResource
}

// GoneResource is a resource to deactivate when the sync completes; Status
// is its last BSS status, nil when BSS no longer lists it.
type GoneResource struct {
	ResourceID string
	Status     *int
}

// ApplyRecheck refreshes the found rows (keeping their tags) and stages the
// gone ones for FinishSync, which alone deactivates, in one fenced
// transaction.
func (s *Store) ApplyRecheck(ctx context.Context, r Recheck) error {
	synced := utcSecond(r.SyncedAt)
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := s.fence(tx, r.Writer); err != nil {
			return err
		}
		for _, f := range r.Found {
			if err := s.refresh(tx, r.Writer, f, synced); err != nil {
				return err
			}
		}
		for _, g := range r.Gone {
			if err := s.stageGone(tx, r.Writer, g); err != nil {
				return err
			}
		}
		return tx.Model(&SyncLog{}).Where("sync_id = ?", r.SyncID).
			Update("rechecked_resources", gorm.Expr("rechecked_resources + ?", len(r.Found)+len(r.Gone))).Error
	})
}

// refresh writes BSS's current fields of a found resource into its row.
func (s *Store) refresh(tx *gorm.DB, w Writer, f inventory.Resource, synced time.Time) error {
	m := NewRow(w.AccountID, w.SyncID, inventory.Row{Resource: f}, synced)
	return tx.Model(&ExpiringResource{}).
		Where("cloud_provider = ? AND account_id = ? AND resource_id = ? AND sync_generation < ?",
			inventory.CloudProvider, w.AccountID, f.ResourceID, w.Generation).
		Updates(map[string]any{
			"resource_name": m.ResourceName, "region_code": m.RegionCode, "project_id": m.ProjectID,
			"service_type_code": m.ServiceTypeCode, "resource_type_code": m.ResourceTypeCode,
			"resource_spec_code": m.ResourceSpecCode, "parent_resource_id": m.ParentResourceID,
			"is_main_resource": m.IsMainResource, "status": m.Status, "effective_time": m.EffectiveTime,
			"expire_time": m.ExpireTime, "expire_policy": m.ExpirePolicy,
			"enterprise_project_id": m.EnterpriseProjectID, "cut_fields": m.CutFields,
			"is_active": true, "last_synced_at": synced, "last_sync_id": w.SyncID, "sync_generation": w.Generation,
		}).Error
}

// stageGone records a gone-verdict for w's attempt alone: another attempt
// of the sync never acts on it.
func (s *Store) stageGone(tx *gorm.DB, w Writer, g GoneResource) error {
	conflict := " ON CONFLICT (sync_id, generation, resource_id) DO UPDATE SET bss_status = excluded.bss_status"
	if s.Dialect() == "mysql" {
		conflict = " ON DUPLICATE KEY UPDATE bss_status = VALUES(bss_status)"
	}
	return tx.Exec("INSERT INTO sync_gone (sync_id, generation, resource_id, bss_status) VALUES (?, ?, ?, ?)"+conflict,
		w.SyncID, w.Generation, g.ResourceID, g.Status).Error
}

// WrittenBy returns which of the ids a sync has already written, with the
// generation of the attempt that wrote them.
func (s *Store) WrittenBy(ctx context.Context, account, syncID string, ids []string) (map[string]int64, error) {
	out := map[string]int64{}
	if len(ids) == 0 {
		return out, nil
	}
	var got []struct {
		ResourceID     string
		LastSyncID     string
		SyncGeneration int64
	}
	// By the natural key only: with last_sync_id in the condition SQLite
	// reads the sync's rows by idx_expiring_resources_sync_totals, every
	// one of them for each page.
	err := s.db.WithContext(ctx).Model(&ExpiringResource{}).Select("resource_id, last_sync_id, sync_generation").
		Where("cloud_provider = ? AND account_id = ? AND resource_id IN ?", inventory.CloudProvider, account, ids).
		Scan(&got).Error
	for _, r := range got {
		if r.LastSyncID == syncID {
			out[r.ResourceID] = r.SyncGeneration
		}
	}
	return out, err
}
