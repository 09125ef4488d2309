-- +goose Up
-- Staging keyed by the attempt, listed_resources, cut_fields and the
-- lease's own clock row: see the MySQL migration of the same number.
-- SQLite cannot change a primary key in place: rebuild those tables.
CREATE TABLE sync_gone_new (
  sync_id     TEXT    NOT NULL,
  generation  INTEGER NOT NULL DEFAULT 0,
  resource_id TEXT    NOT NULL,
  bss_status  INTEGER NULL,
  PRIMARY KEY (sync_id, generation, resource_id)
);
INSERT INTO sync_gone_new (sync_id, generation, resource_id, bss_status)
  SELECT g.sync_id, COALESCE((SELECT l.generation FROM resource_sync_logs l WHERE l.sync_id = g.sync_id), 0), g.resource_id, g.bss_status
  FROM sync_gone g;
DROP TABLE sync_gone;
ALTER TABLE sync_gone_new RENAME TO sync_gone;

CREATE TABLE tag_snapshots_new (
  sync_id     TEXT    NOT NULL,
  generation  INTEGER NOT NULL DEFAULT 0,
  resource_id TEXT    NOT NULL,
  tags        TEXT    NOT NULL CHECK (json_valid(tags)),
  PRIMARY KEY (sync_id, generation, resource_id)
);
INSERT INTO tag_snapshots_new (sync_id, generation, resource_id, tags)
  SELECT t.sync_id, COALESCE((SELECT l.generation FROM resource_sync_logs l WHERE l.sync_id = t.sync_id), 0), t.resource_id, t.tags
  FROM tag_snapshots t;
DROP TABLE tag_snapshots;
ALTER TABLE tag_snapshots_new RENAME TO tag_snapshots;

ALTER TABLE staged_tags ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;
UPDATE staged_tags SET generation = COALESCE((SELECT l.generation FROM resource_sync_logs l WHERE l.sync_id = staged_tags.sync_id), 0);
DROP INDEX idx_staged_tags_sync;
CREATE INDEX idx_staged_tags_attempt ON staged_tags (sync_id, generation, id);

ALTER TABLE resource_sync_logs ADD COLUMN listed_resources INTEGER NOT NULL DEFAULT 0;
ALTER TABLE expiring_resources ADD COLUMN cut_fields TEXT NOT NULL DEFAULT '';

CREATE TABLE lease_renewals (
  cloud_provider TEXT    NOT NULL,
  account_id     TEXT    NOT NULL,
  lease_sync_id  TEXT    NOT NULL DEFAULT '',
  lease_token    INTEGER NOT NULL DEFAULT 0,
  expires_ms     INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (cloud_provider, account_id)
);
INSERT INTO lease_renewals (cloud_provider, account_id, lease_sync_id, lease_token, expires_ms)
  SELECT cloud_provider, account_id, lease_sync_id, lease_token, lease_expires_ms FROM sync_accounts;
ALTER TABLE sync_accounts DROP COLUMN lease_expires_ms;

-- +goose Down
ALTER TABLE sync_accounts ADD COLUMN lease_expires_ms INTEGER NOT NULL DEFAULT 0;
UPDATE sync_accounts SET lease_expires_ms = COALESCE((SELECT r.expires_ms FROM lease_renewals r
  WHERE r.cloud_provider = sync_accounts.cloud_provider AND r.account_id = sync_accounts.account_id), 0);
DROP TABLE lease_renewals;
ALTER TABLE expiring_resources DROP COLUMN cut_fields;
ALTER TABLE resource_sync_logs DROP COLUMN listed_resources;
DROP INDEX idx_staged_tags_attempt;
CREATE INDEX idx_staged_tags_sync ON staged_tags (sync_id, id);
ALTER TABLE staged_tags DROP COLUMN generation;
CREATE TABLE tag_snapshots_old (
  sync_id     TEXT NOT NULL,
  resource_id TEXT NOT NULL,
  tags        TEXT NOT NULL CHECK (json_valid(tags)),
  PRIMARY KEY (sync_id, resource_id)
);
DROP TABLE tag_snapshots;
ALTER TABLE tag_snapshots_old RENAME TO tag_snapshots;
CREATE TABLE sync_gone_old (
  sync_id     TEXT    NOT NULL,
  resource_id TEXT    NOT NULL,
  bss_status  INTEGER NULL,
  PRIMARY KEY (sync_id, resource_id)
);
DROP TABLE sync_gone;
ALTER TABLE sync_gone_old RENAME TO sync_gone;
