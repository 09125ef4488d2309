package workflows

import (
	"fmt"
	"slices"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"expiry-sync/internal/contract"
)

// AllAccountsWorkflowName is the registered type of the workflow that syncs
// several accounts, one child sync each.
const AllAccountsWorkflowName = "SyncAllAccounts"

// DefaultAccountConcurrency bounds the accounts synced at once.
const DefaultAccountConcurrency = 4

// AllAccountsInput names the accounts to sync (none: every account the
// workers serve) and the knobs every child sync takes (its Account is set
// per child; an account's own defaults fill what is unset).
type AllAccountsInput struct {
	Accounts    []string  `json:"accounts,omitempty"`
	Concurrency int       `json:"concurrency,omitempty"`
	Sync        SyncInput `json:"sync"`
}

// AllAccountsResult is each account's outcome; Status is success when
// every account's sync succeeded, partial otherwise.
type AllAccountsResult struct {
	Status   string          `json:"status"`
	Accounts []AccountResult `json:"accounts"`
}

// AccountResult is one account's child sync and how it ended.
type AccountResult struct {
	Account string            `json:"account"`
	SyncID  string            `json:"sync_id"`
	Status  string            `json:"status"` // the sync's status, or failed/canceled
	Error   string            `json:"error,omitempty"`
	Summary *contract.Summary `json:"summary,omitempty"`
}

// AccountSyncID is the id of an account's child sync: the parent's id and
// the account, so that lists and the Web UI group them.
func AccountSyncID(parentID, account string) string { return parentID + "-" + account }

// SyncAllAccounts syncs each account with a child SyncExpiringResources,
// at most Concurrency at once (a sliding window: Await on the in-flight
// count). An account's failure is recorded in its result and makes the
// whole partial; it never stops the other accounts.
func SyncAllAccounts(ctx workflow.Context, in AllAccountsInput) (AllAccountsResult, error) {
	accounts, err := accountsOf(ctx, in)
	if err != nil {
		return AllAccountsResult{}, err
	}
	limit := in.Concurrency
	if limit <= 0 {
		limit = DefaultAccountConcurrency
	}
	parentID := workflow.GetInfo(ctx).WorkflowExecution.ID
	results := make([]AccountResult, len(accounts))
	inFlight := 0
	for i, account := range accounts {
		if err := workflow.Await(ctx, func() bool { return inFlight < limit }); err != nil {
			return AllAccountsResult{}, err
		}
		inFlight++
		results[i] = AccountResult{
			Account: account,
			SyncID:  AccountSyncID(parentID, account),
			Status:  contract.StatusRunning,
		}
		workflow.Go(ctx, func(ctx workflow.Context) {
			defer func() { inFlight-- }()
			results[i] = syncAccount(ctx, results[i], in.Sync)
		})
		workflow.SetCurrentDetails(ctx, allAccountsDetails(results))
	}
	if err := workflow.Await(ctx, func() bool { return inFlight == 0 }); err != nil {
		return AllAccountsResult{}, err
	}
	out := AllAccountsResult{Status: contract.StatusSuccess, Accounts: results}
	for _, r := range results {
		if r.Status != contract.StatusSuccess {
			out.Status = contract.StatusPartial
		}
	}
	workflow.SetCurrentDetails(ctx, allAccountsDetails(results))
	return out, nil
}

// accountsOf is the accounts to sync: the ones asked for, or every account
// the workers serve (asked of a worker: the accounts file is theirs).
func accountsOf(ctx workflow.Context, in AllAccountsInput) ([]string, error) {
	if len(in.Accounts) > 0 {
		return in.Accounts, nil
	}
	var accounts []string
	opts := workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 5},
		Summary:             "list the accounts the workers serve",
	}
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, opts), contract.ActivityListAccounts).
		Get(ctx, &accounts)
	if err == nil && len(accounts) == 0 {
		err = temporal.NewNonRetryableApplicationError(
			"the workers serve no account",
			contract.ErrTypeInvalidInput,
			nil,
		)
	}
	slices.Sort(accounts)
	return accounts, err
}

// syncAccount runs one account's sync as a child and says how it ended.
func syncAccount(ctx workflow.Context, r AccountResult, knobs SyncInput) AccountResult {
	knobs.Account, knobs.Cursor, knobs.Resume = r.Account, nil, false
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:        r.SyncID,
		ParentClosePolicy: enumspb.PARENT_CLOSE_POLICY_REQUEST_CANCEL,
	})
	var summary contract.Summary
	if err := workflow.ExecuteChildWorkflow(cctx, WorkflowName, knobs).Get(ctx, &summary); err != nil {
		r.Status, r.Error = contract.StatusFailed, ErrorText(err)
		if temporal.IsCanceledError(err) {
			r.Status = contract.StatusCanceled
		}
		return r
	}
	r.Status, r.Summary = summary.Status, &summary
	return r
}

func allAccountsDetails(results []AccountResult) string {
	text := "| account | sync | status |\n|---|---|---|\n"
	for _, r := range results {
		if r.Account != "" {
			text += fmt.Sprintf("| %s | %s | %s |\n", r.Account, r.SyncID, r.Status)
		}
	}
	return text
}
