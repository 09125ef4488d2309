-- +goose Up
-- Inventory truth: see the MySQL migration of the same number for the why.
CREATE TABLE sync_accounts (
  cloud_provider       TEXT    NOT NULL,
  account_id           TEXT    NOT NULL,
  last_generation      INTEGER NOT NULL DEFAULT 0,
  completed_generation INTEGER NOT NULL DEFAULT 0,
  completed_sync_id    TEXT    NOT NULL DEFAULT '',
  completed_at         DATETIME NULL,
  lease_sync_id        TEXT    NOT NULL DEFAULT '',
  lease_token          INTEGER NOT NULL DEFAULT 0,
  lease_expires_ms     INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (cloud_provider, account_id)
);

CREATE TABLE sync_gone (
  sync_id     TEXT    NOT NULL,
  resource_id TEXT    NOT NULL,
  bss_status  INTEGER NULL,
  PRIMARY KEY (sync_id, resource_id)
);

-- SQLite cannot drop NOT NULL in place: rebuild the table.
CREATE TABLE expiring_resources_new (
  id                    INTEGER PRIMARY KEY AUTOINCREMENT,
  cloud_provider        TEXT    NOT NULL,
  account_id            TEXT    NOT NULL,
  resource_id           TEXT    NOT NULL,
  resource_name         TEXT    NOT NULL DEFAULT '',
  region_code           TEXT    NOT NULL DEFAULT '',
  project_id            TEXT    NOT NULL DEFAULT '',
  service_type_code     TEXT    NOT NULL DEFAULT '',
  resource_type_code    TEXT    NOT NULL DEFAULT '',
  resource_spec_code    TEXT    NOT NULL DEFAULT '',
  parent_resource_id    TEXT    NOT NULL DEFAULT '',
  is_main_resource      BOOLEAN NOT NULL DEFAULT 1,
  status                INTEGER NULL,
  effective_time        DATETIME NULL,
  expire_time           DATETIME NOT NULL,
  expire_policy         INTEGER NULL,
  enterprise_project_id TEXT    NOT NULL DEFAULT '',
  tags                  TEXT    NULL CHECK (tags IS NULL OR json_valid(tags)),
  tag_status            TEXT    NOT NULL,
  tag_error             TEXT    NOT NULL DEFAULT '',
  is_active             BOOLEAN NOT NULL DEFAULT 1,
  first_seen_at         DATETIME NOT NULL,
  last_synced_at        DATETIME NOT NULL,
  last_sync_id          TEXT    NOT NULL,
  sync_generation       INTEGER NOT NULL DEFAULT 0,
  tags_read_at          DATETIME NULL
);
INSERT INTO expiring_resources_new (id, cloud_provider, account_id, resource_id, resource_name, region_code, project_id,
  service_type_code, resource_type_code, resource_spec_code, parent_resource_id, is_main_resource, status, effective_time,
  expire_time, expire_policy, enterprise_project_id, tags, tag_status, tag_error, is_active, first_seen_at, last_synced_at,
  last_sync_id, tags_read_at)
SELECT id, cloud_provider, account_id, resource_id, resource_name, region_code, project_id,
  service_type_code, resource_type_code, resource_spec_code, parent_resource_id, is_main_resource, status, effective_time,
  expire_time, expire_policy, enterprise_project_id, tags, tag_status, tag_error, is_active, first_seen_at, last_synced_at,
  last_sync_id, CASE WHEN tag_status = 'ok' THEN last_synced_at END
FROM expiring_resources;
DROP TABLE expiring_resources;
ALTER TABLE expiring_resources_new RENAME TO expiring_resources;
CREATE UNIQUE INDEX uq_expiring_resources_resource ON expiring_resources (cloud_provider, account_id, resource_id);
CREATE INDEX idx_expiring_resources_expire_time ON expiring_resources (expire_time);
CREATE INDEX idx_expiring_resources_account_expire ON expiring_resources (cloud_provider, account_id, expire_time);
CREATE INDEX idx_expiring_resources_account_active ON expiring_resources (cloud_provider, account_id, is_active, expire_time);

ALTER TABLE resource_sync_logs ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;
ALTER TABLE resource_sync_logs ADD COLUMN lease_token INTEGER NOT NULL DEFAULT 0;
ALTER TABLE resource_sync_logs ADD COLUMN listing_anchor TEXT NULL;
ALTER TABLE resource_sync_logs ADD COLUMN rechecked_resources INTEGER NOT NULL DEFAULT 0;
ALTER TABLE resource_sync_logs ADD COLUMN quarantined_records INTEGER NOT NULL DEFAULT 0;
ALTER TABLE resource_sync_logs ADD COLUMN notes TEXT NULL;

-- +goose Down
ALTER TABLE resource_sync_logs DROP COLUMN notes;
ALTER TABLE resource_sync_logs DROP COLUMN quarantined_records;
ALTER TABLE resource_sync_logs DROP COLUMN rechecked_resources;
ALTER TABLE resource_sync_logs DROP COLUMN listing_anchor;
ALTER TABLE resource_sync_logs DROP COLUMN lease_token;
ALTER TABLE resource_sync_logs DROP COLUMN generation;
DROP INDEX idx_expiring_resources_account_active;
ALTER TABLE expiring_resources DROP COLUMN tags_read_at;
ALTER TABLE expiring_resources DROP COLUMN sync_generation;
DROP TABLE sync_gone;
DROP TABLE sync_accounts;
