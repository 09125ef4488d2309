package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/converter"

	"expiry-sync/internal/contract"
	"expiry-sync/internal/testkit/testenv"
	"expiry-sync/workflows"
)

// scheduleJSON mirrors `starter schedule describe -o json`.
type scheduleJSON struct {
	ID     string `json:"schedule_id"`
	WebURL string `json:"web_url"`
	Spec   struct {
		Cron     []string `json:"cron"`
		Every    []string `json:"every"`
		Timezone string   `json:"timezone"`
		Jitter   string   `json:"jitter"`
	} `json:"spec"`
	Overlap       string `json:"overlap"`
	CatchupWindow string `json:"catchup_window"`
	Paused        bool   `json:"paused"`
	Note          string `json:"note"`
	Action        struct {
		WorkflowType string `json:"workflow_type"`
		WorkflowID   string `json:"workflow_id"`
		TaskQueue    string `json:"task_queue"`
		Summary      string `json:"summary"`
		ExpireDays   *int64 `json:"expire_days_search_attribute"`
	} `json:"action"`
	Sync          *workflows.SyncInput `json:"sync"`
	NextRuns      []time.Time          `json:"next_runs"`
	RecentActions []scheduleActionJSON `json:"recent_actions"`
}

type scheduleActionJSON struct {
	ScheduledAt time.Time `json:"scheduled_at"`
	WorkflowID  string    `json:"workflow_id"`
	Status      string    `json:"status"`
	SyncStatus  string    `json:"sync_status"`
}

// scheduleRowJSON mirrors one entry of `starter schedule list -o json`.
type scheduleRowJSON struct {
	ID           string              `json:"schedule_id"`
	Overlap      string              `json:"overlap"`
	Paused       bool                `json:"paused"`
	ExpireDays   int                 `json:"expire_days"`
	RecentAction *scheduleActionJSON `json:"recent_action"`
}

var scheduleSeq atomic.Int64

// newScheduleID is unique per test and deleted when the test ends, whatever
// the starter did.
func (s *stack) newScheduleID(prefix string) string {
	id := fmt.Sprintf("%s-%d-%d", prefix, time.Now().UnixNano()%1e9, scheduleSeq.Add(1))
	s.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = s.client.ScheduleClient().GetHandle(ctx, id).Delete(ctx)
	})
	return id
}

func (s *stack) describeSchedule(id string) scheduleJSON {
	s.t.Helper()
	code, out, errOut := s.starter("schedule", "describe", id, "-o", "json")
	require.Equal(s.t, 0, code, "describe %s: %s", id, errOut)
	var d scheduleJSON
	require.NoError(s.t, json.Unmarshal([]byte(out), &d), out)
	return d
}

func (s *stack) listSchedules() []scheduleRowJSON {
	s.t.Helper()
	code, out, errOut := s.starter("schedule", "list", "-o", "json")
	require.Equal(s.t, 0, code, "schedule list: %s", errOut)
	var rows []scheduleRowJSON
	require.NoError(s.t, json.Unmarshal([]byte(out), &rows), out)
	return rows
}

// waitUntil polls cond until it holds, failing the test after bound.
func waitUntil(t *testing.T, what string, bound time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(bound)
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, bound)
		}
		<-tick.C
	}
}

// officialScheduleIDs lists the namespace's schedules with the Temporal CLI.
func (s *stack) officialScheduleIDs() []string {
	s.t.Helper()
	cmd := exec.Command(testenv.TemporalCLI(s.t), "schedule", "list",
		"--address", s.cfg.Temporal.Address, "--namespace", "default", "-o", "json")
	out, err := cmd.Output()
	require.NoError(s.t, err, "temporal schedule list: %s", out)
	var entries []struct {
		ScheduleID string `json:"scheduleId"`
	}
	require.NoError(s.t, json.Unmarshal(out, &entries), "%s", out)
	ids := make([]string, len(entries))
	for i, e := range entries {
		ids[i] = e.ScheduleID
	}
	return ids
}

func TestScheduleLifecycle(t *testing.T) {
	s := newStack(t, stackOptions{resources: 300, seed: 23})
	id := s.newScheduleID("e2e-life")

	// create: every hour (in Shanghai time), a sync of the next 7 days.
	code, out, errOut := s.starter("schedule", "create", id, "--interval", "1h", "--time-zone", "Asia/Shanghai", "--expire-days", "7")
	require.Equal(t, 0, code, "create: %s", errOut)
	assert.Contains(t, out, "Created schedule "+id+" in namespace default: every 1h (Asia/Shanghai), overlap skip; syncs resources expiring within 7 days")
	assert.Contains(t, out, "Web UI: http://localhost:8233/namespaces/default/schedules/"+id)

	d := s.describeSchedule(id)
	assert.Equal(t, id, d.ID)
	assert.Equal(t, "http://localhost:8233/namespaces/default/schedules/"+id, d.WebURL)
	assert.Equal(t, []string{"1h"}, d.Spec.Every)
	assert.Empty(t, d.Spec.Cron)
	assert.Equal(t, "Asia/Shanghai", d.Spec.Timezone)
	assert.Equal(t, "skip", d.Overlap)
	assert.False(t, d.Paused)
	assert.Equal(t, workflows.WorkflowName, d.Action.WorkflowType)
	assert.Equal(t, "expiry-sync-"+id, d.Action.WorkflowID)
	assert.Equal(t, s.cfg.Temporal.TaskQueue, d.Action.TaskQueue)
	assert.Equal(t, "Sync of account default: resources expiring within 7 days (schedule "+id+")", d.Action.Summary)
	if assert.NotNil(t, d.Action.ExpireDays) {
		assert.EqualValues(t, 7, *d.Action.ExpireDays)
	}
	require.NotNil(t, d.Sync)
	assert.Equal(t, 7, d.Sync.ExpireDays)
	assert.Equal(t, contract.DefaultLookbackDays, d.Sync.LookbackDays)
	assert.Equal(t, workflows.DefaultBatchSize, d.Sync.BatchSize)
	assert.Equal(t, workflows.DefaultTagConcurrency, d.Sync.TagConcurrency)
	require.Len(t, d.NextRuns, 5)
	for i, next := range d.NextRuns {
		// Every hour on the hour (intervals count from the Unix epoch).
		assert.Zero(t, next.Unix()%3600, "next run %s", next)
		if i > 0 {
			assert.Equal(t, time.Hour, next.Sub(d.NextRuns[i-1]))
		}
	}

	// The official CLI sees the same schedule (its list is eventually consistent).
	waitUntil(t, "temporal schedule list shows "+id, 30*time.Second, func() bool {
		return strings.Contains(strings.Join(s.officialScheduleIDs(), "\n")+"\n", id+"\n")
	})

	// trigger starts a sync now; the stack's worker runs it to the end.
	code, out, errOut = s.starter("schedule", "trigger", id, "-o", "json")
	require.Equal(t, 0, code, "trigger: %s", errOut)
	var trig struct {
		Outcome    string   `json:"outcome"`
		WorkflowID string   `json:"workflow_id"`
		Running    []string `json:"running"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &trig), out)
	syncID := trig.WorkflowID
	if trig.Outcome == "skipped" && len(trig.Running) == 1 {
		syncID = trig.Running[0] // the hourly run started just before: overlap skip kept one
	} else if trig.Outcome == "pending" {
		// Not reported within trigger's wait: the schedule's record will show it.
		waitUntil(t, "the triggered sync appears in describe", time.Minute, func() bool {
			return len(s.describeSchedule(id).RecentActions) > 0
		})
		syncID = s.describeSchedule(id).RecentActions[0].WorkflowID
	} else {
		require.Equal(t, "started", trig.Outcome, out)
	}
	require.True(t, strings.HasPrefix(syncID, "expiry-sync-"+id+"-"), "sync id %q", syncID)

	waitUntil(t, "sync "+syncID+" completes", 2*time.Minute, func() bool {
		for _, a := range s.describeSchedule(id).RecentActions {
			if a.WorkflowID == syncID {
				require.NotContains(t, []string{"failed", "canceled", "terminated", "timed-out"}, a.Status)
				return a.Status == "completed"
			}
		}
		return false
	})
	log := s.syncLog(syncID)
	assert.Equal(t, contract.StatusSuccess, log.Status)
	assert.Equal(t, 7, log.ExpireDays)
	assert.Equal(t, len(s.expected(log)), log.TotalResources)
	// The sync carries the schedule's typed search attribute.
	described, err := s.client.DescribeWorkflow(context.Background(), syncID, "")
	require.NoError(t, err)
	desc := described.RawResponse
	var expireDays int64
	p := desc.GetWorkflowExecutionInfo().GetSearchAttributes().GetIndexedFields()[workflows.AttrExpireDays.GetName()]
	require.NotNil(t, p, "ExpireDays search attribute")
	require.NoError(t, converter.GetDefaultDataConverter().FromPayload(p, &expireDays))
	assert.EqualValues(t, 7, expireDays)

	// backfill starts now the sync of a past time of the schedule: the one
	// on the hour two hours ago.
	past := time.Now().UTC().Truncate(time.Hour).Add(-2 * time.Hour)
	code, out, errOut = s.starter("schedule", "backfill", id, "--start-time", past.Add(-30*time.Minute).Format(time.RFC3339),
		"--end-time", past.Add(30*time.Minute).In(time.FixedZone("CST", 8*3600)).Format(time.RFC3339))
	require.Equal(t, 0, code, "backfill: %s", errOut)
	assert.Contains(t, out, "Backfilling schedule "+id+": the syncs due from ")
	var backfilled string
	waitUntil(t, "the backfilled sync completes", 2*time.Minute, func() bool {
		for _, a := range s.describeSchedule(id).RecentActions {
			if a.ScheduledAt.Equal(past) {
				backfilled = a.WorkflowID
				require.NotContains(t, []string{"failed", "canceled", "terminated", "timed-out"}, a.Status)
				return a.Status == "completed"
			}
		}
		return false
	})
	assert.Equal(t, "expiry-sync-"+id+"-"+past.Format(time.RFC3339), backfilled, "Temporal names it after its schedule time")
	assert.Equal(t, contract.StatusSuccess, s.syncLog(backfilled).Status)
	syncID = backfilled // the most recent action, for list below

	// pause and unpause change the state and the note.
	code, out, errOut = s.starter("schedule", "pause", id, "--notes", "e2e: database maintenance")
	require.Equal(t, 0, code, "pause: %s", errOut)
	assert.Equal(t, fmt.Sprintf("Paused schedule %s: no sync starts until 'starter schedule unpause %s'; note %q\n", id, id, "e2e: database maintenance"), out)
	d = s.describeSchedule(id)
	assert.True(t, d.Paused)
	assert.Equal(t, "e2e: database maintenance", d.Note)

	code, out, errOut = s.starter("schedule", "unpause", id, "--notes", "e2e: maintenance done")
	require.Equal(t, 0, code, "unpause: %s", errOut)
	assert.True(t, strings.HasPrefix(out, "Unpaused schedule "+id+": next run "), out)
	d = s.describeSchedule(id)
	assert.False(t, d.Paused)
	assert.Equal(t, "e2e: maintenance done", d.Note)

	// update changes only what is given: the action's window.
	code, out, errOut = s.starter("schedule", "update", id, "--expire-days", "14")
	require.Equal(t, 0, code, "update: %s", errOut)
	assert.Equal(t, "Updated schedule "+id+": expire-days 7 -> 14\n", out)
	d = s.describeSchedule(id)
	require.NotNil(t, d.Sync)
	assert.Equal(t, 14, d.Sync.ExpireDays)
	assert.Equal(t, contract.DefaultLookbackDays, d.Sync.LookbackDays)
	if assert.NotNil(t, d.Action.ExpireDays) {
		assert.EqualValues(t, 14, *d.Action.ExpireDays)
	}
	assert.Equal(t, "Sync of account default: resources expiring within 14 days (schedule "+id+")", d.Action.Summary)
	assert.Equal(t, []string{"1h"}, d.Spec.Every)
	assert.Equal(t, "Asia/Shanghai", d.Spec.Timezone)
	assert.Equal(t, "skip", d.Overlap)
	assert.Equal(t, "e2e: maintenance done", d.Note)
	assert.Equal(t, s.cfg.Temporal.TaskQueue, d.Action.TaskQueue)

	// list shows it, with the update and the sync it started.
	waitUntil(t, "schedule list shows "+id+" updated", 30*time.Second, func() bool {
		for _, r := range s.listSchedules() {
			if r.ID == id {
				return r.ExpireDays == 14 && r.Overlap == "skip" && !r.Paused &&
					r.RecentAction != nil && r.RecentAction.WorkflowID == syncID && r.RecentAction.Status == "completed"
			}
		}
		return false
	})

	// delete removes it: describe then knows no such schedule.
	code, out, errOut = s.starter("schedule", "delete", id)
	require.Equal(t, 0, code, "delete: %s", errOut)
	assert.Equal(t, "Deleted schedule "+id+" from namespace default (syncs it started are not stopped)\n", out)
	code, out, errOut = s.starter("schedule", "describe", id)
	assert.Equal(t, 2, code)
	assert.Empty(t, out)
	assert.Equal(t, fmt.Sprintf("error: no schedule %q in namespace default (see 'starter schedule list')\n", id), errOut)
}

func TestScheduleRefusesBadInputAndUnknownIDs(t *testing.T) {
	s := newStack(t, stackOptions{resources: 10, seed: 5})
	id := s.newScheduleID("e2e-dup")

	code, _, errOut := s.starter("schedule", "create", id, "--every", "1h", "--paused") // the earlier flag name still works
	require.Equal(t, 0, code, "create: %s", errOut)
	// Creating it again is refused and leaves the first one as it was.
	code, out, errOut := s.starter("schedule", "create", id, "--cron", "0 2 * * *", "--expire-days", "9")
	assert.Equal(t, 2, code)
	assert.Empty(t, out)
	assert.Equal(t, fmt.Sprintf("error: schedule %q already exists in namespace default: use 'starter schedule update %s'\n", id, id), errOut)
	d := s.describeSchedule(id)
	assert.Equal(t, []string{"1h"}, d.Spec.Every)
	assert.Equal(t, 0, d.Sync.ExpireDays, "no window flag: the account's defaults")
	assert.True(t, d.Paused)

	// Cron expressions Temporal rejects: exit 2 naming the expression and the
	// reason, and nothing is created or changed.
	for _, c := range []struct{ cron, reason string }{
		{"61 * * * *", "Minute is not in range [0-59]"},
		{"0 2 * *", "CronString does not have 5-7 fields"},
		{"every day", "CronString does not have 5-7 fields"},
		{"0 25 * * *", "Hour is not in range [0-23]"},
	} {
		bad := s.newScheduleID("e2e-badcron")
		code, out, errOut := s.starter("schedule", "create", bad, "--cron", c.cron)
		assert.Equal(t, 2, code, "%q: %s", c.cron, errOut)
		assert.Empty(t, out)
		assert.True(t, strings.HasPrefix(errOut, fmt.Sprintf("error: --cron %q is not a valid cron expression: %s; allowed: ", c.cron, c.reason)), "%q: %s", c.cron, errOut)
		assert.Equal(t, 1, strings.Count(errOut, "\n"), errOut)
		code, _, _ = s.starter("schedule", "describe", bad)
		assert.Equal(t, 2, code, "%q: the schedule must not exist", c.cron)

		code, _, errOut = s.starter("schedule", "update", id, "--cron", c.cron)
		assert.Equal(t, 2, code, "update %q: %s", c.cron, errOut)
		assert.Contains(t, errOut, fmt.Sprintf("error: --cron %q is not a valid cron expression: %s", c.cron, c.reason))
	}
	d = s.describeSchedule(id)
	assert.Equal(t, []string{"1h"}, d.Spec.Every, "a refused update changes nothing")
	assert.Empty(t, d.Spec.Cron)

	// An unknown id: one line, exit 2, for every subcommand.
	unknown := "e2e-no-such-schedule"
	for _, args := range [][]string{
		{"describe", unknown}, {"describe", unknown, "-o", "json"}, {"backfill", unknown, "--start-time", "2026-11-20T00:00:00Z", "--end-time", "2026-11-21T00:00:00Z"},
		{"update", unknown, "--expire-days", "3"},
		{"pause", unknown}, {"unpause", unknown, "--note", "x"},
		{"trigger", unknown}, {"delete", unknown},
	} {
		code, out, errOut := s.starter(append([]string{"schedule"}, args...)...)
		assert.Equal(t, 2, code, "%q: %s", args, errOut)
		assert.Empty(t, out, "%q", args)
		assert.Equal(t, fmt.Sprintf("error: no schedule %q in namespace default (see 'starter schedule list')\n", unknown), errOut, "%q", args)
	}
}
