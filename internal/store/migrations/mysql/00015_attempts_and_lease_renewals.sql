-- +goose Up
-- Staging is keyed by the attempt, (sync_id, generation), not by the sync:
-- a resumed attempt never reads the pages, tags or gone-verdicts of the
-- attempt before it, and a late write of that attempt lands in rows the new
-- one never reads (and which BeginSync sweeps).
ALTER TABLE sync_gone ADD COLUMN generation BIGINT NOT NULL DEFAULT 0;
UPDATE sync_gone g JOIN resource_sync_logs l ON l.sync_id = g.sync_id SET g.generation = l.generation;
ALTER TABLE sync_gone DROP PRIMARY KEY, ADD PRIMARY KEY (sync_id, generation, resource_id);

ALTER TABLE tag_snapshots ADD COLUMN generation BIGINT NOT NULL DEFAULT 0;
UPDATE tag_snapshots t JOIN resource_sync_logs l ON l.sync_id = t.sync_id SET t.generation = l.generation;
ALTER TABLE tag_snapshots DROP PRIMARY KEY, ADD PRIMARY KEY (sync_id, generation, resource_id);

ALTER TABLE staged_tags ADD COLUMN generation BIGINT NOT NULL DEFAULT 0;
UPDATE staged_tags t JOIN resource_sync_logs l ON l.sync_id = t.sync_id SET t.generation = l.generation;
DROP INDEX idx_staged_tags_sync ON staged_tags;
CREATE INDEX idx_staged_tags_attempt ON staged_tags (sync_id, generation, id);

-- listed_resources: distinct resources the current attempt's listing wrote,
-- which FinishSync compares with BSS's total_count.
ALTER TABLE resource_sync_logs ADD COLUMN listed_resources INT NOT NULL DEFAULT 0;

-- cut_fields: the BSS fields longer than their column, stored cut (comma
-- separated names); empty when every value fit.
ALTER TABLE expiring_resources ADD COLUMN cut_fields VARCHAR(255) NOT NULL DEFAULT '';

-- The lease's clock lives in its own row: the holder renews it without
-- waiting for its own commits, which share-lock sync_accounts (the fence)
-- for as long as they write. A takeover locks both rows.
CREATE TABLE lease_renewals (
  cloud_provider VARCHAR(16)  NOT NULL,
  account_id     VARCHAR(64)  NOT NULL,
  lease_sync_id  VARCHAR(255) NOT NULL DEFAULT '',
  lease_token    BIGINT       NOT NULL DEFAULT 0,
  expires_ms     BIGINT       NOT NULL DEFAULT 0,
  PRIMARY KEY (cloud_provider, account_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
INSERT INTO lease_renewals (cloud_provider, account_id, lease_sync_id, lease_token, expires_ms)
  SELECT cloud_provider, account_id, lease_sync_id, lease_token, lease_expires_ms FROM sync_accounts;
ALTER TABLE sync_accounts DROP COLUMN lease_expires_ms;

-- +goose Down
ALTER TABLE sync_accounts ADD COLUMN lease_expires_ms BIGINT NOT NULL DEFAULT 0;
UPDATE sync_accounts a JOIN lease_renewals r ON r.cloud_provider = a.cloud_provider AND r.account_id = a.account_id
  SET a.lease_expires_ms = r.expires_ms;
DROP TABLE lease_renewals;
ALTER TABLE expiring_resources DROP COLUMN cut_fields;
ALTER TABLE resource_sync_logs DROP COLUMN listed_resources;
DROP INDEX idx_staged_tags_attempt ON staged_tags;
CREATE INDEX idx_staged_tags_sync ON staged_tags (sync_id, id);
ALTER TABLE staged_tags DROP COLUMN generation;
DELETE FROM tag_snapshots;
ALTER TABLE tag_snapshots DROP PRIMARY KEY, DROP COLUMN generation, ADD PRIMARY KEY (sync_id, resource_id);
DELETE FROM sync_gone;
ALTER TABLE sync_gone DROP PRIMARY KEY, DROP COLUMN generation, ADD PRIMARY KEY (sync_id, resource_id);
