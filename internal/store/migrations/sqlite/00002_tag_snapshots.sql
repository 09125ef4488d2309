-- +goose Up
-- Tags read in bulk (TMS ListResource) during a sync, by resource; the sync
-- joins them to its rows and drops them when it finishes.
CREATE TABLE tag_snapshots (
  sync_id     TEXT NOT NULL,
  resource_id TEXT NOT NULL,
  tags        TEXT NOT NULL CHECK (json_valid(tags)),
  PRIMARY KEY (sync_id, resource_id)
);

-- +goose Down
DROP TABLE tag_snapshots;
