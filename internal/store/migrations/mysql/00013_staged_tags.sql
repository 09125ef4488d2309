-- +goose Up
-- Tags a sync read (in bulk or one by one), staged until the commits that
-- write them: one row per read, its entries compressed in body (see
-- store.packTags), while the worker's copy of them fits its memory budget;
-- beyond it, tag_snapshots (one row per resource) as before.
CREATE TABLE staged_tags (
  id      BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
  sync_id VARCHAR(255) NOT NULL,
  body    LONGBLOB     NOT NULL,
  KEY idx_staged_tags_sync (sync_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- +goose Down
DROP TABLE staged_tags;
