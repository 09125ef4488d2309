package huawei

import (
	"context"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// defaultThrottlePause is how long calls pause after a 429 without Retry-After.
const defaultThrottlePause = time.Second

// gate paces the calls to one API: wait before a call, pause after the
// server throttled one.
type gate interface {
	wait(ctx context.Context) error
	pause(ctx context.Context, d time.Duration)
}

// Limiter paces an account's calls to one API across every worker process
// (store.RateLimiter): WithLimiter puts it in place of the process's own
// throttle.
type Limiter interface {
	// Wait blocks until a call to api (APIBSS or APITMS) may go, or ctx ends.
	Wait(ctx context.Context, api string) error
	// Pause holds every caller of api back for d: the server throttled a
	// call (d is its Retry-After, or defaultThrottlePause without one).
	Pause(ctx context.Context, api string, d time.Duration)
}

// The APIs a Limiter paces: Huawei's flow control counts per API and
// account; the simulator's TMS limit covers all of TMS.
const (
	APIBSS = "bss" // ListPayPerUseCustomerResources
	APITMS = "tms" // every TMS call
)

// WithLimiter paces the client's calls with l instead of the per-process
// throttles of HUAWEI_BSS_RATE and HUAWEI_TMS_RATE.
func WithLimiter(l Limiter) Option {
	return func(c *Client) {
		c.bssLimit, c.tmsLimit = limiterGate{l, APIBSS}, limiterGate{l, APITMS}
	}
}

type limiterGate struct {
	l   Limiter
	api string
}

func (g limiterGate) wait(ctx context.Context) error { return g.l.Wait(ctx, g.api) }
func (g limiterGate) pause(ctx context.Context, d time.Duration) {
	if d <= 0 {
		d = defaultThrottlePause
	}
	g.l.Pause(ctx, g.api, d)
}

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
func (t *throttle) pause(_ context.Context, d time.Duration) {
	if d <= 0 {
		d = defaultThrottlePause
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if until := time.Now().Add(d); until.After(t.until) {
		t.until = until
	}
}
