package activities

import (
	"context"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
)

// keepAliveEvery spaces the heartbeats that tell Temporal the worker running
// an activity is alive; the HeartbeatTimeout in workflows/options.go must be
// a few of these, so that a killed worker's activities are retried elsewhere
// within seconds rather than at their StartToClose timeout.
var keepAliveEvery = 3 * time.Second

// progress holds an activity's latest heartbeat details.
type progress struct {
	mu      sync.Mutex
	details any
}

func (p *progress) set(details any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.details = details
}

// keepAlive heartbeats p's latest details (none when p is nil) every
// keepAliveEvery until the returned stop is called.
func keepAlive(ctx context.Context, p *progress) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(keepAliveEvery)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			if p == nil {
				activity.RecordHeartbeat(ctx)
				continue
			}
			p.mu.Lock()
			details := p.details
			p.mu.Unlock()
			if details == nil {
				activity.RecordHeartbeat(ctx)
			} else {
				activity.RecordHeartbeat(ctx, details)
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}
