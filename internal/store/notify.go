package store

import (
	"context"
	"errors"
	"slices"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"expiry-sync/internal/contract"
)

// NotificationDigest is what a route sends for one threshold in one run:
// on each channel, as many messages (parts) as the channel's limits need.
type NotificationDigest struct {
	ID            string `gorm:"primaryKey"`
	AccountID     string
	Route         string
	ThresholdDays int
	Language      string
	Resources     int
	AsOf          time.Time
	WorkflowID    string
	RunID         string
	CreatedAt     time.Time
	// SettledAt: the run was done with it (nil: its sends may still go on).
	SettledAt *time.Time
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
	Parts        int // messages the digest was split into on this channel
	PartsSent    int // messages the platform accepted
	Unconfirmed  int // resources named in a message that got no answer
	UpdatedAt    time.Time
	SentAt       *time.Time
}

// Notification is one resource, at an expire time, owed a threshold's
// reminder on one channel, and how far that reminder got: the channel
// accepted a message naming it (Status sent) or not yet.
type Notification struct {
	AccountID     string    `gorm:"primaryKey"`
	ResourceID    string    `gorm:"primaryKey"`
	ExpireTime    time.Time `gorm:"primaryKey"`
	ThresholdDays int       `gorm:"primaryKey"`
	// Channel: "" on rows from before reminders were kept per channel: it
	// stands for every channel of the route.
	Channel   string `gorm:"primaryKey"`
	DigestID  string
	Part      int // the message of the send that names it; 0: not split yet
	Status    string
	CreatedAt time.Time
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

// AllChannels is the channel of rows older than per-channel reminders.
const AllChannels = ""

// NotifyCandidates lists the active resources of an account expiring by
// expireBy (overdue ones included), in expire time order, each with what
// was decided about it (Decision). A resource someone decided to let lapse
// at its current expire time is not a candidate: its reminders stop for
// that expiry, and start again once the expiry changes.
func (s *Store) NotifyCandidates(
	ctx context.Context,
	accountID string,
	expireBy time.Time,
) ([]ExpiringResource, error) {
	renewals, err := s.hasRenewals(ctx)
	if err != nil {
		return nil, err
	}
	q := s.db.WithContext(ctx).
		Where("account_id = ? AND is_active = ? AND expire_time <= ?", accountID, true, utcSecond(expireBy))
	if renewals {
		q = q.Where("NOT EXISTS (SELECT 1 FROM lapse_decisions l WHERE l.account_id = expiring_resources.account_id" +
			" AND l.resource_id = expiring_resources.resource_id AND l.expire_time = expiring_resources.expire_time)")
	}
	var rows []ExpiringResource
	if err := q.Order("expire_time, resource_id").Find(&rows).Error; err != nil {
		return nil, err
	}
	return rows, s.AttachDecisions(ctx, rows)
}

// NotifiedKeys returns, for an account's resources expiring at or after
// since, the channels each key is claimed or delivered on (AllChannels:
// every channel).
func (s *Store) NotifiedKeys(ctx context.Context, accountID string, since time.Time) (map[NotifyKey][]string, error) {
	var rows []Notification
	err := s.db.WithContext(ctx).Select("resource_id", "expire_time", "threshold_days", "channel").
		Where("account_id = ? AND expire_time >= ?", accountID, utcSecond(since)).Find(&rows).Error
	out := make(map[NotifyKey][]string, len(rows))
	for _, r := range rows {
		k := NotifyKey{r.ResourceID, r.ExpireTime.UTC(), r.ThresholdDays}
		out[k] = append(out[k], r.Channel)
	}
	return out, err
}

// ClaimItem is a resource a digest should carry, on the channels that
// still owe it.
type ClaimItem struct {
	Key      NotifyKey
	Channels []string
}

// DigestClaim is a digest to record with its resources and channels.
type DigestClaim struct {
	Digest NotificationDigest
	Items  []ClaimItem
	Sends  []NotificationSend // one per channel of the route
}

// ClaimDigest records a digest, the resources it carries on each channel
// and a pending send per channel that got any, in one transaction,
// skipping what another digest already carries on that channel. It
// returns how many resources the digest holds and its channels; 0 means
// there was nothing left to claim and nothing was written. Claiming an id
// again returns the first claim: a retried claim never makes a second
// digest.
func (s *Store) ClaimDigest(ctx context.Context, c DigestClaim) (int, []string, error) {
	var claimed int
	var channels []string
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var existing NotificationDigest
		err := tx.Where("id = ?", c.Digest.ID).Take(&existing).Error
		if err == nil {
			claimed = existing.Resources
			return tx.Model(&NotificationSend{}).Where("digest_id = ?", c.Digest.ID).Order("channel").
				Pluck("channel", &channels).Error
		}
		if !errors.Is(err, gorm.ErrRecordNotFound) {
			return err
		}
		now := utcNow()
		var rows []Notification
		for _, it := range c.Items {
			for _, ch := range it.Channels {
				rows = append(rows, Notification{
					AccountID:     c.Digest.AccountID,
					ResourceID:    it.Key.ResourceID,
					ExpireTime:    utcSecond(it.Key.ExpireTime),
					ThresholdDays: it.Key.ThresholdDays,
					Channel:       ch,
					DigestID:      c.Digest.ID,
					Status:        contract.SendPending,
					CreatedAt:     now,
				})
			}
		}
		for chunk := range chunks(rows, 200) {
			if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&chunk).Error; err != nil {
				return err
			}
		}
		var n int64
		if err := tx.Model(&Notification{}).Where("digest_id = ?", c.Digest.ID).Distinct("resource_id").
			Count(&n).Error; err != nil {
			return err
		}
		if claimed = int(n); n == 0 {
			return nil
		}
		if err := tx.Model(&Notification{}).Where("digest_id = ?", c.Digest.ID).Distinct().Order("channel").
			Pluck("channel", &channels).Error; err != nil {
			return err
		}
		d := c.Digest
		d.Resources, d.CreatedAt, d.AsOf, d.SettledAt = claimed, now, utcSecond(d.AsOf), nil
		if err := tx.Create(&d).Error; err != nil {
			return err
		}
		var sends []NotificationSend
		for _, snd := range c.Sends {
			if slices.Contains(channels, snd.Channel) {
				snd.DigestID, snd.Status, snd.UpdatedAt = d.ID, contract.SendPending, now
				sends = append(sends, snd)
			}
		}
		return tx.Create(&sends).Error
	})
	return claimed, channels, err
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

// SendItem is one resource of a send, with the inventory's row of it when
// it still needs the reminder: active, still expiring at the time it was
// claimed at (a renewal moves the expire time, a release makes it
// inactive), and nobody decided to let that expiry lapse. Resource is nil
// otherwise; its Decision says what was decided about it (a renewal
// request), nil when nothing was.
type SendItem struct {
	Notification
	Resource *ExpiringResource
}

// SendItems lists the resources of a digest's send on a channel, by part,
// then expire time and id.
func (s *Store) SendItems(ctx context.Context, d NotificationDigest, channel string) ([]SendItem, error) {
	var rows []Notification
	err := s.db.WithContext(ctx).Where("digest_id = ? AND channel = ?", d.ID, channel).
		Order("part, expire_time, resource_id").Find(&rows).Error
	if err != nil || len(rows) == 0 {
		return nil, err
	}
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.ResourceID
	}
	current := map[string]*ExpiringResource{}
	for chunk := range chunks(ids, 500) {
		var res []ExpiringResource
		err := s.db.WithContext(ctx).
			Where("account_id = ? AND is_active = ? AND resource_id IN ?", d.AccountID, true, chunk).
			Find(&res).Error
		if err != nil {
			return nil, err
		}
		for i := range res {
			current[res[i].ResourceID] = &res[i]
		}
	}
	due := make([]*ExpiringResource, 0, len(current))
	for _, r := range current {
		due = append(due, r)
	}
	if err := s.attachDecisions(ctx, due); err != nil {
		return nil, err
	}
	out := make([]SendItem, len(rows))
	for i, r := range rows {
		out[i] = SendItem{Notification: r}
		cur := current[r.ResourceID]
		if cur != nil && cur.ExpireTime.UTC().Equal(r.ExpireTime.UTC()) &&
			(cur.Decision == nil || cur.Decision.Lapse == nil) {
			out[i].Resource = cur
		}
	}
	return out, nil
}

// SplitSend numbers the messages of a send: parts[i] lists the resource
// ids of part first+i. Only resources still pending and not split yet are
// numbered; obsolete ones are marked so.
func (s *Store) SplitSend(
	ctx context.Context,
	digestID, channel string,
	first int,
	parts [][]string,
	obsolete []string,
) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		unsplit := tx.Model(&Notification{}).
			Where("digest_id = ? AND channel = ? AND part = 0 AND status = ?", digestID, channel, contract.SendPending)
		for chunk := range chunks(obsolete, 500) {
			if err := unsplit.Session(&gorm.Session{}).Where("resource_id IN ?", chunk).
				Update("status", contract.SendObsolete).Error; err != nil {
				return err
			}
		}
		for i, ids := range parts {
			for chunk := range chunks(ids, 500) {
				if err := unsplit.Session(&gorm.Session{}).Where("resource_id IN ?", chunk).
					Update("part", first+i).Error; err != nil {
					return err
				}
			}
		}
		return tx.Model(&NotificationSend{}).Where("digest_id = ? AND channel = ?", digestID, channel).
			Update("parts", gorm.Expr("parts + ?", len(parts))).Error
	})
}

// MovePart moves the resources of one message of a send from one status
// to another, and only those still in the status it leaves: it returns how
// many moved (0: another attempt moved them first).
func (s *Store) MovePart(ctx context.Context, digestID, channel string, part int, from, to string) (int64, error) {
	res := s.db.WithContext(ctx).Model(&Notification{}).
		Where("digest_id = ? AND channel = ? AND part = ? AND status = ?", digestID, channel, part, from).
		Update("status", to)
	return res.RowsAffected, res.Error
}

// MarkObsolete marks resources of a send that no longer need the reminder,
// among those still pending.
func (s *Store) MarkObsolete(ctx context.Context, digestID, channel string, ids []string) error {
	return s.db.WithContext(ctx).Model(&Notification{}).
		Where("digest_id = ? AND channel = ? AND status = ? AND resource_id IN ?",
			digestID, channel, contract.SendPending, ids).
		Update("status", contract.SendObsolete).Error
}

// BeginSend counts an attempt of a send still open and returns the status
// it found: a settled send (sent, failed, unconfirmed, obsolete) is left
// as it is, and its caller sends nothing.
func (s *Store) BeginSend(ctx context.Context, digestID, channel string) (string, error) {
	var found string
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var snd NotificationSend
		if err := s.forUpdate(tx).Where("digest_id = ? AND channel = ?", digestID, channel).
			Take(&snd).Error; err != nil {
			return err
		}
		found = snd.Status
		if snd.Status != contract.SendPending && snd.Status != contract.SendSending {
			return nil
		}
		return tx.Model(&snd).Where("digest_id = ? AND channel = ?", digestID, channel).
			Updates(map[string]any{
				"status": contract.SendSending, "attempts": gorm.Expr("attempts + 1"), "updated_at": utcNow(),
			}).Error
	})
	return found, err
}

// EndSend records where an attempt of a send stopped: pending again (it
// will be retried) with the error. Only a send still sending is changed:
// it returns false when another attempt or a settle changed it first.
func (s *Store) EndSend(ctx context.Context, digestID, channel, status, errMsg string) (bool, error) {
	_, moved, err := s.endSend(ctx, digestID, channel, func(sendCounts) (string, string) { return status, errMsg })
	return moved, err
}

// SendSummary is where a send stands, from its resources'.
type SendSummary struct {
	Status                        string
	Parts, PartsSent, Unconfirmed int
}

// FinishSend ends an attempt that sent every message it could with the
// status its resources give (SendStatus); unconfirmedMsg is its message
// when some went out without an answer and errMsg is empty. A settle that
// came first wins; the summary is returned either way.
func (s *Store) FinishSend(ctx context.Context, digestID, channel, errMsg, unconfirmedMsg string) (SendSummary, error) {
	sum, _, err := s.endSend(ctx, digestID, channel, func(c sendCounts) (string, string) {
		status := SendStatus(c.of)
		if status == contract.SendUnconfirmed && errMsg == "" {
			return status, unconfirmedMsg
		}
		return status, errMsg
	})
	return sum, err
}

// endSend moves a send still sending to the status (and message) decide
// gives from its resources' counts, in one transaction.
func (s *Store) endSend(
	ctx context.Context,
	digestID, channel string,
	decide func(sendCounts) (string, string),
) (SendSummary, bool, error) {
	var sum SendSummary
	var moved bool
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		counts, err := itemCounts(tx, digestID, channel)
		if err != nil {
			return err
		}
		status, errMsg := decide(counts)
		sum = SendSummary{
			Status:      status,
			Parts:       counts.parts,
			PartsSent:   counts.partsSent,
			Unconfirmed: counts.of[contract.SendUnconfirmed],
		}
		now := utcNow()
		set := map[string]any{"status": status, "error_message": truncate(errMsg, 1024), "updated_at": now,
			"parts_sent": counts.partsSent, "unconfirmed": counts.of[contract.SendUnconfirmed]}
		if status == contract.SendSent {
			set["sent_at"] = now
		}
		res := tx.Model(&NotificationSend{}).
			Where("digest_id = ? AND channel = ? AND status = ?", digestID, channel, contract.SendSending).
			Updates(set)
		moved = res.RowsAffected > 0
		return res.Error
	})
	return sum, moved, err
}

// sendCounts counts a send's resources by status, its messages (parts)
// and those the platform accepted.
type sendCounts struct {
	of               map[string]int
	parts, partsSent int
}

func itemCounts(tx *gorm.DB, digestID, channel string) (sendCounts, error) {
	var rows []struct {
		Part   int
		Status string
		N      int
	}
	err := tx.Model(&Notification{}).Select("part, status, COUNT(*) AS n").
		Where("digest_id = ? AND channel = ?", digestID, channel).
		Group("part, status").Scan(&rows).Error
	c := sendCounts{of: map[string]int{}}
	parts, sentParts := map[int]bool{}, map[int]bool{}
	for _, r := range rows {
		c.of[r.Status] += r.N
		if r.Part > 0 {
			parts[r.Part] = true
		}
		if r.Status == contract.SendSent {
			sentParts[r.Part] = true
		}
	}
	c.parts, c.partsSent = len(parts), len(sentParts)
	return c, err
}

// SendStatus is a send's status from its resources': sent when every one
// still due was accepted, unconfirmed when some went out without an
// answer, failed when some were refused or given up, obsolete when none
// was still due, pending while some remain to send.
func SendStatus(of map[string]int) string {
	switch {
	case of[contract.SendFailed] > 0:
		return contract.SendFailed
	case of[contract.SendPending] > 0 || of[contract.SendSending] > 0:
		return contract.SendPending
	case of[contract.SendUnconfirmed] > 0:
		return contract.SendUnconfirmed
	case of[contract.SendSent] > 0:
		return contract.SendSent
	}
	return contract.SendObsolete
}

// SettleDigest closes a digest once its run is done with it, whatever
// became of the run: a resource whose message went out without an answer
// is unconfirmed (never sent again, never counted as delivered), except on
// the resend channels (webhooks, e-mail: at least once), where the message
// stays owed (sending, its send pending) for a later run to adopt and send
// again with the same id (AdoptOwed); one not sent, or refused, is
// released, so that a later run reminds it again; each send's status
// follows. Settling a digest again changes nothing. It returns the sends
// and how many resource reminders it released.
func (s *Store) SettleDigest(ctx context.Context, id, reason string, resend []string) (SettleResult, error) {
	var out SettleResult
	sends, released := &out.Sends, &out.Released
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var d NotificationDigest
		if err := s.forUpdate(tx).Where("id = ?", id).Take(&d).Error; err != nil {
			return err
		}
		if d.SettledAt == nil {
			now := utcNow()
			lost := tx.Model(&Notification{}).Where("digest_id = ? AND status = ?", id, contract.SendSending)
			if len(resend) > 0 {
				lost = lost.Where("channel NOT IN ?", resend)
			}
			var parts []struct {
				Channel string
				Part    int
			}
			if err := lost.Session(&gorm.Session{}).Select("channel, part").Group("channel, part").
				Find(&parts).Error; err != nil {
				return err
			}
			for _, p := range parts {
				if out.Unconfirmed == nil {
					out.Unconfirmed = map[string]int{}
				}
				out.Unconfirmed[p.Channel]++
			}
			if err := lost.Update("status", contract.SendUnconfirmed).Error; err != nil {
				return err
			}
			if err := tx.Where("digest_id = ?", id).Order("channel").Find(sends).Error; err != nil {
				return err
			}
			for _, snd := range *sends {
				counts, err := itemCounts(tx, id, snd.Channel)
				if err != nil {
					return err
				}
				open := counts.of[contract.SendPending] + counts.of[contract.SendFailed]
				status, msg := SendStatus(counts.of), snd.ErrorMessage
				switch {
				case counts.of[contract.SendSending] > 0: // owed: a later run sends it again
					status, msg = contract.SendPending, "a message got no answer: "+
						"the next run sends it again with the same id"
				case open > 0: // SendStatus said pending or failed
					status = contract.SendFailed
					if msg == "" {
						msg = reason
					}
				}
				*released += open
				err = tx.Model(&NotificationSend{}).Where("digest_id = ? AND channel = ?", id, snd.Channel).
					Updates(map[string]any{
						"status": status, "error_message": truncate(msg, 1024), "updated_at": now,
						"parts_sent": counts.partsSent, "unconfirmed": counts.of[contract.SendUnconfirmed],
					}).Error
				if err != nil {
					return err
				}
			}
			unsent := []string{contract.SendPending, contract.SendFailed}
			if err := tx.Where("digest_id = ? AND status IN ?", id, unsent).Delete(&Notification{}).Error; err != nil {
				return err
			}
			if err := tx.Model(&d).Where("id = ?", id).Update("settled_at", now).Error; err != nil {
				return err
			}
		}
		*sends = nil
		return tx.Where("digest_id = ?", id).Order("channel").Find(sends).Error
	})
	return out, err
}

// SettleResult is what settling a digest found and did.
type SettleResult struct {
	Sends    []NotificationSend
	Released int // resource reminders released for a later run
	// Unconfirmed: per channel, the messages this settle gave up as
	// unconfirmed (on their way when the run ended).
	Unconfirmed map[string]int
}

// OwedDigests lists the digests of an account's route that hold a
// message owed on a resend channel: settled with it still sending, or
// adopted by the run runID already (a retried claim finds them again).
func (s *Store) OwedDigests(ctx context.Context, accountID, route, runID string) ([]NotificationDigest, error) {
	var out []NotificationDigest
	owed := s.db.Model(&Notification{}).Select("digest_id").Where("status = ?", contract.SendSending)
	err := s.db.WithContext(ctx).Where("account_id = ? AND route = ? "+
		"AND (settled_at IS NOT NULL OR run_id = ?) AND id IN (?)", accountID, route, runID, owed).
		Order("created_at").Find(&out).Error
	return out, err
}

// AdoptOwed hands a settled digest's owed messages to run (workflowID,
// runID): the digest is open again under that run, to be sent and settled
// by it. It returns the channels owing a message; none when another run
// adopted it first.
func (s *Store) AdoptOwed(ctx context.Context, digestID, workflowID, runID string) ([]string, error) {
	var channels []string
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var d NotificationDigest
		if err := s.forUpdate(tx).Where("id = ?", digestID).Take(&d).Error; err != nil {
			return err
		}
		if d.SettledAt == nil && d.RunID != runID {
			return nil // another run holds it
		}
		if err := tx.Model(&Notification{}).Where("digest_id = ? AND status = ?", digestID, contract.SendSending).
			Distinct("channel").Order("channel").Pluck("channel", &channels).Error; err != nil {
			return err
		}
		if len(channels) == 0 {
			return nil
		}
		return tx.Model(&d).Where("id = ?", digestID).
			Updates(map[string]any{"settled_at": nil, "workflow_id": workflowID, "run_id": runID}).Error
	})
	return channels, err
}

// UnsettledDigests lists an account's digests not settled yet, created
// before before, oldest first, at most limit.
func (s *Store) UnsettledDigests(
	ctx context.Context,
	accountID string,
	before time.Time,
	limit int,
) ([]NotificationDigest, error) {
	var out []NotificationDigest
	err := s.db.WithContext(ctx).
		Where("account_id = ? AND settled_at IS NULL AND created_at < ?", accountID, utcSecond(before)).
		Order("created_at").Limit(limit).Find(&out).Error
	return out, err
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

// AccountDomainID finds the domain id of an account by the name its syncs
// recorded; a domain id itself is taken as it is (commands from before
// names). ErrNotFound when neither is known.
func (s *Store) AccountDomainID(ctx context.Context, name string) (string, error) {
	var ids []string
	err := s.db.WithContext(ctx).Model(&ExpiringResource{}).Where("account_name = ?", name).Limit(1).
		Pluck("account_id", &ids).Error
	if err == nil && len(ids) == 0 {
		err = s.db.WithContext(ctx).Model(&ExpiringResource{}).Where("account_id = ?", name).Limit(1).
			Pluck("account_id", &ids).Error
	}
	if err != nil {
		return "", err
	}
	if len(ids) == 0 {
		return "", ErrNotFound
	}
	return ids[0], nil
}
