package cli

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/jedib0t/go-pretty/v6/table"
	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"expiry-sync/internal/contract"
	"expiry-sync/workflows"
)

// allAccountsState is a sync of every account (SyncAllAccounts): the
// parent, and each account's child sync.
type allAccountsState struct {
	SyncID    string        `json:"sync_id" doc:"the parent workflow's id"`
	RunID     string        `json:"run_id" doc:"its newest run"`
	State     string        `json:"state" doc:"running, completed, failed, canceled, terminated or timed-out"`
	Status    string        `json:"status,omitempty" doc:"once completed: success when every account's sync succeeded, partial otherwise"`
	StartedAt time.Time     `json:"started_at"`
	ClosedAt  *time.Time    `json:"closed_at,omitempty"`
	Accounts  []accountSync `json:"accounts" doc:"each account's sync (while running: those started so far)"`
	Error     string        `json:"error,omitempty" doc:"why the parent itself ended without completing"`
	WebURL    string        `json:"web_url" doc:"the parent in the Temporal Web UI"`
}

// accountSync is one account's child sync.
type accountSync struct {
	Account   string `json:"account"`
	SyncID    string `json:"sync_id" doc:"<parent id>-<account>"`
	Status    string `json:"status" doc:"running, success, partial, failed or canceled"`
	Resources int    `json:"resources" doc:"rows in the sync's window once done (the ExpiringResources search attribute while running)"`
	Error     string `json:"error,omitempty"`
}

func isAllAccounts(info *workflowpb.WorkflowExecutionInfo) bool {
	return info.GetType().GetName() == workflows.AllAccountsWorkflowName
}

// allAccountsState reads the parent's result, or while it runs, its
// children from the visibility store.
func (e *env) allAccountsState(
	ctx context.Context,
	c *conn,
	desc *workflowservice.DescribeWorkflowExecutionResponse,
) (allAccountsState, error) {
	info := desc.GetWorkflowExecutionInfo()
	id := info.GetExecution().GetWorkflowId()
	st := allAccountsState{SyncID: id, RunID: info.GetExecution().GetRunId(), State: stateName(info.GetStatus()),
		StartedAt: info.GetStartTime().AsTime(), Accounts: []accountSync{}, WebURL: e.webURL(id)}
	if info.GetCloseTime() != nil {
		t := info.GetCloseTime().AsTime()
		st.ClosedAt = &t
	}
	if info.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		children, err := e.listSyncs(
			ctx,
			c,
			fmt.Sprintf("WorkflowType = '%s' AND ParentWorkflowId = '%s'", workflows.WorkflowName, id),
			1000,
		)
		if err != nil {
			return st, err
		}
		for _, ch := range children {
			st.Accounts = append(st.Accounts, accountSync{
				Account:   ch.Account,
				SyncID:    ch.SyncID,
				Status:    cmp.Or(ch.SyncStatus, ch.State),
				Resources: int(ch.Resources),
			})
		}
		slices.SortFunc(st.Accounts, func(a, b accountSync) int { return strings.Compare(a.Account, b.Account) })
		return st, nil
	}
	var res workflows.AllAccountsResult
	if err := c.GetWorkflow(ctx, id, st.RunID).Get(ctx, &res); err != nil {
		st.Error = workflows.ErrorText(err)
		return st, nil
	}
	st.Status = res.Status
	for _, r := range res.Accounts {
		st.Accounts = append(st.Accounts, accountSyncOf(r))
	}
	return st, nil
}

func accountSyncOf(r workflows.AccountResult) accountSync {
	a := accountSync{Account: r.Account, SyncID: r.SyncID, Status: r.Status, Error: r.Error}
	if r.Summary != nil {
		a.Resources = r.Summary.TotalResources
	}
	return a
}

// failedAccounts are the accounts whose sync failed or was canceled.
func (st allAccountsState) failedAccounts() []string {
	var out []string
	for _, a := range st.Accounts {
		if a.Status == contract.StatusFailed || a.Status == contract.StatusCanceled {
			out = append(out, a.Account)
		}
	}
	return out
}

func (st allAccountsState) PrintText(w io.Writer) error {
	k := newKV(w)
	k.row("Sync", st.SyncID+" (every account)")
	k.row("State", st.State)
	if st.Status != "" {
		k.row("Status", st.Status)
	}
	k.row("Started", utc(st.StartedAt))
	if st.ClosedAt != nil {
		k.row(
			"Ended",
			fmt.Sprintf("%s (after %s)", utc(*st.ClosedAt), st.ClosedAt.Sub(st.StartedAt).Round(time.Second)),
		)
	}
	if st.Error != "" {
		k.row("Error", st.Error)
	}
	k.row("Web UI", st.WebURL)
	if err := k.flush(); err != nil {
		return err
	}
	if len(st.Accounts) == 0 {
		_, err := fmt.Fprintln(w, "\nNo account sync started yet.")
		return err
	}
	fmt.Fprintln(w)
	t := newTable(w)
	t.AppendHeader(table.Row{"ACCOUNT", "SYNC ID", "STATUS", "RESOURCES", "ERROR"})
	for _, a := range st.Accounts {
		t.AppendRow(table.Row{a.Account, a.SyncID, a.Status, a.Resources, orDash(a.Error)})
	}
	t.Render()
	if failed := st.failedAccounts(); len(failed) > 0 {
		fmt.Fprintf(
			w,
			"Resume a failed account's sync with: starter resume %s\n",
			workflows.AccountSyncID(st.SyncID, failed[0]),
		)
	}
	return nil
}

// waitAllAccounts waits for a sync of every account to end, then prints
// each account's outcome. A failed account fails the command (exit 1);
// Ctrl-C stops the waiting, not the syncs.
func (e *env) waitAllAccounts(ctx context.Context, c *conn, run client.WorkflowRun) error {
	id := run.GetID()
	fmt.Fprintf(
		e.stderr,
		"Waiting for the sync of every account (Ctrl-C stops waiting, not the syncs; "+
			"'starter status %s' shows each account)\n",
		id,
	)
	err := run.Get(ctx, nil)
	if ctx.Err() != nil {
		return interrupted{fmt.Sprintf("Stopped waiting. Sync %s goes on in Temporal:\n"+
			"  follow it:  starter status %s\n  cancel it:  starter cancel %s\n  Web UI:     %s",
			id, id, id, e.webURL(id))}
	}
	desc, derr := e.describeSync(ctx, c, id)
	if derr != nil {
		return derr
	}
	st, serr := e.allAccountsState(ctx, c, desc)
	if serr != nil {
		return serr
	}
	if perr := e.print(st); perr != nil {
		return perr
	}
	if err != nil {
		return fail(fmt.Errorf("sync %s %s: %s", id, st.State, workflows.ErrorText(err)))
	}
	if failed := st.failedAccounts(); len(failed) > 0 {
		return fail(fmt.Errorf(
			"sync %s: %d of %d accounts failed (%s); the others completed",
			id,
			len(failed),
			len(st.Accounts),
			strings.Join(failed, ", "),
		))
	}
	return nil
}
