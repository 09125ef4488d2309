package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"expiry-sync/activities"
	"expiry-sync/workflows"
)

type syncOptions struct {
	input  workflows.SyncInput
	wait   bool
	json   bool
	resume string
}

func newSyncCommand(e *env) *cobra.Command {
	o := &syncOptions{}
	cmd := &cobra.Command{
		Use:   "sync",
		Short: "Start a sync of the resources expiring within --expire-days",
		Example: `  starter sync --expire-days 30 --wait
  starter sync --expire-days 7 --tag-concurrency 50 --json
  starter sync --resume expiry-sync-0a1b2c-20261126T083500Z --wait`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return e.runSync(cmd, o) },
	}
	f := cmd.Flags()
	addSyncInputFlags(f, &o.input)
	f.BoolVar(&o.wait, "wait", false, "wait for the sync to end, showing its progress, and print its summary")
	f.BoolVar(&o.json, "json", false, "print a machine-readable JSON result on stdout")
	f.StringVar(&o.resume, "resume", "", "continue the failed or canceled sync with this id from its last committed batch")
	return cmd
}

// syncKnob is one option of a sync as a flag. The table below is the one
// place that knows them: sync and schedule create declare them, resume and
// schedule update copy the ones given, and describe prints them.
type syncKnob struct {
	flag  string
	usage string
	// ptr points at the knob's field; only int and string knobs exist.
	ptr func(in *workflows.SyncInput) any
	// fixed knobs cannot change once a sync has a checkpoint.
	fixed bool
}

var syncKnobs = []syncKnob{
	{"expire-days", fmt.Sprintf("list resources expiring within this many days (1..%d)", workflows.MaxExpireDays),
		func(in *workflows.SyncInput) any { return &in.ExpireDays }, true},
	{"lookback-days", fmt.Sprintf("also list resources expired up to this many days ago (0..%d)", workflows.MaxLookbackDays),
		func(in *workflows.SyncInput) any { return &in.LookbackDays }, true},
	{"page-size", "resources per BSS listing call (1..500)",
		func(in *workflows.SyncInput) any { return &in.PageSize }, true},
	{"batch-size", fmt.Sprintf("rows per database transaction (1..%d)", workflows.MaxBatchSize),
		func(in *workflows.SyncInput) any { return &in.BatchSize }, false},
	{"tag-concurrency", fmt.Sprintf("tag-query activities in flight (1..%d)", workflows.MaxTagConcurrency),
		func(in *workflows.SyncInput) any { return &in.TagConcurrency }, false},
	{"tags-per-activity", fmt.Sprintf("resources whose tags one activity reads (1..%d)", workflows.MaxTagsPerActivity),
		func(in *workflows.SyncInput) any { return &in.TagsPerActivity }, false},
	{"tag-mode", fmt.Sprintf("how tags are read: per-resource, bulk (TMS ListResource) or auto (bulk from %d resources)", workflows.AutoBulkResources),
		func(in *workflows.SyncInput) any { return &in.TagMode }, false},
}

// addSyncInputFlags declares the knobs' flags, with the defaults a sync uses.
func addSyncInputFlags(f *pflag.FlagSet, in *workflows.SyncInput) {
	*in = workflows.SyncInput{ExpireDays: 30, LookbackDays: workflows.DefaultLookbackDays}.WithDefaults()
	for _, k := range syncKnobs {
		switch p := k.ptr(in).(type) {
		case *int:
			f.IntVar(p, k.flag, *p, k.usage)
		case *string:
			f.StringVar(p, k.flag, *p, k.usage)
		}
	}
}

// copyGivenKnobs sets in dst the knobs whose flags were given (from src),
// and returns their flag names.
func copyGivenKnobs(flags *pflag.FlagSet, dst *workflows.SyncInput, src workflows.SyncInput) []string {
	var given []string
	for _, k := range syncKnobs {
		if !flags.Changed(k.flag) {
			continue
		}
		given = append(given, k.flag)
		switch p := k.ptr(dst).(type) {
		case *int:
			*p = *k.ptr(&src).(*int)
		case *string:
			*p = *k.ptr(&src).(*string)
		}
	}
	return given
}

// knobValues renders each knob of in as flag=value text, in table order.
func knobValues(in workflows.SyncInput) [][2]string {
	out := make([][2]string, len(syncKnobs))
	for i, k := range syncKnobs {
		switch p := k.ptr(&in).(type) {
		case *int:
			out[i] = [2]string{k.flag, strconv.Itoa(*p)}
		case *string:
			out[i] = [2]string{k.flag, *p}
		}
	}
	return out
}

// knobsText renders in as the flags that would start it.
func knobsText(in workflows.SyncInput) string {
	var parts []string
	for _, kv := range knobValues(in) {
		parts = append(parts, "--"+kv[0]+" "+kv[1])
	}
	return strings.Join(parts, " ")
}

// validateSyncInput checks the knobs as typed (flags carry their defaults,
// so a 0 was typed: WithDefaults would read it as "unset") and names the
// flag of the first bad one.
func validateSyncInput(in workflows.SyncInput) (workflows.SyncInput, error) {
	if in.TagMode == "" { // "" means auto in the workflow's input, but here it was typed
		return in, flagError(&workflows.ChoiceError{Field: "tag_mode", Value: in.TagMode, Allowed: workflows.TagModes})
	}
	if err := in.Validate(); err != nil {
		return in, flagError(err)
	}
	return in.WithDefaults(), nil
}

func (e *env) runSync(cmd *cobra.Command, o *syncOptions) error {
	in, err := validateSyncInput(o.input)
	if err != nil {
		return err
	}
	if o.resume != "" {
		if err := checkSyncID(o.resume); err != nil {
			return err
		}
	}
	ctx := cmd.Context()
	c, err := e.dial(ctx)
	if err != nil {
		return err
	}
	defer c.Close()

	id := newSyncID(time.Now())
	reuse := enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE
	if err := e.refuseIfAccountBusy(ctx, c); err != nil {
		return err
	}
	if o.resume != "" {
		if in, err = e.resumeInput(ctx, c, o.resume, in, cmd); err != nil {
			return err
		}
		id, reuse = o.resume, enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY
	}
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                    id,
		TaskQueue:             e.temporal.TaskQueue,
		WorkflowIDReusePolicy: reuse,
		// Never attach to an existing run that happens to have this id.
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		StaticSummary:                            fmt.Sprintf("Sync of resources expiring within %d days", in.ExpireDays),
		TypedSearchAttributes:                    startAttributes(in),
	}, workflows.WorkflowName, in)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		return fail(fmt.Errorf("sync %s already exists (another start in the same second?): nothing started; see 'starter status %s'", id, id))
	}
	if err != nil {
		return fail(fmt.Errorf("could not start sync %s: %v", id, err))
	}
	if !o.json {
		fmt.Fprintf(e.stdout, "Started sync %s (run %s)\nWeb UI: %s\n", id, run.GetRunID(), e.webURL(id))
	}
	if !o.wait {
		if o.json {
			return e.printJSON(map[string]string{"sync_id": id, "run_id": run.GetRunID(), "web_url": e.webURL(id)})
		}
		return nil
	}
	return e.waitSync(ctx, c, run, o.json)
}

// resumeInput checks that the sync can be resumed and rebuilds its input:
// the options it ran with, overridden by flags given now.
func (e *env) resumeInput(ctx context.Context, c client.Client, id string, flags workflows.SyncInput, cmd *cobra.Command) (workflows.SyncInput, error) {
	desc, err := e.describeSync(ctx, c, id)
	if err != nil {
		return flags, err
	}
	switch st := desc.GetWorkflowExecutionInfo().GetStatus(); st {
	case enumspb.WORKFLOW_EXECUTION_STATUS_FAILED, enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED,
		enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED, enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT:
	default:
		return flags, fmt.Errorf("sync %q is %s: only a failed, canceled, terminated or timed-out sync can be resumed", id, stateName(st))
	}
	prev, err := startInput(ctx, c, id)
	if err != nil {
		return flags, fail(fmt.Errorf("--resume %s: reading its input: %v", id, err))
	}
	for _, k := range syncKnobs {
		if k.fixed && cmd.Flags().Changed(k.flag) {
			// The window and page size are fixed by the sync log's checkpoint.
			return flags, fmt.Errorf("--%s cannot change on resume: the sync keeps its window and pages", k.flag)
		}
	}
	copyGivenKnobs(cmd.Flags(), &prev, flags)
	prev.Resume, prev.Cursor = true, nil
	return prev.WithDefaults(), nil
}

// startInput reads the input of the latest run of a workflow.
func startInput(ctx context.Context, c client.Client, id string) (workflows.SyncInput, error) {
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
	err = converter.GetDefaultDataConverter().FromPayloads(attrs.GetInput(), &in)
	return in, err
}

// waitSync follows the run's progress until it ends, then prints its summary.
func (e *env) waitSync(ctx context.Context, c client.Client, run client.WorkflowRun, asJSON bool) error {
	stopProgress := e.followProgress(ctx, c, run.GetID())
	var summary activities.Summary
	err := run.Get(ctx, &summary)
	stopProgress()
	if err != nil {
		reason := workflows.ErrorText(err)
		if asJSON {
			_ = e.printJSON(map[string]any{"sync_id": run.GetID(), "status": "failed", "error": reason, "web_url": e.webURL(run.GetID())})
		}
		return fail(fmt.Errorf("sync %s failed: %s\nResume it with: starter resume %s --wait", run.GetID(), reason, run.GetID()))
	}
	if asJSON {
		return e.printJSON(summary)
	}
	printSummary(e.stdout, summary)
	return nil
}

// refuseIfAccountBusy stops before starting anything when a sync of the
// account (HUAWEI_DOMAIN_ID) already runs. The worker enforces the same rule
// in the database (two starts in the same instant); this says it sooner.
func (e *env) refuseIfAccountBusy(ctx context.Context, c client.Client) error {
	account := os.Getenv("HUAWEI_DOMAIN_ID")
	if account == "" {
		return nil
	}
	query := fmt.Sprintf("WorkflowType = '%s' AND ExecutionStatus = 'Running' AND %s = '%s'",
		workflows.WorkflowName, workflows.AttrAccount.GetName(), strings.ReplaceAll(account, "'", ""))
	running, err := e.listSyncs(ctx, c, query, 1)
	if err != nil || len(running) == 0 {
		return err
	}
	return fail(fmt.Errorf("account %s is already being synced by %s (started %s): nothing started; wait for it, or cancel it with 'starter cancel %s'",
		account, running[0].SyncID, running[0].StartedAt.UTC().Format(time.RFC3339), running[0].SyncID))
}

// startAttributes makes a sync findable (and its account busy) from the
// moment it starts; the workflow keeps them up to date.
func startAttributes(in workflows.SyncInput) temporal.SearchAttributes {
	updates := []temporal.SearchAttributeUpdate{
		workflows.AttrSyncStatus.ValueSet("running"),
		workflows.AttrExpireDays.ValueSet(int64(in.ExpireDays)),
	}
	if account := os.Getenv("HUAWEI_DOMAIN_ID"); account != "" {
		updates = append(updates, workflows.AttrAccount.ValueSet(account))
	}
	return temporal.NewSearchAttributes(updates...)
}

// newSyncID names a sync after its account and start time, so the Web UI's
// list reads well: expiry-sync-<domain id>-<UTC time to the millisecond>.
func newSyncID(now time.Time) string {
	stamp := now.UTC().Format("20060102T150405.000Z")
	if account := os.Getenv("HUAWEI_DOMAIN_ID"); account != "" {
		return "expiry-sync-" + account + "-" + stamp
	}
	return "expiry-sync-" + stamp
}

func flagName(field string) string { return strings.ReplaceAll(field, "_", "-") }

// flagError turns a workflow input error into one about the starter's flag.
func flagError(err error) error {
	var re *workflows.RangeError
	if errors.As(err, &re) {
		return fmt.Errorf("--%s=%d is out of range: allowed %d..%d", flagName(re.Field), re.Value, re.Min, re.Max)
	}
	var ce *workflows.ChoiceError
	if errors.As(err, &ce) {
		return fmt.Errorf("--%s=%q is not allowed: use one of %s", flagName(ce.Field), ce.Value, strings.Join(ce.Allowed, ", "))
	}
	return err
}
