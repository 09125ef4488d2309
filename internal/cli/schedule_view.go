package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/jedib0t/go-pretty/v6/table"
	enumspb "go.temporal.io/api/enums/v1"
	schedulepb "go.temporal.io/api/schedule/v1"
	"go.temporal.io/api/workflowservice/v1"

	"expiry-sync/workflows"
)

// nextRunsShown: how many of the next action times a view holds.
const nextRunsShown = 5

// scheduleView is a schedule as describe shows it (and create and update print).
type scheduleView struct {
	ID             string         `json:"schedule_id" doc:"the schedule's id"`
	Namespace      string         `json:"namespace" doc:"TEMPORAL_NAMESPACE"`
	WebURL         string         `json:"web_url" doc:"the schedule in the Temporal Web UI"`
	Spec           specView       `json:"spec" doc:"when it starts syncs"`
	Overlap        string         `json:"overlap" doc:"--overlap-policy: skip, buffer-one, buffer-all, allow-all, cancel-other or terminate-other"`
	CatchupWindow  string         `json:"catchup_window" doc:"--catchup-window, e.g. 8760h (Temporal's default)"`
	PauseOnFailure bool           `json:"pause_on_failure" doc:"--pause-on-failure"`
	Paused         bool           `json:"paused" doc:"whether it is paused"`
	Note           string         `json:"note" doc:"--notes, or the note of the last pause or unpause"`
	Action         actionView     `json:"action" doc:"the workflow it starts"`
	Accounts       []string       `json:"accounts" doc:"the accounts its syncs sync; empty with all_accounts: every account the workers serve"`
	AllAccounts    bool           `json:"all_accounts" doc:"--all-accounts: it starts a SyncAllAccounts parent, one child sync per account"`
	Sync           *syncOptions   `json:"sync" doc:"the sync options of the syncs it starts (null if unreadable)"`
	ActionsTaken   int64          `json:"actions_taken" doc:"syncs started"`
	SkippedOverlap int64          `json:"skipped_overlap" doc:"syncs skipped by the overlap policy"`
	MissedCatchup  int64          `json:"missed_catchup_window" doc:"syncs missed beyond the catchup window"`
	Buffered       int64          `json:"buffered" doc:"syncs waiting for the running one to end"`
	Running        []string       `json:"running" doc:"workflow ids of its running syncs"`
	NextRuns       []time.Time    `json:"next_runs" doc:"the next 5 times it starts a sync"`
	RecentActions  []actionResult `json:"recent_actions" doc:"the syncs it started lately, oldest first"`
	CreatedAt      time.Time      `json:"created_at"`
	UpdatedAt      *time.Time     `json:"updated_at,omitempty"`
}

// specView: when a schedule acts. Temporal keeps a cron expression in
// structured form; Cron prints it back as an equivalent expression.
type specView struct {
	Cron      []string   `json:"cron,omitempty" doc:"cron expressions"`
	Every     []string   `json:"every,omitempty" doc:"intervals, as --interval takes them (1h, 60m/15m)"`
	Timezone  string     `json:"timezone" doc:"--time-zone"`
	Jitter    string     `json:"jitter" doc:"--jitter"`
	StartTime *time.Time `json:"start_time,omitempty" doc:"--start-time"`
	EndTime   *time.Time `json:"end_time,omitempty" doc:"--end-time"`
}

type actionView struct {
	WorkflowType string `json:"workflow_type" doc:"SyncExpiringResources, or SyncAllAccounts for every account"`
	WorkflowID   string `json:"workflow_id" doc:"the id prefix of its syncs: Temporal appends the schedule time"`
	TaskQueue    string `json:"task_queue" doc:"TEMPORAL_TASK_QUEUE when it was created"`
	Summary      string `json:"summary,omitempty" doc:"the syncs' summary in the Web UI"`
	ExpireDays   *int64 `json:"expire_days_search_attribute,omitempty" doc:"the ExpireDays search attribute its syncs start with"`
}

type actionResult struct {
	ScheduledAt time.Time `json:"scheduled_at"`
	StartedAt   time.Time `json:"started_at"`
	WorkflowID  string    `json:"workflow_id"`
	RunID       string    `json:"run_id"`
	Status      string    `json:"status" doc:"the workflow's: running, completed, failed, canceled, terminated, timed-out, or unknown"`
	SyncStatus  string    `json:"sync_status,omitempty" doc:"the sync's own (ExpirySyncStatus): success, partial, failed..."`
	WebURL      string    `json:"web_url"`
}

func (a actionResult) statusText() string {
	if a.SyncStatus != "" && a.SyncStatus != a.Status {
		return a.Status + ", " + a.SyncStatus
	}
	return a.Status
}

func (s specView) text() string {
	var parts []string
	for _, c := range s.Cron {
		parts = append(parts, "cron "+c)
	}
	for _, ev := range s.Every {
		parts = append(parts, "every "+ev)
	}
	if len(parts) == 0 {
		parts = append(parts, "no times (trigger only)")
	}
	return strings.Join(parts, "; ") + " (" + s.Timezone + ")"
}

// scheduleView describes a schedule. statuses is how many of the most recent
// actions get their workflow's current status (-1: all): the schedule's own
// record of it is eventually consistent.
func (e *env) scheduleView(ctx context.Context, c *conn, id string, statuses int) (scheduleView, error) {
	res, err := e.describeSchedule(ctx, c, id)
	if err != nil {
		return scheduleView{}, err
	}
	v := e.viewOf(c, id, res)
	if statuses < 0 || statuses > len(v.RecentActions) {
		statuses = len(v.RecentActions)
	}
	for i := len(v.RecentActions) - statuses; i < len(v.RecentActions); i++ {
		refreshStatus(ctx, c, &v.RecentActions[i])
	}
	return v, nil
}

func (e *env) viewOf(c *conn, id string, res *workflowservice.DescribeScheduleResponse) scheduleView {
	s, info := res.GetSchedule(), res.GetInfo()
	sw := s.GetAction().GetStartWorkflow()
	v := scheduleView{
		ID:             id,
		Namespace:      e.cfg.Temporal.Namespace,
		WebURL:         e.scheduleURL(id),
		Spec:           specOf(s.GetSpec()),
		Overlap:        overlapName(s.GetPolicies().GetOverlapPolicy()),
		CatchupWindow:  formatDuration(s.GetPolicies().GetCatchupWindow().AsDuration()),
		PauseOnFailure: s.GetPolicies().GetPauseOnFailure(),
		Paused:         s.GetState().GetPaused(),
		Note:           s.GetState().GetNotes(),
		Action: actionView{
			WorkflowType: sw.GetWorkflowType().GetName(),
			WorkflowID:   sw.GetWorkflowId(),
			TaskQueue:    sw.GetTaskQueue().GetName(),
		},
		ActionsTaken:   info.GetActionCount(),
		SkippedOverlap: info.GetOverlapSkipped(),
		MissedCatchup:  info.GetMissedCatchupWindow(),
		Buffered:       info.GetBufferSize(),
		Running:        runningIDs(info),
		Accounts:       []string{},
		NextRuns:       []time.Time{},
		RecentActions:  []actionResult{},
		CreatedAt:      info.GetCreateTime().AsTime(),
	}
	if s.GetPolicies().GetCatchupWindow() == nil {
		v.CatchupWindow = formatDuration(defaultCatchupWindow)
	}
	if info.GetUpdateTime() != nil {
		t := info.GetUpdateTime().AsTime()
		v.UpdatedAt = &t
	}
	// The summary and the input went through the client's data converter.
	if p := sw.GetUserMetadata().GetSummary(); p != nil {
		_ = c.decode(p, &v.Action.Summary)
	}
	var n int64
	if attribute(sw.GetSearchAttributes().GetIndexedFields(), workflows.AttrExpireDays.GetName(), &n) {
		v.Action.ExpireDays = &n
	}
	if isSyncWorkflow(v.Action.WorkflowType) && len(sw.GetInput().GetPayloads()) == 1 {
		if t, in, err := decodeInput(c, v.Action.WorkflowType, sw.GetInput().GetPayloads()[0]); err == nil {
			opts := syncOptionsOf(in)
			v.Sync, v.AllAccounts = &opts, t.all
			if !t.all {
				v.Accounts = []string{t.account}
			}
		}
	}
	for _, t := range info.GetFutureActionTimes()[:min(nextRunsShown, len(info.GetFutureActionTimes()))] {
		v.NextRuns = append(v.NextRuns, t.AsTime())
	}
	for _, a := range info.GetRecentActions() {
		wid := a.GetStartWorkflowResult().GetWorkflowId()
		v.RecentActions = append(v.RecentActions, actionResult{
			ScheduledAt: a.GetScheduleTime().AsTime(),
			StartedAt:   a.GetActualTime().AsTime(),
			WorkflowID:  wid,
			RunID:       a.GetStartWorkflowResult().GetRunId(),
			Status:      statusName(a.GetStartWorkflowStatus()),
			WebURL:      e.webURL(wid),
		})
	}
	return v
}

// refreshStatus reads the sync's current status: the schedule learns of it late.
func refreshStatus(ctx context.Context, c *conn, a *actionResult) {
	if a.WorkflowID == "" {
		return
	}
	desc, err := c.DescribeWorkflow(ctx, a.WorkflowID, "")
	if err != nil {
		return // keep the schedule's view
	}
	info := desc.RawResponse.GetWorkflowExecutionInfo()
	a.Status = statusName(info.GetStatus())
	attribute(info.GetSearchAttributes().GetIndexedFields(), workflows.AttrSyncStatus.GetName(), &a.SyncStatus)
}

// statusName is stateName, where unspecified means the schedule does not know yet.
func statusName(s enumspb.WorkflowExecutionStatus) string {
	if s == enumspb.WORKFLOW_EXECUTION_STATUS_UNSPECIFIED {
		return "unknown"
	}
	return stateName(s)
}

func runningIDs(info *schedulepb.ScheduleInfo) []string {
	ids := []string{}
	for _, w := range info.GetRunningWorkflows() {
		ids = append(ids, w.GetWorkflowId())
	}
	return ids
}

func latestAction(actions []*schedulepb.ScheduleActionResult) *schedulepb.ScheduleActionResult {
	var last *schedulepb.ScheduleActionResult
	for _, a := range actions {
		if last == nil || !a.GetActualTime().AsTime().Before(last.GetActualTime().AsTime()) {
			last = a
		}
	}
	return last
}

func specOf(s *schedulepb.ScheduleSpec) specView {
	v := specView{Timezone: s.GetTimezoneName(), Jitter: formatDuration(s.GetJitter().AsDuration())}
	if v.Timezone == "" {
		v.Timezone = "UTC"
	}
	for _, cal := range s.GetStructuredCalendar() {
		v.Cron = append(v.Cron, cronOf(cal))
	}
	for _, iv := range s.GetInterval() {
		ev := formatDuration(iv.GetInterval().AsDuration())
		if ph := iv.GetPhase().AsDuration(); ph != 0 {
			ev += "/" + formatDuration(ph)
		}
		v.Every = append(v.Every, ev)
	}
	// A schedule whose cron strings were not compiled (never by Temporal
	// today) still shows them.
	v.Cron = append(v.Cron, s.GetCronString()...)
	if t := s.GetStartTime(); t != nil {
		at := t.AsTime()
		v.StartTime = &at
	}
	if t := s.GetEndTime(); t != nil {
		at := t.AsTime()
		v.EndTime = &at
	}
	return v
}

// cronOf prints a structured calendar as a cron expression: 5 fields when
// it fires at second 0 of any year, else 6 or 7.
func cronOf(c *schedulepb.StructuredCalendarSpec) string {
	field := func(rs []*schedulepb.Range, lo, hi int32, empty string) string {
		var parts []string
		for _, r := range rs {
			start, end, step := r.GetStart(), r.GetEnd(), r.GetStep()
			if end < start {
				end = start
			}
			var s string
			switch {
			case start == lo && end == hi:
				s = "*"
			case start == end:
				s = fmt.Sprint(start)
			default:
				s = fmt.Sprintf("%d-%d", start, end)
			}
			if step > 1 && start != end {
				s += fmt.Sprintf("/%d", step)
			}
			parts = append(parts, s)
		}
		if len(parts) == 0 {
			return empty
		}
		return strings.Join(parts, ",")
	}
	sec := field(c.GetSecond(), 0, 59, "0")
	fields := []string{
		field(c.GetMinute(), 0, 59, "0"), field(c.GetHour(), 0, 23, "0"), field(c.GetDayOfMonth(), 1, 31, "*"),
		field(c.GetMonth(), 1, 12, "*"), field(c.GetDayOfWeek(), 0, 6, "*"),
	}
	year := field(c.GetYear(), 0, 0, "")
	switch {
	case sec != "0":
		if year == "" {
			year = "*"
		}
		fields = append(append([]string{sec}, fields...), year)
	case year != "":
		fields = append(fields, year)
	}
	out := strings.Join(fields, " ")
	if c.GetComment() != "" {
		out += " # " + c.GetComment()
	}
	return out
}

func (v scheduleView) nextRun() *time.Time {
	if len(v.NextRuns) == 0 {
		return nil
	}
	return &v.NextRuns[0]
}

func (v scheduleView) nextRunText() string {
	if len(v.NextRuns) == 0 {
		return "none"
	}
	s := formatTime(v.NextRuns[0], v.Spec.Timezone)
	if v.Paused {
		s += " (paused: 'starter schedule unpause " + v.ID + "' to resume)"
	}
	return s
}

// PrintText writes describe's output.
func (v scheduleView) PrintText(w io.Writer) error {
	state := "active"
	if v.Paused {
		state = "paused"
	}
	kv := newKV(w)
	row := kv.row
	row("Schedule", v.ID)
	row("Namespace", v.Namespace)
	row("Web UI", v.WebURL)
	row("Spec", v.Spec.text())
	row("Jitter", v.Spec.Jitter)
	if v.Spec.StartTime != nil || v.Spec.EndTime != nil {
		row("Between", fmt.Sprintf(
			"%s and %s",
			timeOrDash(v.Spec.StartTime, v.Spec.Timezone),
			timeOrDash(v.Spec.EndTime, v.Spec.Timezone),
		))
	}
	row("Overlap", v.Overlap)
	if v.CatchupWindow == formatDuration(defaultCatchupWindow) {
		row("Catchup window", v.CatchupWindow+" (one year, Temporal's default)")
	} else {
		row("Catchup window", v.CatchupWindow)
	}
	row("Pause on failure", yesNo(v.PauseOnFailure))
	row("State", state)
	row("Note", orDash(v.Note))
	row("Workflow", fmt.Sprintf(
		"%s on task queue %s, id %s-<schedule time>",
		v.Action.WorkflowType,
		v.Action.TaskQueue,
		v.Action.WorkflowID,
	))
	if v.Action.Summary != "" {
		row("Summary", v.Action.Summary)
	}
	row("Accounts", accountsText(v.Accounts, v.AllAccounts))
	if v.Sync != nil {
		row("Sync options", v.Sync.text())
	}
	row("Actions", fmt.Sprintf(
		"%d taken, %d skipped (overlap), %d missed (catchup window), %d buffered",
		v.ActionsTaken,
		v.SkippedOverlap,
		v.MissedCatchup,
		v.Buffered,
	))
	row("Running", orDash(strings.Join(v.Running, ", ")))
	row("Created", formatTime(v.CreatedAt, v.Spec.Timezone))
	if v.UpdatedAt != nil {
		row("Updated", formatTime(*v.UpdatedAt, v.Spec.Timezone))
	}
	if err := kv.flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	v.printNextRuns(w)
	fmt.Fprintln(w)
	v.printRecent(w)
	return nil
}

func (v scheduleView) printNextRuns(w io.Writer) {
	if len(v.NextRuns) == 0 {
		fmt.Fprintln(w, "Next runs: none")
		return
	}
	title := "Next runs:"
	if v.Paused {
		title = "Next runs (none starts while paused):"
	}
	fmt.Fprintln(w, title)
	for _, t := range v.NextRuns {
		fmt.Fprintln(w, "  "+formatTime(t, v.Spec.Timezone))
	}
}

func (v scheduleView) printRecent(w io.Writer) {
	if len(v.RecentActions) == 0 {
		fmt.Fprintf(w, "Recent syncs: none yet (start one now with 'starter schedule trigger %s')\n", v.ID)
		return
	}
	fmt.Fprintln(w, "Recent syncs:")
	t := newTable(w)
	t.AppendHeader(table.Row{"SCHEDULED", "STARTED", "WORKFLOW ID", "STATUS"})
	for _, a := range v.RecentActions {
		t.AppendRow(table.Row{
			formatTime(a.ScheduledAt, v.Spec.Timezone),
			formatTime(a.StartedAt, v.Spec.Timezone),
			a.WorkflowID,
			a.statusText(),
		})
	}
	t.Render()
}

// text renders the options as the flags that would start such a sync.
func (o syncOptions) text() string {
	if o.ExpireDays == 0 {
		return "the account's default window and tag mode, " + knobsText(o.input())
	}
	return knobsText(o.input())
}

// input turns the shown options back into a sync input.
func (o syncOptions) input() workflows.SyncInput {
	return workflows.SyncInput{
		ExpireDays:      o.ExpireDays,
		LookbackDays:    o.LookbackDays,
		PageSize:        o.PageSize,
		BatchSize:       o.BatchSize,
		TagConcurrency:  o.TagConcurrency,
		TagsPerActivity: o.TagsPerActivity,
		TagMode:         o.TagMode,
	}
}

// formatTime prints a time in the schedule's time zone.
func formatTime(t time.Time, tz string) string {
	if t.IsZero() {
		return "-"
	}
	if loc, err := time.LoadLocation(tz); err == nil {
		t = t.In(loc)
	}
	return t.Format(time.RFC3339)
}

func timeOrDash(t *time.Time, tz string) string {
	if t == nil {
		return "-"
	}
	return formatTime(*t, tz)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
