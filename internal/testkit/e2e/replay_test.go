package e2e

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/encoding/protojson"

	"expiry-sync/internal/testkit/testenv"
	"expiry-sync/workflows"
)

// history reads one run's full history.
func (s *stack) history(workflowID, runID string) *historypb.History {
	h := &historypb.History{}
	it := s.client.GetWorkflowHistory(context.Background(), workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		require.NoError(s.t, err)
		h.Events = append(h.Events, ev)
	}
	return h
}

func replayer(t *testing.T) worker.WorkflowReplayer {
	r := worker.NewWorkflowReplayer()
	r.RegisterWorkflowWithOptions(workflows.SyncExpiringResources, workflow.RegisterOptions{Name: workflows.WorkflowName})
	return r
}

// TestLiveHistoriesReplay syncs a small account with several pages and
// batches, once per way pages go (by value with per-resource tags, staged
// by reference in bulk mode), and replays the histories against today's
// code. With EXPIRY_SYNC_RECORD_HISTORY=path it also writes each first
// run's history, to path and path-bulk.json, to refresh workflows/testdata
// after a deliberate workflow change.
func TestLiveHistoriesReplay(t *testing.T) {
	s := newStack(t, stackOptions{resources: 120, seed: 21, dbURL: testenv.SQLiteURL})
	for _, mode := range []string{workflows.TagModeAuto, workflows.TagModeBulk} {
		code, out, errOut := s.starter("sync", "--expire-days", "400", "--lookback-days", "40", "--tag-mode", mode,
			"--page-size", "50", "--batch-size", "20", "--tags-per-activity", "5", "--tag-concurrency", "4", "--wait")
		require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
		id, run := syncIDFrom(t, out), firstRunID(t, out)
		h := s.history(id, run)
		// The replay runs as the original execution: the sync's child
		// workflow ids derive from its own.
		require.NoError(t, replayer(t).ReplayWorkflowHistoryWithOptions(nil, h,
			worker.ReplayWorkflowHistoryOptions{OriginalExecution: workflow.Execution{ID: id, RunID: run}}), mode)

		if path := os.Getenv("EXPIRY_SYNC_RECORD_HISTORY"); path != "" {
			if mode == workflows.TagModeBulk {
				path = strings.TrimSuffix(path, ".json") + "-bulk.json"
			}
			b, err := protojson.MarshalOptions{Indent: "  "}.Marshal(h)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(path, b, 0o644))
			t.Logf("recorded %d events of %s to %s", len(h.Events), id, path)
		}
	}
}
