-- +goose Up
-- Inventory truth. sync_accounts orders the syncs of an account by
-- generation and holds the account's lease: only the lease holder writes, and
-- every write checks the lease token inside its transaction (fencing). Lease
-- times come from the database's clock, never from a worker's.
CREATE TABLE sync_accounts (
  cloud_provider       VARCHAR(16)  NOT NULL,
  account_id           VARCHAR(64)  NOT NULL,
  last_generation      BIGINT       NOT NULL DEFAULT 0,
  completed_generation BIGINT       NOT NULL DEFAULT 0,
  completed_sync_id    VARCHAR(255) NOT NULL DEFAULT '',
  completed_at         DATETIME     NULL,
  lease_sync_id        VARCHAR(255) NOT NULL DEFAULT '',
  lease_token          BIGINT       NOT NULL DEFAULT 0,
  lease_expires_ms     BIGINT       NOT NULL DEFAULT 0,
  PRIMARY KEY (cloud_provider, account_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Resources a sync's re-check found closed or gone; FinishSync deactivates
-- them when the sync completes as the newest of its account.
CREATE TABLE sync_gone (
  sync_id     VARCHAR(255) NOT NULL,
  resource_id VARCHAR(128) COLLATE utf8mb4_bin NOT NULL,
  bss_status  INT          NULL,
  PRIMARY KEY (sync_id, resource_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- status and expire_policy NULL: BSS did not say (0 is a real policy).
-- sync_generation: the generation of the sync that last wrote the row; an
-- older sync never overwrites it. tags_read_at: when the stored tags were
-- last read successfully (a failed read keeps them).
ALTER TABLE expiring_resources
  MODIFY status INT NULL,
  MODIFY expire_policy INT NULL,
  ADD COLUMN sync_generation BIGINT NOT NULL DEFAULT 0,
  ADD COLUMN tags_read_at DATETIME NULL;
UPDATE expiring_resources SET tags_read_at = last_synced_at WHERE tag_status = 'ok';
CREATE INDEX idx_expiring_resources_account_active ON expiring_resources (cloud_provider, account_id, is_active, expire_time);

-- generation and lease_token of the sync; listing_anchor: the last ids of the
-- last committed page (JSON), which the next page must overlap; notes: why a
-- sync is partial (JSON list of sentences).
ALTER TABLE resource_sync_logs
  ADD COLUMN generation BIGINT NOT NULL DEFAULT 0,
  ADD COLUMN lease_token BIGINT NOT NULL DEFAULT 0,
  ADD COLUMN listing_anchor TEXT NULL,
  ADD COLUMN rechecked_resources INT NOT NULL DEFAULT 0,
  ADD COLUMN quarantined_records INT NOT NULL DEFAULT 0,
  ADD COLUMN notes TEXT NULL;

-- +goose Down
ALTER TABLE resource_sync_logs DROP COLUMN notes, DROP COLUMN quarantined_records, DROP COLUMN rechecked_resources,
  DROP COLUMN listing_anchor, DROP COLUMN lease_token, DROP COLUMN generation;
DROP INDEX idx_expiring_resources_account_active ON expiring_resources;
ALTER TABLE expiring_resources DROP COLUMN tags_read_at, DROP COLUMN sync_generation;
UPDATE expiring_resources SET status = COALESCE(status, 0), expire_policy = COALESCE(expire_policy, 0);
ALTER TABLE expiring_resources MODIFY status INT NOT NULL, MODIFY expire_policy INT NOT NULL DEFAULT 0;
DROP TABLE sync_gone;
DROP TABLE sync_accounts;
