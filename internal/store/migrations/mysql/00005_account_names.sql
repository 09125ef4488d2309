-- +goose Up
-- The name the worker's accounts file gives each Huawei account (default:
-- the HUAWEI_* environment's). Rows stay keyed by the domain id, Huawei's
-- own identity of the account; the name is what people filter by.
ALTER TABLE expiring_resources ADD COLUMN account_name VARCHAR(64) NOT NULL DEFAULT 'default';
ALTER TABLE resource_sync_logs ADD COLUMN account_name VARCHAR(64) NOT NULL DEFAULT 'default';
CREATE INDEX idx_expiring_resources_account_name ON expiring_resources (account_name, expire_time);
CREATE INDEX idx_resource_sync_logs_account_name ON resource_sync_logs (account_name, started_at);

-- +goose Down
DROP INDEX idx_resource_sync_logs_account_name ON resource_sync_logs;
DROP INDEX idx_expiring_resources_account_name ON expiring_resources;
ALTER TABLE resource_sync_logs DROP COLUMN account_name;
ALTER TABLE expiring_resources DROP COLUMN account_name;
