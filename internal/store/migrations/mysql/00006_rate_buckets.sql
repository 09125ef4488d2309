-- +goose Up
-- Flow-control limits that hold for an account, not for one worker: one
-- token bucket per account (the domain id whose keys sign the calls) and
-- API, shared by every worker process through this row (store/ratelimit.go).
-- next_ms: when the next call may go at the configured rate (the GCRA
-- "theoretical arrival time"); paused_until_ms: no call before this, after
-- Huawei throttled one. Both on the database's clock, never a worker's.
CREATE TABLE rate_buckets (
  domain_id       VARCHAR(64) NOT NULL,
  api             VARCHAR(16) NOT NULL,
  next_ms         BIGINT      NOT NULL DEFAULT 0,
  paused_until_ms BIGINT      NOT NULL DEFAULT 0,
  PRIMARY KEY (domain_id, api)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- +goose Down
DROP TABLE rate_buckets;
