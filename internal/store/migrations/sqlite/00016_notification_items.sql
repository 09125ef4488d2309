-- +goose Up
-- Reminders per channel and per message: see the MySQL migration of the
-- same number. SQLite cannot change a primary key in place: rebuild.
CREATE TABLE notifications_new (
  account_id     TEXT     NOT NULL,
  resource_id    TEXT     NOT NULL,
  expire_time    DATETIME NOT NULL,
  threshold_days INTEGER  NOT NULL,
  channel        TEXT     NOT NULL DEFAULT '',
  digest_id      TEXT     NOT NULL,
  part           INTEGER  NOT NULL DEFAULT 0,
  status         TEXT     NOT NULL DEFAULT 'sent',
  created_at     DATETIME NOT NULL,
  PRIMARY KEY (account_id, resource_id, expire_time, threshold_days, channel)
);
INSERT INTO notifications_new (account_id, resource_id, expire_time, threshold_days, digest_id, created_at)
  SELECT account_id, resource_id, expire_time, threshold_days, digest_id, created_at FROM notifications;
DROP TABLE notifications;
ALTER TABLE notifications_new RENAME TO notifications;
CREATE INDEX idx_notifications_send ON notifications (digest_id, channel, part);

ALTER TABLE notification_digests ADD COLUMN run_id TEXT NOT NULL DEFAULT '';
ALTER TABLE notification_digests ADD COLUMN settled_at DATETIME NULL;
UPDATE notification_digests SET settled_at = created_at;
CREATE INDEX idx_notification_digests_unsettled ON notification_digests (account_id, settled_at);
ALTER TABLE notification_sends ADD COLUMN parts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE notification_sends ADD COLUMN parts_sent INTEGER NOT NULL DEFAULT 0;
ALTER TABLE notification_sends ADD COLUMN unconfirmed INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE notification_sends DROP COLUMN unconfirmed;
ALTER TABLE notification_sends DROP COLUMN parts_sent;
ALTER TABLE notification_sends DROP COLUMN parts;
DROP INDEX idx_notification_digests_unsettled;
ALTER TABLE notification_digests DROP COLUMN settled_at;
ALTER TABLE notification_digests DROP COLUMN run_id;
CREATE TABLE notifications_old (
  account_id     TEXT     NOT NULL,
  resource_id    TEXT     NOT NULL,
  expire_time    DATETIME NOT NULL,
  threshold_days INTEGER  NOT NULL,
  digest_id      TEXT     NOT NULL,
  created_at     DATETIME NOT NULL,
  PRIMARY KEY (account_id, resource_id, expire_time, threshold_days)
);
INSERT OR IGNORE INTO notifications_old (account_id, resource_id, expire_time, threshold_days, digest_id, created_at)
  SELECT account_id, resource_id, expire_time, threshold_days, digest_id, created_at FROM notifications WHERE channel = '' OR status = 'sent';
DROP TABLE notifications;
ALTER TABLE notifications_old RENAME TO notifications;
CREATE INDEX idx_notifications_digest ON notifications (digest_id);
