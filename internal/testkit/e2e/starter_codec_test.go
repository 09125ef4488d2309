package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"expiry-sync/internal/contract"
	"expiry-sync/internal/testkit/hwsim"
)

// TestPayloadKeyForEveryStarterCommand runs the starter's commands with
// payload encryption on: the start input, the memo and the schedule's
// action are encrypted, and the starter must read them with the client's
// data converter (before, resume and schedule update failed with "payload
// encoding is not supported", describe lost the sync options, and list and
// status showed the newest run's start for the sync's).
func TestPayloadKeyForEveryStarterCommand(t *testing.T) {
	key := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	s := newStack(t, stackOptions{resources: 3000, seed: 29, payloadKey: key, knobs: hwsim.Knobs{Latency: 25 * time.Millisecond}})
	code, out, errOut := s.starter("sync", "--expire-days", "400", "--lookback-days", "40", "--tag-mode", "per-resource",
		"--page-size", "200", "--tags-per-activity", "5", "--tag-concurrency", "4")
	require.Equal(t, 0, code, errOut)
	id := syncIDFrom(t, out)
	eventually(t, "the sync commits its first batch", time.Minute, func() bool {
		st := s.status(id)
		return st.Progress != nil && st.Progress.RowsCommitted > 0
	})
	code, _, errOut = s.starter("cancel", id, "--wait")
	require.Equal(t, 0, code, errOut)

	// resume reads the encrypted start input.
	require.NoError(t, s.sim.SetKnobs(hwsim.Knobs{}))
	code, out, errOut = s.starter("resume", id, "--wait", "--tag-concurrency", "8")
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	log := s.syncLog(id)
	assert.Equal(t, 2, log.Attempts)
	assert.Equal(t, "success", log.Status)
	assertRows(t, s, s.expected(log), id)

	// status and list take the start from the encrypted memo, not from the
	// newest run, which began later.
	desc, err := s.client.DescribeWorkflow(context.Background(), id, "")
	require.NoError(t, err)
	runStart := desc.RawResponse.GetWorkflowExecutionInfo().GetStartTime().AsTime()
	require.True(t, runStart.After(log.StartedAt.Add(time.Second)), "the resumed run started after the sync: run %s, sync %s", runStart, log.StartedAt)
	st := s.status(id)
	assert.True(t, st.StartedAt.Equal(log.StartedAt), "status started_at %s, sync log %s", st.StartedAt, log.StartedAt)
	require.NotNil(t, st.Summary, st.Error)
	assert.Equal(t, 2, st.Summary.Attempts)
	var listed *state
	eventually(t, "list shows the completed sync", 30*time.Second, func() bool {
		listed = find(s.list("--status", "completed"), id)
		return listed != nil
	})
	assert.True(t, listed.StartedAt.Equal(log.StartedAt), "list started_at %s, sync log %s", listed.StartedAt, log.StartedAt)

	// A schedule's action is encrypted too: describe shows its sync
	// options, update changes them.
	sched := s.newScheduleID("e2e-codec")
	code, _, errOut = s.starter("schedule", "create", sched, "--interval", "1h", "--expire-days", "7", "--paused")
	require.Equal(t, 0, code, errOut)
	d := s.describeSchedule(sched)
	require.NotNil(t, d.Sync, "describe reads the encrypted sync options")
	assert.Equal(t, 7, d.Sync.ExpireDays)
	assert.Equal(t, "Sync of account default: resources expiring within 7 days (schedule "+sched+")", d.Action.Summary)
	code, out, errOut = s.starter("schedule", "update", sched, "--expire-days", "14", "--tag-mode", "bulk")
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, "Updated schedule "+sched+": expire-days 7 -> 14, tag-mode auto -> bulk\n", out)
	d = s.describeSchedule(sched)
	require.NotNil(t, d.Sync)
	assert.Equal(t, 14, d.Sync.ExpireDays)
	assert.Equal(t, "bulk", d.Sync.TagMode)
	assert.Equal(t, contract.DefaultLookbackDays, d.Sync.LookbackDays, "the other options are kept")
	code, out, _ = s.starter("schedule", "describe", sched)
	require.Equal(t, 0, code)
	assert.Regexp(t, `(?m)^Sync options\s+--expire-days 14 --lookback-days 15 `, out)

	// Shell completion lists the ids Temporal knows.
	code, out, _ = s.starter("__complete", "status", "")
	require.Equal(t, 0, code)
	assert.Contains(t, strings.Split(out, "\n"), id)
	code, out, _ = s.starter("__complete", "schedule", "describe", "e2e-codec")
	require.Equal(t, 0, code)
	assert.Contains(t, strings.Split(out, "\n"), sched)
}
