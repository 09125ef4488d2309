-- +goose Up
-- Tags a sync read (in bulk or one by one), staged until the commits that
-- write them: one row per read, its entries compressed in body (see
-- store.packTags), instead of one row per resource (tag_snapshots), which
-- cost the database an insert, two reads and a delete per resource. Syncs
-- running across this upgrade read again the tags they had staged.
CREATE TABLE staged_tags (
  id      BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
  sync_id VARCHAR(255) NOT NULL,
  body    LONGBLOB     NOT NULL,
  KEY idx_staged_tags_sync (sync_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
DROP TABLE tag_snapshots;

-- +goose Down
CREATE TABLE tag_snapshots (
  sync_id     VARCHAR(255) NOT NULL,
  resource_id VARCHAR(128) COLLATE utf8mb4_bin NOT NULL,
  tags        JSON         NOT NULL,
  PRIMARY KEY (sync_id, resource_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
DROP TABLE staged_tags;
