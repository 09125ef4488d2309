-- +goose Up
-- See the MySQL migration of the same number.
ALTER TABLE expiring_resources ADD COLUMN account_name TEXT NOT NULL DEFAULT 'default';
ALTER TABLE resource_sync_logs ADD COLUMN account_name TEXT NOT NULL DEFAULT 'default';
CREATE INDEX idx_expiring_resources_account_name ON expiring_resources (account_name, expire_time);
CREATE INDEX idx_resource_sync_logs_account_name ON resource_sync_logs (account_name, started_at);

-- +goose Down
DROP INDEX idx_resource_sync_logs_account_name;
DROP INDEX idx_expiring_resources_account_name;
ALTER TABLE resource_sync_logs DROP COLUMN account_name;
ALTER TABLE expiring_resources DROP COLUMN account_name;
