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
	"strings"
	"sync"

	"gorm.io/gorm"
)

// SnapshotEntry is one resource's tags as a bulk listing (or a read one by
// one) returned them.
type SnapshotEntry struct {
	ResourceID string
	Tags       Tags
}

// SaveTagSnapshot stages read tags for the rest of a sync. While this
// worker's copy of staged tags stays within its budget (SetTagMemory), the
// entries go into one row of staged_tags, compressed, and into that copy:
// staging and joining 100,000 resources' tags then costs the database a few
// hundred rows, not an insert, a read and a delete per resource. Beyond the
// budget they go one row per resource into tag_snapshots, which commits
// read by id, so a sync of any size stays within the worker's memory. A
// resource staged twice (a retried read) takes the later tags. Like every
// write of a sync it is fenced: an activity of a sync that lost its account
// (terminated, taken over) stages nothing.
func (s *Store) SaveTagSnapshot(ctx context.Context, w Writer, entries []SnapshotEntry) error {
	if len(entries) == 0 {
		return nil
	}
	body, pairs, size, err := packTags(entries)
	if err != nil {
		return err
	}
	if !s.snapshots.reserve(size) {
		return s.saveTagRows(ctx, w, entries)
	}
	var row int64
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := s.fenceShared(tx, w); err != nil {
			return err
		}
		res, err := tx.Statement.ConnPool.ExecContext(
			ctx,
			"INSERT INTO staged_tags (sync_id, generation, body) VALUES (?, ?, ?)",
			w.SyncID,
			w.Generation,
			body,
		)
		if err != nil {
			return err
		}
		row, err = res.LastInsertId()
		return err
	})
	s.snapshots.release(size) // accounted for again as held entries
	if err != nil {
		return err
	}
	snap := s.snapshots.of(w.Attempt())
	snap.mu.Lock()
	defer snap.mu.Unlock()
	before := snap.bytes
	snap.put(row, pairs)
	s.snapshots.grow(snap.bytes - before)
	return nil
}

// saveTagRows stages entries one row per resource (tag_snapshots).
func (s *Store) saveTagRows(ctx context.Context, w Writer, entries []SnapshotEntry) error {
	var sql strings.Builder
	sql.WriteString("INSERT INTO tag_snapshots (sync_id, generation, resource_id, tags) VALUES ")
	args := make([]any, 0, 4*len(entries))
	for i, e := range entries {
		if i > 0 {
			sql.WriteString(", ")
		}
		sql.WriteString("(?, ?, ?, ?)")
		js, err := e.Tags.JSON()
		if err != nil {
			return err
		}
		args = append(args, w.SyncID, w.Generation, e.ResourceID, js)
	}
	if s.Dialect() == "mysql" {
		sql.WriteString(" ON DUPLICATE KEY UPDATE tags = VALUES(tags)")
	} else {
		sql.WriteString(" ON CONFLICT (sync_id, generation, resource_id) DO UPDATE SET tags = excluded.tags")
	}
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := s.fenceShared(tx, w); err != nil {
			return err
		}
		return tx.Exec(sql.String(), args...).Error
	})
}

// Attempt names one attempt of a sync: what it stages is its own.
type Attempt struct {
	SyncID     string
	Generation int64
}

// Attempt is the attempt w writes for.
func (w Writer) Attempt() Attempt { return Attempt{SyncID: w.SyncID, Generation: w.Generation} }

// SnapshotTags returns, as stored JSON text, the tags the attempt staged
// for those of the resources that have them: from this worker's copy of the
// attempt's staged_tags rows (each read once, when new), then from
// tag_snapshots for the others. Another attempt's staging is never read.
func (s *Store) SnapshotTags(ctx context.Context, at Attempt, resourceIDs []string) (map[string]string, error) {
	out, missing, err := s.heldTags(ctx, at, resourceIDs)
	if err != nil {
		return nil, err
	}
	// Outside the lock: several pages' rows may be read at once.
	return out, s.tagRows(ctx, at, missing, out)
}

// heldTags are the tags of those ids this worker holds in memory, once it
// has loaded the attempt's newly staged reads; missing, the ids it does not hold.
func (s *Store) heldTags(
	ctx context.Context,
	at Attempt,
	resourceIDs []string,
) (held map[string]string, missing []string, err error) {
	snap := s.snapshots.of(at)
	snap.mu.Lock()
	defer snap.mu.Unlock()
	if err := s.loadNewTags(ctx, snap); err != nil {
		return nil, nil, err
	}
	held = make(map[string]string, len(resourceIDs))
	for _, id := range resourceIDs {
		if t, ok := snap.tags[id]; ok {
			held[id] = t.json
		} else {
			missing = append(missing, id)
		}
	}
	return held, missing, nil
}

// tagRows adds to out the tags staged one row per resource of those ids.
func (s *Store) tagRows(ctx context.Context, at Attempt, ids []string, out map[string]string) error {
	if len(ids) == 0 {
		return nil
	}
	var one []string // none: the common case, one cheap query
	err := s.db.WithContext(ctx).Table("tag_snapshots").
		Where("sync_id = ? AND generation = ?", at.SyncID, at.Generation).
		Limit(1).Pluck("resource_id", &one).Error
	if err != nil || len(one) == 0 {
		return err
	}
	// Straight to the connection: a few thousand ids, no reflection.
	query := "SELECT resource_id, tags FROM tag_snapshots WHERE sync_id = ? AND generation = ? AND resource_id IN (" +
		strings.TrimSuffix(strings.Repeat("?, ", len(ids)), ", ") + ")"
	args := make([]any, 0, len(ids)+2)
	args = append(args, at.SyncID, at.Generation)
	for _, id := range ids {
		args = append(args, id)
	}
	rs, err := s.db.WithContext(ctx).Statement.ConnPool.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rs.Close()
	for rs.Next() {
		var id, tags string
		if err := rs.Scan(&id, &tags); err != nil {
			return err
		}
		out[id] = tags
	}
	return rs.Err()
}

// ForgetSnapshot drops committed resources' tags from this worker's memory:
// the attempt never writes a row twice, so no later commit needs them.
// Their staged rows go when the sync ends.
func (s *Store) ForgetSnapshot(at Attempt, resourceIDs []string) {
	snap := s.snapshots.of(at)
	snap.mu.Lock()
	defer snap.mu.Unlock()
	freed := int64(0)
	for _, id := range resourceIDs {
		if t, ok := snap.tags[id]; ok {
			freed += entryCost(id, t.json)
			delete(snap.tags, id)
		}
	}
	snap.bytes -= freed
	s.snapshots.release(freed)
}

// SetTagMemory sets the budget of this worker's copy of staged tags, in
// bytes (0: every read is staged one row per resource).
func (s *Store) SetTagMemory(bytes int64) {
	s.snapshots.mu.Lock()
	defer s.snapshots.mu.Unlock()
	s.snapshots.budget, s.snapshots.budgetSet = bytes, true
}

// DefaultTagMemory is the budget of a worker's copy of staged tags
// (WORKER_TAG_MEMORY_MB): about 90,000 resources of the simulator's dataset
// (632 bytes of tags JSON each, far more than usual) fit in it.
const DefaultTagMemory = 64 << 20

// loadNewTags reads the attempt's staged rows this worker has not read yet.
// Rows are found by id, not by "id above the last one read": an insert
// that commits late can hold a lower id than one read already.
func (s *Store) loadNewTags(ctx context.Context, snap *syncSnapshot) error {
	var ids []int64
	err := s.db.WithContext(ctx).Table("staged_tags").
		Where("sync_id = ? AND generation = ?", snap.at.SyncID, snap.at.Generation).
		Order("id").Pluck("id", &ids).Error
	if err != nil {
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
		s.snapshots.release(snap.bytes)
		snap.loaded, snap.tags, snap.bytes = map[int64]bool{}, map[string]stagedTag{}, 0
	}
	ids = slices.DeleteFunc(ids, func(id int64) bool { return snap.loaded[id] })
	for len(ids) > 0 {
		batch := ids[:min(len(ids), 64)]
		ids = ids[len(batch):]
		var rows []struct {
			ID   int64
			Body []byte
		}
		if err := s.db.WithContext(ctx).Table("staged_tags").Select("id, body").Where("id IN ?", batch).
			Scan(&rows).Error; err != nil {
			return err
		}
		for _, r := range rows {
			before := snap.bytes
			if err := snap.add(r.ID, r.Body); err != nil {
				return err
			}
			s.snapshots.grow(snap.bytes - before)
		}
	}
	return nil
}

// snapshotCache holds, per attempt, the staged tags this worker has staged or
// read. Entries read from a row are substrings of its decoded body (one
// allocation per row); those this worker staged are the strings it encoded.
type snapshotCache struct {
	mu        sync.Mutex
	syncs     map[Attempt]*syncSnapshot
	order     []Attempt // least recently used first
	used      int64     // entryCost of every entry held
	budget    int64
	budgetSet bool
}

// reserve takes n bytes of the budget, if they fit.
func (c *snapshotCache) reserve(n int64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.budgetSet {
		c.budget, c.budgetSet = DefaultTagMemory, true
	}
	if c.used+n > c.budget {
		return false
	}
	c.used += n
	return true
}

func (c *snapshotCache) release(n int64) { c.grow(-n) }

// grow accounts for entries read from rows another worker staged: they
// are held whatever the budget (each worker keeps its own staging within
// it, so this is at most the workers' budgets together).
func (c *snapshotCache) grow(n int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.used += n
}

// entryCost approximates what one held entry costs: its strings and its
// share of the map.
func entryCost(id, json string) int64 { return int64(len(id) + len(json) + 64) }

// maxCachedSyncs bounds the syncs whose tags one worker keeps: a sync
// evicted meanwhile reads its staged rows again.
const maxCachedSyncs = 32

type syncSnapshot struct {
	mu     sync.Mutex
	at     Attempt
	loaded map[int64]bool
	tags   map[string]stagedTag
	bytes  int64 // entryCost of the entries held
}

type stagedTag struct {
	json string
	row  int64 // the staged row it comes from: a later row wins
}

func (c *snapshotCache) of(at Attempt) *syncSnapshot {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.syncs == nil {
		c.syncs = map[Attempt]*syncSnapshot{}
	}
	c.order = slices.DeleteFunc(c.order, func(a Attempt) bool { return a == at })
	c.order = append(c.order, at)
	if snap, ok := c.syncs[at]; ok {
		return snap
	}
	if len(c.order) > maxCachedSyncs {
		c.used -= c.syncs[c.order[0]].bytes
		delete(c.syncs, c.order[0])
		c.order = c.order[1:]
	}
	snap := &syncSnapshot{at: at, loaded: map[int64]bool{}, tags: map[string]stagedTag{}}
	c.syncs[at] = snap
	return snap
}

// drop forgets every attempt of a sync that ended.
func (c *snapshotCache) drop(syncID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for at, snap := range c.syncs {
		if at.SyncID == syncID {
			c.used -= snap.bytes
			delete(c.syncs, at)
		}
	}
	c.order = slices.DeleteFunc(c.order, func(a Attempt) bool { return a.SyncID == syncID })
}

func (snap *syncSnapshot) add(row int64, body []byte) error {
	pairs, err := unpackTags(body)
	if err != nil {
		return fmt.Errorf("staged tags row %d: %w", row, err)
	}
	snap.put(row, pairs)
	return nil
}

// put holds row's entries (id, tags JSON, id, ...), a later row winning.
func (snap *syncSnapshot) put(row int64, entries []string) {
	for i := 0; i < len(entries); i += 2 {
		old, ok := snap.tags[entries[i]]
		if ok && old.row > row {
			continue
		}
		if ok {
			snap.bytes -= entryCost(entries[i], old.json)
		}
		snap.tags[entries[i]] = stagedTag{json: entries[i+1], row: row}
		snap.bytes += entryCost(entries[i], entries[i+1])
	}
	snap.loaded[row] = true
}

// packTags encodes entries as gzip of (length, resource id, length, tags
// JSON) records; it returns them as unpackTags would (id, tags, ...) too,
// and what holding them costs (entryCost).
func packTags(entries []SnapshotEntry) ([]byte, []string, int64, error) {
	var raw []byte
	pairs := make([]string, 0, 2*len(entries))
	size := int64(0)
	for _, e := range entries {
		js, err := e.Tags.JSON()
		if err != nil {
			return nil, nil, 0, err
		}
		size += entryCost(e.ResourceID, js)
		pairs = append(pairs, e.ResourceID, js)
		raw = binary.AppendUvarint(raw, uint64(len(e.ResourceID)))
		raw = append(raw, e.ResourceID...)
		raw = binary.AppendUvarint(raw, uint64(len(js)))
		raw = append(raw, js...)
	}
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	if err != nil {
		return nil, nil, 0, err
	}
	if _, err := zw.Write(raw); err != nil {
		return nil, nil, 0, err
	}
	if err := zw.Close(); err != nil {
		return nil, nil, 0, err
	}
	return buf.Bytes(), pairs, size, nil
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
