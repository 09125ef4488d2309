package workflows_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"expiry-sync/workflows"
)

// TestReplayRecordedHistory replays a history recorded from a real sync on
// the dev server (internal/e2e TestLiveHistoriesReplay writes it). A change
// that breaks determinism for runs in flight fails here: version it with
// workflow.GetVersion, or re-record when no old run can still be open.
func TestReplayRecordedHistory(t *testing.T) {
	r := worker.NewWorkflowReplayer()
	r.RegisterWorkflowWithOptions(workflows.SyncExpiringResources, workflow.RegisterOptions{Name: workflows.WorkflowName})
	require.NoError(t, r.ReplayWorkflowHistoryFromJSONFile(nil, "testdata/sync_history.json"))
}
