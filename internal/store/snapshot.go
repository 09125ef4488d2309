package store

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"

	"gorm.io/gorm"
)

// SnapshotEntry is one resource's tags as a bulk listing (or a read one by
// one) returned them.
type SnapshotEntry struct {
	ResourceID string
	Tags       Tags
}

// SaveTagSnapshot stages read tags for the rest of a sync: one row
// (staged_tags) holding every entry, compressed, whatever their number,
// so staging 100,000 resources' tags costs a few hundred rows, not
// 100,000. A resource staged twice (a retried read) takes the tags of the
// later row. This worker keeps what it staged in memory too. Like every
// write of a sync it is fenced: an activity of a sync that lost its account
// (terminated, taken over) stages nothing.
func (s *Store) SaveTagSnapshot(ctx context.Context, w Writer, entries []SnapshotEntry) error {
	if len(entries) == 0 {
		return nil
	}
	body, err := packTags(entries)
	if err != nil {
		return err
	}
	var row int64
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := s.fenceShared(tx, w); err != nil {
			return err
		}
		res, err := tx.Statement.ConnPool.ExecContext(ctx, "INSERT INTO staged_tags (sync_id, body) VALUES (?, ?)", w.SyncID, body)
		if err != nil {
			return err
		}
		row, err = res.LastInsertId()
		return err
	})
	if err != nil {
		return err
	}
	snap := s.snapshots.of(w.SyncID)
	snap.mu.Lock()
	defer snap.mu.Unlock()
	return snap.add(row, body)
}

// SnapshotTags returns, as stored JSON text, the staged tags of those of
// the resources that have them. The sync's staged rows are read once per
// worker (snapshotCache); each call reads only the rows staged since.
func (s *Store) SnapshotTags(ctx context.Context, syncID string, resourceIDs []string) (map[string]string, error) {
	snap := s.snapshots.of(syncID)
	snap.mu.Lock()
	defer snap.mu.Unlock()
	if err := s.loadNewTags(ctx, snap); err != nil {
		return nil, err
	}
	out := make(map[string]string, len(resourceIDs))
	for _, id := range resourceIDs {
		if t, ok := snap.tags[id]; ok {
			out[id] = t.json
		}
	}
	return out, nil
}

// ForgetSnapshot drops committed resources' tags from this worker's memory:
// the sync never writes a row twice, so no later commit needs them. Their
// staged rows go when the sync ends.
func (s *Store) ForgetSnapshot(syncID string, resourceIDs []string) {
	snap := s.snapshots.of(syncID)
	snap.mu.Lock()
	defer snap.mu.Unlock()
	for _, id := range resourceIDs {
		delete(snap.tags, id)
	}
}

// loadNewTags reads the sync's staged rows this worker has not read yet.
// Rows are found by id, not by "id above the last one read": an insert
// that commits late can hold a lower id than one read already.
func (s *Store) loadNewTags(ctx context.Context, snap *syncSnapshot) error {
	var ids []int64
	if err := s.db.WithContext(ctx).Table("staged_tags").Where("sync_id = ?", snap.syncID).Order("id").Pluck("id", &ids).Error; err != nil {
		return err
	}
	// Staged rows go only all together, when the sync ends: one missing
	// means the sync's staging was dropped (or swept), and so is this copy.
	present := 0
	for _, id := range ids {
		if snap.loaded[id] {
			present++
		}
	}
	if present < len(snap.loaded) {
		snap.loaded, snap.tags = map[int64]bool{}, map[string]stagedTag{}
	}
	ids = slices.DeleteFunc(ids, func(id int64) bool { return snap.loaded[id] })
	for len(ids) > 0 {
		batch := ids[:min(len(ids), 64)]
		ids = ids[len(batch):]
		var rows []struct {
			ID   int64
			Body []byte
		}
		if err := s.db.WithContext(ctx).Table("staged_tags").Select("id, body").Where("id IN ?", batch).Scan(&rows).Error; err != nil {
			return err
		}
		for _, r := range rows {
			if err := snap.add(r.ID, r.Body); err != nil {
				return err
			}
		}
	}
	return nil
}

// snapshotCache holds, per sync, the staged tags this worker has read.
// Entries are substrings of their row's decoded body: one allocation per
// staged row, none per resource.
type snapshotCache struct {
	mu    sync.Mutex
	syncs map[string]*syncSnapshot
	order []string // least recently used first
}

// maxCachedSyncs bounds the syncs whose tags one worker keeps: a sync
// evicted meanwhile reads its staged rows again.
const maxCachedSyncs = 32

type syncSnapshot struct {
	mu     sync.Mutex
	syncID string
	loaded map[int64]bool
	tags   map[string]stagedTag
}

type stagedTag struct {
	json string
	row  int64 // the staged row it comes from: a later row wins
}

func (c *snapshotCache) of(syncID string) *syncSnapshot {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.syncs == nil {
		c.syncs = map[string]*syncSnapshot{}
	}
	c.order = slices.DeleteFunc(c.order, func(id string) bool { return id == syncID })
	c.order = append(c.order, syncID)
	if snap, ok := c.syncs[syncID]; ok {
		return snap
	}
	if len(c.order) > maxCachedSyncs {
		delete(c.syncs, c.order[0])
		c.order = c.order[1:]
	}
	snap := &syncSnapshot{syncID: syncID, loaded: map[int64]bool{}, tags: map[string]stagedTag{}}
	c.syncs[syncID] = snap
	return snap
}

// drop forgets a sync that ended.
func (c *snapshotCache) drop(syncID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.syncs, syncID)
	c.order = slices.DeleteFunc(c.order, func(id string) bool { return id == syncID })
}

func (snap *syncSnapshot) add(row int64, body []byte) error {
	entries, err := unpackTags(body)
	if err != nil {
		return fmt.Errorf("staged tags row %d: %w", row, err)
	}
	for i := 0; i < len(entries); i += 2 {
		if old, ok := snap.tags[entries[i]]; !ok || old.row < row {
			snap.tags[entries[i]] = stagedTag{json: entries[i+1], row: row}
		}
	}
	snap.loaded[row] = true
	return nil
}

// packTags encodes entries as gzip of (length, resource id, length, tags
// JSON) records.
func packTags(entries []SnapshotEntry) ([]byte, error) {
	var raw []byte
	for _, e := range entries {
		js, err := e.Tags.JSON()
		if err != nil {
			return nil, err
		}
		raw = binary.AppendUvarint(raw, uint64(len(e.ResourceID)))
		raw = append(raw, e.ResourceID...)
		raw = binary.AppendUvarint(raw, uint64(len(js)))
		raw = append(raw, js...)
	}
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(raw); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// unpackTags decodes packTags's body into id, tags, id, tags, ...: every
// string shares the one decoded body.
func unpackTags(body []byte) ([]string, error) {
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		return nil, err
	}
	all := string(raw)
	var out []string
	for pos := 0; pos < len(all); {
		for range 2 {
			n, w := binary.Uvarint(raw[pos:])
			if w <= 0 || uint64(len(all)-pos-w) < n {
				return nil, errCorruptTags
			}
			pos += w
			out = append(out, all[pos:pos+int(n)])
			pos += int(n)
		}
	}
	return out, nil
}

var errCorruptTags = errors.New("corrupt body")
