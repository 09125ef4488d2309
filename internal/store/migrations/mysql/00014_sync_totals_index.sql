-- +goose Up
-- A sync's totals (FinishSync counts its rows by tag status) read this
-- index alone: at 100,000 resources the count looked up every row and took
-- 2.6 s once the table outgrew the buffer pool. It replaces
-- (cloud_provider, account_id, expire_time), which no query needs: those
-- by account and expire time also filter is_active
-- (idx_expiring_resources_account_active), so the writes keep the same
-- number of indexes.
DROP INDEX idx_expiring_resources_account_expire ON expiring_resources;
CREATE INDEX idx_expiring_resources_sync_totals ON expiring_resources (cloud_provider, account_id, last_sync_id, is_active, expire_time, tag_status);

-- +goose Down
DROP INDEX idx_expiring_resources_sync_totals ON expiring_resources;
CREATE INDEX idx_expiring_resources_account_expire ON expiring_resources (cloud_provider, account_id, expire_time);
