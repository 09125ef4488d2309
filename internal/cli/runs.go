package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/spf13/cobra"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"

	"expiry-sync/workflows"
)

// stateName turns Temporal's execution status into the CLI's word.
func stateName(s enumspb.WorkflowExecutionStatus) string {
	switch s {
	case enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT:
		return "timed-out"
	case enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW:
		return "continued-as-new"
	}
	return strings.ToLower(strings.TrimPrefix(s.String(), "WORKFLOW_EXECUTION_STATUS_"))
}

func containsStatus(list []enumspb.WorkflowExecutionStatus, s enumspb.WorkflowExecutionStatus) bool {
	return slices.Contains(list, s)
}

type listState struct{ name, query string }

// listStates are the --status values of `list`: Temporal's states, and the
// sync outcomes a run's search attribute records.
var listStates = []listState{
	{"running", "ExecutionStatus = 'Running'"},
	{"completed", "ExecutionStatus = 'Completed'"},
	{"failed", "ExecutionStatus = 'Failed'"},
	{"canceled", "ExecutionStatus = 'Canceled'"},
	{"terminated", "ExecutionStatus = 'Terminated'"},
	{"timed-out", "ExecutionStatus = 'TimedOut'"},
	{"success", "ExpirySyncStatus = 'success'"},
	{"partial", "ExpirySyncStatus = 'partial'"},
}

func listStateNames() []string {
	names := make([]string, len(listStates))
	for i, s := range listStates {
		names[i] = s.name
	}
	return names
}

// checkSyncID refuses what cannot be a sync id before asking Temporal.
func checkSyncID(id string) error {
	ok := utf8.ValidString(id) && len(id) > 0 && len(id) <= 255 &&
		!strings.ContainsFunc(id, func(r rune) bool { return unicode.IsControl(r) || unicode.IsSpace(r) })
	if !ok {
		return fmt.Errorf(
			"sync id %q is not valid: allowed 1..255 bytes of printable UTF-8 without spaces, "+
				"e.g. expiry-sync-<account>-20261126T083500.000Z",
			id,
		)
	}
	return nil
}

// describeSync finds the newest run of a sync, or says the id is unknown.
func (e *env) describeSync(
	ctx context.Context,
	c *conn,
	id string,
) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	if err := checkSyncID(id); err != nil {
		return nil, err
	}
	desc, err := c.DescribeWorkflow(ctx, id, "")
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return nil, fmt.Errorf("no sync %q in namespace %s (see 'starter list')", id, e.cfg.Temporal.Namespace)
	}
	if err != nil {
		return nil, fail(fmt.Errorf("sync %q: %v", id, err))
	}
	return desc.RawResponse, nil
}

func (e *env) statusCommand() *cobra.Command {
	var accounts []string
	cmd := &cobra.Command{
		Use:   "status [SYNC_ID] [--account NAME]...",
		Short: "Show a sync's state, progress, timings and last error, or each account's newest sync",
		Long: `status shows a sync's state: a running one its progress (the workflow's progress
query), a finished one its summary, a failed or canceled one its error and the command
that resumes it. A sync of every account shows each account's sync.

Without SYNC_ID, status shows the newest sync of each --account (found by the
ExpirySyncAccount search attribute). With both, it checks that the sync is of one of
those accounts.`,
		Example: `  starter status expiry-sync-prod-20261126T083500.000Z
  starter status --account prod --account staging
  starter status expiry-sync-all-20261126T020000.000Z -o json`,
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: e.completeSyncIDs(nil),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkAccountFilter(accounts); err != nil {
				return err
			}
			if len(args) == 0 {
				if len(accounts) == 0 {
					return errors.New(
						"status needs a SYNC_ID or at least one --account (see 'starter list' for sync ids)",
					)
				}
				return e.withTemporal(
					cmd,
					commandTimeout,
					func(ctx context.Context, c *conn) error { return e.newestSyncs(ctx, c, accounts) },
				)
			}
			if err := checkSyncID(args[0]); err != nil {
				return err
			}
			return e.withTemporal(
				cmd,
				commandTimeout,
				func(ctx context.Context, c *conn) error { return e.runStatus(ctx, c, args[0], accounts) },
			)
		},
	}
	addAccountFilter(cmd.Flags(), &accounts, "the newest sync")
	describeOutput(cmd, syncState{}, "Of a sync")
	describeOutput(cmd, allAccountsState{}, "Of a sync of every account")
	describeOutput(cmd, syncStates{}, "With --account and no SYNC_ID: a list, each account's newest sync")
	return cmd
}

func (e *env) runStatus(ctx context.Context, c *conn, id string, accounts []string) error {
	desc, err := e.describeSync(ctx, c, id)
	if err != nil {
		return err
	}
	if isAllAccounts(desc.GetWorkflowExecutionInfo()) {
		if len(accounts) > 0 {
			return fmt.Errorf(
				"sync %q syncs every account, not only %s: drop --account",
				id,
				strings.Join(accounts, ", "),
			)
		}
		st, err := e.allAccountsState(ctx, c, desc)
		if err != nil {
			return err
		}
		return e.print(st)
	}
	st := e.syncState(ctx, c, desc)
	if len(accounts) > 0 && !slices.Contains(accounts, st.Account) {
		return fmt.Errorf("sync %q is of account %s, not %s", id, quote(st.Account), strings.Join(accounts, ", "))
	}
	return e.print(st)
}

// newestSyncs prints the newest sync of each account, in the order given.
func (e *env) newestSyncs(ctx context.Context, c *conn, accounts []string) error {
	out := syncStates{}
	var none []string
	for _, a := range slices.Compact(slices.Clone(accounts)) {
		query := fmt.Sprintf(
			"WorkflowType = '%s' AND ExecutionStatus != 'ContinuedAsNew' AND %s",
			workflows.WorkflowName,
			accountQuery([]string{a}),
		)
		runs, err := e.listSyncs(ctx, c, query, 1)
		if err != nil {
			return err
		}
		if len(runs) == 0 {
			none = append(none, a)
			continue
		}
		desc, err := e.describeSync(ctx, c, runs[0].SyncID)
		if err != nil {
			return err
		}
		out = append(out, e.syncState(ctx, c, desc))
	}
	if len(out) == 0 {
		return fmt.Errorf(
			"no sync of account %s in namespace %s (see 'starter list')",
			strings.Join(none, ", "),
			e.cfg.Temporal.Namespace,
		)
	}
	if err := e.print(out); err != nil {
		return err
	}
	if len(none) > 0 {
		fmt.Fprintf(e.stderr, "note: no sync of account %s yet\n", strings.Join(none, ", "))
	}
	return nil
}

// syncStates is what status prints for --account: each account's newest
// sync, in full.
type syncStates []syncState

func (l syncStates) Rows() any { return []syncState(l) }

func (l syncStates) PrintText(w io.Writer) error {
	for i, st := range l {
		if i > 0 {
			fmt.Fprintln(w)
		}
		if err := st.PrintText(w); err != nil {
			return err
		}
	}
	return nil
}

func (e *env) listCommand() *cobra.Command {
	var (
		status   string
		limit    int
		accounts []string
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List recent syncs, newest first",
		Long: `list shows recent syncs from Temporal's visibility store, newest first, one row per
sync (its newest attempt): those of one account each, including the children of a sync
of every account. STARTED is when the sync first started, across resumes and
continue-as-new. --account keeps the syncs of the accounts named (the ExpirySyncAccount
search attribute).`,
		Example: `  starter list
  starter list --status failed
  starter list --account prod --account staging --status running -o jsonl`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			query := fmt.Sprintf("WorkflowType = '%s' AND ExecutionStatus != 'ContinuedAsNew'", workflows.WorkflowName)
			if status != "" {
				i := slices.IndexFunc(listStates, func(s listState) bool { return s.name == status })
				if i < 0 {
					return fmt.Errorf(
						"--status %q is not allowed: use one of %s",
						status,
						strings.Join(listStateNames(), ", "),
					)
				}
				query += " AND " + listStates[i].query
			}
			if err := checkAccountFilter(accounts); err != nil {
				return err
			}
			if len(accounts) > 0 {
				query += " AND " + accountQuery(accounts)
			}
			if limit < 1 || limit > 1000 {
				return fmt.Errorf("--limit=%d is out of range: allowed 1..1000", limit)
			}
			return e.withTemporal(cmd, commandTimeout, func(ctx context.Context, c *conn) error {
				runs, err := e.listSyncs(ctx, c, query, limit)
				if err != nil {
					return err
				}
				return e.print(runs)
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&status, "status", "", "only syncs in this state: "+strings.Join(listStateNames(), ", "))
	f.IntVar(&limit, "limit", 20, "at most this many syncs (1..1000)")
	addAccountFilter(f, &accounts, "only the syncs")
	_ = cmd.RegisterFlagCompletionFunc("status", completeWords(listStateNames()...))
	describeOutput(cmd, syncList{})
	return cmd
}

func (e *env) cancelCommand() *cobra.Command {
	var wait bool
	cmd := &cobra.Command{
		Use:   "cancel SYNC_ID",
		Short: "Cancel a running sync; it keeps its checkpoint for 'starter resume'",
		Example: `  starter cancel expiry-sync-0a1b2c3d-20261126T083500.000Z
  starter cancel expiry-sync-0a1b2c3d-20261126T083500.000Z --wait`,
		Args: cobra.ExactArgs(1),
		ValidArgsFunction: e.completeSyncIDs(
			[]enumspb.WorkflowExecutionStatus{enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING},
		),
		RunE: func(cmd *cobra.Command, args []string) error {
			id := args[0]
			if err := checkSyncID(id); err != nil {
				return err
			}
			timeout := commandTimeout
			if wait {
				timeout = noTimeout
			}
			return e.withTemporal(
				cmd,
				timeout,
				func(ctx context.Context, c *conn) error { return e.runCancel(ctx, c, id, wait) },
			)
		},
	}
	cmd.Flags().BoolVar(&wait, "wait", false, "wait until the sync has stopped")
	describeOutput(cmd, canceled{})
	return cmd
}

// canceled is what cancel prints.
type canceled struct {
	SyncID string `json:"sync_id" doc:"the workflow id"`
	// Ended is set with --wait: how the sync ended.
	Ended  string `json:"ended,omitempty" doc:"with --wait: canceled, or how the sync ended before the cancel reached it"`
	Resume string `json:"resume" doc:"the command that resumes it"`
}

func (c canceled) PrintText(w io.Writer) error {
	fmt.Fprintf(
		w,
		"Cancel requested for sync %s: it stops at its next step and keeps its checkpoint.\nResume it with: %s\n",
		c.SyncID,
		c.Resume,
	)
	if c.Ended != "" {
		fmt.Fprintf(w, "Sync %s ended: %s\n", c.SyncID, c.Ended)
	}
	return nil
}

func (e *env) runCancel(ctx context.Context, c *conn, id string, wait bool) error {
	desc, err := e.describeSync(ctx, c, id)
	if err != nil {
		return err
	}
	if st := desc.GetWorkflowExecutionInfo().GetStatus(); st != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		return fmt.Errorf("sync %q is %s, not running: nothing to cancel", id, stateName(st))
	}
	if err := c.CancelWorkflow(ctx, id, ""); err != nil {
		return fail(fmt.Errorf("cancel %q: %v", id, err))
	}
	out := canceled{SyncID: id, Resume: "starter resume " + id}
	if wait {
		err = c.GetWorkflow(ctx, id, "").Get(ctx, nil)
		if ctx.Err() != nil {
			return interrupted{
				fmt.Sprintf("Stopped waiting. The cancel of sync %s was requested; see 'starter status %s'", id, id),
			}
		}
		out.Ended = endText(err)
	}
	return e.print(out)
}

func endText(err error) string {
	if err == nil {
		return "completed before the cancel reached it"
	}
	return workflows.ErrorText(err)
}
