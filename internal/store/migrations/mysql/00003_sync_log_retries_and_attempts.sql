-- +goose Up
-- retries: activity attempts that failed and were retried (Huawei 429/5xx,
-- timeouts, database outages). attempt_started_at: when the current attempt
-- opened, to tell which of two syncs of one account came first.
ALTER TABLE resource_sync_logs
  ADD COLUMN retries INT NOT NULL DEFAULT 0,
  ADD COLUMN attempt_started_at DATETIME NULL;
UPDATE resource_sync_logs SET attempt_started_at = started_at;
CREATE INDEX idx_resource_sync_logs_account_status ON resource_sync_logs (account_id, status);

-- +goose Down
DROP INDEX idx_resource_sync_logs_account_status ON resource_sync_logs;
ALTER TABLE resource_sync_logs DROP COLUMN attempt_started_at, DROP COLUMN retries;
