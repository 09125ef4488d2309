package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"

	"expiry-sync/internal/contract"
	"expiry-sync/internal/testkit/hwsim"
	"expiry-sync/workflows"
)

// tmsWire records the TMS calls that reach the simulator: when each
// arrived and whether it was throttled.
type tmsWire struct {
	mu    sync.Mutex
	calls []tmsCall
}

type tmsCall struct {
	at        time.Time
	show      bool // ShowResourceTag (the per-resource tag reads)
	throttled bool
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (w *tmsWire) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		at := time.Now()
		rec := &statusRecorder{ResponseWriter: rw, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		if strings.HasPrefix(r.URL.Path, "/v2/") { // BSS
			return
		}
		w.mu.Lock()
		w.calls = append(w.calls, tmsCall{at: at, show: strings.HasPrefix(r.URL.Path, "/v2.0/resources/"),
			throttled: rec.status == http.StatusTooManyRequests})
		w.mu.Unlock()
	})
}

// tmsMeasure is what a sync did to TMS: calls, the throttled share, and the
// accepted per-resource reads per second from the first to the last one,
// on the simulator's side of the wire.
type tmsMeasure struct {
	calls, throttled, accepted int
	span                       time.Duration
}

func (m tmsMeasure) throttledShare() float64 { return float64(m.throttled) / float64(m.calls) }
func (m tmsMeasure) rate() float64           { return float64(m.accepted-1) / m.span.Seconds() }

func (w *tmsWire) measure() tmsMeasure {
	w.mu.Lock()
	defer w.mu.Unlock()
	var m tmsMeasure
	var first, last time.Time
	for _, c := range w.calls {
		m.calls++
		if c.throttled {
			m.throttled++
			continue
		}
		if !c.show {
			continue
		}
		m.accepted++
		if first.IsZero() || c.at.Before(first) {
			first = c.at
		}
		if c.at.After(last) {
			last = c.at
		}
	}
	m.span = last.Sub(first)
	return m
}

// The account's TMS limit holds across worker processes: with the
// simulator answering 429 above tmsLimit calls a second, one and three
// worker processes sharing the account's bucket in the database stay under
// 1 % throttled calls and above 90 % of the limit, where three workers each
// keeping the limit alone would offer three times it.
func TestSharedLimitHoldsAcrossWorkerProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("measures a minute of paced calls")
	}
	const tmsLimit = 20
	results := map[int]tmsMeasure{}
	for _, workers := range []int{1, 3} {
		t.Run(fmt.Sprintf("%d workers", workers), func(t *testing.T) {
			wire := &tmsWire{}
			s := newStack(t, stackOptions{resources: 480, seed: 61, workerProcess: true, tmsRate: tmsLimit,
				knobs: hwsim.Knobs{TMSRate: tmsLimit, Latency: 5 * time.Millisecond}, wire: wire.wrap})
			for range workers {
				s.startWorkerProcess()
			}
			id := s.syncID("limits")
			summary, err := s.runSync(id, workflows.SyncInput{PageSize: 500, TagMode: workflows.TagModePerResource,
				TagConcurrency: 60, TagsPerActivity: 5})
			require.NoError(t, err)
			log := s.syncLog(id)
			assert.Equal(t, contract.StatusSuccess, log.Status)
			assertRows(t, s, s.expected(log), id)

			m := wire.measure()
			results[workers] = m
			t.Logf("%d worker(s): %d TMS calls, %d throttled (%.2f %%), %d tag reads accepted in %s: %.1f/s of a %d/s limit (%.0f %%); activity workers: %d",
				workers, m.calls, m.throttled, 100*m.throttledShare(), m.accepted, m.span.Round(time.Millisecond), m.rate(), tmsLimit,
				100*m.rate()/tmsLimit, s.activityWorkers(id))
			assert.Positive(t, summary.TaggedResources)
			assert.GreaterOrEqual(t, m.accepted, 200, "enough paced calls to measure")
			assert.Less(t, m.throttledShare(), 0.01, "under 1 %% of TMS calls throttled")
			assert.Greater(t, m.rate(), 0.9*tmsLimit, "above 90 %% of the limit")
			if workers > 1 {
				assert.GreaterOrEqual(t, s.activityWorkers(id), 2, "the tag reads ran in several processes")
			}
			s.assertNoSecretInLogs(testSK)
		})
	}
	if out := os.Getenv("EXPIRY_SYNC_LIMITS_REPORT"); out != "" {
		var b strings.Builder
		for _, w := range []int{1, 3} {
			m := results[w]
			fmt.Fprintf(&b, "| %d | %d | %d | %.2f %% | %.1f/s | %.0f %% |\n", w, m.calls, m.throttled, 100*m.throttledShare(), m.rate(), 100*m.rate()/tmsLimit)
		}
		require.NoError(t, os.WriteFile(out, []byte(b.String()), 0o644))
	}
}

// activityWorkers counts the worker processes that ran the sync's activities.
func (s *stack) activityWorkers(id string) int {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	identities := map[string]bool{}
	it := s.client.GetWorkflowHistory(ctx, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		require.NoError(s.t, err)
		if a := ev.GetActivityTaskStartedEventAttributes(); a != nil {
			identities[a.GetIdentity()] = true
		}
	}
	return len(identities)
}
