package e2e

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"expiry-sync/internal/contract"
	"expiry-sync/internal/testkit/hwsim"
	"expiry-sync/internal/testkit/testenv"
	"expiry-sync/workflows"
)

// TestTemporalServerRestartsMidRun stops the Temporal server in the middle
// of a sync and starts it again on the same database file: the worker and
// the waiting client reconnect, and the sync completes with exact results.
func TestTemporalServerRestartsMidRun(t *testing.T) {
	port, err := freeTCPPort()
	require.NoError(t, err)
	opts := testsuite.DevServerOptions{
		ExistingPath:  testenv.TemporalCLI(t),
		DBFilename:    filepath.Join(t.TempDir(), "temporal.db"),
		LogLevel:      "error",
		ClientOptions: &client.Options{HostPort: "127.0.0.1:" + port, Logger: discard},
	}
	ctx := context.Background()
	own, err := testsuite.StartDevServer(ctx, opts)
	require.NoError(t, err)
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = own.Stop()
		}
	})

	s := newStack(t, stackOptions{resources: 2000, seed: 41, knobs: hwsim.Knobs{Latency: 10 * time.Millisecond}, workerProcess: true})
	s.cfg.Temporal.Address = "127.0.0.1:" + port
	s.startWorkerProcess()
	c, err := client.Dial(client.Options{HostPort: s.cfg.Temporal.Address, Logger: discard})
	require.NoError(t, err)
	defer c.Close()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "expiry-sync-restart-test", TaskQueue: s.cfg.Temporal.TaskQueue},
		workflows.WorkflowName, workflows.SyncInput{ExpireDays: 400, LookbackDays: 40, TagsPerActivity: 5, TagConcurrency: 4})
	require.NoError(t, err)
	eventually(t, "a first batch is committed", 2*time.Minute, func() bool {
		log, err := s.store.GetSyncLog(ctx, run.GetID())
		return err == nil && log.BatchesCommitted > 0
	})

	require.NoError(t, own.Stop())
	stopped = true
	time.Sleep(3 * time.Second) // the server is down: activities finishing now cannot report
	own, err = testsuite.StartDevServer(ctx, opts)
	require.NoError(t, err)
	stopped = false

	// While the server comes back, the long poll for the result fails in
	// several ways (unavailable, a stream reset, a deadline): each is
	// polled again. Only the run's own failure ends the wait.
	var summary contract.Summary
	eventually(t, "the sync completes after the restart", 5*time.Minute, func() bool {
		getCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		err := c.GetWorkflow(getCtx, run.GetID(), "").Get(getCtx, &summary)
		var failed *temporal.WorkflowExecutionError
		require.False(t, errors.As(err, &failed), "the sync failed: %v", err)
		if err != nil {
			t.Logf("waiting for the result: %v", err)
		}
		return err == nil
	})
	assert.Equal(t, contract.StatusSuccess, summary.Status)
	log := s.syncLog(run.GetID())
	assertRows(t, s, s.expected(log), run.GetID())
}
