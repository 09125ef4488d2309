package store

import (
	"context"
	"errors"
	"expiry-sync/internal/contract"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Send statuses of a digest on one channel. pending: claimed, not sent yet
// (or the last attempt is known not to have reached the platform); sending:
// a request is on its way; sent: the platform took it; failed: refused for
// good or given up; unconfirmed: a worker died while a request was on its
// way, so it may or may not have arrived — it is never sent again (at most
// once); obsolete: every resource of the digest was renewed or released
// before it could go out.
const (
	SendPending     = contract.SendPending
	SendSending     = contract.SendSending
	SendSent        = contract.SendSent
	SendFailed      = contract.SendFailed
	SendUnconfirmed = contract.SendUnconfirmed
	SendObsolete    = contract.SendObsolete
)

// NotificationDigest is one message of a route for one threshold.
type NotificationDigest struct {
	ID            string `gorm:"primaryKey"`
	AccountID     string
	Route         string
	ThresholdDays int
	Language      string
	Resources     int
	AsOf          time.Time
	WorkflowID    string
	CreatedAt     time.Time
}

// NotificationSend is the delivery of a digest on one channel.
type NotificationSend struct {
	DigestID     string `gorm:"primaryKey"`
	Channel      string `gorm:"primaryKey"`
	ChannelType  string
	Recipient    string // what the send reached, with nothing secret in it
	Status       string
	Attempts     int
	ErrorMessage string
	UpdatedAt    time.Time
	SentAt       *time.Time
}

// Notification records that a resource, at an expire time, went out in a
// digest for a threshold.
type Notification struct {
	AccountID     string    `gorm:"primaryKey"`
	ResourceID    string    `gorm:"primaryKey"`
	ExpireTime    time.Time `gorm:"primaryKey"`
	ThresholdDays int       `gorm:"primaryKey"`
	DigestID      string
	CreatedAt     time.Time
}

// TableName pins the table name.
func (NotificationDigest) TableName() string { return "notification_digests" }

// TableName pins the table name.
func (NotificationSend) TableName() string { return "notification_sends" }

// TableName pins the table name.
func (Notification) TableName() string { return "notifications" }

// NotifyKey is the dedupe key of a resource within an account.
type NotifyKey struct {
	ResourceID    string
	ExpireTime    time.Time
	ThresholdDays int
}

// NotifyCandidates lists the active resources of an account expiring by
// expireBy (overdue ones included), in expire time order.
func (s *Store) NotifyCandidates(ctx context.Context, accountID string, expireBy time.Time) ([]ExpiringResource, error) {
	var rows []ExpiringResource
	err := s.db.WithContext(ctx).Where("account_id = ? AND is_active = ? AND expire_time <= ?", accountID, true, utcSecond(expireBy)).
		Order("expire_time, resource_id").Find(&rows).Error
	return rows, err
}

// NotifiedKeys returns the dedupe keys recorded for an account's resources
// expiring at or after since.
func (s *Store) NotifiedKeys(ctx context.Context, accountID string, since time.Time) (map[NotifyKey]bool, error) {
	var rows []Notification
	err := s.db.WithContext(ctx).Select("resource_id", "expire_time", "threshold_days").
		Where("account_id = ? AND expire_time >= ?", accountID, utcSecond(since)).Find(&rows).Error
	out := make(map[NotifyKey]bool, len(rows))
	for _, r := range rows {
		out[NotifyKey{r.ResourceID, r.ExpireTime.UTC(), r.ThresholdDays}] = true
	}
	return out, err
}

// DigestClaim is a digest to record with its resources and channels.
type DigestClaim struct {
	Digest    NotificationDigest
	Resources []NotifyKey // candidates; those already notified are skipped
	Sends     []NotificationSend
}

// ClaimDigest records a digest, the resources it carries and its pending
// sends in one transaction, skipping resources some other digest already
// carries for the threshold. It returns how many resources the digest
// holds; 0 means there was nothing left to claim and nothing was written.
// Claiming an id again returns the first claim's count: a retried claim
// never makes a second digest.
func (s *Store) ClaimDigest(ctx context.Context, c DigestClaim) (int, error) {
	var claimed int
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var existing NotificationDigest
		err := tx.Where("id = ?", c.Digest.ID).Take(&existing).Error
		if err == nil {
			claimed = existing.Resources
			return nil
		}
		if !errors.Is(err, gorm.ErrRecordNotFound) {
			return err
		}
		now := utcNow()
		rows := make([]Notification, len(c.Resources))
		for i, k := range c.Resources {
			rows[i] = Notification{AccountID: c.Digest.AccountID, ResourceID: k.ResourceID, ExpireTime: utcSecond(k.ExpireTime),
				ThresholdDays: k.ThresholdDays, DigestID: c.Digest.ID, CreatedAt: now}
		}
		for chunk := range chunks(rows, 200) {
			res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&chunk)
			if res.Error != nil {
				return res.Error
			}
		}
		var n int64
		if err := tx.Model(&Notification{}).Where("digest_id = ?", c.Digest.ID).Count(&n).Error; err != nil {
			return err
		}
		claimed = int(n)
		if n == 0 {
			return nil
		}
		d := c.Digest
		d.Resources, d.CreatedAt, d.AsOf = claimed, now, utcSecond(d.AsOf)
		if err := tx.Create(&d).Error; err != nil {
			return err
		}
		sends := make([]NotificationSend, len(c.Sends))
		for i, snd := range c.Sends {
			snd.DigestID, snd.Status, snd.UpdatedAt = d.ID, SendPending, now
			sends[i] = snd
		}
		return tx.Create(&sends).Error
	})
	return claimed, err
}

func chunks[T any](s []T, n int) func(func([]T) bool) {
	return func(yield func([]T) bool) {
		for len(s) > 0 {
			m := min(n, len(s))
			if !yield(s[:m]) {
				return
			}
			s = s[m:]
		}
	}
}

// GetDigest reads a digest and its sends.
func (s *Store) GetDigest(ctx context.Context, id string) (NotificationDigest, []NotificationSend, error) {
	var d NotificationDigest
	if err := s.db.WithContext(ctx).Where("id = ?", id).Take(&d).Error; err != nil {
		return d, nil, err
	}
	var sends []NotificationSend
	err := s.db.WithContext(ctx).Where("digest_id = ?", id).Order("channel").Find(&sends).Error
	return d, sends, err
}

// DigestResources lists the resources a digest carries that still need the
// reminder: active, and still expiring at the time they were claimed at (a
// renewal moves the expire time, a release makes them inactive).
func (s *Store) DigestResources(ctx context.Context, d NotificationDigest) ([]ExpiringResource, error) {
	var rows []ExpiringResource
	err := s.db.WithContext(ctx).Model(&ExpiringResource{}).
		Joins("JOIN notifications n ON n.account_id = expiring_resources.account_id AND n.resource_id = expiring_resources.resource_id AND n.expire_time = expiring_resources.expire_time").
		Where("n.digest_id = ? AND expiring_resources.account_id = ? AND expiring_resources.is_active = ?", d.ID, d.AccountID, true).
		Order("expiring_resources.expire_time, expiring_resources.resource_id").Find(&rows).Error
	return rows, err
}

// BeginSend moves a send from pending to sending, in one locked read and
// write, and returns the status it found: only a caller that gets
// SendPending may send. Any other status is left as it is.
func (s *Store) BeginSend(ctx context.Context, digestID, channel string) (string, error) {
	var found string
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var snd NotificationSend
		err := s.forUpdate(tx).Where("digest_id = ? AND channel = ?", digestID, channel).Take(&snd).Error
		if err != nil {
			return err
		}
		found = snd.Status
		if snd.Status != SendPending {
			return nil
		}
		return tx.Model(&snd).Where("digest_id = ? AND channel = ?", digestID, channel).
			Updates(map[string]any{"status": SendSending, "attempts": gorm.Expr("attempts + 1"), "updated_at": utcNow()}).Error
	})
	return found, err
}

// EndSend records the outcome of a send: pending again (the attempt is
// known not to have reached the platform), or a final status.
func (s *Store) EndSend(ctx context.Context, digestID, channel, status, errMsg string) error {
	now := utcNow()
	set := map[string]any{"status": status, "error_message": truncate(errMsg, 1024), "updated_at": now}
	if status == SendSent {
		set["sent_at"] = now
	}
	return s.db.WithContext(ctx).Model(&NotificationSend{}).Where("digest_id = ? AND channel = ?", digestID, channel).Updates(set).Error
}

// SettleDigest closes a digest once its workflow is done with it: sends
// still pending or sending were given up (failed). When no channel sent it
// (nor possibly sent it), its resources are released so that a later run
// reminds them again. It returns the digest's sends and whether it released.
func (s *Store) SettleDigest(ctx context.Context, id, reason string) ([]NotificationSend, bool, error) {
	var sends []NotificationSend
	released := false
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		now := utcNow()
		err := tx.Model(&NotificationSend{}).Where("digest_id = ? AND status IN ?", id, []string{SendPending, SendSending}).
			Updates(map[string]any{"status": SendFailed, "error_message": truncate(reason, 1024), "updated_at": now}).Error
		if err != nil {
			return err
		}
		if err := tx.Where("digest_id = ?", id).Order("channel").Find(&sends).Error; err != nil {
			return err
		}
		for _, snd := range sends {
			if snd.Status == SendSent || snd.Status == SendUnconfirmed {
				return nil
			}
		}
		released = true
		return tx.Where("digest_id = ?", id).Delete(&Notification{}).Error
	})
	return sends, released, err
}

// SendRecord is one line of the notification history.
type SendRecord struct {
	NotificationSend
	AccountID     string
	Route         string
	ThresholdDays int
	Resources     int
	CreatedAt     time.Time
}

// HistoryFilter selects history lines; empty fields match all.
type HistoryFilter struct {
	AccountID string
	Route     string
	Limit     int
}

// NotifyHistory lists sends, newest first.
func (s *Store) NotifyHistory(ctx context.Context, f HistoryFilter) ([]SendRecord, error) {
	q := s.db.WithContext(ctx).Table("notification_sends s").
		Select("s.*, d.account_id, d.route, d.threshold_days, d.resources, d.created_at").
		Joins("JOIN notification_digests d ON d.id = s.digest_id")
	if f.AccountID != "" {
		q = q.Where("d.account_id = ?", f.AccountID)
	}
	if f.Route != "" {
		q = q.Where("d.route = ?", f.Route)
	}
	if f.Limit > 0 {
		q = q.Limit(f.Limit)
	}
	var out []SendRecord
	err := q.Order("d.created_at DESC, d.id, s.channel").Scan(&out).Error
	if err != nil {
		return nil, reportError(err)
	}
	return out, nil
}
