package cli

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/jedib0t/go-pretty/v6/table"
	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"

	"expiry-sync/internal/contract"
	"expiry-sync/workflows"
)

// syncState is a sync as Temporal, its search attributes and its memo
// describe it: what status prints, list prints a row of, and sync --wait
// prints at the end.
type syncState struct {
	SyncID     string              `json:"sync_id" doc:"the workflow id"`
	Account    string              `json:"account" doc:"search attribute ExpirySyncAccount: the name of the account synced"`
	RunID      string              `json:"run_id" doc:"its newest run"`
	State      string              `json:"state" doc:"running, completed, failed, canceled, terminated or timed-out"`
	SyncStatus string              `json:"sync_status" doc:"search attribute ExpirySyncStatus: running, success, partial, failed or canceled"`
	Resources  int64               `json:"resources" doc:"search attribute ExpiringResources: rows committed so far, the total once done"`
	ExpireDays int64               `json:"expire_days" doc:"search attribute ExpireDays: the window"`
	StartedAt  time.Time           `json:"started_at" doc:"when the sync first started (memo sync_started_at), across resumes and continue-as-new"`
	ClosedAt   *time.Time          `json:"closed_at,omitempty" doc:"when its newest run ended"`
	Progress   *workflows.Progress `json:"progress,omitempty" doc:"a running sync's progress query"`
	Summary    *contract.Summary   `json:"summary,omitempty" doc:"a completed sync's result"`
	Error      string              `json:"error,omitempty" doc:"why a sync that did not complete ended"`
	WebURL     string              `json:"web_url" doc:"the sync in the Temporal Web UI"`
}

// stateOf reads what a visibility record or a description tells of a run.
func (e *env) stateOf(c *conn, info *workflowpb.WorkflowExecutionInfo) syncState {
	id := info.GetExecution().GetWorkflowId()
	st := syncState{
		SyncID: id, RunID: info.GetExecution().GetRunId(),
		State: stateName(info.GetStatus()), StartedAt: info.GetStartTime().AsTime(),
		WebURL: e.webURL(id),
	}
	fields := info.GetSearchAttributes().GetIndexedFields()
	attribute(fields, workflows.AttrAccount.GetName(), &st.Account)
	attribute(fields, workflows.AttrSyncStatus.GetName(), &st.SyncStatus)
	attribute(fields, workflows.AttrExpiringResources.GetName(), &st.Resources)
	attribute(fields, workflows.AttrExpireDays.GetName(), &st.ExpireDays)
	if started, ok := c.syncStartedAt(info.GetMemo()); ok {
		st.StartedAt = started
	}
	if info.GetCloseTime() != nil {
		t := info.GetCloseTime().AsTime()
		st.ClosedAt = &t
	}
	return st
}

// syncState adds to a description the progress of a running sync, or the
// result of a finished one.
func (e *env) syncState(
	ctx context.Context,
	c *conn,
	desc *workflowservice.DescribeWorkflowExecutionResponse,
) syncState {
	info := desc.GetWorkflowExecutionInfo()
	st := e.stateOf(c, info)
	if info.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		if p, err := queryProgress(ctx, c, st.SyncID); err == nil {
			st.Progress = &p
		}
		return st
	}
	var summary contract.Summary
	if err := c.GetWorkflow(ctx, st.SyncID, st.RunID).Get(ctx, &summary); err != nil {
		st.Error = workflows.ErrorText(err)
	} else {
		st.Summary = &summary
	}
	return st
}

// listSyncs runs a visibility query, newest first, one entry per sync.
func (e *env) listSyncs(ctx context.Context, c *conn, query string, limit int) (syncList, error) {
	runs := syncList{}
	seen := map[string]bool{} // a resumed sync has one execution per attempt: show the newest
	var token []byte
	for len(runs) < limit {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: e.cfg.Temporal.Namespace, Query: query, PageSize: int32(min(limit, 100)), NextPageToken: token,
		})
		if err != nil {
			return nil, fail(fmt.Errorf("listing syncs: %v", err))
		}
		for _, info := range resp.GetExecutions() {
			if id := info.GetExecution().GetWorkflowId(); !seen[id] {
				seen[id] = true
				runs = append(runs, e.stateOf(c, info))
			}
		}
		if token = resp.GetNextPageToken(); len(token) == 0 {
			break
		}
	}
	return runs[:min(len(runs), limit)], nil
}

// PrintText shows a finished sync's summary, else its state and progress.
func (st syncState) PrintText(w io.Writer) error {
	if st.Summary != nil {
		printSummary(w, st.Account, *st.Summary)
		fmt.Fprintf(w, "Web UI               %s\n", st.WebURL)
		return nil
	}
	k := newKV(w)
	k.row("Sync", st.SyncID)
	k.row("Account", orDash(st.Account))
	k.row("State", st.State)
	if st.SyncStatus != "" {
		k.row("Sync status", st.SyncStatus)
	}
	k.row("Started", fmt.Sprintf("%s (%s ago)", utc(st.StartedAt), time.Since(st.StartedAt).Round(time.Second)))
	if st.ClosedAt != nil {
		k.row(
			"Ended",
			fmt.Sprintf("%s (after %s)", utc(*st.ClosedAt), st.ClosedAt.Sub(st.StartedAt).Round(time.Second)),
		)
	}
	if p := st.Progress; p != nil {
		k.row("Attempt", fmt.Sprintf("%d (workflow runs: %d, account generation %d)", p.Attempt, p.Runs, p.Generation))
		k.row("Progress", progressCounts(*p))
		k.row("Now", p.Phase)
		if p.TagsDenied != "" {
			k.row("Tags denied", p.TagsDenied)
		}
		if p.LastError != "" {
			k.row("Last error", p.LastError)
		}
	}
	if st.Error != "" {
		k.row("Error", st.Error)
		k.row("Resume with", "starter resume "+st.SyncID)
	}
	k.row("Web UI", st.WebURL)
	return k.flush()
}

// syncList is what list prints.
type syncList []syncState

func (l syncList) Rows() any { return []syncState(l) }

func (l syncList) PrintText(w io.Writer) error {
	t := newTable(w)
	t.AppendHeader(table.Row{
		"SYNC ID",
		"ACCOUNT",
		"STATE",
		"SYNC STATUS",
		"RESOURCES",
		"EXPIRE DAYS",
		"STARTED (UTC)",
		"DURATION",
	})
	for _, r := range l {
		dur := time.Since(r.StartedAt).Round(time.Second).String() + "+"
		if r.ClosedAt != nil {
			dur = r.ClosedAt.Sub(r.StartedAt).Round(time.Second).String()
		}
		t.AppendRow(table.Row{
			r.SyncID,
			orDash(r.Account),
			r.State,
			r.SyncStatus,
			r.Resources,
			r.ExpireDays,
			r.StartedAt.UTC().Format(time.DateTime),
			dur,
		})
	}
	t.Render()
	return nil
}

func printSummary(w io.Writer, account string, s contract.Summary) {
	k := newKV(w)
	k.row("Sync", s.SyncID)
	k.row("Account", orDash(account))
	k.row("Status", s.Status)
	k.row("Window", fmt.Sprintf("%s .. %s (expire within %d days)", utc(s.WindowBegin), utc(s.WindowEnd), s.ExpireDays))
	k.row("Resources", s.TotalResources)
	k.row("  tagged", s.TaggedResources)
	k.row("  type without tags", s.UntaggedResources)
	k.row("  vanished (404)", s.VanishedResources)
	k.row("  tag errors", s.TagErrorResources)
	k.row("Re-checked by id", s.RecheckedResources)
	k.row("Marked inactive", s.DeactivatedResources)
	if s.QuarantinedRecords > 0 {
		k.row("Quarantined records", s.QuarantinedRecords)
	}
	k.row("Batches committed", s.BatchesCommitted)
	k.row("Rows written", s.RowsWritten)
	k.row("Attempts", s.Attempts)
	k.row("Retries", s.Retries)
	if s.FinishedAt != nil {
		k.row("Duration", s.FinishedAt.Sub(s.StartedAt).Round(time.Second))
	}
	_ = k.flush()
	if len(s.TagErrors) > 0 {
		fmt.Fprintf(w, "\nResources stored without tags because TMS refused them (%d):\n", s.TagErrorResources)
		for _, te := range s.TagErrors {
			fmt.Fprintf(w, "  %s: %s\n", te.ResourceID, te.Error)
		}
	}
	printNotes(w, "Partial because", s.Notes.Degraded)
	printNotes(w, "Bulk tag reads done one by one instead", s.Notes.Fallbacks)
	printNotes(w, "Skipped records (a sample)", s.Notes.Quarantined)
}

func printNotes(w io.Writer, title string, notes []string) {
	if len(notes) == 0 {
		return
	}
	fmt.Fprintf(w, "\n%s:\n", title)
	for _, n := range notes {
		fmt.Fprintf(w, "  %s\n", n)
	}
}

// kv prints aligned "key  value" lines.
type kv struct{ tw *tabwriter.Writer }

func newKV(w io.Writer) kv             { return kv{tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)} }
func (k kv) row(key string, value any) { fmt.Fprintf(k.tw, "%s\t%v\n", key, value) }
func (k kv) flush() error              { return k.tw.Flush() }

// newTable is the CLI's one table style: plain text that reads well in a
// terminal and in logs.
func newTable(w io.Writer) table.Writer {
	t := table.NewWriter()
	t.SetOutputMirror(w)
	t.SetStyle(table.StyleLight)
	t.Style().Options.SeparateRows = false
	return t
}
