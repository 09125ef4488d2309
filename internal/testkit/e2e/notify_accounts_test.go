package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"expiry-sync/internal/store"
	"expiry-sync/workflows"
)

// accountOfMessage reads the account a digest names in its intro.
var accountOfMessage = regexp.MustCompile(`Account (\S+), as of`)

// byAccount groups the resource ids the messages name by the account each
// message names; the two accounts share resource ids, so a message's
// account decides whose they are.
func byAccount(t *testing.T, msgs []received, rows map[string][]store.ExpiringResource) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, m := range msgs {
		match := accountOfMessage.FindStringSubmatch(m.Text)
		require.NotNil(t, match, "a digest names its account: %q", m.Text)
		out[match[1]] = append(out[match[1]], idsIn(m, rows[match[1]])...)
	}
	for k := range out {
		sort.Strings(out[k])
	}
	return out
}

// dueIDs lists the resources due at asOf for the thresholds, and the
// threshold each is due at.
func dueIDs(rows []store.ExpiringResource, asOf time.Time, thresholds []int) map[string]int {
	out := map[string]int{}
	for k, ids := range expectedDigests(rows, asOf, thresholds) {
		for _, id := range ids {
			out[id] = k.threshold
		}
	}
	return out
}

// TestRemindersOfEveryAccountOfTheAccountsFile: a worker serving two
// accounts from an accounts file (with the same resource ids) reminds both:
// first from a notify schedule of every account (notify-all), then from
// starter notify run --all-accounts at a later time, which sends exactly
// the resources that reached a tighter threshold since, per account.
func TestRemindersOfEveryAccountOfTheAccountsFile(t *testing.T) {
	secret := "whsec_" + base64Of("accounts-"+randomToken())
	hook := newReceiver(t, "webhook", secret)
	t.Setenv("T_HOOK_SECRET", secret)
	writeRoutes(t, fmt.Sprintf(`
after_sync: false # the test starts the reminders itself
default_route: ops
thresholds: [30, 7, 1]
language: en
channels:
  hook: {type: webhook, url: %q, secret: "env:T_HOOK_SECRET"}
routes:
  - {name: ops, channels: [hook]}
`, hook.url()))
	s := newTwoAccounts(t)
	code, out, errOut := s.starter("sync", "--all-accounts", "--expire-days", "400", "--lookback-days", "40", "--wait")
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	rows := map[string][]store.ExpiringResource{}
	for name, domain := range map[string]string{"prod": s.cfg.Huawei.DomainID, "staging": s.stagingDomain} {
		var rs []store.ExpiringResource
		require.NoError(t, s.store.DB().Where("account_id = ? AND is_active = ?", domain, true).Find(&rs).Error)
		require.NotEmpty(t, rs, name)
		rows[name] = rs
	}
	thresholds := []int{30, 7, 1}

	// The schedule of every account, triggered now.
	code, out, errOut = s.starter("notify", "schedule", "--all-accounts", "--interval", "24h", "-o", "json")
	require.Equal(t, 0, code, errOut)
	var sched struct {
		ScheduleID string `json:"schedule_id"`
		Account    string `json:"account"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &sched), out)
	assert.Equal(t, "notify-all", sched.ScheduleID)
	assert.Empty(t, sched.Account, "every account")
	t.Cleanup(func() { s.starter("notify", "schedule", "--all-accounts", "--delete") })
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	handle := s.client.ScheduleClient().GetHandle(ctx, sched.ScheduleID)
	require.NoError(t, handle.Trigger(ctx, client.ScheduleTriggerOptions{}))
	var runID string
	eventually(t, "the triggered run is recorded", 30*time.Second, func() bool {
		d, err := handle.Describe(ctx)
		if err == nil && len(d.Info.RecentActions) > 0 {
			runID = d.Info.RecentActions[0].StartWorkflowResult.WorkflowID
		}
		return runID != ""
	})
	var first workflows.NotifyResult
	require.NoError(t, s.client.GetWorkflow(ctx, runID, "").Get(ctx, &first))
	require.Len(t, first.Accounts, 2, "one child run per account: %+v", first)
	for i, name := range []string{"prod", "staging"} {
		assert.Equal(t, name, first.Accounts[i].Account)
	}
	got := byAccount(t, hook.messages(), rows)
	for name, rs := range rows {
		want := keys(dueIDs(rs, first.AsOf, thresholds))
		require.NotEmpty(t, want, name)
		assert.Equal(t, want, got[name], "account %s: every due resource named once, and only its own", name)
	}

	// Eight days on, from the starter: what reached a tighter threshold.
	seen := len(hook.messages())
	later := first.AsOf.Add(8 * 24 * time.Hour)
	code, out, errOut = s.starter("notify", "run", "--all-accounts", "--as-of", later.Format(time.RFC3339), "--wait", "-o", "json")
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	var second notifyRunJSON
	require.NoError(t, json.Unmarshal([]byte(out), &second), out)
	require.Len(t, second.Result.Accounts, 2)
	got = byAccount(t, hook.messages()[seen:], rows)
	for name, rs := range rows {
		before, after := dueIDs(rs, first.AsOf, thresholds), dueIDs(rs, later, thresholds)
		var want []string
		for id, th := range after {
			if was, ok := before[id]; !ok || was != th {
				want = append(want, id)
			}
		}
		sort.Strings(want)
		assert.Equal(t, want, got[name], "account %s: only what reached a new threshold", name)
	}
	assert.Empty(t, hook.refused)
}

type notifyRunJSON struct {
	WorkflowID string                 `json:"workflow_id"`
	Result     workflows.NotifyResult `json:"result"`
}

func keys(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
