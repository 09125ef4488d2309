package activities_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"expiry-sync/activities"
	"expiry-sync/internal/contract"
	"expiry-sync/internal/metrics"
	"expiry-sync/internal/store"
	"expiry-sync/internal/testkit/testenv"
)

// metricValue is the sample of family whose labels are exactly want; ok
// is false when the scrape has none.
func metricValue(t *testing.T, reg prometheus.Gatherer, family string, want map[string]string) (v float64, ok bool) {
	t.Helper()
	families, err := reg.Gather()
	require.NoError(t, err)
	for _, f := range families {
		if f.GetName() != family {
			continue
		}
	samples:
		for _, m := range f.GetMetric() {
			if len(m.GetLabel()) != len(want) {
				continue
			}
			for _, l := range m.GetLabel() {
				if want[l.GetName()] != l.GetValue() {
					continue samples
				}
			}
			return m.GetCounter().GetValue() + m.GetGauge().GetValue(), true
		}
	}
	return 0, false
}

// metricSum adds every sample of family.
func metricSum(t *testing.T, reg prometheus.Gatherer, family string) float64 {
	t.Helper()
	families, err := reg.Gather()
	require.NoError(t, err)
	total := 0.0
	for _, f := range families {
		if f.GetName() == family {
			for _, m := range f.GetMetric() {
				total += m.GetCounter().GetValue() + m.GetGauge().GetValue()
			}
		}
	}
	return total
}

// A reminders run is watched: each message's outcome is counted by channel
// type and status, a robot's rate-limit answer pauses it and is counted as
// a throttle, a lost answer of a chat robot is unconfirmed, and the due
// but undelivered reminders of the account are what the plan found, then
// what the settle left (none: one sent, one unconfirmed).
// notifyMetricsFixture is a store holding two active resources of the
// default account expiring in 3 days, and a Notifier with metrics reading
// the routes file yaml, registered in an activity environment.
func notifyMetricsFixture(t *testing.T, yaml string) (*activities.Notifier, *testsuite.TestActivityEnvironment, prometheus.Gatherer, time.Time) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, testenv.SQLiteURL(t))
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	require.NoError(t, st.Migrate(ctx))
	now := time.Now().UTC().Truncate(time.Second)
	for _, id := range []string{"ecs-1", "ecs-2"} {
		require.NoError(t, st.DB().Create(&store.ExpiringResource{CloudProvider: "huawei", AccountID: domain, AccountName: contract.DefaultAccount,
			ResourceID: id, ResourceName: id, ServiceTypeCode: "hws.service.type.ec2", ExpireTime: now.Add(3 * 24 * time.Hour), IsActive: true,
			TagStatus: "ok", FirstSeenAt: now, LastSyncedAt: now, LastSyncID: "s"}).Error)
	}
	routes := filepath.Join(t.TempDir(), "notify.yaml")
	require.NoError(t, os.WriteFile(routes, []byte(yaml), 0o600))
	rec, err := metrics.New("v-test", slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	n := &activities.Notifier{Store: st, Accounts: map[string]string{contract.DefaultAccount: domain}, ConfigFile: routes, Metrics: rec}
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(n)
	return n, env, rec.Registry(), now
}

// dueUndelivered reads the default account's gauge.
func dueUndelivered(t *testing.T, reg prometheus.Gatherer) float64 {
	t.Helper()
	v, ok := metricValue(t, reg, metrics.NotifyDueUndeliveredFamily, map[string]string{"account": contract.DefaultAccount})
	require.True(t, ok, "the gauge has the account's series")
	return v
}

func TestNotifyRunIsCountedInMetrics(t *testing.T) {
	var dingCalls atomic.Int32
	ding := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if dingCalls.Add(1) == 1 {
			_, _ = io.WriteString(w, `{"errcode":130101,"errmsg":"send too fast, exceed 20 times per minute"}`)
			return
		}
		_, _ = io.WriteString(w, `{"errcode":0,"errmsg":"ok"}`)
	}))
	t.Cleanup(ding.Close)
	lark := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		conn, _, err := w.(http.Hijacker).Hijack() // the answer is lost
		if err == nil {
			_ = conn.Close()
		}
	}))
	t.Cleanup(lark.Close)
	t.Setenv("T_METRICS_DING_URL", ding.URL+"/robot/send?access_token=t")
	t.Setenv("T_METRICS_DING_SECRET", "SECmetrics")
	t.Setenv("T_METRICS_LARK_URL", lark.URL+"/open-apis/bot/v2/hook/x")
	t.Setenv("T_METRICS_LARK_SECRET", "lark-secret")
	n, env, reg, now := notifyMetricsFixture(t, `default_route: ops
thresholds: [7]
channels:
  ding: {type: dingtalk, url: "env:T_METRICS_DING_URL", secret: "env:T_METRICS_DING_SECRET", rate_limit_wait: 1s}
  lark: {type: feishu, url: "env:T_METRICS_LARK_URL", secret: "env:T_METRICS_LARK_SECRET"}
routes:
  - {name: ops, channels: [ding, lark], language: en}
`)
	due := func() float64 { return dueUndelivered(t, reg) }
	sends := func(channelType, status string) float64 {
		v, ok := metricValue(t, reg, metrics.NotifySendsFamily, map[string]string{"channel_type": channelType, "status": status})
		require.True(t, ok, "%s %s is exported from the start", channelType, status)
		return v
	}
	throttles := func(channelType string) float64 {
		v, ok := metricValue(t, reg, metrics.NotifyThrottlesFamily, map[string]string{"channel_type": channelType})
		require.True(t, ok, "%s throttles are exported from the start", channelType)
		return v
	}
	assert.Zero(t, throttles("dingtalk"))

	_, err := env.ExecuteActivity(n.NotifyPlan, contract.PlanInput{AsOf: now})
	require.NoError(t, err)
	assert.Equal(t, 4.0, due(), "2 resources due on 2 channels each, none sent yet")

	val, err := env.ExecuteActivity(n.NotifyClaim, contract.ClaimInput{AccountID: domain, Route: "ops", AsOf: now})
	require.NoError(t, err)
	var claimed []contract.ClaimedDigest
	require.NoError(t, val.Get(&claimed))
	require.Len(t, claimed, 1)
	digest := claimed[0].DigestID

	_, err = env.ExecuteActivity(n.NotifySend, contract.SendInput{DigestID: digest, Channel: "ding"})
	require.Error(t, err, "a throttled send is retried by Temporal")
	assert.Contains(t, err.Error(), "130101")
	assert.Equal(t, 1.0, throttles("dingtalk"), "the robot's rate-limit answer paused it")
	assert.Equal(t, 1.0, sends("dingtalk", metrics.NotifyThrottled))
	assert.Zero(t, sends("dingtalk", metrics.NotifySent))

	_, err = env.ExecuteActivity(n.NotifySend, contract.SendInput{DigestID: digest, Channel: "ding"})
	require.NoError(t, err, "the retry waits out the pause and is accepted")
	assert.Equal(t, 1.0, sends("dingtalk", metrics.NotifySent))
	assert.Equal(t, 1.0, throttles("dingtalk"))

	_, err = env.ExecuteActivity(n.NotifySend, contract.SendInput{DigestID: digest, Channel: "lark"})
	require.NoError(t, err, "a chat robot's lost answer is unconfirmed, not retried")
	assert.Equal(t, 1.0, sends("feishu", metrics.NotifyUnconfirmed))
	assert.Equal(t, 3.0, metricSum(t, reg, metrics.NotifySendsFamily), "one outcome per attempt of a message, nothing else")
	assert.Zero(t, throttles("feishu"))

	_, err = env.ExecuteActivity(n.NotifySettle, contract.SettleInput{DigestID: digest})
	require.NoError(t, err)
	assert.Zero(t, due(), "after the settle nothing due is left undelivered: sent on ding, unconfirmed on lark")
}

// What a route in its quiet hours owes is waiting, not late: it is left
// out of the gauge; what a refused send released is counted after the
// settle.
func TestDueUndeliveredLeavesOutQuietHoursAndCountsReleased(t *testing.T) {
	now := time.Now().UTC()
	hhmm := func(d time.Duration) string { return now.Add(d).Format("15:04") }
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusForbidden) // refused for good
	}))
	t.Cleanup(hook.Close)
	n, env, reg, asOf := notifyMetricsFixture(t, `default_route: ops
thresholds: [7]
channels:
  hook: {type: webhook, url: "`+hook.URL+`/hook", secret: "env:T_METRICS_HOOK_SECRET"}
routes:
  - {name: ops, channels: [hook], language: en, quiet_hours: {start: "`+hhmm(-time.Hour)+`", end: "`+hhmm(time.Hour)+`", timezone: UTC}}
`)
	t.Setenv("T_METRICS_HOOK_SECRET", "whsec_"+"bWV0cmljcy10ZXN0LXNlY3JldA==")
	_, err := env.ExecuteActivity(n.NotifyPlan, contract.PlanInput{AsOf: asOf})
	require.NoError(t, err)
	assert.Zero(t, dueUndelivered(t, reg), "the route is in its quiet hours")

	later := asOf.Add(2 * time.Hour) // the quiet hours are over
	val, err := env.ExecuteActivity(n.NotifyClaim, contract.ClaimInput{AccountID: domain, Route: "ops", AsOf: later})
	require.NoError(t, err)
	var claimed []contract.ClaimedDigest
	require.NoError(t, val.Get(&claimed))
	require.Len(t, claimed, 1)
	_, err = env.ExecuteActivity(n.NotifySend, contract.SendInput{DigestID: claimed[0].DigestID, Channel: "hook"})
	require.Error(t, err)
	v, ok := metricValue(t, reg, metrics.NotifySendsFamily, map[string]string{"channel_type": "webhook", "status": metrics.NotifyFailed})
	require.True(t, ok)
	assert.Equal(t, 1.0, v)
	_, err = env.ExecuteActivity(n.NotifySettle, contract.SettleInput{DigestID: claimed[0].DigestID})
	require.NoError(t, err)
	assert.Equal(t, 2.0, dueUndelivered(t, reg), "both resources were released on the refusing hook")
}

// A robot's message on its way when its run ended is counted unconfirmed
// by the settle that gives it up; a webhook's is owed, not counted.
func TestASettleCountsWhatItGivesUpAsUnconfirmed(t *testing.T) {
	n, env, reg, now := notifyMetricsFixture(t, `default_route: ops
thresholds: [7]
channels:
  ding: {type: dingtalk, url: "http://127.0.0.1:1/robot/send?access_token=t", secret: "env:T_SETTLE_DING_SECRET"}
  hook: {type: webhook, url: "http://127.0.0.1:1/hook", secret: "env:T_SETTLE_HOOK_SECRET"}
routes:
  - {name: ops, channels: [ding, hook], language: en}
`)
	t.Setenv("T_SETTLE_DING_SECRET", "SECsettle")
	t.Setenv("T_SETTLE_HOOK_SECRET", "whsec_c2V0dGxlLXNlY3JldA==")
	val, err := env.ExecuteActivity(n.NotifyClaim, contract.ClaimInput{AccountID: domain, Route: "ops", AsOf: now})
	require.NoError(t, err)
	var claimed []contract.ClaimedDigest
	require.NoError(t, val.Get(&claimed))
	require.Len(t, claimed, 1)
	digest := claimed[0].DigestID
	ctx := context.Background()
	for _, ch := range []string{"ding", "hook"} { // both on their way when the worker died
		require.NoError(t, n.Store.SplitSend(ctx, digest, ch, 1, [][]string{{"ecs-1", "ecs-2"}}, nil))
		moved, err := n.Store.MovePart(ctx, digest, ch, 1, contract.SendPending, contract.SendSending)
		require.NoError(t, err)
		require.EqualValues(t, 2, moved)
	}
	_, err = env.ExecuteActivity(n.NotifySettle, contract.SettleInput{DigestID: digest, Reason: "canceled"})
	require.NoError(t, err)
	v, ok := metricValue(t, reg, metrics.NotifySendsFamily, map[string]string{"channel_type": "dingtalk", "status": metrics.NotifyUnconfirmed})
	require.True(t, ok)
	assert.Equal(t, 1.0, v, "the robot's message is given up as unconfirmed")
	assert.Equal(t, 1.0, metricSum(t, reg, metrics.NotifySendsFamily), "the webhook's is owed: nothing else counted")
}
