package workflows_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"expiry-sync/activities"
	"expiry-sync/internal/contract"
	"expiry-sync/internal/notify"
	"expiry-sync/workflows"
)

// The sync's hook starts the reminders as a child named after the sync,
// for a finished sync only.
func TestStartNotifyAfterSyncStartsTheChild(t *testing.T) {
	for status, want := range map[string]bool{contract.StatusSuccess: true, contract.StatusPartial: true, contract.StatusFailed: false} {
		var s testsuite.WorkflowTestSuite
		env := s.NewTestWorkflowEnvironment()
		parent := func(ctx workflow.Context) error {
			workflows.StartNotifyAfterSync(ctx, "acc", "sync-1", status)
			return nil
		}
		env.RegisterWorkflow(parent)
		started := false
		env.RegisterWorkflowWithOptions(func(ctx workflow.Context, in workflows.NotifyInput) (workflows.NotifyResult, error) {
			started = true
			assert.Equal(t, workflows.NotifyInput{AccountID: "acc", SyncID: "sync-1"}, in)
			assert.Equal(t, workflows.NotifyWorkflowID("sync-1"), workflow.GetInfo(ctx).WorkflowExecution.ID)
			return workflows.NotifyResult{}, nil
		}, workflow.RegisterOptions{Name: workflows.NotifyWorkflowName})
		env.ExecuteWorkflow(parent)
		require.NoError(t, env.GetWorkflowError())
		assert.Equal(t, want, started, status)
	}
}

// A route in quiet hours waits for their end (a durable timer) and claims
// as of then; a failing route does not stop the others.
func TestNotifyWaitsOutQuietHoursAndIsolatesRoutes(t *testing.T) {
	env, n := notifyEnv()
	asOf := time.Date(2026, 12, 1, 15, 0, 0, 0, time.UTC)
	quietEnd := asOf.Add(9 * time.Hour)
	env.OnActivity(n.NotifyPlan, mock.Anything, mock.Anything).Return(contract.NotifyPlan{Configured: true, AccountID: "acc", Routes: []contract.PlannedRoute{
		{Route: "quiet", QuietUntil: &quietEnd}, {Route: "broken"},
	}}, nil)
	var claimedAt time.Time
	env.OnActivity(n.NotifyClaim, mock.Anything, mock.MatchedBy(func(in contract.ClaimInput) bool { return in.Route == "quiet" })).
		Return(func(_ context.Context, in contract.ClaimInput) ([]contract.ClaimedDigest, error) {
			claimedAt = in.AsOf
			return []contract.ClaimedDigest{{DigestID: "d1", Threshold: 7, Resources: 2, Channels: []contract.ChannelRef{{Name: "hook", Type: "webhook"}}}}, nil
		})
	env.OnActivity(n.NotifyClaim, mock.Anything, mock.MatchedBy(func(in contract.ClaimInput) bool { return in.Route == "broken" })).
		Return(nil, errNotifyConfig())
	env.OnActivity(n.NotifySend, mock.Anything, mock.Anything).Return(contract.SendOutcome{Status: contract.SendSent}, nil)
	env.OnActivity(n.NotifySettle, mock.Anything, mock.Anything).Return(contract.DigestOutcome{DigestID: "d1", Threshold: 7, Resources: 2,
		Sends: []contract.SendOutcome{{Channel: "hook", Status: contract.SendSent}}}, nil)
	env.ExecuteWorkflow(workflows.NotifyWorkflowName, workflows.NotifyInput{AsOf: &asOf})
	require.NoError(t, env.GetWorkflowError())
	var res workflows.NotifyResult
	require.NoError(t, env.GetWorkflowResult(&res))
	assert.Equal(t, quietEnd, claimedAt, "claimed when the quiet hours ended")
	assert.Equal(t, workflows.RouteSent, res.Routes[0].Status)
	assert.Equal(t, workflows.RouteFailed, res.Routes[1].Status)
	assert.Contains(t, res.Routes[1].Error, "routes file")
	assert.Equal(t, 1, res.Sent)
}

// notifyEnv is a test environment running NotifyExpiring, with the
// reminders' activities registered for mocking.
func notifyEnv() (*testsuite.TestWorkflowEnvironment, *activities.Notifier) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(workflows.NotifyExpiring, workflow.RegisterOptions{Name: workflows.NotifyWorkflowName})
	n := &activities.Notifier{}
	env.RegisterActivity(n)
	return env, n
}

func errNotifyConfig() error {
	return temporal.NewNonRetryableApplicationError("the routes file is broken", string(notify.ClassConfig), nil)
}

// Invariant: no claim outlives its run. A run canceled while a send is
// under way still settles the digest it claimed (on a disconnected
// context), so what was not sent is released for a later run.
func TestACanceledNotifyRunStillSettles(t *testing.T) {
	env, n := notifyEnv()
	env.OnActivity(n.NotifyPlan, mock.Anything, mock.Anything).Return(contract.NotifyPlan{Configured: true, AccountID: "acc",
		Routes: []contract.PlannedRoute{{Route: "ops"}}}, nil)
	env.OnActivity(n.NotifyClaim, mock.Anything, mock.Anything).Return([]contract.ClaimedDigest{{DigestID: "d1", Threshold: 7, Resources: 2,
		Channels: []contract.ChannelRef{{Name: "hook", Type: "webhook"}}}}, nil)
	// The receiver is down: the send waits between retries when the run is canceled.
	env.OnActivity(n.NotifySend, mock.Anything, mock.Anything).Return(contract.SendOutcome{},
		temporal.NewApplicationError("receiver down", string(notify.ClassUnavailable)))
	settled := 0
	env.OnActivity(n.NotifySettle, mock.Anything, mock.Anything).Return(func(context.Context, contract.SettleInput) (contract.DigestOutcome, error) {
		settled++
		return contract.DigestOutcome{DigestID: "d1"}, nil
	})
	env.RegisterDelayedCallback(env.CancelWorkflow, 5*time.Second)
	env.ExecuteWorkflow(workflows.NotifyWorkflowName, workflows.NotifyInput{})
	assert.Equal(t, 1, settled, "the canceled run settled its digest")
}

// A run that names no account, on a worker with no default account,
// reminds each account as a child run, by name, and sums their results.
func TestNotifyWithoutAnAccountRemindsEachAccount(t *testing.T) {
	env, n := notifyEnv()
	var asked []string
	env.OnActivity(n.NotifyPlan, mock.Anything, mock.Anything).Return(func(_ context.Context, in contract.PlanInput) (contract.NotifyPlan, error) {
		asked = append(asked, in.Account)
		if in.Account == "" {
			return contract.NotifyPlan{Configured: true, Accounts: []string{"prod", "test"}}, nil
		}
		return contract.NotifyPlan{Configured: true, Account: in.Account, AccountID: "id-" + in.Account}, nil
	})
	env.ExecuteWorkflow(workflows.NotifyWorkflowName, workflows.NotifyInput{})
	require.NoError(t, env.GetWorkflowError())
	var res workflows.NotifyResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Len(t, res.Accounts, 2)
	assert.Equal(t, []string{"prod", "test"}, []string{res.Accounts[0].Account, res.Accounts[1].Account})
	assert.ElementsMatch(t, []string{"", "prod", "test"}, asked)
}
