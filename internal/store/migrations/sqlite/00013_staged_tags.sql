-- +goose Up
-- Tags staged by a sync, one row per read: see the MySQL migration of the
-- same number.
CREATE TABLE staged_tags (
  id      INTEGER PRIMARY KEY AUTOINCREMENT,
  sync_id TEXT NOT NULL,
  body    BLOB NOT NULL
);
CREATE INDEX idx_staged_tags_sync ON staged_tags (sync_id, id);
DROP TABLE tag_snapshots;

-- +goose Down
CREATE TABLE tag_snapshots (
  sync_id     TEXT NOT NULL,
  resource_id TEXT NOT NULL,
  tags        TEXT NOT NULL CHECK (json_valid(tags)),
  PRIMARY KEY (sync_id, resource_id)
);
DROP INDEX idx_staged_tags_sync;
DROP TABLE staged_tags;
