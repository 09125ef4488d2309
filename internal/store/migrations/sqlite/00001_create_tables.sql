-- +goose Up
CREATE TABLE expiring_resources (
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
  status                INTEGER NOT NULL,
  effective_time        DATETIME NULL,
  expire_time           DATETIME NOT NULL,
  expire_policy         INTEGER NOT NULL DEFAULT 0,
  enterprise_project_id TEXT    NOT NULL DEFAULT '',
  tags                  TEXT    NULL CHECK (tags IS NULL OR json_valid(tags)),
  tag_status            TEXT    NOT NULL,
  tag_error             TEXT    NOT NULL DEFAULT '',
  is_active             BOOLEAN NOT NULL DEFAULT 1,
  first_seen_at         DATETIME NOT NULL,
  last_synced_at        DATETIME NOT NULL,
  last_sync_id          TEXT    NOT NULL
);
CREATE UNIQUE INDEX uq_expiring_resources_resource ON expiring_resources (cloud_provider, account_id, resource_id);
CREATE INDEX idx_expiring_resources_expire_time ON expiring_resources (expire_time);
CREATE INDEX idx_expiring_resources_account_expire ON expiring_resources (cloud_provider, account_id, expire_time);

CREATE TABLE resource_sync_logs (
  sync_id               TEXT    NOT NULL PRIMARY KEY,
  cloud_provider        TEXT    NOT NULL,
  account_id            TEXT    NOT NULL,
  status                TEXT    NOT NULL,
  expire_days           INTEGER NOT NULL,
  window_begin          DATETIME NOT NULL,
  window_end            DATETIME NOT NULL,
  total_resources       INTEGER NOT NULL DEFAULT 0,
  tagged_resources      INTEGER NOT NULL DEFAULT 0,
  untagged_resources    INTEGER NOT NULL DEFAULT 0,
  vanished_resources    INTEGER NOT NULL DEFAULT 0,
  tag_error_resources   INTEGER NOT NULL DEFAULT 0,
  deactivated_resources INTEGER NOT NULL DEFAULT 0,
  rows_written          INTEGER NOT NULL DEFAULT 0,
  batches_committed     INTEGER NOT NULL DEFAULT 0,
  last_committed_batch  INTEGER NOT NULL DEFAULT 0,
  next_offset           INTEGER NOT NULL DEFAULT 0,
  next_row              INTEGER NOT NULL DEFAULT 0,
  attempts              INTEGER NOT NULL DEFAULT 1,
  run_id                TEXT    NOT NULL DEFAULT '',
  started_at            DATETIME NOT NULL,
  updated_at            DATETIME NOT NULL,
  finished_at           DATETIME NULL,
  error_message         TEXT    NULL
);
CREATE INDEX idx_resource_sync_logs_account_started ON resource_sync_logs (account_id, started_at);

-- +goose Down
DROP TABLE resource_sync_logs;
DROP TABLE expiring_resources;
