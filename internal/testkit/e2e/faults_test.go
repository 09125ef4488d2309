package e2e

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"expiry-sync/internal/contract"
	"expiry-sync/internal/store"
	"expiry-sync/internal/testkit/hwsim"
	"expiry-sync/workflows"
)

var wideWindow = []string{"--expire-days", "400", "--lookback-days", "40"}

func syncArgs(extra ...string) []string {
	return append(append([]string{"sync"}, wideWindow...), extra...)
}

// waitDone waits until the sync's newest attempt has closed.
func (s *stack) waitDone(id string, bound time.Duration) state {
	var st state
	eventually(s.t, "the sync ends", bound, func() bool {
		st = s.status(id)
		return st.State != "running"
	})
	return st
}

// slowWrites makes MariaDB spend 2 ms per written row, so that a fault can
// land inside the write phase.
func (s *stack) slowWrites() {
	require.NoError(s.t, s.store.DB().Exec("CREATE TRIGGER slow_writes BEFORE INSERT ON expiring_resources FOR EACH ROW DO SLEEP(0.002)").Error)
}

// assertNoSecretInLogs scans the worker processes' logs.
func (s *stack) assertNoSecretInLogs(secret string) {
	require.NotEmpty(s.t, s.workerLogs)
	for _, path := range s.workerLogs {
		b, err := os.ReadFile(path)
		require.NoError(s.t, err)
		assert.NotContains(s.t, string(b), secret, path)
	}
}

func TestWorkerKilledMidTagsAndMidWrites(t *testing.T) {
	s := newStack(t, stackOptions{resources: 3000, seed: 31, knobs: hwsim.Knobs{Latency: 15 * time.Millisecond}, workerProcess: true})
	s.slowWrites()
	w := s.startWorkerProcess()
	code, out, errOut := s.starter(syncArgs("--tag-mode", "per-resource", "--tags-per-activity", "5", "--tag-concurrency", "4")...)
	require.Equal(t, 0, code, errOut)
	id := syncIDFrom(t, out)

	eventually(t, "the tag phase of the second page", 2*time.Minute, func() bool {
		p := s.status(id).Progress
		return p != nil && p.PagesListed >= 2 && strings.Contains(p.Phase, "reading tags")
	})
	w.kill()
	w = s.startWorkerProcess()
	eventually(t, "the write phase", 3*time.Minute, func() bool {
		p := s.status(id).Progress
		return p != nil && strings.Contains(p.Phase, "writing batch")
	})
	w.kill()
	s.startWorkerProcess()

	st := s.waitDone(id, 5*time.Minute)
	require.Equal(t, "completed", st.State, "error: %s", st.Error)
	log := s.syncLog(id)
	assert.Equal(t, contract.StatusSuccess, log.Status)
	assertRows(t, s, s.expected(log), id)
	s.assertNoSecretInLogs(testSK)
	s.assertSecretNowhere(id, firstRunID(t, out), testSK)
}

func TestDatabaseOutageDuringWrites(t *testing.T) {
	s := newStack(t, stackOptions{resources: 2500, seed: 33, dbProxy: true})
	s.slowWrites()
	code, out, errOut := s.starter(syncArgs("--page-size", "250", "--batch-size", "250")...)
	require.Equal(t, 0, code, errOut)
	id := syncIDFrom(t, out)
	eventually(t, "the write phase", 2*time.Minute, func() bool {
		p := s.status(id).Progress
		return p != nil && p.RowsCommitted > 0 && strings.Contains(p.Phase, "writing batch")
	})
	s.proxy.cut()
	time.Sleep(20 * time.Second) // the outage: MariaDB unreachable for 20 s
	s.proxy.restore()

	st := s.waitDone(id, 5*time.Minute)
	require.Equal(t, "completed", st.State, "error: %s", st.Error)
	log := s.syncLog(id)
	assert.Equal(t, contract.StatusSuccess, log.Status)
	assert.Positive(t, log.Retries, "the outage cost retries, and the log says so")
	assertRows(t, s, s.expected(log), id)
}

func TestFlakyHuaweiAPIs(t *testing.T) {
	s := newStack(t, stackOptions{resources: 2000, seed: 35, httpTimeout: time.Second,
		knobs: hwsim.Knobs{ErrorRatio: 0.10, ThrottleRatio: 0.05, SlowRatio: 0.01, SlowDelay: 3 * time.Second}})
	code, out, errOut := s.starter(syncArgs("--wait")...)
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	id := syncIDFrom(t, out)
	log := s.syncLog(id)
	assert.Equal(t, contract.StatusSuccess, log.Status)
	assertRows(t, s, s.expected(log), id)

	stats := s.sim.Stats().Total()
	assert.Positive(t, stats.ServerErrors)
	assert.Positive(t, stats.Throttled)
	assert.Positive(t, stats.Slow)
	assert.Positive(t, log.Retries, "the sync log counts the retries")
	assert.Regexp(t, fmt.Sprintf(`(?m)^Retries\s+%d$`, log.Retries), out, "the summary shows them")
	st := s.status(id)
	require.NotNil(t, st.Summary)
	assert.Equal(t, log.Retries, st.Summary.Retries)
}

func TestOneSyncPerAccountAtATime(t *testing.T) {
	s := newStack(t, stackOptions{resources: 1500, seed: 39, knobs: hwsim.Knobs{Latency: 20 * time.Millisecond}})
	code, out, errOut := s.starter(syncArgs("--tag-mode", "per-resource", "--tag-concurrency", "2")...)
	require.Equal(t, 0, code, errOut)
	first := syncIDFrom(t, out)
	eventually(t, "the first sync shows as running", 30*time.Second, func() bool {
		return find(s.list("--status", "running"), first) != nil
	})

	code, out, errOut = s.starter(syncArgs()...)
	assert.Equal(t, 1, code)
	assert.Empty(t, out, "nothing started")
	assert.Contains(t, errOut, fmt.Sprintf("account default is already being synced by %s", first))
	assert.Contains(t, errOut, "starter cancel "+first)

	// Two starts that slip past the starter (same instant, or another
	// client): the account's lease lets exactly one run.
	ctx := context.Background()
	in := workflows.SyncInput{ExpireDays: 400, LookbackDays: 40}
	second, err := s.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "expiry-sync-race-" + first, TaskQueue: s.cfg.Temporal.TaskQueue}, workflows.WorkflowName, in)
	require.NoError(t, err)
	err = second.Get(ctx, nil)
	require.Error(t, err, "the later sync yields")
	assert.Contains(t, workflows.ErrorText(err), "is already being synced by "+first)
	_, err = s.store.GetSyncLog(ctx, second.GetID())
	assert.ErrorIs(t, err, store.ErrNotFound, "the refused sync wrote nothing, not even a log")

	st := s.waitDone(first, 3*time.Minute)
	assert.Equal(t, "completed", st.State)
	assertRows(t, s, s.expected(s.syncLog(first)), first)
}
