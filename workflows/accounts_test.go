package workflows_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"expiry-sync/internal/contract"
	"expiry-sync/workflows"
)

// One child sync per account, at most Concurrency at once; an account's
// failure is its own and makes the whole partial.
func TestSyncAllAccountsRunsOneChildPerAccount(t *testing.T) {
	env := newEnv(t)
	env.RegisterWorkflowWithOptions(workflows.SyncAllAccounts, workflow.RegisterOptions{Name: workflows.AllAccountsWorkflowName})
	env.RegisterActivityWithOptions(func(context.Context) ([]string, error) {
		return []string{"prod", "dev", "bu-a", "bu-b", "staging"}, nil
	},
		activityNamed(contract.ActivityListAccounts))
	var mu sync.Mutex
	running, most := 0, 0
	var seen []workflows.SyncInput
	env.OnWorkflow(workflows.WorkflowName, mock.Anything, mock.Anything).Return(func(ctx workflow.Context, in workflows.SyncInput) (contract.Summary, error) {
		mu.Lock()
		running++
		most = max(most, running)
		seen = append(seen, in)
		mu.Unlock()
		_ = workflow.Sleep(ctx, 1) // let the others start
		mu.Lock()
		running--
		mu.Unlock()
		if in.Account == "dev" {
			return contract.Summary{}, temporal.NewNonRetryableApplicationError("ListPage: 401 APIGW.0301", "HuaweiAuthFailed", errors.New("x"))
		}
		return contract.Summary{Status: contract.StatusSuccess, TotalResources: len(in.Account)}, nil
	})
	env.ExecuteWorkflow(workflows.AllAccountsWorkflowName, workflows.AllAccountsInput{Concurrency: 2, Sync: workflows.SyncInput{ExpireDays: 60}})
	require.NoError(t, env.GetWorkflowError(), "one account's failure does not fail the whole")
	var res workflows.AllAccountsResult
	require.NoError(t, env.GetWorkflowResult(&res))
	assert.Equal(t, contract.StatusPartial, res.Status)
	require.Len(t, res.Accounts, 5)
	byAccount := map[string]workflows.AccountResult{}
	for _, r := range res.Accounts {
		byAccount[r.Account] = r
		assert.Equal(t, workflows.AccountSyncID(defaultStartOptions().ID, r.Account), r.SyncID)
	}
	assert.Equal(t, contract.StatusFailed, byAccount["dev"].Status)
	assert.Contains(t, byAccount["dev"].Error, "APIGW.0301")
	assert.Equal(t, contract.StatusSuccess, byAccount["prod"].Status)
	require.NotNil(t, byAccount["prod"].Summary)
	assert.LessOrEqual(t, most, 2, "at most Concurrency accounts at once")
	for _, in := range seen {
		assert.Equal(t, 60, in.ExpireDays, "every child takes the knobs")
	}
}
