-- +goose Up
-- The re-check's candidates (active rows of an account that the sync's
-- generation did not write) come from this index's range instead of a scan
-- of every row of the account.
CREATE INDEX idx_expiring_resources_account_generation ON expiring_resources (cloud_provider, account_id, is_active, sync_generation);

-- +goose Down
DROP INDEX idx_expiring_resources_account_generation ON expiring_resources;
