-- +goose Up
-- Renewal orders and the order attempts in flight (docs/renewals.md).
-- renewal_orders: each Huawei order belongs to one request (the primary
-- key), so a look-up never adopts another request's order.
-- renewal_order_attempts: written before RenewalResources is called and
-- kept until its answer is recorded: a retry that finds one and no order
-- knows an order may stand, and does not place a second.
CREATE TABLE renewal_orders (
  order_id     VARCHAR(64)  NOT NULL,
  request_id   VARCHAR(128) NOT NULL,
  account_id   VARCHAR(64)  NOT NULL,
  resource_ids TEXT         NOT NULL,
  recorded_at  DATETIME(3)  NOT NULL,
  PRIMARY KEY (order_id),
  KEY idx_renewal_orders_request (request_id)
);
CREATE TABLE renewal_order_attempts (
  request_id VARCHAR(128) NOT NULL,
  chunk      CHAR(64)     NOT NULL, -- sha256 of the chunk's sorted resource ids
  resource_ids TEXT       NOT NULL,
  started_at DATETIME(3)  NOT NULL,
  PRIMARY KEY (request_id, chunk)
);

-- +goose Down
DROP TABLE renewal_order_attempts;
DROP TABLE renewal_orders;
