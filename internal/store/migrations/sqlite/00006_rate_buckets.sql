-- +goose Up
-- Shared flow-control limits: see the MySQL migration of the same number.
CREATE TABLE rate_buckets (
  domain_id       TEXT    NOT NULL,
  api             TEXT    NOT NULL,
  next_ms         INTEGER NOT NULL DEFAULT 0,
  paused_until_ms INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (domain_id, api)
);

-- +goose Down
DROP TABLE rate_buckets;
