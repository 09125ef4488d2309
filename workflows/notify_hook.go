package workflows

import (
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/workflow"

	"expiry-sync/internal/contract"
)

// NotifyWorkflowID is the id of the reminders run a sync starts.
func NotifyWorkflowID(syncID string) string { return "notify-" + syncID }

// StartNotifyAfterSync starts the reminders of an account as a child of
// the sync that just finished, when it finished well (success or partial:
// the expire times are all read even when some tags are not). The child is
// abandoned: the sync ends without waiting for it (a route in quiet hours
// may wait for hours); only its start is awaited. A failure to start is
// logged, never the sync's failure. It is versioned (GetVersion), so the
// sync's recorded histories still replay. The sync calls it once, last:
//
//	workflows.StartNotifyAfterSync(ctx, s.cursor.AccountID, s.syncID, summary.Status)
func StartNotifyAfterSync(ctx workflow.Context, accountID, syncID, status string) {
	if status != contract.StatusSuccess && status != contract.StatusPartial {
		return
	}
	if !startsNotifyAfterSync(ctx) {
		return
	}
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:        NotifyWorkflowID(syncID),
		ParentClosePolicy: enumspb.PARENT_CLOSE_POLICY_ABANDON,
	})
	f := workflow.ExecuteChildWorkflow(cctx, NotifyWorkflowName, NotifyInput{AccountID: accountID, SyncID: syncID})
	if err := f.GetChildWorkflowExecution().Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Warn("renewal reminders not started", "error", err)
	}
}

// NotifyScheduleAction is what a Temporal Schedule runs to send the due
// reminders of an account (by name; "": every account) on its own cadence
// (starter notify schedule).
func NotifyScheduleAction(workflowID, taskQueue, account string) *client.ScheduleWorkflowAction {
	return &client.ScheduleWorkflowAction{ID: workflowID, Workflow: NotifyWorkflowName, TaskQueue: taskQueue,
		Args: []any{NotifyInput{Account: account, AllAccounts: account == ""}}}
}
