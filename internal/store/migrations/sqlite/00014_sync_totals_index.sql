-- +goose Up
-- The index a sync's totals read alone: see the MySQL migration of the
-- same number.
DROP INDEX idx_expiring_resources_account_expire;
CREATE INDEX idx_expiring_resources_sync_totals ON expiring_resources (cloud_provider, account_id, last_sync_id, is_active, expire_time, tag_status);

-- +goose Down
DROP INDEX idx_expiring_resources_sync_totals;
CREATE INDEX idx_expiring_resources_account_expire ON expiring_resources (cloud_provider, account_id, expire_time);
