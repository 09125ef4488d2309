-- +goose Up
-- Renewal orders and the order attempts in flight: see the MySQL migration
-- of the same number.
CREATE TABLE renewal_orders (
  order_id     TEXT     NOT NULL PRIMARY KEY,
  request_id   TEXT     NOT NULL,
  account_id   TEXT     NOT NULL,
  resource_ids TEXT     NOT NULL,
  recorded_at  DATETIME NOT NULL
);
CREATE INDEX idx_renewal_orders_request ON renewal_orders (request_id);
CREATE TABLE renewal_order_attempts (
  request_id TEXT     NOT NULL,
  chunk      TEXT     NOT NULL,
  resource_ids TEXT   NOT NULL,
  started_at DATETIME NOT NULL,
  PRIMARY KEY (request_id, chunk)
);

-- +goose Down
DROP TABLE renewal_order_attempts;
DROP TABLE renewal_orders;
