package workerapp

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"go.temporal.io/api/serviceerror"
	"google.golang.org/grpc/codes"
)

// readyTTL is how long a /readyz answer is reused: probers (the container's
// healthcheck, Kubernetes, a load balancer) then cost the database and
// Temporal at most one round of checks per readyTTL, however many they are.
const readyTTL = 5 * time.Second

// Check results /readyz gives besides "ok". Its answer may reach whoever
// can reach the listener: an error's own text (addresses, user names,
// server messages) goes to the log only.
const (
	readyTimeout    = "timeout"
	readyError      = "error"
	readyNotStarted = "not started"
	readyNotPolling = "not polling"
)

var (
	errNotStarted = errors.New("the worker is not started")
	errNotPolling = errors.New("the server has not seen this worker poll")
)

type readyCheck struct {
	name  string
	check func(context.Context) error
}

// readyAnswer is /readyz's body.
type readyAnswer struct {
	Ready  bool              `json:"ready"`
	Checks map[string]string `json:"checks"`
}

// readiness answers /readyz from its checks, run at most once per ttl.
type readiness struct {
	checks []readyCheck
	logger *slog.Logger
	ttl    time.Duration

	mu     sync.Mutex // held while checking: a concurrent probe waits for the answer
	at     time.Time
	answer readyAnswer
}

func (rd *readiness) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	a := rd.get(r.Context())
	rw.Header().Set("Content-Type", "application/json")
	if !a.Ready {
		rw.WriteHeader(http.StatusServiceUnavailable)
	}
	_ = json.NewEncoder(rw).Encode(a)
}

// get is the last answer while it is fresh, else a new one. The checks do
// not use the prober's context: one that hangs up must not leave a failed
// answer for the others.
func (rd *readiness) get(ctx context.Context) readyAnswer {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	if !rd.at.IsZero() && time.Since(rd.at) < rd.ttl {
		return rd.answer
	}
	rd.answer, rd.at = rd.run(context.WithoutCancel(ctx)), time.Now()
	return rd.answer
}

// run runs the checks together, each within probeTimeout.
func (rd *readiness) run(ctx context.Context) readyAnswer {
	results := make([]string, len(rd.checks))
	var wg sync.WaitGroup
	for i, c := range rd.checks {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(ctx, probeTimeout)
			defer cancel()
			err := c.check(ctx)
			results[i] = readyStatus(err)
			if err != nil {
				rd.logger.Warn("not ready", "check", c.name, "status", results[i], "error", err)
			}
		})
	}
	wg.Wait()
	a := readyAnswer{Ready: true, Checks: map[string]string{}}
	for i, c := range rd.checks {
		a.Checks[c.name] = results[i]
		a.Ready = a.Ready && results[i] == "ok"
	}
	return a
}

// readyStatus names a check's result in the few words /readyz uses.
func readyStatus(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, errNotStarted):
		return readyNotStarted
	case errors.Is(err, errNotPolling):
		return readyNotPolling
	case errors.Is(err, context.DeadlineExceeded), serviceerror.ToStatus(err).Code() == codes.DeadlineExceeded:
		return readyTimeout
	}
	return readyError
}
