-- +goose Up
-- A reminder counts only once a channel accepted a message naming it
-- (docs/notify.md). notifications become per channel: a row says which
-- message (part) of which digest names the resource on that channel, and
-- how far it got (pending, sending, sent, unconfirmed, failed, obsolete).
-- Rows written before this migration have channel '' (every channel of
-- their route) and count as sent, as they did. A digest is settled once
-- its run is done with it (settled_at); run_id lets a sweep settle the
-- digests of a run that ended without settling them.
ALTER TABLE notifications
  ADD COLUMN channel VARCHAR(128) NOT NULL DEFAULT '',
  ADD COLUMN part    INT          NOT NULL DEFAULT 0,
  ADD COLUMN status  VARCHAR(16)  NOT NULL DEFAULT 'sent',
  DROP PRIMARY KEY,
  ADD PRIMARY KEY (account_id, resource_id, expire_time, threshold_days, channel),
  DROP KEY idx_notifications_digest,
  ADD KEY idx_notifications_send (digest_id, channel, part);
ALTER TABLE notification_digests
  ADD COLUMN run_id     VARCHAR(64) NOT NULL DEFAULT '',
  ADD COLUMN settled_at DATETIME    NULL,
  ADD KEY idx_notification_digests_unsettled (account_id, settled_at);
UPDATE notification_digests SET settled_at = created_at;
ALTER TABLE notification_sends
  ADD COLUMN parts       INT NOT NULL DEFAULT 0,
  ADD COLUMN parts_sent  INT NOT NULL DEFAULT 0,
  ADD COLUMN unconfirmed INT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE notification_sends DROP COLUMN parts, DROP COLUMN parts_sent, DROP COLUMN unconfirmed;
ALTER TABLE notification_digests DROP KEY idx_notification_digests_unsettled, DROP COLUMN run_id, DROP COLUMN settled_at;
DELETE FROM notifications WHERE channel <> '' AND status <> 'sent';
DELETE n FROM notifications n JOIN notifications o
  ON o.account_id = n.account_id AND o.resource_id = n.resource_id AND o.expire_time = n.expire_time
  AND o.threshold_days = n.threshold_days AND o.channel < n.channel;
ALTER TABLE notifications
  DROP KEY idx_notifications_send,
  ADD KEY idx_notifications_digest (digest_id),
  DROP PRIMARY KEY,
  ADD PRIMARY KEY (account_id, resource_id, expire_time, threshold_days),
  DROP COLUMN channel, DROP COLUMN part, DROP COLUMN status;
