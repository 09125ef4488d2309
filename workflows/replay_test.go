package workflows_test

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"expiry-sync/workflows"
)

// recordedHistories are real syncs recorded on the dev server (internal/testkit/e2e
// TestLiveHistoriesReplay writes one with EXPIRY_SYNC_RECORD_HISTORY=path),
// one per version of the workflow's command sequence, with the id of the
// workflow they ran as (its children's ids derive from it). Keep them all:
// a change that breaks one must be versioned with workflow.GetVersion.
var recordedHistories = []struct{ file, workflowID string }{
	{"testdata/sync_history.json", ""}, // before versionInventoryTruth
	{"testdata/sync_history_v1.json", "expiry-sync-d0e2e000000000000000000000000001-20261201T205321.566Z"}, // inventory-truth, notify-after-sync
	{"testdata/sync_history_v2.json", "expiry-sync-default-20261201T225418.964Z"},                          // pages-by-reference, per-resource tags: pages by value
	{"testdata/sync_history_v2-bulk.json", "expiry-sync-default-20261201T225420.038Z"},                     // pages-by-reference, bulk tags: staged pages
	{"testdata/sync_history_v3.json", "expiry-sync-default-20261202T002438.822Z"},                          // grouped commits, per-resource tags
	{"testdata/sync_history_v3-bulk.json", "expiry-sync-default-20261202T002439.721Z"},                     // grouped commits: a CommitPage of two pages
	{"testdata/sync_history_v4.json", "expiry-sync-default-20261202T042425.779Z"},                          // deep listing, per-resource tags
	{"testdata/sync_history_v4-bulk.json", "expiry-sync-default-20261202T042426.656Z"},                     // deep listing: up to 64 pages listed ahead
	{"testdata/renew_history_v1.json", "renew-default-0edffde8f2-20261207"},                                // a renewal: refused self-approval, approved, ordered, paid, done
	{"testdata/renew_history_v2.json", "renew-default-0edffde8f2-20261207"},                                // renew-notify-channels: the routes' channels told at the end
}

func TestReplayRecordedHistories(t *testing.T) {
	for _, h := range recordedHistories {
		t.Run(h.file, func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			r.RegisterWorkflowWithOptions(workflows.SyncExpiringResources, workflow.RegisterOptions{Name: workflows.WorkflowName})
			r.RegisterWorkflowWithOptions(workflows.RenewResources, workflow.RegisterOptions{Name: workflows.RenewWorkflowName})
			f, err := os.Open(h.file)
			require.NoError(t, err)
			defer f.Close()
			hist, err := client.HistoryFromJSON(f, client.HistoryJSONOptions{})
			require.NoError(t, err)
			require.NoError(t, r.ReplayWorkflowHistoryWithOptions(nil, hist,
				worker.ReplayWorkflowHistoryOptions{OriginalExecution: workflow.Execution{ID: h.workflowID}}))
		})
	}
}
