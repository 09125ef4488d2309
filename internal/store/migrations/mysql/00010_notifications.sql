-- +goose Up
-- Renewal reminders (docs/notify.md). A digest is one message of a route for
-- one threshold; notification_sends is its delivery on each of the route's
-- channels; notifications says which resource went out in which digest. The
-- key of notifications is the dedupe: a resource is sent at most once per
-- threshold for a given expire time, so a renewal (a new expire time) starts
-- afresh. The three are written in one transaction when a digest is claimed.
CREATE TABLE notification_digests (
  id             VARCHAR(64)  NOT NULL PRIMARY KEY,
  account_id     VARCHAR(64)  NOT NULL,
  route          VARCHAR(128) NOT NULL,
  threshold_days INT          NOT NULL, -- 0 = overdue
  language       VARCHAR(8)   NOT NULL,
  resources      INT          NOT NULL,
  as_of          DATETIME     NOT NULL,
  workflow_id    VARCHAR(255) NOT NULL,
  created_at     DATETIME     NOT NULL,
  KEY idx_notification_digests_account_created (account_id, created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE notification_sends (
  digest_id     VARCHAR(64)   NOT NULL,
  channel       VARCHAR(128)  NOT NULL,
  channel_type  VARCHAR(16)   NOT NULL,
  recipient     VARCHAR(512)  NOT NULL DEFAULT '',
  status        VARCHAR(16)   NOT NULL,
  attempts      INT           NOT NULL DEFAULT 0,
  error_message VARCHAR(1024) NOT NULL DEFAULT '',
  updated_at    DATETIME      NOT NULL,
  sent_at       DATETIME      NULL,
  PRIMARY KEY (digest_id, channel)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE notifications (
  account_id     VARCHAR(64)  NOT NULL,
  resource_id    VARCHAR(128) COLLATE utf8mb4_bin NOT NULL,
  expire_time    DATETIME     NOT NULL,
  threshold_days INT          NOT NULL,
  digest_id      VARCHAR(64)  NOT NULL,
  created_at     DATETIME     NOT NULL,
  PRIMARY KEY (account_id, resource_id, expire_time, threshold_days),
  KEY idx_notifications_digest (digest_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- +goose Down
DROP TABLE notifications;
DROP TABLE notification_sends;
DROP TABLE notification_digests;
