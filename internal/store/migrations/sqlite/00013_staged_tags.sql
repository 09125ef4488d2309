-- +goose Up
-- Tags staged by a sync, one row per read: see the MySQL migration of the
-- same number.
CREATE TABLE staged_tags (
  id      INTEGER PRIMARY KEY AUTOINCREMENT,
  sync_id TEXT NOT NULL,
  body    BLOB NOT NULL
);
CREATE INDEX idx_staged_tags_sync ON staged_tags (sync_id, id);

-- +goose Down
DROP INDEX idx_staged_tags_sync;
DROP TABLE staged_tags;
