-- +goose Up
-- Renewal requests (issue 23). A request is one RenewResources workflow;
-- its activity RenewRecord writes each event with the request's state after
-- it (store.RecordRenewal), in one transaction. Nothing here is secret.
--
-- renewal_requests: one row per request, its state as of its last event
-- (seq); state_json is the whole contract.RenewState. A late retry of an
-- older event never rolls it back. Amounts are millionths of the currency's
-- unit (contract.Amount); quoted_total is NULL before a quote.
CREATE TABLE renewal_requests (
  request_id     VARCHAR(128)  COLLATE utf8mb4_bin NOT NULL PRIMARY KEY,
  account_id     VARCHAR(64)   NOT NULL,
  account_name   VARCHAR(64)   NOT NULL,
  kind           VARCHAR(32)   NOT NULL,
  state          VARCHAR(16)   NOT NULL,
  closed         BOOLEAN       NOT NULL DEFAULT FALSE,
  requester      VARCHAR(255)  NOT NULL DEFAULT '',
  reason         VARCHAR(1024) NOT NULL DEFAULT '',
  period         VARCHAR(8)    NOT NULL DEFAULT '',
  currency       VARCHAR(8)    NOT NULL DEFAULT '',
  quoted_total   BIGINT        NULL,
  approved_total BIGINT        NOT NULL DEFAULT 0,
  created_at     DATETIME      NOT NULL,
  updated_at     DATETIME      NOT NULL,
  seq            INT           NOT NULL,
  state_json     MEDIUMTEXT    NOT NULL,
  KEY idx_renewal_requests_account_state (account_name, state),
  KEY idx_renewal_requests_updated (updated_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The resources each request names.
CREATE TABLE renewal_resources (
  request_id  VARCHAR(128) COLLATE utf8mb4_bin NOT NULL,
  resource_id VARCHAR(128) COLLATE utf8mb4_bin NOT NULL,
  account_id  VARCHAR(64)  NOT NULL,
  PRIMARY KEY (request_id, resource_id),
  KEY idx_renewal_resources_resource (account_id, resource_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- At most one open request per resource, enforced by the key: a request
-- claims its resources when its first event is recorded and releases them
-- with the event that closes it.
CREATE TABLE renewal_claims (
  account_id  VARCHAR(64)  NOT NULL,
  resource_id VARCHAR(128) COLLATE utf8mb4_bin NOT NULL,
  request_id  VARCHAR(128) COLLATE utf8mb4_bin NOT NULL,
  PRIMARY KEY (account_id, resource_id),
  KEY idx_renewal_claims_request (request_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Each request's history: one row per event, written once (a retried
-- record is a no-op); state is the request's state after it.
CREATE TABLE renewal_events (
  request_id VARCHAR(128) COLLATE utf8mb4_bin NOT NULL,
  seq        INT          NOT NULL,
  `at`       DATETIME     NOT NULL,
  kind       VARCHAR(32)  NOT NULL,
  actor      VARCHAR(255) NOT NULL DEFAULT '',
  detail     TEXT         NOT NULL,
  state      VARCHAR(16)  NOT NULL,
  PRIMARY KEY (request_id, seq)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- A decision to let a resource's expiry lapse: for that expire_time only;
-- reminders stop for it, and start again once the expiry changes.
CREATE TABLE lapse_decisions (
  account_id   VARCHAR(64)   NOT NULL,
  resource_id  VARCHAR(128)  COLLATE utf8mb4_bin NOT NULL,
  expire_time  DATETIME      NOT NULL,
  account_name VARCHAR(64)   NOT NULL,
  reason       VARCHAR(1024) NOT NULL DEFAULT '',
  decided_by   VARCHAR(255)  NOT NULL DEFAULT '',
  decided_at   DATETIME      NOT NULL,
  request_id   VARCHAR(128)  COLLATE utf8mb4_bin NULL,
  PRIMARY KEY (account_id, resource_id, expire_time)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- +goose Down
DROP TABLE lapse_decisions;
DROP TABLE renewal_events;
DROP TABLE renewal_claims;
DROP TABLE renewal_resources;
DROP TABLE renewal_requests;
