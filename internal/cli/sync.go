package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"expiry-sync/workflows"
)

// startOptions are the flags of sync and resume.
type startOptions struct {
	input  workflows.SyncInput
	target target
	wait   bool
	resume string
}

func (e *env) syncCommand() *cobra.Command {
	o := &startOptions{}
	cmd := &cobra.Command{
		Use:   "sync",
		Short: "Start a sync of one account's resources expiring within --expire-days, or of every account",
		Long: `sync starts a sync of one account (--account, default: the HUAWEI_* environment's
account "default") or of every account the workers serve (--all-accounts: one child
sync per account, a few at a time; the parent ends partial when an account fails and
never stops the others). The sync id is expiry-sync-<account>-<UTC time>, or
expiry-sync-all-<UTC time> with children <that id>-<account>. Without --expire-days,
--lookback-days and --tag-mode the account's defaults from the workers' accounts file
apply (else 30 and 15 days, auto). One sync of an account runs at a time: the starter
refuses a second one.`,
		Example: `  starter sync --expire-days 30 --wait
  starter sync --account prod --expire-days 7 --tag-concurrency 50 -o json
  starter sync --all-accounts --wait
  starter sync --resume expiry-sync-prod-20261126T083500.000Z --wait`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return e.runSync(cmd, o) },
	}
	f := cmd.Flags()
	addSyncInputFlags(f, &o.input)
	markAccountDefaults(f)
	addTargetFlags(f, &o.target)
	addWaitFlag(f, &o.wait)
	f.StringVar(
		&o.resume,
		"resume",
		"",
		"continue the failed or canceled sync with this id from its last committed batch (as 'starter resume')",
	)
	e.completeKnobs(cmd)
	_ = cmd.RegisterFlagCompletionFunc("resume", e.completeSyncIDs(resumableStates))
	describeOutput(cmd, started{}, "Without --wait")
	describeOutput(cmd, syncState{}, "With --wait: the final state, as `starter status` prints it")
	describeOutput(cmd, allAccountsState{}, "With --all-accounts --wait: each account's sync")
	return cmd
}

func (e *env) resumeCommand() *cobra.Command {
	o := &startOptions{}
	cmd := &cobra.Command{
		Use:   "resume SYNC_ID",
		Short: "Continue a failed or canceled sync from its last committed batch",
		Long: `resume starts the same workflow id again (allowed after a failure, cancel, termination
or timeout). The new attempt lists from the page of the first uncommitted row, never
rewrites a committed batch, and keeps the first attempt's window: --batch-size,
--tag-concurrency, --tags-per-activity and --tag-mode may change, the window and page
size may not.`,
		Example: `  starter resume expiry-sync-0a1b2c3d-20261126T083500.000Z --wait
  starter resume expiry-sync-0a1b2c3d-20261126T083500.000Z --tag-concurrency 5`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: e.completeSyncIDs(resumableStates),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.resume = args[0]
			return e.runSync(cmd, o)
		},
	}
	f := cmd.Flags()
	addSyncInputFlags(f, &o.input)
	for _, k := range syncKnobs {
		if k.fixed {
			_ = f.MarkHidden(k.flag) // fixed by the sync's checkpoint
		}
	}
	addWaitFlag(f, &o.wait)
	e.completeKnobs(cmd)
	describeOutput(cmd, started{}, "Without --wait")
	describeOutput(cmd, syncState{}, "With --wait: the final state, as `starter status` prints it")
	return cmd
}

func addWaitFlag(f *pflag.FlagSet, wait *bool) {
	f.BoolVar(
		wait,
		"wait",
		false,
		"wait for the sync to end, showing its progress on stderr, and print its final state",
	)
}

// started is what sync and resume print when they do not wait.
type started struct {
	SyncID string `json:"sync_id" doc:"the workflow id"`
	RunID  string `json:"run_id" doc:"the run just started"`
	WebURL string `json:"web_url" doc:"the sync in the Temporal Web UI"`
}

func (s started) text() string {
	return fmt.Sprintf("Started sync %s (run %s)\nWeb UI: %s", s.SyncID, s.RunID, s.WebURL)
}

func (s started) PrintText(w io.Writer) error {
	_, err := fmt.Fprintln(w, s.text())
	return err
}

func (e *env) runSync(cmd *cobra.Command, o *startOptions) error {
	in, err := validateFlags(o.input)
	if err != nil {
		return err
	}
	if err := e.checkStart(cmd, o); err != nil {
		return err
	}
	if o.resume == "" {
		in = useAccountDefaults(cmd.Flags(), in)
	}
	timeout := commandTimeout
	if o.wait {
		timeout = noTimeout
	}
	return e.withTemporal(cmd, timeout, func(ctx context.Context, c *conn) error {
		t, id, reuse := o.target, newSyncID(o.target, time.Now()), enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE
		if o.resume != "" {
			if in, err = e.resumeInput(ctx, c, o.resume, in, cmd.Flags()); err != nil {
				return err
			}
			t, id, reuse =
				target{account: in.Account}, o.resume, enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY
		}
		if err := e.refuseIfBusy(ctx, c, t); err != nil {
			return err
		}
		run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
			ID:                    id,
			TaskQueue:             e.cfg.Temporal.TaskQueue,
			WorkflowIDReusePolicy: reuse,
			// Never attach to an existing run that happens to have this id.
			WorkflowExecutionErrorWhenAlreadyStarted: true,
			StaticSummary:                            fmt.Sprintf("Sync of %s: %s", t.text(), windowText(in)),
			TypedSearchAttributes:                    startAttributes(t, in),
		}, t.workflowType(), t.input(in))
		var already *serviceerror.WorkflowExecutionAlreadyStarted
		if errors.As(err, &already) {
			return fail(fmt.Errorf(
				"sync %s already exists (another start in the same millisecond?): "+
					"nothing started; see 'starter status %s'",
				id,
				id,
			))
		}
		if err != nil {
			return fail(fmt.Errorf("could not start sync %s: %v", id, err))
		}
		s := started{SyncID: id, RunID: run.GetRunID(), WebURL: e.webURL(id)}
		if !o.wait {
			return e.print(s)
		}
		e.out.Textf("%s", s.text())
		if t.all {
			return e.waitAllAccounts(ctx, c, run)
		}
		return e.waitSync(ctx, c, run)
	})
}

// checkStart refuses contradicting flags before Temporal is asked.
func (e *env) checkStart(cmd *cobra.Command, o *startOptions) error {
	if o.resume == "" {
		return o.target.check(cmd.Flags())
	}
	if err := checkSyncID(o.resume); err != nil {
		return err
	}
	for _, f := range []string{"account", "all-accounts"} {
		if cmd.Flags().Changed(f) {
			return fmt.Errorf("--%s cannot be given with --resume: a resumed sync keeps its account", f)
		}
	}
	return nil
}

// resumableStates are the states a sync can be resumed from.
var resumableStates = []enumspb.WorkflowExecutionStatus{
	enumspb.WORKFLOW_EXECUTION_STATUS_FAILED, enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED,
	enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED, enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT,
}

// resumeInput checks that the sync can be resumed and rebuilds its input:
// the options it ran with, overridden by the flags given now.
func (e *env) resumeInput(
	ctx context.Context,
	c *conn,
	id string,
	given workflows.SyncInput,
	flags *pflag.FlagSet,
) (workflows.SyncInput, error) {
	desc, err := e.describeSync(ctx, c, id)
	if err != nil {
		return given, err
	}
	if isAllAccounts(desc.GetWorkflowExecutionInfo()) {
		return given, fmt.Errorf(
			"sync %q syncs every account: "+
				"resume the syncs of the accounts that failed (see 'starter status %s'), or start a new one",
			id,
			id,
		)
	}
	if st := desc.GetWorkflowExecutionInfo().GetStatus(); !containsStatus(resumableStates, st) {
		return given, fmt.Errorf(
			"sync %q is %s: only a failed, canceled, terminated or timed-out sync can be resumed",
			id,
			stateName(st),
		)
	}
	for _, k := range syncKnobs {
		if k.fixed && flags.Changed(k.flag) {
			// The window and page size are fixed by the sync log's checkpoint.
			return given, fmt.Errorf("--%s cannot change on resume: the sync keeps its window and pages", k.flag)
		}
	}
	prev, err := c.startInput(ctx, id)
	if err != nil {
		return given, fail(fmt.Errorf("resume %s: reading its input: %v", id, err))
	}
	copyGivenKnobs(flags, &prev, given)
	prev.Resume, prev.Cursor = true, nil
	return prev.WithDefaults(), nil
}

// startInput reads the input of the latest run of a workflow, with the
// client's data converter (the input is encrypted when the payload key is set).
func (c *conn) startInput(ctx context.Context, id string) (workflows.SyncInput, error) {
	var in workflows.SyncInput
	it := c.GetWorkflowHistory(ctx, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	if !it.HasNext() {
		return in, errors.New("empty history")
	}
	ev, err := it.Next()
	if err != nil {
		return in, err
	}
	attrs := ev.GetWorkflowExecutionStartedEventAttributes()
	if attrs == nil {
		return in, errors.New("history does not start with WorkflowExecutionStarted")
	}
	return in, c.dc.FromPayloads(attrs.GetInput(), &in)
}

// waitSync follows the run's progress until it ends, then prints its state.
// Ctrl-C stops the waiting, not the sync.
func (e *env) waitSync(ctx context.Context, c *conn, run client.WorkflowRun) error {
	id := run.GetID()
	stopProgress := e.followProgress(ctx, c, id)
	err := run.Get(ctx, nil)
	stopProgress()
	if ctx.Err() != nil {
		return interrupted{fmt.Sprintf("Stopped waiting. Sync %s goes on in Temporal:\n"+
			"  follow it:  starter status %s\n  cancel it:  starter cancel %s\n  Web UI:     %s",
			id, id, id, e.webURL(id))}
	}
	desc, derr := e.describeSync(ctx, c, id)
	if derr != nil {
		return derr
	}
	st := e.syncState(ctx, c, desc)
	if perr := e.print(st); perr != nil {
		return perr
	}
	if err != nil {
		return fail(fmt.Errorf(
			"sync %s %s: %s\nResume it with: starter resume %s --wait",
			id,
			st.State,
			workflows.ErrorText(err),
			id,
		))
	}
	return nil
}

// refuseIfBusy stops before starting anything when a sync of the account
// already runs on the task queue (or, for every account, when a sync of
// every account does): account names are those of the task queue's
// workers. The worker enforces the rule in the database (two starts in the
// same instant); this says it sooner.
func (e *env) refuseIfBusy(ctx context.Context, c *conn, t target) error {
	query := fmt.Sprintf("WorkflowType = '%s' AND ExecutionStatus = 'Running' AND TaskQueue = '%s' AND %s",
		workflows.WorkflowName, queueName(e.cfg.Temporal.TaskQueue), accountQuery([]string{t.account}))
	if t.all {
		query = fmt.Sprintf("WorkflowType = '%s' AND ExecutionStatus = 'Running' AND TaskQueue = '%s'",
			workflows.AllAccountsWorkflowName, queueName(e.cfg.Temporal.TaskQueue))
	}
	running, err := e.listSyncs(ctx, c, query, 1)
	if err != nil || len(running) == 0 {
		return err
	}
	return fail(fmt.Errorf(
		"%s is already being synced by %s (started %s): nothing started; wait for it, "+
			"or cancel it with 'starter cancel %s'",
		t.text(),
		running[0].SyncID,
		utc(running[0].StartedAt),
		running[0].SyncID,
	))
}

// queueName quotes nothing: a task queue name with a quote cannot be
// queried, so the quote is dropped (the query then finds nothing).
func queueName(q string) string { return strings.ReplaceAll(q, "'", "") }

// startAttributes make a sync findable (and its account busy) from the
// moment it starts; the workflow keeps them up to date. A sync of every
// account has none: its children carry theirs.
func startAttributes(t target, in workflows.SyncInput) temporal.SearchAttributes {
	if t.all {
		return temporal.SearchAttributes{}
	}
	return temporal.NewSearchAttributes(
		workflows.AttrSyncStatus.ValueSet("running"),
		workflows.AttrExpireDays.ValueSet(int64(in.ExpireDays)),
		workflows.AttrAccount.ValueSet(t.account),
	)
}

// newSyncID names a sync after its account and start time, so the Web UI's
// list reads well: expiry-sync-<account name>-<UTC time to the millisecond>,
// or expiry-sync-all-<UTC time> for every account.
func newSyncID(t target, now time.Time) string {
	name := t.account
	if t.all {
		name = "all"
	}
	return "expiry-sync-" + name + "-" + now.UTC().Format("20060102T150405.000Z")
}
