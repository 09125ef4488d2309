-- +goose Up
-- Renewal reminders (docs/notify.md); see the MySQL migration for the design.
CREATE TABLE notification_digests (
  id             TEXT     NOT NULL PRIMARY KEY,
  account_id     TEXT     NOT NULL,
  route          TEXT     NOT NULL,
  threshold_days INTEGER  NOT NULL,
  language       TEXT     NOT NULL,
  resources      INTEGER  NOT NULL,
  as_of          DATETIME NOT NULL,
  workflow_id    TEXT     NOT NULL,
  created_at     DATETIME NOT NULL
);
CREATE INDEX idx_notification_digests_account_created ON notification_digests (account_id, created_at);

CREATE TABLE notification_sends (
  digest_id     TEXT     NOT NULL,
  channel       TEXT     NOT NULL,
  channel_type  TEXT     NOT NULL,
  recipient     TEXT     NOT NULL DEFAULT '',
  status        TEXT     NOT NULL,
  attempts      INTEGER  NOT NULL DEFAULT 0,
  error_message TEXT     NOT NULL DEFAULT '',
  updated_at    DATETIME NOT NULL,
  sent_at       DATETIME NULL,
  PRIMARY KEY (digest_id, channel)
);

CREATE TABLE notifications (
  account_id     TEXT     NOT NULL,
  resource_id    TEXT     NOT NULL,
  expire_time    DATETIME NOT NULL,
  threshold_days INTEGER  NOT NULL,
  digest_id      TEXT     NOT NULL,
  created_at     DATETIME NOT NULL,
  PRIMARY KEY (account_id, resource_id, expire_time, threshold_days)
);
CREATE INDEX idx_notifications_digest ON notifications (digest_id);

-- +goose Down
DROP TABLE notifications;
DROP TABLE notification_sends;
DROP TABLE notification_digests;
