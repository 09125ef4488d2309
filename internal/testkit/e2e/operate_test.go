package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"expiry-sync/internal/cli"
	"expiry-sync/internal/contract"
	"expiry-sync/internal/testkit/hwsim"
)

// state mirrors the JSON of `starter status -o json` and `list -o json`.
type state struct {
	SyncID     string    `json:"sync_id"`
	State      string    `json:"state"`
	SyncStatus string    `json:"sync_status"`
	Resources  int       `json:"resources"`
	ExpireDays int       `json:"expire_days"`
	StartedAt  time.Time `json:"started_at"`
	Error      string    `json:"error"`
	Progress   *struct {
		Phase         string `json:"phase"`
		PagesListed   int    `json:"pages_listed"`
		TagsFetched   int    `json:"tags_fetched"`
		RowsCommitted int    `json:"rows_committed"`
		Attempt       int    `json:"attempt"`
		Retries       int    `json:"retries"`
	} `json:"progress"`
	Summary *struct {
		Status         string `json:"status"`
		TotalResources int    `json:"total_resources"`
		Attempts       int    `json:"attempts"`
		Retries        int    `json:"retries"`
	} `json:"summary"`
}

func (s *stack) status(id string) state {
	code, out, errOut := s.starter("status", id, "-o", "json")
	require.Equal(s.t, 0, code, "status: %s", errOut)
	var st state
	require.NoError(s.t, json.Unmarshal([]byte(out), &st), out)
	return st
}

func (s *stack) list(args ...string) []state {
	code, out, errOut := s.starter(append([]string{"list", "-o", "json"}, args...)...)
	require.Equal(s.t, 0, code, "list: %s", errOut)
	var runs []state
	require.NoError(s.t, json.Unmarshal([]byte(out), &runs), out)
	return runs
}

func find(runs []state, id string) *state {
	for i := range runs {
		if runs[i].SyncID == id {
			return &runs[i]
		}
	}
	return nil
}

// eventually polls cond up to the bound, failing the test when it never holds.
func eventually(t *testing.T, what string, bound time.Duration, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(bound); !cond(); time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, bound)
		}
	}
}

func TestStatusListCancelResume(t *testing.T) {
	s := newStack(t, stackOptions{resources: 3000, seed: 17, knobs: hwsim.Knobs{Latency: 25 * time.Millisecond}})
	code, out, errOut := s.starter("sync", "--expire-days", "400", "--lookback-days", "40", "--tag-mode", "per-resource",
		"--page-size", "200", "--tags-per-activity", "5", "--tag-concurrency", "4")
	require.Equal(t, 0, code, errOut)
	id := syncIDFrom(t, out)

	eventually(t, "the sync commits its first batch", time.Minute, func() bool {
		st := s.status(id)
		return st.Progress != nil && st.Progress.RowsCommitted > 0
	})
	st := s.status(id)
	assert.Equal(t, "running", st.State)
	assert.Equal(t, "running", st.SyncStatus)
	assert.Equal(t, 400, st.ExpireDays)
	assert.NotNil(t, find(s.list("--status", "running"), id), "list --status running shows it")

	code, out, errOut = s.starter("cancel", id, "--wait")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "Cancel requested for sync "+id)
	assert.Contains(t, out, "starter resume "+id)
	st = s.status(id)
	assert.Equal(t, "canceled", st.State)
	assert.Equal(t, "canceled", st.Error)
	assert.Equal(t, "canceled", st.SyncStatus, "the search attribute records the cancel")
	log := s.syncLog(id)
	assert.Equal(t, contract.StatusCanceled, log.Status)
	committed := log.RowsWritten
	assert.Positive(t, committed)
	assert.NotNil(t, find(s.list("--status", "canceled"), id))

	code, _, errOut = s.starter("cancel", id)
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "is canceled, not running: nothing to cancel")

	require.NoError(t, s.sim.SetKnobs(hwsim.Knobs{}))
	// The run is closed, but its tag activities learn of the cancel only at
	// their next heartbeat and may read a tag more meanwhile: the resume's
	// reads are counted once they have stopped.
	tagReads := func() int64 { return s.sim.Stats().APIs[hwsim.APITMSShow].Requests }
	last, since := tagReads(), time.Now()
	eventually(t, "the canceled attempt's tag reads stop", time.Minute, func() bool {
		if n := tagReads(); n != last {
			last, since = n, time.Now()
		}
		return time.Since(since) > 3*time.Second
	})
	committedRows := s.rows()
	s.sim.ResetStats()
	code, out, errOut = s.starter("resume", id, "--wait")
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	assert.Regexp(t, `(?m)^Attempts\s+2$`, out)
	st = s.status(id)
	assert.Equal(t, "completed", st.State)
	require.NotNil(t, st.Summary)
	assert.Equal(t, "success", st.Summary.Status)
	assert.Equal(t, 2, st.Summary.Attempts)
	log = s.syncLog(id)
	assertRows(t, s, s.expected(log), id)
	// The new attempt lists again (the cloud may have changed since the
	// cancel) but reads no tag the first attempt had read.
	uncommitted := 0
	for rid, w := range s.expected(log) {
		if _, done := committedRows[rid]; !done && w.TMSResourceType != "" {
			uncommitted++
		}
	}
	assert.Equal(t, int64(uncommitted), s.sim.Stats().APIs[hwsim.APITMSShow].Requests, "the resume read only the tags the first attempt had not")

	done := find(s.list("--status", "success"), id)
	require.NotNil(t, done, "list --status success filters on the ExpirySyncStatus search attribute")
	assert.Equal(t, log.TotalResources, done.Resources, "ExpiringResources holds the total")
	assert.Equal(t, "completed", done.State)

	code, out, _ = s.starter("status", id)
	assert.Equal(t, 0, code)
	assert.Regexp(t, `(?m)^Status\s+success$`, out)
	assert.Contains(t, out, "Web UI ")
}

func TestRunCommandsRefuseUnknownIDs(t *testing.T) {
	s := newStack(t, stackOptions{resources: 10, seed: 1})
	for _, args := range [][]string{
		{"status", "no-such-sync"}, {"cancel", "no-such-sync"}, {"resume", "no-such-sync"}, {"sync", "--resume", "no-such-sync"},
	} {
		code, out, errOut := s.starter(args...)
		assert.Equal(t, 2, code, "%v", args)
		assert.Empty(t, out, "%v", args)
		assert.Contains(t, errOut, `no sync "no-such-sync" in namespace default`, "%v", args)
	}
	code, _, errOut := s.starter("list", "--status", "bogus")
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, `--status "bogus" is not allowed: use one of running, completed, failed`)
}

// syncBuffer is a bytes.Buffer safe to read while the starter writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// Ctrl-C on `sync --wait` stops the starter, not the sync: it says so and
// how to follow it, and exits 130.
func TestCtrlCOnWaitLeavesTheSyncRunning(t *testing.T) {
	s := newStack(t, stackOptions{resources: 3000, seed: 31, knobs: hwsim.Knobs{Latency: 25 * time.Millisecond}})
	ctx, interrupt := context.WithCancel(context.Background())
	defer interrupt()
	var out, errOut syncBuffer
	done := make(chan int)
	go func() {
		done <- cli.Execute(ctx, []string{"sync", "--expire-days", "400", "--lookback-days", "40", "--tag-mode", "per-resource",
			"--tags-per-activity", "5", "--tag-concurrency", "4", "--wait"}, &out, &errOut)
	}()
	eventually(t, "the starter prints the sync it started", time.Minute, func() bool {
		return strings.Contains(out.String(), "Started sync ")
	})
	id := syncIDFrom(t, out.String())
	interrupt() // what main does on SIGINT
	var code int
	select {
	case code = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the starter did not stop waiting")
	}
	assert.Equal(t, cli.ExitInterrupted, code)
	msg := errOut.String()
	assert.Contains(t, msg, "Stopped waiting. Sync "+id+" goes on in Temporal:")
	assert.Contains(t, msg, "follow it:  starter status "+id)
	assert.Contains(t, msg, "cancel it:  starter cancel "+id)
	assert.NotContains(t, msg, "failed")
	assert.NotContains(t, msg, "Resume it with")
	assert.NotContains(t, msg, "error:")

	st := s.status(id)
	assert.Equal(t, "running", st.State, "the sync goes on")
	code, _, errOut2 := s.starter("cancel", id, "--wait")
	require.Equal(t, 0, code, errOut2)
}
