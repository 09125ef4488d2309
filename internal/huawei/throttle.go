package huawei

import (
	"context"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// defaultThrottlePause is how long calls pause after a 429 without Retry-After.
const defaultThrottlePause = time.Second

// throttle keeps one API under its flow-control limit: a token bucket for the
// steady rate, and a shared pause after a 429 so that every caller backs off,
// not only the one that was refused.
type throttle struct {
	limiter *rate.Limiter // nil: unlimited
	mu      sync.Mutex
	until   time.Time
}

func newThrottle(perSecond float64) *throttle {
	t := &throttle{}
	if perSecond > 0 {
		t.limiter = rate.NewLimiter(rate.Limit(perSecond), max(1, int(perSecond/10)))
	}
	return t
}

func (t *throttle) wait(ctx context.Context) error {
	t.mu.Lock()
	d := time.Until(t.until)
	t.mu.Unlock()
	if d > 0 {
		timer := time.NewTimer(d)
		defer timer.Stop()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
		}
	}
	if t.limiter == nil {
		return nil
	}
	return t.limiter.Wait(ctx)
}

// pause holds every caller back for d (the server's Retry-After).
func (t *throttle) pause(d time.Duration) {
	if d <= 0 {
		d = defaultThrottlePause
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if until := time.Now().Add(d); until.After(t.until) {
		t.until = until
	}
}
