-- +goose Up
-- Renewal requests (issue 23): see the MySQL migration of the same number.
CREATE TABLE renewal_requests (
  request_id     TEXT     NOT NULL PRIMARY KEY,
  account_id     TEXT     NOT NULL,
  account_name   TEXT     NOT NULL,
  kind           TEXT     NOT NULL,
  state          TEXT     NOT NULL,
  closed         BOOLEAN  NOT NULL DEFAULT 0,
  requester      TEXT     NOT NULL DEFAULT '',
  reason         TEXT     NOT NULL DEFAULT '',
  period         TEXT     NOT NULL DEFAULT '',
  currency       TEXT     NOT NULL DEFAULT '',
  quoted_total   INTEGER  NULL,
  approved_total INTEGER  NOT NULL DEFAULT 0,
  created_at     DATETIME NOT NULL,
  updated_at     DATETIME NOT NULL,
  seq            INTEGER  NOT NULL,
  state_json     TEXT     NOT NULL
);
CREATE INDEX idx_renewal_requests_account_state ON renewal_requests (account_name, state);
CREATE INDEX idx_renewal_requests_updated ON renewal_requests (updated_at);

CREATE TABLE renewal_resources (
  request_id  TEXT NOT NULL,
  resource_id TEXT NOT NULL,
  account_id  TEXT NOT NULL,
  PRIMARY KEY (request_id, resource_id)
);
CREATE INDEX idx_renewal_resources_resource ON renewal_resources (account_id, resource_id);

CREATE TABLE renewal_claims (
  account_id  TEXT NOT NULL,
  resource_id TEXT NOT NULL,
  request_id  TEXT NOT NULL,
  PRIMARY KEY (account_id, resource_id)
);
CREATE INDEX idx_renewal_claims_request ON renewal_claims (request_id);

CREATE TABLE renewal_events (
  request_id TEXT     NOT NULL,
  seq        INTEGER  NOT NULL,
  "at"       DATETIME NOT NULL,
  kind       TEXT     NOT NULL,
  actor      TEXT     NOT NULL DEFAULT '',
  detail     TEXT     NOT NULL DEFAULT '',
  state      TEXT     NOT NULL,
  PRIMARY KEY (request_id, seq)
);

CREATE TABLE lapse_decisions (
  account_id   TEXT     NOT NULL,
  resource_id  TEXT     NOT NULL,
  expire_time  DATETIME NOT NULL,
  account_name TEXT     NOT NULL,
  reason       TEXT     NOT NULL DEFAULT '',
  decided_by   TEXT     NOT NULL DEFAULT '',
  decided_at   DATETIME NOT NULL,
  request_id   TEXT     NULL,
  PRIMARY KEY (account_id, resource_id, expire_time)
);

-- +goose Down
DROP TABLE lapse_decisions;
DROP TABLE renewal_events;
DROP TABLE renewal_claims;
DROP TABLE renewal_resources;
DROP TABLE renewal_requests;
