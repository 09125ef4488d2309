package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

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

// addSyncInputFlags declares the flags of a sync's knobs, shared by `sync`
// and `schedule create`.
func addSyncInputFlags(f *pflag.FlagSet, in *workflows.SyncInput) {
	f.IntVar(&in.ExpireDays, "expire-days", 30, fmt.Sprintf("list resources expiring within this many days (1..%d)", workflows.MaxExpireDays))
	f.IntVar(&in.LookbackDays, "lookback-days", workflows.DefaultLookbackDays, fmt.Sprintf("also list resources expired up to this many days ago (0..%d)", workflows.MaxLookbackDays))
	f.IntVar(&in.PageSize, "page-size", workflows.DefaultPageSize, "resources per BSS listing call (1..500)")
	f.IntVar(&in.BatchSize, "batch-size", workflows.DefaultBatchSize, fmt.Sprintf("rows per database transaction (1..%d)", workflows.MaxBatchSize))
	f.IntVar(&in.TagConcurrency, "tag-concurrency", workflows.DefaultTagConcurrency, fmt.Sprintf("tag-query activities in flight (1..%d)", workflows.MaxTagConcurrency))
	f.IntVar(&in.TagsPerActivity, "tags-per-activity", workflows.DefaultTagsPerActivity, fmt.Sprintf("resources whose tags one activity reads (1..%d)", workflows.MaxTagsPerActivity))
}

// validateSyncInput checks the knobs as typed (flags carry their defaults,
// so a 0 was typed: WithDefaults would read it as "unset") and names the
// flag of the first bad one.
func validateSyncInput(in workflows.SyncInput) (workflows.SyncInput, error) {
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
	ctx := cmd.Context()
	c, err := e.dial(ctx)
	if err != nil {
		return err
	}
	defer c.Close()

	id := newSyncID(time.Now())
	reuse := enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE
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
	for _, name := range []string{"expire-days", "lookback-days", "page-size", "batch-size", "tag-concurrency", "tags-per-activity"} {
		if !cmd.Flags().Changed(name) {
			continue
		}
		switch name {
		case "batch-size":
			prev.BatchSize = flags.BatchSize
		case "tag-concurrency":
			prev.TagConcurrency = flags.TagConcurrency
		case "tags-per-activity":
			prev.TagsPerActivity = flags.TagsPerActivity
		default:
			// The window and page size are fixed by the sync log's checkpoint.
			return flags, fmt.Errorf("--%s cannot change on --resume: the sync keeps its window and pages", name)
		}
	}
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

// newSyncID names a sync after its account and start time, so the Web UI's
// list reads well: expiry-sync-<domain id>-<UTC time to the millisecond>.
func newSyncID(now time.Time) string {
	stamp := now.UTC().Format("20060102T150405.000Z")
	if account := os.Getenv("HUAWEI_DOMAIN_ID"); account != "" {
		return "expiry-sync-" + account + "-" + stamp
	}
	return "expiry-sync-" + stamp
}

// flagError turns a workflow input error into one about the starter's flag.
func flagError(err error) error {
	var re *workflows.RangeError
	if errors.As(err, &re) {
		return fmt.Errorf("--%s=%d is out of range: allowed %d..%d", strings.ReplaceAll(re.Field, "_", "-"), re.Value, re.Min, re.Max)
	}
	return err
}
