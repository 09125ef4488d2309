-- +goose Up
-- Tags read in bulk (TMS ListResource) during a sync, by resource; the sync
-- joins them to its rows and drops them when it finishes.
CREATE TABLE tag_snapshots (
  sync_id     VARCHAR(255) NOT NULL,
  resource_id VARCHAR(128) COLLATE utf8mb4_bin NOT NULL,
  tags        JSON         NOT NULL,
  PRIMARY KEY (sync_id, resource_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- +goose Down
DROP TABLE tag_snapshots;
