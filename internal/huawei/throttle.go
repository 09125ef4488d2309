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
// server throttled one (ae, whose Retry-After says how long).
type gate interface {
	wait(ctx context.Context) error
	pause(ctx context.Context, ae *APIError)
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

// WithIPLimiter paces every BSS call also with ip's APIBSS bucket, one the
// deployment's accounts share (HUAWEI_BSS_IP_RATE): BSS counts its flow
// control per user and per source IP ("单个用户或单源IP", BSS API reference,
// flow control, fci_00002, per the team reference huawei-api.md), and the
// accounts behind one egress address share the latter. A CBC.99007197
// ("your IP is throttled") pauses that bucket, so every account behind the
// address; any other throttling pauses the account's alone. Apply it after
// WithLimiter.
func WithIPLimiter(ip Limiter) Option {
	return func(c *Client) {
		c.bssLimit = ipGate{account: c.bssLimit, ip: limiterGate{ip, APIBSS}}
	}
}

type limiterGate struct {
	l   Limiter
	api string
}

func (g limiterGate) wait(ctx context.Context) error { return g.l.Wait(ctx, g.api) }
func (g limiterGate) pause(ctx context.Context, ae *APIError) {
	d := ae.RetryAfter
	if d <= 0 {
		d = defaultThrottlePause
	}
	g.l.Pause(ctx, g.api, d)
}

// ipGate waits on the account's bucket, then on the address's: the slot
// of the shared bucket is taken last, so that an account waiting on its
// own limit holds none of the others' slots.
type ipGate struct {
	account, ip gate
}

func (g ipGate) wait(ctx context.Context) error {
	if err := g.account.wait(ctx); err != nil {
		return err
	}
	return g.ip.wait(ctx)
}

func (g ipGate) pause(ctx context.Context, ae *APIError) {
	if ae.Code == CodeIPThrottled {
		g.ip.pause(ctx, ae)
		return
	}
	g.account.pause(ctx, ae)
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

// pause holds every caller back for the server's Retry-After.
func (t *throttle) pause(_ context.Context, ae *APIError) {
	d := ae.RetryAfter
	if d <= 0 {
		d = defaultThrottlePause
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if until := time.Now().Add(d); until.After(t.until) {
		t.until = until
	}
}
