package store

import (
	"fmt"
	"strings"

	"gorm.io/gorm"

	"expiry-sync/internal/inventory"
)

// insertColumns are written by an upsert, in this order (InsertArgs).
var insertColumns = []string{
	"cloud_provider", "account_id", "account_name", "resource_id", "resource_name", "region_code", "project_id",
	"service_type_code", "resource_type_code", "resource_spec_code", "parent_resource_id",
	"is_main_resource", "status", "effective_time", "expire_time", "expire_policy",
	"enterprise_project_id", "tags", "tag_status", "tag_error", "is_active",
	"first_seen_at", "last_synced_at", "last_sync_id", "tags_read_at", "cut_fields", "sync_generation",
}

// keptColumns keep their first value when a resource is seen again: the
// natural key, and first_seen_at.
var keptColumns = map[string]bool{
	"cloud_provider": true,
	"account_id":     true,
	"resource_id":    true,
	"first_seen_at":  true,
}

// upsertChunks upserts rows by chunks of at most size rows (0: one chunk).
func (s *Store) upsertChunks(tx *gorm.DB, rows []ExpiringResource, staged map[string]string, size int) error {
	if size <= 0 {
		size = len(rows)
	}
	for len(rows) > 0 {
		n := min(size, len(rows))
		if err := s.upsert(tx, rows[:n], staged); err != nil {
			return err
		}
		rows = rows[n:]
	}
	return nil
}

// upsert writes rows with one multi-row INSERT ... ON DUPLICATE KEY UPDATE
// (MySQL) or ON CONFLICT DO UPDATE (SQLite) on the natural key. With
// staged set, the tags of rows read OK come from it. The SQL is built here
// rather than by gorm, which would parse its 12,000 placeholders again.
func (s *Store) upsert(tx *gorm.DB, rows []ExpiringResource, staged map[string]string) error {
	var sql strings.Builder
	sql.Grow(len(rows)*len(insertColumns)*2 + 1024)
	sql.WriteString("INSERT INTO expiring_resources (")
	sql.WriteString(strings.Join(insertColumns, ", "))
	sql.WriteString(") VALUES ")
	tuple := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(insertColumns)), ", ") + ")"
	if err := allStaged(rows, staged); err != nil {
		return err
	}
	var err error
	args := make([]any, 0, len(rows)*(len(insertColumns)+1))
	for i, r := range rows {
		if i > 0 {
			sql.WriteString(", ")
		}
		sql.WriteString(tuple)
		var tags any
		if raw, ok := staged[r.ResourceID]; ok && r.TagStatus == string(inventory.TagsOK) {
			tags = raw
		} else if tags, err = r.Tags.Value(); err != nil {
			return err
		}
		args = append(args, r.InsertArgs(tags)...)
	}
	sql.WriteString(s.onConflict())
	// Straight to the connection: gorm's Exec would parse and rebuild the
	// statement with its 12,000 placeholders.
	_, err = tx.Statement.ConnPool.ExecContext(tx.Statement.Context, sql.String(), args...)
	return err
}

// InsertColumns lists the columns InsertArgs gives values for.
func InsertColumns() []string { return insertColumns }

// InsertArgs is the row's values in InsertColumns order, with tags as the
// tags column's value (JSON text, or nil for NULL).
func (r ExpiringResource) InsertArgs(tags any) []any {
	return []any{r.CloudProvider, r.AccountID, r.AccountName, r.ResourceID, r.ResourceName, r.RegionCode, r.ProjectID,
		r.ServiceTypeCode, r.ResourceTypeCode, r.ResourceSpecCode, r.ParentResourceID,
		r.IsMainResource, r.Status, r.EffectiveTime, r.ExpireTime, r.ExpirePolicy, r.EnterpriseProjectID,
		tags, r.TagStatus, r.TagError, r.IsActive, r.FirstSeenAt, r.LastSyncedAt, r.LastSyncID, r.TagsReadAt,
		r.CutFields, r.SyncGeneration}
}

// allStaged checks that staged (when set) holds the tags of every row read OK.
func allStaged(rows []ExpiringResource, staged map[string]string) error {
	if staged == nil {
		return nil
	}
	missing := 0
	for _, r := range rows {
		if _, ok := staged[r.ResourceID]; !ok && r.TagStatus == string(inventory.TagsOK) {
			missing++
		}
	}
	if missing > 0 {
		return fmt.Errorf("%w: %d of %d rows read OK have no staged tags", ErrNotStaged, missing, len(rows))
	}
	return nil
}

// onConflict is the dialect's clause for a row seen again. It keeps the
// invariants of the inventory: a row written by a newer generation is left
// as it is, and tags (with the time they were read) change only when the
// new read succeeded, so a failed read keeps the last known tags.
func (s *Store) onConflict() string {
	if s.Dialect() == "mysql" {
		// MySQL assigns left to right: sync_generation, which the
		// conditions read, comes last.
		newer := "VALUES(sync_generation) >= sync_generation"
		var set []string
		for _, c := range insertColumns {
			switch {
			case keptColumns[c] || c == "sync_generation":
			case tagColumns[c]:
				set = append(
					set,
					fmt.Sprintf("%s = IF(%s AND VALUES(tag_status) = 'ok', VALUES(%s), %s)", c, newer, c, c),
				)
			case tagStatusColumns[c]:
				set = append(
					set,
					fmt.Sprintf("%s = IF(%s AND VALUES(tag_status) <> 'kept', VALUES(%s), %s)", c, newer, c, c),
				)
			default:
				set = append(set, fmt.Sprintf("%s = IF(%s, VALUES(%s), %s)", c, newer, c, c))
			}
		}
		set = append(set, "sync_generation = GREATEST(sync_generation, VALUES(sync_generation))")
		return " ON DUPLICATE KEY UPDATE " + strings.Join(set, ", ")
	}
	var set []string
	for _, c := range insertColumns {
		switch {
		case keptColumns[c]:
		case tagColumns[c]:
			set = append(set, fmt.Sprintf(
				"%s = CASE WHEN excluded.tag_status = 'ok' THEN excluded.%s ELSE expiring_resources.%s END",
				c,
				c,
				c,
			))
		case tagStatusColumns[c]:
			set = append(set, fmt.Sprintf(
				"%s = CASE WHEN excluded.tag_status = 'kept' THEN expiring_resources.%s ELSE excluded.%s END",
				c,
				c,
				c,
			))
		default:
			set = append(set, c+" = excluded."+c)
		}
	}
	return " ON CONFLICT (cloud_provider, account_id, resource_id) DO UPDATE SET " + strings.Join(set, ", ") +
		" WHERE excluded.sync_generation >= expiring_resources.sync_generation"
}

// tagColumns change only with a successful tag read; tagStatusColumns with
// any read (not when the rows come back "kept").
var (
	tagColumns       = map[string]bool{"tags": true, "tags_read_at": true}
	tagStatusColumns = map[string]bool{"tag_status": true, "tag_error": true}
)
