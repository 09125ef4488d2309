package cli

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/jedib0t/go-pretty/v6/table"
)

// createdSchedule is what create prints: the new schedule.
type createdSchedule struct{ scheduleView }

func (v createdSchedule) PrintText(w io.Writer) error {
	state, window := "", "the account's default window"
	if v.Paused {
		state = " (paused)"
	}
	if v.Sync != nil && v.Sync.ExpireDays > 0 {
		window = fmt.Sprintf("resources expiring within %d days", v.Sync.ExpireDays)
	}
	_, err := fmt.Fprintf(
		w,
		"Created schedule %s%s in namespace %s: %s, overlap %s; syncs %s of %s\nNext run: %s\nWeb UI: %s\n",
		v.ID,
		state,
		v.Namespace,
		v.Spec.text(),
		v.Overlap,
		window,
		accountsText(v.Accounts, v.AllAccounts),
		v.nextRunText(),
		v.WebURL,
	)
	return err
}

// updatedSchedule is what update prints: the schedule after the update,
// and what changed.
type updatedSchedule struct {
	scheduleView
	Changes []string `json:"changes" doc:"what the update changed, e.g. \"expire-days 7 -> 14\"; empty when nothing did"`
}

func (v updatedSchedule) PrintText(w io.Writer) error {
	if len(v.Changes) == 0 {
		_, err := fmt.Fprintf(w, "Schedule %s unchanged: it already had these settings\n", v.ID)
		return err
	}
	_, err := fmt.Fprintf(w, "Updated schedule %s: %s\n", v.ID, strings.Join(v.Changes, ", "))
	return err
}

// scheduleDiff lists what changed between two views, e.g. "expire-days 7 -> 14".
func scheduleDiff(a, b scheduleView) []string {
	out := []string{}
	add := func(name, x, y string) {
		if x != y {
			out = append(out, fmt.Sprintf("%s %s -> %s", name, x, y))
		}
	}
	add("spec", a.Spec.text(), b.Spec.text())
	add("jitter", a.Spec.Jitter, b.Spec.Jitter)
	add("start-time", timeOrDash(a.Spec.StartTime, "UTC"), timeOrDash(b.Spec.StartTime, "UTC"))
	add("end-time", timeOrDash(a.Spec.EndTime, "UTC"), timeOrDash(b.Spec.EndTime, "UTC"))
	add("overlap-policy", a.Overlap, b.Overlap)
	add("catchup-window", a.CatchupWindow, b.CatchupWindow)
	add("pause-on-failure", fmt.Sprint(a.PauseOnFailure), fmt.Sprint(b.PauseOnFailure))
	add("paused", fmt.Sprint(a.Paused), fmt.Sprint(b.Paused))
	add("notes", fmt.Sprintf("%q", a.Note), fmt.Sprintf("%q", b.Note))
	add("accounts", accountsText(a.Accounts, a.AllAccounts), accountsText(b.Accounts, b.AllAccounts))
	if a.Sync != nil && b.Sync != nil {
		x, y := knobValues(a.Sync.input()), knobValues(b.Sync.input())
		for i := range x {
			add(x[i][0], x[i][1], y[i][1])
		}
	}
	return out
}

// scheduleRow is one schedule of `schedule list`.
type scheduleRow struct {
	ID           string        `json:"schedule_id"`
	Spec         specView      `json:"spec"`
	Overlap      string        `json:"overlap"`
	Paused       bool          `json:"paused"`
	Note         string        `json:"note"`
	NextRun      *time.Time    `json:"next_run" doc:"null when none is due (paused, or past --end-time)"`
	RecentAction *actionResult `json:"recent_action" doc:"the latest sync it started, null before the first"`
	TaskQueue    string        `json:"task_queue"`
	Accounts     []string      `json:"accounts" doc:"the accounts its syncs sync; empty with all_accounts"`
	AllAccounts  bool          `json:"all_accounts" doc:"it syncs every account the workers serve"`
	ExpireDays   int           `json:"expire_days" doc:"--expire-days of its syncs; 0: each account's default"`
	WebURL       string        `json:"web_url"`
}

func rowOf(v scheduleView) scheduleRow {
	row := scheduleRow{ID: v.ID, Spec: v.Spec, Overlap: v.Overlap, Paused: v.Paused, Note: v.Note,
		TaskQueue: v.Action.TaskQueue, WebURL: v.WebURL, NextRun: v.nextRun(),
		Accounts: v.Accounts, AllAccounts: v.AllAccounts}
	if n := len(v.RecentActions); n > 0 {
		row.RecentAction = &v.RecentActions[n-1]
	}
	if v.Sync != nil {
		row.ExpireDays = v.Sync.ExpireDays
	}
	return row
}

// scheduleList is what `schedule list` prints.
type scheduleList struct {
	namespace string
	rows      []scheduleRow
}

func (l scheduleList) Rows() any { return l.rows }

func (l scheduleList) PrintText(w io.Writer) error {
	if len(l.rows) == 0 {
		_, err := fmt.Fprintf(
			w,
			"No sync schedules in namespace %s. "+
				"Create one with: starter schedule create nightly --cron \"0 2 * * *\"\n",
			l.namespace,
		)
		return err
	}
	t := newTable(w)
	t.AppendHeader(table.Row{"ID", "ACCOUNTS", "SPEC", "OVERLAP", "PAUSED", "NEXT RUN", "RECENT ACTION", "NOTE"})
	for _, r := range l.rows {
		next, recent := "-", "-"
		if r.NextRun != nil {
			next = formatTime(*r.NextRun, r.Spec.Timezone)
		}
		if a := r.RecentAction; a != nil {
			recent = a.WorkflowID + " (" + a.statusText() + ")"
		}
		t.AppendRow(table.Row{
			r.ID,
			accountsText(r.Accounts, r.AllAccounts),
			r.Spec.text(),
			r.Overlap,
			yesNo(r.Paused),
			next,
			recent,
			orDash(r.Note),
		})
	}
	t.Render()
	return nil
}

// pauseResult is what pause and unpause print.
type pauseResult struct {
	ScheduleID string     `json:"schedule_id"`
	Paused     bool       `json:"paused" doc:"the state now"`
	Unchanged  bool       `json:"unchanged" doc:"it already was in that state"`
	Note       string     `json:"note"`
	NextRun    *time.Time `json:"next_run"`
	WebURL     string     `json:"web_url"`
	nextText   string
}

func (r pauseResult) PrintText(w io.Writer) error {
	already := ""
	if r.Unchanged {
		already = " (it already was)"
	}
	var err error
	if r.Paused {
		_, err = fmt.Fprintf(
			w,
			"Paused schedule %s%s: no sync starts until 'starter schedule unpause %s'; note %q\n",
			r.ScheduleID,
			already,
			r.ScheduleID,
			r.Note,
		)
	} else {
		_, err = fmt.Fprintf(w, "Unpaused schedule %s%s: next run %s; note %q\n",
			r.ScheduleID, already, r.nextText, r.Note)
	}
	return err
}

// triggerResult is what trigger prints.
type triggerResult struct {
	ScheduleID string   `json:"schedule_id"`
	Overlap    string   `json:"overlap" doc:"the schedule's overlap policy, which decided"`
	Outcome    string   `json:"outcome" doc:"started, skipped (a sync still runs), buffered, or pending (not seen within 10s)"`
	WorkflowID string   `json:"workflow_id,omitempty" doc:"the sync started"`
	RunID      string   `json:"run_id,omitempty"`
	WebURL     string   `json:"web_url,omitempty"`
	Running    []string `json:"running,omitempty" doc:"the syncs still running (skipped, buffered)"`
}

func (r triggerResult) PrintText(w io.Writer) error {
	var line string
	running := strings.Join(r.Running, ", ")
	switch r.Outcome {
	case "started":
		line = fmt.Sprintf("started sync %s (Web UI: %s)", r.WorkflowID, r.WebURL)
		if r.WorkflowID == "" {
			line = "started a sync"
		}
	case "skipped":
		line = fmt.Sprintf("skipped, sync %s is still running (overlap %s)", running, r.Overlap)
	case "buffered":
		line = fmt.Sprintf("buffered, it starts when sync %s ends (overlap %s)", running, r.Overlap)
	default:
		line = fmt.Sprintf("no sync has started yet (see 'starter schedule describe %s')", r.ScheduleID)
	}
	_, err := fmt.Fprintf(w, "Triggered schedule %s: %s\n", r.ScheduleID, line)
	return err
}

// deleteResult is what delete prints.
type deleteResult struct {
	ScheduleID string `json:"schedule_id"`
	Namespace  string `json:"namespace"`
	Deleted    bool   `json:"deleted"`
}

func (r deleteResult) PrintText(w io.Writer) error {
	_, err := fmt.Fprintf(
		w,
		"Deleted schedule %s from namespace %s (syncs it started are not stopped)\n",
		r.ScheduleID,
		r.Namespace,
	)
	return err
}

// backfillResult is what backfill prints.
type backfillResult struct {
	ScheduleID string    `json:"schedule_id"`
	StartTime  time.Time `json:"start_time" doc:"--start-time"`
	EndTime    time.Time `json:"end_time" doc:"--end-time"`
	Overlap    string    `json:"overlap" doc:"the overlap policy of the backfilled syncs"`
	WebURL     string    `json:"web_url"`
}

func (r backfillResult) PrintText(w io.Writer) error {
	_, err := fmt.Fprintf(
		w,
		"Backfilling schedule %s: the syncs due from %s to %s start now (overlap %s); "+
			"see 'starter schedule describe %s'\n",
		r.ScheduleID,
		utc(r.StartTime),
		utc(r.EndTime),
		r.Overlap,
		r.ScheduleID,
	)
	return err
}
