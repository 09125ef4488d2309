package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/jedib0t/go-pretty/v6/table"
	"github.com/spf13/cobra"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"expiry-sync/activities"
	"expiry-sync/workflows"
)

// runState is a sync as Temporal and its search attributes describe it.
type runState struct {
	SyncID     string              `json:"sync_id"`
	RunID      string              `json:"run_id"`
	State      string              `json:"state"`       // running, completed, failed, canceled, terminated, timed-out
	SyncStatus string              `json:"sync_status"` // running, success, partial, failed, canceled
	Resources  int64               `json:"resources"`
	ExpireDays int64               `json:"expire_days"`
	StartedAt  time.Time           `json:"started_at"`
	ClosedAt   *time.Time          `json:"closed_at,omitempty"`
	Progress   *workflows.Progress `json:"progress,omitempty"`
	Summary    *activities.Summary `json:"summary,omitempty"`
	Error      string              `json:"error,omitempty"`
	WebURL     string              `json:"web_url"`
}

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

// states are the --status values of `list`: Temporal's states, and the
// sync outcomes a run's search attribute records.
var states = map[string]string{
	"running":    "ExecutionStatus = 'Running'",
	"completed":  "ExecutionStatus = 'Completed'",
	"failed":     "ExecutionStatus = 'Failed'",
	"canceled":   "ExecutionStatus = 'Canceled'",
	"terminated": "ExecutionStatus = 'Terminated'",
	"timed-out":  "ExecutionStatus = 'TimedOut'",
	"success":    "ExpirySyncStatus = 'success'",
	"partial":    "ExpirySyncStatus = 'partial'",
}

const stateList = "running, completed, failed, canceled, terminated, timed-out, success, partial"

// checkSyncID refuses what cannot be a sync id before asking Temporal.
func checkSyncID(id string) error {
	ok := utf8.ValidString(id) && len(id) > 0 && len(id) <= 255 &&
		!strings.ContainsFunc(id, func(r rune) bool { return unicode.IsControl(r) || unicode.IsSpace(r) })
	if !ok {
		return fmt.Errorf("sync id %q is not valid: allowed 1..255 bytes of printable UTF-8 without spaces, e.g. expiry-sync-<account>-20261126T083500.000Z", id)
	}
	return nil
}

// describeSync finds the newest run of a sync, or says the id is unknown.
func (e *env) describeSync(ctx context.Context, c client.Client, id string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	if err := checkSyncID(id); err != nil {
		return nil, err
	}
	desc, err := c.DescribeWorkflow(ctx, id, "")
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return nil, fmt.Errorf("no sync %q in namespace %s (see 'starter list')", id, e.temporal.Namespace)
	}
	if err != nil {
		return nil, fail(fmt.Errorf("sync %q: %v", id, err))
	}
	return desc.RawResponse, nil
}

func (e *env) syncState(ctx context.Context, c client.Client, desc *workflowservice.DescribeWorkflowExecutionResponse) runState {
	info := desc.GetWorkflowExecutionInfo()
	st := runState{
		SyncID: info.GetExecution().GetWorkflowId(), RunID: info.GetExecution().GetRunId(),
		State: stateName(info.GetStatus()), StartedAt: info.GetStartTime().AsTime(),
		WebURL: e.webURL(info.GetExecution().GetWorkflowId()),
	}
	fillAttributes(&st, info.GetSearchAttributes().GetIndexedFields())
	fillStart(&st, info.GetMemo().GetFields())
	if info.GetCloseTime() != nil {
		t := info.GetCloseTime().AsTime()
		st.ClosedAt = &t
	}
	if info.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		if p, err := queryProgress(ctx, c, st.SyncID); err == nil {
			st.Progress = &p
		}
		return st
	}
	var summary activities.Summary
	if err := c.GetWorkflow(ctx, st.SyncID, st.RunID).Get(ctx, &summary); err != nil {
		st.Error = workflows.ErrorText(err)
	} else {
		st.Summary = &summary
	}
	return st
}

// fillAttributes reads the sync's search attributes (absent on a run that
// failed before it set them).
func fillAttributes(st *runState, fields map[string]*commonpb.Payload) {
	dc := converter.GetDefaultDataConverter()
	if p, ok := fields[workflows.AttrSyncStatus.GetName()]; ok {
		_ = dc.FromPayload(p, &st.SyncStatus)
	}
	if p, ok := fields[workflows.AttrExpiringResources.GetName()]; ok {
		_ = dc.FromPayload(p, &st.Resources)
	}
	if p, ok := fields[workflows.AttrExpireDays.GetName()]; ok {
		_ = dc.FromPayload(p, &st.ExpireDays)
	}
}

// fillStart takes the sync's first start from its memo: the run Temporal
// describes may be a later one (continue-as-new, resume).
func fillStart(st *runState, memo map[string]*commonpb.Payload) {
	var started time.Time
	if p, ok := memo[workflows.MemoStartedAt]; ok && converter.GetDefaultDataConverter().FromPayload(p, &started) == nil && !started.IsZero() {
		st.StartedAt = started
	}
}

func newStatusCommand(e *env) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status SYNC_ID",
		Short: "Show a sync's state, progress, timings and last error",
		Example: `  starter status expiry-sync-0a1b2c3d-20261126T083500Z
  starter status expiry-sync-0a1b2c3d-20261126T083500Z --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkSyncID(args[0]); err != nil {
				return err
			}
			c, err := e.dial(cmd.Context())
			if err != nil {
				return err
			}
			defer c.Close()
			desc, err := e.describeSync(cmd.Context(), c, args[0])
			if err != nil {
				return err
			}
			st := e.syncState(cmd.Context(), c, desc)
			if asJSON {
				return e.printJSON(st)
			}
			printState(e.stdout, st)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the state as JSON")
	return cmd
}

func printState(w io.Writer, st runState) {
	if st.Summary != nil {
		printSummary(w, *st.Summary)
		fmt.Fprintf(w, "Web UI               %s\n", st.WebURL)
		return
	}
	tw := newKV(w)
	tw.row("Sync", st.SyncID)
	tw.row("State", st.State)
	if st.SyncStatus != "" {
		tw.row("Sync status", st.SyncStatus)
	}
	tw.row("Started", fmt.Sprintf("%s (%s ago)", st.StartedAt.UTC().Format(time.RFC3339), time.Since(st.StartedAt).Round(time.Second)))
	if st.ClosedAt != nil {
		tw.row("Ended", fmt.Sprintf("%s (after %s)", st.ClosedAt.UTC().Format(time.RFC3339), st.ClosedAt.Sub(st.StartedAt).Round(time.Second)))
	}
	if p := st.Progress; p != nil {
		tw.row("Attempt", fmt.Sprintf("%d (workflow runs: %d)", p.Attempt, p.Runs))
		tw.row("Progress", progressCounts(*p))
		tw.row("Now", p.Phase)
		if p.LastError != "" {
			tw.row("Last error", p.LastError)
		}
	}
	if st.Error != "" {
		tw.row("Error", st.Error)
		tw.row("Resume with", "starter resume "+st.SyncID)
	}
	tw.row("Web UI", st.WebURL)
	tw.flush()
}

func newListCommand(e *env) *cobra.Command {
	var (
		status string
		limit  int
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List recent syncs, newest first",
		Example: `  starter list
  starter list --status failed
  starter list --status running --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			query := fmt.Sprintf("WorkflowType = '%s' AND ExecutionStatus != 'ContinuedAsNew'", workflows.WorkflowName)
			if status != "" {
				cond, ok := states[status]
				if !ok {
					return fmt.Errorf("--status %q is not allowed: use one of %s", status, stateList)
				}
				query += " AND " + cond
			}
			if limit < 1 || limit > 1000 {
				return fmt.Errorf("--limit=%d is out of range: allowed 1..1000", limit)
			}
			c, err := e.dial(cmd.Context())
			if err != nil {
				return err
			}
			defer c.Close()
			runs, err := e.listSyncs(cmd.Context(), c, query, limit)
			if err != nil {
				return err
			}
			if asJSON {
				return e.printJSON(runs)
			}
			printRuns(e.stdout, runs)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&status, "status", "", "only syncs in this state: "+stateList)
	f.IntVar(&limit, "limit", 20, "at most this many syncs (1..1000)")
	f.BoolVar(&asJSON, "json", false, "print the list as JSON")
	return cmd
}

func (e *env) listSyncs(ctx context.Context, c client.Client, query string, limit int) ([]runState, error) {
	runs := []runState{}
	seen := map[string]bool{} // a resumed sync has one execution per attempt: show the newest
	var token []byte
	for len(runs) < limit {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: e.temporal.Namespace, Query: query, PageSize: int32(min(limit, 100)), NextPageToken: token,
		})
		if err != nil {
			return nil, fail(fmt.Errorf("listing syncs: %v", err))
		}
		for _, info := range resp.GetExecutions() {
			if seen[info.GetExecution().GetWorkflowId()] {
				continue
			}
			seen[info.GetExecution().GetWorkflowId()] = true
			st := runState{
				SyncID: info.GetExecution().GetWorkflowId(), RunID: info.GetExecution().GetRunId(),
				State: stateName(info.GetStatus()), StartedAt: info.GetStartTime().AsTime(),
				WebURL: e.webURL(info.GetExecution().GetWorkflowId()),
			}
			if info.GetCloseTime() != nil {
				t := info.GetCloseTime().AsTime()
				st.ClosedAt = &t
			}
			fillAttributes(&st, info.GetSearchAttributes().GetIndexedFields())
			fillStart(&st, info.GetMemo().GetFields())
			runs = append(runs, st)
		}
		if token = resp.GetNextPageToken(); len(token) == 0 {
			break
		}
	}
	return runs[:min(len(runs), limit)], nil
}

func printRuns(w io.Writer, runs []runState) {
	t := newTable(w)
	t.AppendHeader(table.Row{"SYNC ID", "STATE", "SYNC STATUS", "RESOURCES", "EXPIRE DAYS", "STARTED (UTC)", "DURATION"})
	for _, r := range runs {
		dur := "-"
		if r.ClosedAt != nil {
			dur = r.ClosedAt.Sub(r.StartedAt).Round(time.Second).String()
		} else {
			dur = time.Since(r.StartedAt).Round(time.Second).String() + "+"
		}
		t.AppendRow(table.Row{r.SyncID, r.State, r.SyncStatus, r.Resources, r.ExpireDays, r.StartedAt.UTC().Format("2006-01-02 15:04:05"), dur})
	}
	t.Render()
}

func newCancelCommand(e *env) *cobra.Command {
	var wait bool
	cmd := &cobra.Command{
		Use:   "cancel SYNC_ID",
		Short: "Cancel a running sync; it keeps its checkpoint for 'starter resume'",
		Example: `  starter cancel expiry-sync-0a1b2c3d-20261126T083500Z
  starter cancel expiry-sync-0a1b2c3d-20261126T083500Z --wait`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, id := cmd.Context(), args[0]
			if err := checkSyncID(id); err != nil {
				return err
			}
			c, err := e.dial(ctx)
			if err != nil {
				return err
			}
			defer c.Close()
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
			fmt.Fprintf(e.stdout, "Cancel requested for sync %s: it stops at its next step and keeps its checkpoint.\nResume it with: starter resume %s\n", id, id)
			if !wait {
				return nil
			}
			err = c.GetWorkflow(ctx, id, "").Get(ctx, nil)
			fmt.Fprintf(e.stdout, "Sync %s ended: %s\n", id, endText(err))
			return nil
		},
	}
	cmd.Flags().BoolVar(&wait, "wait", false, "wait until the sync has stopped")
	return cmd
}

func endText(err error) string {
	if err == nil {
		return "completed before the cancel reached it"
	}
	return workflows.ErrorText(err)
}

func newResumeCommand(e *env) *cobra.Command {
	o := &syncOptions{}
	cmd := &cobra.Command{
		Use:   "resume SYNC_ID",
		Short: "Continue a failed or canceled sync from its last committed batch",
		Example: `  starter resume expiry-sync-0a1b2c3d-20261126T083500Z --wait
  starter resume expiry-sync-0a1b2c3d-20261126T083500Z --tag-concurrency 5`,
		Args: cobra.ExactArgs(1),
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
	f.BoolVar(&o.wait, "wait", false, "wait for the sync to end, showing its progress, and print its summary")
	f.BoolVar(&o.json, "json", false, "print a machine-readable JSON result on stdout")
	return cmd
}
