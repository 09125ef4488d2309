package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"expiry-sync/internal/config"
	"expiry-sync/internal/contract"
	"expiry-sync/workflows"
)

func (e *env) scheduleCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "schedule",
		Short: "Run syncs on a recurring schedule (Temporal Schedules)",
		Long: `schedule manages Temporal Schedules that start syncs on their own: at the times of a cron
expression or at a fixed interval. Each run is a normal sync of one account (or of every
account: --all-accounts), with the workflow id expiry-sync-<schedule ID>-<schedule time>.
By default a run is skipped while the previous sync still runs (--overlap-policy skip),
so two syncs of one account never overlap. The flags are named as those of the official
'temporal schedule' commands.

The schedules live in TEMPORAL_NAMESPACE and start syncs on TEMPORAL_TASK_QUEUE.`,
		Example: `  starter schedule create nightly --cron "0 2 * * *" --time-zone Asia/Shanghai --expire-days 30
  starter schedule list
  starter schedule describe nightly
  starter schedule trigger nightly`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(
		e.scheduleCreateCommand(), e.scheduleListCommand(), e.scheduleDescribeCommand(),
		e.scheduleUpdateCommand(), e.schedulePauseCommand(true), e.schedulePauseCommand(false),
		e.scheduleTriggerCommand(), e.scheduleBackfillCommand(), e.scheduleDeleteCommand(),
	)
	return cmd
}

// oneID is cobra.ExactArgs(1) with a pointer to the help.
func oneID(cmd *cobra.Command, args []string) error {
	if err := cobra.ExactArgs(1)(cmd, args); err != nil {
		return fmt.Errorf(
			"%s needs exactly one schedule ID: %v (see '%s --help')",
			cmd.CommandPath(),
			err,
			cmd.CommandPath(),
		)
	}
	return nil
}

func (e *env) scheduleCreateCommand() *cobra.Command {
	o := &scheduleOptions{}
	cmd := &cobra.Command{
		Use:   "create ID (--cron EXPR | --interval DURATION) [flags]",
		Short: "Create a schedule that starts a sync at the times of --cron or every --interval",
		Long: `create makes a Temporal Schedule that starts a sync with the given options (the same knobs
as 'starter sync') at the times of --cron, read in --time-zone, or every --interval.
Exactly one of --cron and --interval is required. The ID is 1..200 characters of
A-Z a-z 0-9 . _ - and names the syncs: expiry-sync-<ID>-<schedule time>. A schedule
syncs one account (--account, default "default") or every account the workers serve
(--all-accounts); without --expire-days, --lookback-days and --tag-mode each run takes
the account's defaults from the workers' accounts file.`,
		Example: `  starter schedule create nightly --cron "0 2 * * *" --time-zone Asia/Shanghai --expire-days 30
  starter schedule create nightly-all --cron "0 2 * * *" --time-zone Asia/Shanghai --all-accounts
  starter schedule create hourly --interval 1h --account prod --expire-days 7 --jitter 5m ` +
			`--notes "ops-1234: hourly until the renewal wave ends"
  starter schedule create weekly-long --cron "30 3 * * MON" --expire-days 365 --lookback-days 60 --paused -o json`,
		Args: oneID,
		RunE: func(cmd *cobra.Command, args []string) error { return e.runScheduleCreate(cmd, args[0], o) },
	}
	addScheduleFlags(cmd.Flags(), o)
	markAccountDefaults(cmd.Flags())
	addTargetFlags(cmd.Flags(), &o.target)
	e.completeScheduleFlags(cmd)
	describeOutput(cmd, createdSchedule{})
	return cmd
}

func (e *env) runScheduleCreate(cmd *cobra.Command, id string, o *scheduleOptions) error {
	if err := validateScheduleID(id); err != nil {
		return err
	}
	changed := cmd.Flags().Changed
	if err := o.validate(changed, true); err != nil {
		return err
	}
	if err := o.target.check(cmd.Flags()); err != nil {
		return err
	}
	in, _ := validateFlags(o.input)
	in = useAccountDefaults(cmd.Flags(), in)
	return e.withTemporal(cmd, commandTimeout, func(ctx context.Context, c *conn) error {
		var spec client.ScheduleSpec
		o.applySpec(&spec, changed)
		_, err := c.ScheduleClient().Create(ctx, client.ScheduleOptions{
			ID:             id,
			Spec:           spec,
			Action:         syncAction(id, e.cfg.Temporal.TaskQueue, o.target, in, temporal.SearchAttributes{}),
			Overlap:        enumspb.ScheduleOverlapPolicy(o.overlap),
			CatchupWindow:  o.catchup.d,
			PauseOnFailure: o.pauseOnFailure,
			Paused:         o.paused,
			Note:           o.notes,
		})
		if err != nil {
			return e.scheduleError(id, o.cron, err)
		}
		v, err := e.scheduleView(ctx, c, id, 0)
		if err != nil {
			return err
		}
		return e.print(createdSchedule{v})
	})
}

// syncWorkflowID is the id prefix of the syncs a schedule starts; Temporal
// appends the schedule time (expiry-sync-nightly-2026-11-26T02:00:00Z).
func syncWorkflowID(scheduleID string) string { return "expiry-sync-" + scheduleID }

// syncAction is what the schedule does: start a sync of t with this input.
func syncAction(
	scheduleID, taskQueue string,
	t target,
	in workflows.SyncInput,
	keep temporal.SearchAttributes,
) *client.ScheduleWorkflowAction {
	attrs := []temporal.SearchAttributeUpdate{keep.Copy(), workflows.AttrExpireDays.ValueSet(int64(in.ExpireDays))}
	if !t.all {
		attrs = append(attrs, workflows.AttrAccount.ValueSet(t.account))
	}
	return &client.ScheduleWorkflowAction{
		ID:                    syncWorkflowID(scheduleID),
		Workflow:              t.workflowType(),
		Args:                  []any{t.input(in)},
		TaskQueue:             taskQueue,
		StaticSummary:         fmt.Sprintf("Sync of %s: %s (schedule %s)", t.text(), windowText(in), scheduleID),
		TypedSearchAttributes: temporal.NewSearchAttributes(attrs...),
	}
}

// isSyncWorkflow tells whether a schedule starting this workflow type is the
// starter's: a sync of one account or of every account.
func isSyncWorkflow(workflowType string) bool {
	return workflowType == workflows.WorkflowName || workflowType == workflows.AllAccountsWorkflowName
}

func (e *env) scheduleUpdateCommand() *cobra.Command {
	o := &scheduleOptions{}
	cmd := &cobra.Command{
		Use:   "update ID [flags]",
		Short: "Change a schedule: only the flags given change",
		Long: `update changes the settings given as flags and keeps every other one, including the
sync options of its action: 'update nightly --expire-days 14' changes only the window.
--cron or --interval replaces the times of the schedule.`,
		Example: `  starter schedule update nightly --expire-days 14
  starter schedule update nightly --cron "0 3 * * *" --time-zone Europe/Berlin
  starter schedule update hourly --interval 2h --overlap-policy buffer-one --notes "ops-1300: slower"`,
		Args:              oneID,
		ValidArgsFunction: e.completeScheduleIDs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.runScheduleUpdate(cmd, args[0], o)
		},
	}
	addScheduleFlags(cmd.Flags(), o)
	// Flags not given keep the schedule's values: show no defaults.
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		switch f.Value.Type() {
		case "int":
			f.DefValue = "0"
		case "bool":
			f.DefValue = "false"
		default:
			f.DefValue = ""
		}
	})
	cmd.Flags().Lookup("paused").Usage = "pause (--paused) or unpause (--paused=false) the schedule"
	cmd.Flags().Lookup("start-time").Usage = `start no sync before this time (RFC 3339; "" removes the bound)`
	cmd.Flags().Lookup("end-time").Usage = `start no sync after this time (RFC 3339; "" removes the bound)`
	e.completeScheduleFlags(cmd)
	describeOutput(cmd, updatedSchedule{})
	return cmd
}

func (e *env) runScheduleUpdate(cmd *cobra.Command, id string, o *scheduleOptions) error {
	changed := cmd.Flags().Changed
	if !slices.ContainsFunc(scheduleFlags, changed) && !anyKnobGiven(cmd.Flags()) {
		return fmt.Errorf("nothing to update: give at least one flag to change, e.g. --expire-days 14 " +
			"(see 'starter schedule update --help')")
	}
	if err := o.validate(changed, false); err != nil {
		return err
	}
	return e.withSchedule(cmd, id, "update", func(
		ctx context.Context, c *conn, before *workflowservice.DescribeScheduleResponse,
	) error {
		// doErr is an error of DoUpdate, returned as is (bad input or failure).
		var doErr error
		err := c.ScheduleClient().GetHandle(ctx, id).Update(ctx, client.ScheduleUpdateOptions{
			DoUpdate: func(u client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
				s, err := o.updated(c, id, u.Description.Schedule, cmd.Flags())
				doErr = err
				return &client.ScheduleUpdate{Schedule: &s}, err
			},
		})
		if doErr != nil && errors.Is(err, doErr) {
			return doErr
		}
		if err != nil {
			return e.scheduleError(id, o.cron, err)
		}
		after, err := e.scheduleView(ctx, c, id, 0)
		if err != nil {
			return err
		}
		return e.print(updatedSchedule{scheduleView: after, Changes: scheduleDiff(e.viewOf(c, id, before), after)})
	})
}

// updated is schedule s with the flags given applied.
func (o *scheduleOptions) updated(
	c *conn,
	id string,
	s client.Schedule,
	flags *pflag.FlagSet,
) (client.Schedule, error) {
	act, ok := s.Action.(*client.ScheduleWorkflowAction)
	if !ok {
		return s, notOurs(id, "(not a workflow)", "update")
	}
	if !isSyncWorkflow(fmt.Sprint(act.Workflow)) {
		return s, notOurs(id, fmt.Sprint(act.Workflow), "update")
	}
	t, in, err := decodeArg(c, fmt.Sprint(act.Workflow), act.Args)
	if err != nil {
		return s, fail(fmt.Errorf("schedule %s: reading the sync options of its action: %v", id, err))
	}
	windowGiven := slices.ContainsFunc(windowFlags, flags.Changed)
	if in.ExpireDays == 0 && windowGiven {
		// The account's defaults no longer apply: the flags not given
		// take the starter's defaults.
		in.ExpireDays, in.LookbackDays, in.TagMode =
			contract.DefaultExpireDays, contract.DefaultLookbackDays, workflows.TagModeAuto
	}
	copyGivenKnobs(flags, &in, o.input)
	if in, err = validateStored(in); err != nil {
		return s, err
	}
	next := syncAction(id, act.TaskQueue, t, in, act.TypedSearchAttributes)
	next.ID, next.Memo, next.UntypedSearchAttributes = act.ID, act.Memo, act.UntypedSearchAttributes
	next.WorkflowExecutionTimeout, next.WorkflowRunTimeout, next.WorkflowTaskTimeout =
		act.WorkflowExecutionTimeout, act.WorkflowRunTimeout, act.WorkflowTaskTimeout
	next.RetryPolicy, next.StaticDetails, next.Priority = act.RetryPolicy, act.StaticDetails, act.Priority
	next.VersioningOverride = act.VersioningOverride
	s.Action = next

	spec, policy, state := client.ScheduleSpec{}, client.SchedulePolicies{}, client.ScheduleState{}
	if s.Spec != nil {
		spec = *s.Spec
	}
	if s.Policy != nil {
		policy = *s.Policy
	}
	if s.State != nil {
		state = *s.State
	}
	o.applySpec(&spec, flags.Changed)
	o.applyPolicies(&policy, &state, flags.Changed)
	s.Spec, s.Policy, s.State = &spec, &policy, &state
	return s, nil
}

// decodeArg reads what a schedule's action syncs and with which knobs: the
// SDK hands the input over still encoded by the client's data converter
// (encrypted with the payload key).
func decodeArg(c *conn, workflowType string, args []any) (target, workflows.SyncInput, error) {
	if len(args) != 1 {
		return target{}, workflows.SyncInput{}, fmt.Errorf("%d arguments, want 1", len(args))
	}
	p, ok := args[0].(*commonpb.Payload)
	if !ok {
		return target{}, workflows.SyncInput{}, fmt.Errorf("argument is %T, not a payload", args[0])
	}
	return decodeInput(c, workflowType, p)
}

// decodeInput reads the input of a sync of one account or of every account.
func decodeInput(c *conn, workflowType string, p *commonpb.Payload) (target, workflows.SyncInput, error) {
	if workflowType == workflows.AllAccountsWorkflowName {
		var all workflows.AllAccountsInput
		err := c.decode(p, &all)
		all.Sync.Account = config.DefaultAccount // each child's is set by the parent
		return target{all: true}, all.Sync, err
	}
	var in workflows.SyncInput
	err := c.decode(p, &in)
	return target{account: cmp.Or(in.Account, config.DefaultAccount)}, in, err
}

func (e *env) scheduleListCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the sync schedules of the namespace",
		Long: `list shows every schedule of TEMPORAL_NAMESPACE that starts syncs: its times, overlap
policy, pause state, next run, most recent action and note. Temporal lists schedules
from its visibility store, so a schedule created a moment ago may take a second to appear.`,
		Example: `  starter schedule list
  starter schedule list -o json | jq -r '.[].schedule_id'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return e.withTemporal(cmd, commandTimeout, func(ctx context.Context, c *conn) error {
				l, err := e.listSchedules(ctx, c)
				if err != nil {
					return err
				}
				return e.print(l)
			})
		},
	}
	describeOutput(cmd, scheduleList{})
	return cmd
}

// scheduleIDs lists the ids of the namespace's schedules that may start syncs.
func (e *env) scheduleIDs(ctx context.Context, c *conn) ([]string, error) {
	var ids []string
	var token []byte
	for {
		res, err := c.WorkflowService().ListSchedules(ctx, &workflowservice.ListSchedulesRequest{
			Namespace: e.cfg.Temporal.Namespace, MaximumPageSize: 1000, NextPageToken: token,
		})
		if err != nil {
			return nil, fail(fmt.Errorf("listing the schedules of namespace %s: %v", e.cfg.Temporal.Namespace, err))
		}
		for _, s := range res.GetSchedules() {
			// Entries whose info is not indexed yet are checked by describe.
			if t := s.GetInfo().GetWorkflowType().GetName(); t == "" || isSyncWorkflow(t) {
				ids = append(ids, s.GetScheduleId())
			}
		}
		if token = res.GetNextPageToken(); len(token) == 0 {
			break
		}
	}
	slices.Sort(ids)
	return slices.Compact(ids), nil
}

func (e *env) listSchedules(ctx context.Context, c *conn) (scheduleList, error) {
	l := scheduleList{namespace: e.cfg.Temporal.Namespace, rows: []scheduleRow{}}
	ids, err := e.scheduleIDs(ctx, c)
	if err != nil {
		return l, err
	}
	for _, id := range ids {
		v, err := e.scheduleView(ctx, c, id, 1)
		if isNoSchedule(err) {
			continue // deleted since it was listed
		}
		if err != nil {
			return l, err
		}
		if isSyncWorkflow(v.Action.WorkflowType) {
			l.rows = append(l.rows, rowOf(v))
		}
	}
	return l, nil
}

func (e *env) scheduleDescribeCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "describe ID",
		Short: "Show a schedule: its times, policies, sync options, next runs and recent syncs",
		Long: `describe shows a schedule's times, overlap policy, catchup window, pause state and note,
the sync options its syncs run with, the next 5 run times, the recent syncs it started
with their workflow ids and statuses, and the schedule's page in the Temporal Web UI.
Temporal stores a cron expression in structured form, so describe prints an equivalent
expression (MON-FRI comes back as 1-5).`,
		Example: `  starter schedule describe nightly
  starter schedule describe nightly -o json | jq '.recent_actions[-1].workflow_id'`,
		Args:              oneID,
		ValidArgsFunction: e.completeScheduleIDs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withTemporal(cmd, commandTimeout, func(ctx context.Context, c *conn) error {
				v, err := e.scheduleView(ctx, c, args[0], -1)
				if err != nil {
					return err
				}
				return e.print(v)
			})
		},
	}
	describeOutput(cmd, scheduleView{})
	return cmd
}

// describeSchedule is the raw description: unlike the SDK's it carries the
// status of each recent action and the buffer size.
func (e *env) describeSchedule(
	ctx context.Context,
	c *conn,
	id string,
) (*workflowservice.DescribeScheduleResponse, error) {
	req := &workflowservice.DescribeScheduleRequest{Namespace: e.cfg.Temporal.Namespace, ScheduleId: id}
	res, err := c.WorkflowService().DescribeSchedule(ctx, req)
	if err != nil {
		return nil, e.scheduleError(id, "", err)
	}
	return res, nil
}

// withSchedule dials Temporal and runs fn on schedule id, once it is known
// to start syncs: the starter changes no other schedule (verb says how).
func (e *env) withSchedule(
	cmd *cobra.Command,
	id, verb string,
	fn func(context.Context, *conn, *workflowservice.DescribeScheduleResponse) error,
) error {
	return e.withTemporal(cmd, commandTimeout, func(ctx context.Context, c *conn) error {
		desc, err := e.describeSchedule(ctx, c, id)
		if err != nil {
			return err
		}
		if t := desc.GetSchedule().GetAction().GetStartWorkflow().GetWorkflowType().GetName(); !isSyncWorkflow(t) {
			return notOurs(id, t, verb)
		}
		return fn(ctx, c, desc)
	})
}

// noSchedule is the error of an unknown schedule ID (exit 2).
type noSchedule struct{ id, namespace string }

func (n noSchedule) Error() string {
	return fmt.Sprintf("no schedule %q in namespace %s (see 'starter schedule list')", n.id, n.namespace)
}

func isNoSchedule(err error) bool {
	var n noSchedule
	return errors.As(err, &n)
}

func notOurs(id, workflowType, verb string) error {
	return fmt.Errorf(
		"schedule %q starts workflow type %q, not %s or %s: starter does not %s it (use the temporal CLI)",
		id,
		workflowType,
		workflows.WorkflowName,
		workflows.AllAccountsWorkflowName,
		verb,
	)
}

// scheduleError turns a Temporal error into the starter's: bad input (exit 2)
// for what the user can fix by changing the command, a failure otherwise.
func (e *env) scheduleError(id, cron string, err error) error {
	var f failure
	if errors.As(err, &f) || isNoSchedule(err) {
		return err
	}
	ns := e.cfg.Temporal.Namespace
	var notFound *serviceerror.NotFound
	var invalid *serviceerror.InvalidArgument
	switch {
	case errors.Is(err, temporal.ErrScheduleAlreadyRunning):
		return fmt.Errorf("schedule %q already exists in namespace %s: use 'starter schedule update %s'", id, ns, id)
	case errors.As(err, &notFound):
		return noSchedule{id, ns}
	case errors.As(err, &invalid):
		msg := invalid.Error()
		if reason, ok := strings.CutPrefix(msg, "Invalid schedule spec: "); ok {
			switch {
			case strings.Contains(reason, "time zone"):
				return fmt.Errorf("--time-zone was rejected by Temporal: %s", reason)
			case cron != "":
				return fmt.Errorf(`--cron %q is not a valid cron expression: %s; allowed: `+
					`5 to 7 fields "[second] minute hour day-of-month month day-of-week [year]" `+
					`or @hourly, @daily, @weekly, @monthly, @yearly`, cron, reason)
			}
			return fmt.Errorf("the times of schedule %s were rejected by Temporal: %s", id, reason)
		}
		if strings.Contains(msg, "search attribute") {
			return fail(fmt.Errorf("schedule %s: %s; start the worker once (it registers the search attributes) "+
				"or run: temporal operator search-attribute create --namespace %s --name %s --type Int",
				id, msg, ns, workflows.AttrExpireDays.GetName()))
		}
		return fail(fmt.Errorf("schedule %s: Temporal refused: %s", id, msg))
	}
	return fail(fmt.Errorf("schedule %s: %v", id, err))
}
