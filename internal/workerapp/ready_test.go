package workerapp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"
)

// countingCheck returns err and counts its calls.
func countingCheck(calls *atomic.Int32, err error) func(context.Context) error {
	return func(context.Context) error {
		calls.Add(1)
		return err
	}
}

func probe(t *testing.T, h http.Handler) (int, readyAnswer, string) {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	var a readyAnswer
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &a), rec.Body.String())
	assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	return rec.Code, a, rec.Body.String()
}

func TestReadyzSaysEachChecksStatusWithoutTheErrorText(t *testing.T) {
	var logs bytes.Buffer
	var calls atomic.Int32
	dbErr := errors.New("dial tcp 10.20.30.40:3306: connect: connection refused (user expiry_rt)")
	rd := &readiness{logger: slog.New(slog.NewTextHandler(&logs, nil)), ttl: time.Hour, checks: []readyCheck{
		{"database", countingCheck(&calls, dbErr)},
		{"temporal", countingCheck(&calls, fmt.Errorf("health: %w", context.DeadlineExceeded))},
		{"polling", countingCheck(&calls, fmt.Errorf("%w: me@host on task queue q", errNotPolling))},
		{"grpc", countingCheck(&calls, serviceerror.NewDeadlineExceeded("frontend.internal:7233 slow"))},
		{"start", countingCheck(&calls, errNotStarted)},
	}}
	code, a, body := probe(t, rd)
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Equal(t, readyAnswer{Ready: false, Checks: map[string]string{
		"database": "error", "temporal": "timeout", "polling": "not polling", "grpc": "timeout", "start": "not started",
	}}, a)
	for _, raw := range []string{"10.20.30.40", "expiry_rt", "me@host", "frontend.internal"} {
		assert.NotContains(t, body, raw, "internal details stay out of the answer")
		assert.Contains(t, logs.String(), raw, "and go to the log")
	}
}

func TestReadyzIsCachedForItsTTL(t *testing.T) {
	var calls atomic.Int32
	rd := &readiness{logger: slog.New(slog.DiscardHandler), ttl: 200 * time.Millisecond, checks: []readyCheck{
		{"database", countingCheck(&calls, nil)},
		{"temporal", countingCheck(&calls, nil)},
	}}
	code, a, _ := probe(t, rd)
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, readyAnswer{Ready: true, Checks: map[string]string{"database": "ok", "temporal": "ok"}}, a)
	for range 5 {
		probe(t, rd)
	}
	assert.Equal(t, int32(2), calls.Load(), "probes within the TTL reuse the answer")
	time.Sleep(250 * time.Millisecond)
	probe(t, rd)
	assert.Equal(t, int32(4), calls.Load(), "after the TTL the checks run again")
}

// A check that hangs answers "timeout" within probeTimeout, and the
// checks run together: the answer takes one timeout, not one per check.
func TestReadyzChecksRunTogetherWithinTheTimeout(t *testing.T) {
	hang := func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }
	rd := &readiness{logger: slog.New(slog.DiscardHandler), ttl: time.Hour, checks: []readyCheck{
		{"database", hang}, {"temporal", hang}, {"polling", hang},
	}}
	start := time.Now()
	code, a, _ := probe(t, rd)
	took := time.Since(start)
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Equal(t, map[string]string{"database": "timeout", "temporal": "timeout", "polling": "timeout"}, a.Checks)
	assert.Less(t, took, 2*probeTimeout)
}

// The prober hanging up does not cut the checks short, nor leave a failed
// answer for the next probe.
func TestReadyzDoesNotUseTheProbersContext(t *testing.T) {
	rd := &readiness{logger: slog.New(slog.DiscardHandler), ttl: time.Hour, checks: []readyCheck{
		{"database", func(ctx context.Context) error { return ctx.Err() }},
	}}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rec := httptest.NewRecorder()
	rd.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil).WithContext(ctx))
	assert.Equal(t, http.StatusOK, rec.Code)
}
