package store

import (
	"context"
	"strings"

	"gorm.io/gorm"
)

// SnapshotEntry is one resource's tags as a bulk listing returned them.
type SnapshotEntry struct {
	ResourceID string
	Tags       Tags
}

// SaveTagSnapshot keeps read tags for the rest of a sync. Saving the same
// resource again overwrites it, so a retried page is harmless. Like every
// write of a sync it is fenced: an activity of a sync that lost its account
// (terminated, taken over) stages nothing.
func (s *Store) SaveTagSnapshot(ctx context.Context, w Writer, entries []SnapshotEntry) error {
	if len(entries) == 0 {
		return nil
	}
	syncID := w.SyncID
	var sql strings.Builder
	sql.WriteString("INSERT INTO tag_snapshots (sync_id, resource_id, tags) VALUES ")
	args := make([]any, 0, 3*len(entries))
	for i, e := range entries {
		if i > 0 {
			sql.WriteString(", ")
		}
		sql.WriteString("(?, ?, ?)")
		tags := e.Tags
		if tags == nil {
			tags = Tags{}
		}
		v, err := tags.Value()
		if err != nil {
			return err
		}
		args = append(args, syncID, e.ResourceID, v)
	}
	if s.Dialect() == "mysql" {
		sql.WriteString(" ON DUPLICATE KEY UPDATE tags = VALUES(tags)")
	} else {
		sql.WriteString(" ON CONFLICT (sync_id, resource_id) DO UPDATE SET tags = excluded.tags")
	}
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := s.fenceShared(tx, w); err != nil {
			return err
		}
		return tx.Exec(sql.String(), args...).Error
	})
}

// SnapshotTags returns the bulk-read tags of those resources that have them.
func (s *Store) SnapshotTags(ctx context.Context, syncID string, resourceIDs []string) (map[string]Tags, error) {
	var rows []struct {
		ResourceID string
		Tags       Tags
	}
	err := s.db.WithContext(ctx).Table("tag_snapshots").Select("resource_id, tags").
		Where("sync_id = ? AND resource_id IN ?", syncID, resourceIDs).Scan(&rows).Error
	if err != nil {
		return nil, err
	}
	out := make(map[string]Tags, len(rows))
	for _, r := range rows {
		out[r.ResourceID] = r.Tags
	}
	return out, nil
}
