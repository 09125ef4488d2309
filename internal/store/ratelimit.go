package store

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// RateBucket is one row of rate_buckets: an account's token bucket for one
// API, shared by every worker process.
type RateBucket struct {
	DomainID      string `gorm:"primaryKey"`
	API           string `gorm:"primaryKey;column:api"`
	NextMs        int64
	PausedUntilMs int64
}

// TableName pins the table name.
func (RateBucket) TableName() string { return "rate_buckets" }

// IPBucket is the domain_id of the deployment-wide buckets: a limit Huawei
// counts per source IP is shared by every account behind the deployment's
// egress address, so one row ("ip", "bss") paces them all.
const IPBucket = "ip"

// pauseWriteTimeout bounds the write of a shared pause, which must happen
// even when the throttled call's context has just ended.
const pauseWriteTimeout = 5 * time.Second

// RateLimiter paces an account's calls to Huawei across every worker
// process that shares the database (it implements huawei.Limiter).
//
// Each call reserves a slot in its API's row (GCRA, a token bucket kept as
// one timestamp): in one short transaction on the row's lock, the slot is
// max(now, paused_until, next - burst allowance) and next moves one
// interval on. The caller then sleeps until its slot. Times are the
// database's clock, so workers whose clocks disagree still share one
// bucket; a worker only ever sleeps for a duration the database computed.
// A throttled answer pauses the row (Pause): no slot is given before the
// pause ends, and callers of this process already holding a slot inside
// it reserve again.
type RateLimiter struct {
	s        *Store
	domainID string
	mu       sync.Mutex
	buckets  map[string]*apiBucket
}

// apiBucket is one API's rate, and what this process knows of its pause.
type apiBucket struct {
	intervalMs  int64 // 1000 / rate; 0: unlimited
	allowanceMs int64 // (burst - 1) * interval: how far ahead of next a slot may be given
	pausedUntil time.Time
}

// NewRateLimiter paces the calls of account domainID: rates are calls per
// second for the whole account, per API name (e.g. "bss", "tms"); a rate
// of 0 (or an API not named) is unlimited and touches no row. The burst is
// a tenth of a second's calls, at least one.
func NewRateLimiter(s *Store, domainID string, rates map[string]float64) *RateLimiter {
	l := &RateLimiter{s: s, domainID: domainID, buckets: map[string]*apiBucket{}}
	for api, rate := range rates {
		b := &apiBucket{}
		if rate > 0 {
			b.intervalMs = max(1, int64(math.Ceil(1000/rate))) // never faster than rate
			b.allowanceMs = (max(1, int64(rate/10)) - 1) * b.intervalMs
		}
		l.buckets[api] = b
	}
	return l
}

// Wait blocks until a call to api may go, or ctx ends. A database error
// ends the wait with the error: the call is not made unpaced.
func (l *RateLimiter) Wait(ctx context.Context, api string) error {
	b := l.bucket(api)
	for {
		if err := sleepUntil(ctx, l.pausedUntil(b)); err != nil {
			return err
		}
		if b.intervalMs == 0 {
			return nil
		}
		slot, err := l.reserve(ctx, api, b)
		if err != nil {
			return fmt.Errorf("rate limit of account %s (%s): %w", l.domainID, api, err)
		}
		if err := sleepUntil(ctx, slot); err != nil {
			return err
		}
		// A pause heard of since the reservation voids the slot.
		if !time.Now().Before(l.pausedUntil(b)) {
			return nil
		}
	}
}

// Pause holds every caller of api back for d, in every worker: Huawei
// throttled a call. The pause is written even if ctx has ended.
func (l *RateLimiter) Pause(ctx context.Context, api string, d time.Duration) {
	b := l.bucket(api)
	l.notePause(b, time.Now().Add(d))
	if b.intervalMs == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), pauseWriteTimeout)
	defer cancel()
	// A failed write leaves the pause to this process alone: the others
	// find the throttling by themselves.
	_ = l.s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		row, now, err := l.lockBucket(tx, api)
		if err != nil {
			return err
		}
		until := now + d.Milliseconds()
		return tx.Model(&RateBucket{}).Where("domain_id = ? AND api = ?", l.domainID, api).Updates(map[string]any{
			"paused_until_ms": max(row.PausedUntilMs, until), "next_ms": max(row.NextMs, until),
		}).Error
	})
}

// Bucket reads the row of api (tests and `worker check`).
func (l *RateLimiter) Bucket(ctx context.Context, api string) (RateBucket, error) {
	var row RateBucket
	err := l.s.db.WithContext(ctx).Where("domain_id = ? AND api = ?", l.domainID, api).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return row, fmt.Errorf("%w: no rate bucket for account %s (%s)", ErrNotFound, l.domainID, api)
	}
	return row, err
}

// reserve takes the next slot of api's row and returns when it comes, on
// this process's clock.
func (l *RateLimiter) reserve(ctx context.Context, api string, b *apiBucket) (time.Time, error) {
	r, err := l.reserveSlot(ctx, api, b)
	if err != nil {
		return time.Time{}, err
	}
	local := time.Now()
	if r.PausedUntilMs > r.NowMs {
		l.notePause(b, local.Add(time.Duration(r.PausedUntilMs-r.NowMs)*time.Millisecond))
	}
	return local.Add(time.Duration(r.SlotMs-r.NowMs) * time.Millisecond), nil
}

// Reservation is a slot as the database gave it: all on its clock.
type Reservation struct {
	NowMs, SlotMs, PausedUntilMs int64
}

// reserveSlot is the slot arithmetic, in one transaction on the row's lock.
func (l *RateLimiter) reserveSlot(ctx context.Context, api string, b *apiBucket) (Reservation, error) {
	var r Reservation
	err := l.s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		row, now, err := l.lockBucket(tx, api)
		if err != nil {
			return err
		}
		start := max(now, row.PausedUntilMs)
		r = Reservation{NowMs: now, SlotMs: max(start, row.NextMs-b.allowanceMs), PausedUntilMs: row.PausedUntilMs}
		return tx.Model(&RateBucket{}).Where("domain_id = ? AND api = ?", l.domainID, api).
			Update("next_ms", max(row.NextMs, start)+b.intervalMs).Error
	})
	return r, err
}

// lockBucket locks api's row (creating it first) and reads the database's now.
func (l *RateLimiter) lockBucket(tx *gorm.DB, api string) (RateBucket, int64, error) {
	row := RateBucket{DomainID: l.domainID, API: api}
	if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&row).Error; err != nil {
		return row, 0, err
	}
	if err := l.s.forUpdate(tx).Where("domain_id = ? AND api = ?", l.domainID, api).Take(&row).Error; err != nil {
		return row, 0, err
	}
	now, err := l.s.dbNowMs(tx)
	return row, now, err
}

func (l *RateLimiter) bucket(api string) *apiBucket {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[api]
	if !ok {
		b = &apiBucket{}
		l.buckets[api] = b
	}
	return b
}

func (l *RateLimiter) pausedUntil(b *apiBucket) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return b.pausedUntil
}

func (l *RateLimiter) notePause(b *apiBucket, until time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if until.After(b.pausedUntil) {
		b.pausedUntil = until
	}
}

// sleepUntil waits until t (at once when t has passed), or ctx ends.
func sleepUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}
