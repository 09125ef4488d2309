package store

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"gorm.io/gorm"

	"expiry-sync/internal/inventory"
)

// ErrPageNotStaged: no staged page has that key (it was committed, or the
// sync's staging was dropped).
var ErrPageNotStaged = errors.New("page not staged")

// stagingTables hold what an attempt of a sync stages while it runs, by
// sync_id and generation; they are dropped when the sync ends, and swept
// when another attempt of the account begins.
var stagingTables = []string{"staged_tags", "tag_snapshots", "sync_gone", "staged_pages"}

// PageKey names one staged listing page of a sync's attempt.
type PageKey struct {
	SyncID     string
	Generation int64
	Key        int64
}

// StagePage keeps a listed page's resources until the CommitPage that
// writes them. Staging the same key again (a retried ListPage) overwrites
// it. Like every write of a sync it is fenced: a listing of an attempt
// that lost its account stages nothing.
func (s *Store) StagePage(ctx context.Context, w Writer, key int64, resources []inventory.Resource) error {
	body, err := packPage(resources)
	if err != nil {
		return err
	}
	clause := " ON CONFLICT (sync_id, generation, page_key) DO UPDATE SET body = excluded.body"
	if s.Dialect() == "mysql" {
		clause = " ON DUPLICATE KEY UPDATE body = VALUES(body)"
	}
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := s.fenceShared(tx, w); err != nil {
			return err
		}
		return tx.Exec("INSERT INTO staged_pages (sync_id, generation, page_key, body) VALUES (?, ?, ?, ?)"+clause,
			w.SyncID, w.Generation, key, body).Error
	})
}

// LoadPage reads a staged page back.
func (s *Store) LoadPage(ctx context.Context, k PageKey) ([]inventory.Resource, error) {
	var bodies [][]byte
	err := s.db.WithContext(ctx).Table("staged_pages").
		Where("sync_id = ? AND generation = ? AND page_key = ?", k.SyncID, k.Generation, k.Key).
		Pluck("body", &bodies).Error
	if err != nil {
		return nil, err
	}
	if len(bodies) == 0 {
		return nil, fmt.Errorf("%w: key %d of generation %d", ErrPageNotStaged, k.Key, k.Generation)
	}
	return unpackPage(bodies[0])
}

// dropPages deletes committed pages inside the commit's transaction.
func dropPages(tx *gorm.DB, pages []PageKey) error {
	if len(pages) == 0 {
		return nil
	}
	// The pages of one commit are of one sync's attempt: one DELETE.
	k := pages[0]
	keys := make([]int64, len(pages))
	for i, p := range pages {
		keys[i] = p.Key
	}
	return tx.Exec(
		"DELETE FROM staged_pages WHERE sync_id = ? AND generation = ? AND page_key IN ?",
		k.SyncID,
		k.Generation,
		keys,
	).Error
}

// packPage is a page's JSON, gzipped: a page of 500 resources is ~190 KB of
// JSON and a fifth of that compressed, which the database writes and
// reads back once each.
func packPage(resources []inventory.Resource) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	if err != nil {
		return nil, err
	}
	if err := json.NewEncoder(zw).Encode(resources); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func unpackPage(body []byte) ([]inventory.Resource, error) {
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("staged page: %w", err)
	}
	defer zr.Close()
	var out []inventory.Resource
	if err := json.NewDecoder(zr).Decode(&out); err != nil {
		return nil, fmt.Errorf("staged page: %w", err)
	}
	_, _ = io.Copy(io.Discard, zr)
	return out, nil
}
