package store

import (
	"strings"

	"gorm.io/gorm"
)

// insertColumns are written by an upsert, in this order.
var insertColumns = []string{
	"cloud_provider", "account_id", "resource_id", "resource_name", "region_code", "project_id",
	"service_type_code", "resource_type_code", "resource_spec_code", "parent_resource_id",
	"is_main_resource", "status", "effective_time", "expire_time", "expire_policy",
	"enterprise_project_id", "tags", "tag_status", "tag_error", "is_active",
	"first_seen_at", "last_synced_at", "last_sync_id",
}

// keptColumns keep their first value when a resource is seen again: the
// natural key, and first_seen_at.
var keptColumns = map[string]bool{"cloud_provider": true, "account_id": true, "resource_id": true, "first_seen_at": true}

// upsert writes rows with one multi-row INSERT ... ON DUPLICATE KEY UPDATE
// (MySQL) or ON CONFLICT DO UPDATE (SQLite) on the natural key. The SQL is
// built here rather than by gorm: reflecting over 500 structs per batch
// costs a third of the write time, and writes are what this service spends
// its time on besides API calls.
func (s *Store) upsert(tx *gorm.DB, rows []ExpiringResource) error {
	var sql strings.Builder
	sql.Grow(len(rows)*len(insertColumns)*2 + 1024)
	sql.WriteString("INSERT INTO expiring_resources (")
	sql.WriteString(strings.Join(insertColumns, ", "))
	sql.WriteString(") VALUES ")
	tuple := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(insertColumns)), ", ") + ")"
	args := make([]any, 0, len(rows)*len(insertColumns))
	for i, r := range rows {
		if i > 0 {
			sql.WriteString(", ")
		}
		sql.WriteString(tuple)
		tags, err := r.Tags.Value()
		if err != nil {
			return err
		}
		args = append(args, r.CloudProvider, r.AccountID, r.ResourceID, r.ResourceName, r.RegionCode, r.ProjectID,
			r.ServiceTypeCode, r.ResourceTypeCode, r.ResourceSpecCode, r.ParentResourceID,
			r.IsMainResource, r.Status, r.EffectiveTime, r.ExpireTime, r.ExpirePolicy,
			r.EnterpriseProjectID, tags, r.TagStatus, r.TagError, r.IsActive,
			r.FirstSeenAt, r.LastSyncedAt, r.LastSyncID)
	}
	sql.WriteString(s.onConflict())
	// Straight to the connection: gorm's Exec would parse and rebuild the
	// statement with its 12,000 placeholders.
	_, err := tx.Statement.ConnPool.ExecContext(tx.Statement.Context, sql.String(), args...)
	return err
}

// onConflict is the dialect's clause that rewrites every column but the kept ones.
func (s *Store) onConflict() string {
	var set []string
	for _, c := range insertColumns {
		if keptColumns[c] {
			continue
		}
		if s.Dialect() == "mysql" {
			set = append(set, c+" = VALUES("+c+")")
		} else {
			set = append(set, c+" = excluded."+c)
		}
	}
	if s.Dialect() == "mysql" {
		return " ON DUPLICATE KEY UPDATE " + strings.Join(set, ", ")
	}
	return " ON CONFLICT (cloud_provider, account_id, resource_id) DO UPDATE SET " + strings.Join(set, ", ")
}
