package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/encoding/protojson"

	"expiry-sync/internal/contract"
	"expiry-sync/internal/store"
	"expiry-sync/workflows"
)

// Owners the tests tag resources with, and the route each goes to.
var testOwners = []struct{ key, value, route string }{
	{"owner", "alice", "alice"},
	{"负责人", "张三", "zhangsan"},
	{"team", "storage-eu", "storage"},
	{"", "", "ops"}, // no owner tag: the default route
}

// syncAndTagOwners syncs the simulator's account, then tags the stored
// resources with owners (a quarter each, a quarter without) and makes every
// fifth one renew automatically, as the owners would have in the console.
// It returns the active rows.
func syncAndTagOwners(t *testing.T, s *stack) []store.ExpiringResource {
	t.Helper()
	code, out, errOut := s.starter("sync", "--expire-days", "40", "--lookback-days", "20", "--wait")
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	var rows []store.ExpiringResource
	require.NoError(t, s.store.DB().Where("account_id = ? AND is_active = ?", s.cfg.Huawei.DomainID, true).Order("resource_id").Find(&rows).Error)
	require.NotEmpty(t, rows)
	for i := range rows {
		o := testOwners[i%len(testOwners)]
		tags := store.Tags{"env": "prod"}
		if o.key != "" {
			tags[o.key] = o.value
		}
		policy := 0
		if i%5 == 0 {
			policy = 3 // auto-renew: not reminded
		}
		rows[i].Tags, rows[i].ExpirePolicy = tags, &policy
		require.NoError(t, s.store.DB().Model(&store.ExpiringResource{}).Where("id = ?", rows[i].ID).
			Updates(map[string]any{"tags": tags, "expire_policy": policy}).Error)
	}
	return rows
}

func routeOfTags(tags store.Tags) string {
	for _, k := range []string{"owner", "负责人", "team"} {
		for _, o := range testOwners {
			if o.key == k && tags[k] == o.value {
				return o.route
			}
		}
	}
	return "ops"
}

// digestKey names a digest: a route and a threshold (0 = overdue).
type digestKey struct {
	route     string
	threshold int
}

// expectedDigests computes, independently of the notify package, which
// resources each route must get for each threshold at asOf.
func expectedDigests(rows []store.ExpiringResource, asOf time.Time, thresholds []int) map[digestKey][]string {
	want := map[digestKey][]string{}
	for _, r := range rows {
		if !r.IsActive || (r.ExpirePolicy != nil && *r.ExpirePolicy == 3) {
			continue
		}
		if t := dueThreshold(r.ExpireTime, asOf, thresholds); t >= 0 {
			k := digestKey{routeOfTags(r.Tags), t}
			want[k] = append(want[k], r.ResourceID)
		}
	}
	for k := range want {
		sort.Strings(want[k])
	}
	return want
}

// dueThreshold is the tightest of thresholds (days; 0: overdue) a resource
// expiring at expire has reached at asOf, -1 for none.
func dueThreshold(expire, asOf time.Time, thresholds []int) int {
	if expire.Before(asOf) {
		if slices.Contains(thresholds, 0) {
			return 0
		}
		return -1
	}
	t := -1
	for _, d := range thresholds {
		if d > 0 && !expire.After(asOf.Add(time.Duration(d)*24*time.Hour)) && (t == -1 || d < t) {
			t = d
		}
	}
	return t
}

// idsIn lists the given resource ids a message mentions.
func idsIn(m received, all []store.ExpiringResource) []string {
	var out []string
	for _, r := range all {
		if strings.Contains(m.Text, r.ResourceID) {
			out = append(out, r.ResourceID)
		}
	}
	sort.Strings(out)
	return out
}

// assertDigests checks that msgs are exactly the digests of route: every
// due resource named in exactly one message, and each message naming
// resources of one threshold's digest only (a digest longer than a
// platform takes in one message comes as several).
func assertDigests(t *testing.T, channel string, msgs []received, route string, want map[digestKey][]string, all []store.ExpiringResource) {
	t.Helper()
	digestOf := map[string]int{}
	var wantAll []string
	for k, ids := range want {
		if k.route == route {
			for _, id := range ids {
				digestOf[id] = k.threshold
			}
			wantAll = append(wantAll, ids...)
		}
	}
	var gotAll []string
	for i, m := range msgs {
		ids := idsIn(m, all)
		assert.NotEmpty(t, ids, "channel %s: message %d names no resource", channel, i)
		for _, id := range ids {
			th, ok := digestOf[id]
			assert.True(t, ok, "channel %s of route %s: %s is not due on this route", channel, route, id)
			assert.Equal(t, digestOf[ids[0]], th, "channel %s: message %d mixes thresholds", channel, i)
		}
		gotAll = append(gotAll, ids...)
	}
	assert.ElementsMatch(t, wantAll, gotAll, "channel %s of route %s: every due resource named in exactly one message", channel, route)
}

func writeRoutes(t *testing.T, yaml string) string {
	p := filepath.Join(t.TempDir(), "notify.yaml")
	require.NoError(t, os.WriteFile(p, []byte(yaml), 0o600))
	t.Setenv("EXPIRY_SYNC_NOTIFY_FILE", p)
	return p
}

// runNotify runs NotifyExpiring to its end.
func (s *stack) runNotify(id string, in workflows.NotifyInput) (workflows.NotifyResult, string) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	in.AccountID = s.cfg.Huawei.DomainID
	run, err := s.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: s.cfg.Temporal.TaskQueue}, workflows.NotifyWorkflowName, in)
	require.NoError(s.t, err)
	var res workflows.NotifyResult
	require.NoError(s.t, run.Get(ctx, &res))
	return res, run.GetRunID()
}

func (s *stack) assertNoSecretInHistory(workflowID, runID string, secrets []string) {
	s.t.Helper()
	b, err := protojson.Marshal(s.history(workflowID, runID))
	require.NoError(s.t, err)
	for _, secret := range secrets {
		assert.NotContains(s.t, string(b), secret, "history of %s", workflowID)
	}
}

func routeByName(res workflows.NotifyResult, name string) workflows.RouteOutcome {
	for _, r := range res.Routes {
		if r.Route == name {
			return r
		}
	}
	return workflows.RouteOutcome{}
}

// TestNotifyDigestsPerOwnerOnEveryChannel: after a real sync, the
// reminders reach each owner's channels (every platform's receiver checks
// the signature as the platform documents it, the mail relay wants STARTTLS
// and AUTH) with exactly the due resources per threshold; preview showed
// the same beforehand; a second run sends nothing; no secret is in the
// history. The HTML mails are screenshotted in Chromium.
func TestNotifyDigestsPerOwnerOnEveryChannel(t *testing.T) {
	hookSecret := "whsec_" + base64Of("hook-secret-"+randomToken())
	opsSecret := "whsec_" + base64Of("ops-secret-"+randomToken())
	dingSecret, feishuSecret := "SEC"+randomToken(), "feishu-"+randomToken()
	hook, ops := newReceiver(t, "webhook", hookSecret), newReceiver(t, "webhook", opsSecret)
	ding, feishu := newReceiver(t, "dingtalk", dingSecret), newReceiver(t, "feishu", feishuSecret)
	wecom, slack := newReceiver(t, "wecom", ""), newReceiver(t, "slack", "")
	relay := newMailServer(t)
	secretsDir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(secretsDir, "ding"), []byte(dingSecret+"\n"), 0o600))
	for k, v := range map[string]string{
		"T_HOOK_SECRET": hookSecret, "T_OPS_SECRET": opsSecret, "T_FEISHU_SECRET": feishuSecret, "T_SMTP_PASSWORD": relay.password,
		"T_DING_URL": ding.url(), "T_FEISHU_URL": feishu.url(), "T_WECOM_URL": wecom.url(), "T_SLACK_URL": slack.url(),
	} {
		t.Setenv(k, v)
	}
	mail := func(lang string) string {
		return fmt.Sprintf(`{type: email, smtp: {host: 127.0.0.1, port: %s, tls: starttls, username: %s, password: "env:T_SMTP_PASSWORD", from: "expiry-sync <noreply@example.com>", to: ["%s@example.com"], ca_file: %s}}`,
			strings.Split(relay.addr, ":")[1], relay.user, lang, relay.caFile)
	}
	writeRoutes(t, fmt.Sprintf(`
after_sync: false # this test starts the reminders runs itself
owner_keys: [owner, 负责人, team]
default_route: ops
channels:
  hook: {type: webhook, url: %q, secret: "env:T_HOOK_SECRET"}
  ops-hook: {type: webhook, url: %q, secret: "env:T_OPS_SECRET"}
  ding: {type: dingtalk, url: "env:T_DING_URL", secret: "file:%s"}
  feishu: {type: feishu, url: "env:T_FEISHU_URL", secret: "env:T_FEISHU_SECRET"}
  wecom: {type: wecom, url: "env:T_WECOM_URL"}
  slack: {type: slack, url: "env:T_SLACK_URL"}
  mail-zh: %s
  mail-en: %s
routes:
  - {name: alice, owners: [alice], channels: [hook, ding], language: en}
  - {name: zhangsan, owners: [张三], channels: [feishu, wecom, mail-zh], language: zh}
  - {name: storage, match: ["storage-*"], channels: [slack, mail-en], language: en, quiet_hours: {start: "00:00", end: "23:59", timezone: Asia/Shanghai}}
  - {name: ops, channels: [ops-hook]}
`, hook.url(), ops.url(), filepath.Join(secretsDir, "ding"), mail("zh"), mail("en")))
	secrets := []string{hookSecret, opsSecret, dingSecret, feishuSecret, relay.password, ding.token, feishu.token, wecom.token, slack.token, hook.token, ops.token}

	s := newStack(t, stackOptions{resources: 1000, seed: 14})
	rows := syncAndTagOwners(t, s)
	t.Setenv("DATABASE_URL", s.dbURL)

	// Preview shows what is due without sending.
	now := time.Now().UTC()
	code, out, errOut := s.starter("notify", "preview", "--account", s.cfg.Huawei.DomainID, "-o", "json")
	require.Equal(t, 0, code, errOut)
	var preview struct {
		Routes []struct {
			Route   string
			Digests []struct {
				Threshold int `json:"threshold_days"`
				Resources []struct {
					ResourceID string `json:"resource_id"`
				}
			}
		}
	}
	require.NoError(t, json.Unmarshal([]byte(out), &preview))
	want := expectedDigests(rows, now, []int{30, 7, 1, 0})
	require.GreaterOrEqual(t, len(want), 10, "most routes have resources in most thresholds")
	got := map[digestKey][]string{}
	for _, r := range preview.Routes {
		for _, d := range r.Digests {
			for _, res := range d.Resources {
				got[digestKey{r.Route, d.Threshold}] = append(got[digestKey{r.Route, d.Threshold}], res.ResourceID)
			}
		}
	}
	for k := range got {
		sort.Strings(got[k])
	}
	assert.Equal(t, want, got, "preview")
	assert.Empty(t, hook.messages(), "preview sends nothing")

	res, runID := s.runNotify("notify-e2e-1-"+s.cfg.Huawei.DomainID, workflows.NotifyInput{IgnoreQuietHours: true})
	want = expectedDigests(rows, res.AsOf, []int{30, 7, 1, 0})
	require.Len(t, res.Routes, 4)
	for _, r := range res.Routes {
		assert.Equal(t, workflows.RouteSent, r.Status, "route %s: %+v", r.Route, r)
	}
	channels := map[string]int{"alice": 2, "zhangsan": 3, "storage": 2, "ops": 1}
	sends := 0
	for k := range want {
		sends += channels[k.route]
	}
	assert.Equal(t, sends, res.Sent, "one send per digest and channel")
	assert.Zero(t, res.Failed)
	assertDigests(t, "hook", hook.messages(), "alice", want, rows)
	assertDigests(t, "ding", ding.messages(), "alice", want, rows)
	assertDigests(t, "feishu", feishu.messages(), "zhangsan", want, rows)
	assertDigests(t, "wecom", wecom.messages(), "zhangsan", want, rows)
	assertDigests(t, "slack", slack.messages(), "storage", want, rows)
	assertDigests(t, "ops-hook", ops.messages(), "ops", want, rows)
	var zh, en []received
	for _, m := range relay.messages() {
		if strings.Contains(m.Title, "到期提醒") {
			zh = append(zh, m)
		} else {
			en = append(en, m)
		}
	}
	assertDigests(t, "mail-zh", zh, "zhangsan", want, rows)
	assertDigests(t, "mail-en", en, "storage", want, rows)
	for _, r := range []*receiver{hook, ops, ding, feishu, wecom, slack} {
		assert.Empty(t, r.refused, "%s refused a request", r.kind)
	}

	// A second run finds everything sent.
	before := 0
	for _, r := range []*receiver{hook, ops, ding, feishu, wecom, slack} {
		before += r.requestCount()
	}
	mails := len(relay.messages())
	code, out, errOut = s.starter("notify", "run", "--wait", "-o", "json")
	require.Equal(t, 0, code, errOut)
	var run2 struct {
		WorkflowID string                 `json:"workflow_id"`
		RunID      string                 `json:"run_id"`
		Result     workflows.NotifyResult `json:"result"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &run2), out)
	assert.Empty(t, run2.Result.Routes, "starter notify run right after sends nothing new")
	assert.Equal(t, "default", run2.Result.Account, "the account by its name")
	after := 0
	for _, r := range []*receiver{hook, ops, ding, feishu, wecom, slack} {
		after += r.requestCount()
	}
	assert.Equal(t, before, after, "a second run sends nothing")
	assert.Equal(t, mails, len(relay.messages()))

	code, out, errOut = s.starter("notify", "history", "--account", "default", "--limit", "100")
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, sends, strings.Count(out, " sent "), out)
	assert.Contains(t, out, "mail to zh@example.com")
	assert.Contains(t, out, "dingtalk http://"+ding.addr)

	for _, id := range [][2]string{{"notify-e2e-1-" + s.cfg.Huawei.DomainID, runID}, {run2.WorkflowID, run2.RunID}} {
		s.assertNoSecretInHistory(id[0], id[1], secrets)
	}
	for _, sec := range secrets {
		assert.NotContains(t, out, sec)
	}
	screenshotMails(t, zh[0], en[0])
}

func base64Of(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// screenshotMails renders the HTML part of a Chinese and an English mail
// in headless Chromium and keeps the screenshots in test-artifacts/.
func screenshotMails(t *testing.T, mails ...received) {
	ctx := browser(t)
	dir := artifactDir(t)
	for i, m := range mails {
		file := filepath.Join(t.TempDir(), fmt.Sprintf("mail-%d.html", i))
		require.NoError(t, os.WriteFile(file, []byte(m.HTML), 0o644))
		name := []string{"notify-mail-zh.png", "notify-mail-en.png"}[i]
		text := visit(t, ctx, "file://"+file, func(text string) bool { return strings.Contains(text, "expiry-sync") }, filepath.Join(dir, name))
		assert.Contains(t, text, m.Title)
	}
}

// TestNotifyFailuresRetriesAndRenewal: a rate-limited robot (DingTalk's
// 130101), a receiver that is down for a while and one answering 5xx get
// their digests once each after retries; a robot refusing for good fails
// its route alone and releases its resources for a later run. Then a
// renewed resource and a released one are not reminded again, and the
// renewed one is reminded afresh when it nears its new expiry.
func TestNotifyFailuresRetriesAndRenewal(t *testing.T) {
	dingSecret, hookSecret := "SEC"+randomToken(), "whsec_"+base64Of("hook-"+randomToken())
	ding, hook := newReceiver(t, "dingtalk", dingSecret), newReceiver(t, "webhook", hookSecret)
	slack, wecom := newReceiver(t, "slack", ""), newReceiver(t, "wecom", "")
	ding.script = func(n int, w http.ResponseWriter) bool {
		if n == 1 {
			_, _ = io.WriteString(w, `{"errcode":130101,"errmsg":"send too fast, exceed 20 times per minute"}`)
		}
		return n == 1
	}
	hook.script = func(n int, w http.ResponseWriter) bool {
		if n <= 2 {
			http.Error(w, "upstream unavailable", http.StatusBadGateway)
		}
		return n <= 2
	}
	slack.down()
	t.Setenv("T_DING_SECRET", dingSecret)
	t.Setenv("T_HOOK_SECRET", hookSecret)
	writeRoutes(t, fmt.Sprintf(`
after_sync: false # this test starts the reminders runs itself
default_route: ops
channels:
  ding: {type: dingtalk, url: %q, secret: "env:T_DING_SECRET", rate_limit_wait: 1s}
  slack: {type: slack, url: %q}
  wecom-wrong-key: {type: wecom, url: %q}
  hook: {type: webhook, url: %q, secret: "env:T_HOOK_SECRET"}
routes:
  - {name: alice, owners: [alice], channels: [ding]}
  - {name: zhangsan, owners: [张三], channels: [slack], language: zh}
  - {name: storage, match: ["storage-*"], channels: [wecom-wrong-key]}
  - {name: ops, channels: [hook]}
`, ding.url(), slack.url(), strings.Replace(wecom.url(), wecom.token, "not-the-key", 1), hook.url()))

	s := newStack(t, stackOptions{resources: 1000, seed: 21})
	rows := syncAndTagOwners(t, s)
	t.Setenv("DATABASE_URL", s.dbURL)

	go func() { time.Sleep(6 * time.Second); slack.up() }() // down for a while, then back
	res, _ := s.runNotify("notify-fail-1-"+s.cfg.Huawei.DomainID, workflows.NotifyInput{IgnoreQuietHours: true})
	want := expectedDigests(rows, res.AsOf, []int{30, 7, 1, 0})
	for route, status := range map[string]string{"alice": workflows.RouteSent, "zhangsan": workflows.RouteSent, "ops": workflows.RouteSent, "storage": workflows.RouteFailed} {
		assert.Equal(t, status, routeByName(res, route).Status, "route %s: %+v", route, routeByName(res, route))
	}
	storage := routeByName(res, "storage")
	require.NotEmpty(t, storage.Digests)
	for _, d := range storage.Digests {
		assert.True(t, d.Released, "a digest no channel took releases its resources")
		assert.Contains(t, d.Sends[0].Error, "93000")
		assert.Equal(t, 1, d.Sends[0].Attempts, "a refusal is not retried")
	}
	assertDigests(t, "ding", ding.messages(), "alice", want, rows)
	assertDigests(t, "slack", slack.messages(), "zhangsan", want, rows)
	assertDigests(t, "hook", hook.messages(), "ops", want, rows)
	assert.Empty(t, wecom.messages())
	attempts := map[string]int{}
	for _, rt := range res.Routes {
		for _, d := range rt.Digests {
			for _, snd := range d.Sends {
				attempts[snd.Channel] = max(attempts[snd.Channel], snd.Attempts)
			}
		}
	}
	assert.Equal(t, 2, attempts["ding"], "rate limited once, then sent")
	assert.Equal(t, 3, attempts["hook"], "two 502s, then sent")
	assert.Greater(t, attempts["slack"], 1, "retried while the receiver was down")
	var storageClaims int64
	require.NoError(t, s.store.DB().Model(&store.Notification{}).Where("digest_id IN ?", digestIDs(storage)).Count(&storageClaims).Error)
	assert.Zero(t, storageClaims)

	// Renew one resource of alice's 30-day digest and release another.
	var in30 []store.ExpiringResource
	for _, r := range rows {
		if routeOfTags(r.Tags) == "alice" && *r.ExpirePolicy != 3 && r.ExpireTime.After(res.AsOf.Add(8*24*time.Hour)) && !r.ExpireTime.After(res.AsOf.Add(30*24*time.Hour)) {
			in30 = append(in30, r)
		}
	}
	require.GreaterOrEqual(t, len(in30), 3, "alice has resources 8 to 30 days from expiry")
	// The latest to expire is renewed: at 2 days before its old expiry, the
	// others are all due at a tighter threshold.
	slices.SortFunc(in30, func(a, b store.ExpiringResource) int { return b.ExpireTime.Compare(a.ExpireTime) })
	renewed, released := in30[0], in30[1]
	newExpire := renewed.ExpireTime.AddDate(1, 0, 0)
	require.NoError(t, s.store.DB().Model(&store.ExpiringResource{}).Where("id = ?", renewed.ID).Update("expire_time", newExpire).Error)
	require.NoError(t, s.store.DB().Model(&store.ExpiringResource{}).Where("id = ?", released.ID).Update("is_active", false).Error)

	seen := len(ding.messages())
	later := renewed.ExpireTime.Add(-2 * 24 * time.Hour) // the old expiry is 2 days away
	res2, _ := s.runNotify("notify-fail-2-"+s.cfg.Huawei.DomainID, workflows.NotifyInput{IgnoreQuietHours: true, AsOf: &later, Routes: []string{"alice"}})
	assert.Equal(t, workflows.RouteSent, routeByName(res2, "alice").Status)
	newMsgs := ding.messages()[seen:]
	require.NotEmpty(t, newMsgs, "alice's other resources moved to tighter thresholds")
	for _, m := range newMsgs {
		assert.NotContains(t, m.Text, renewed.ResourceID, "renewed: no more reminders of the old expiry")
		assert.NotContains(t, m.Text, released.ResourceID, "released: no more reminders")
	}
	assert.Contains(t, strings.Join(idsOf(newMsgs, rows), " "), in30[2].ResourceID, "a resource neither renewed nor released is reminded at a tighter threshold")

	seen = len(ding.messages())
	nearing := newExpire.Add(-10 * 24 * time.Hour)
	res3, _ := s.runNotify("notify-fail-3-"+s.cfg.Huawei.DomainID, workflows.NotifyInput{IgnoreQuietHours: true, AsOf: &nearing, Routes: []string{"alice"}})
	assert.Equal(t, workflows.RouteSent, routeByName(res3, "alice").Status)
	all := strings.Join(idsOf(ding.messages()[seen:], rows), " ")
	assert.Contains(t, all, renewed.ResourceID, "the renewed resource is reminded afresh near its new expiry")
	assert.NotContains(t, all, released.ResourceID)
}

func digestIDs(r workflows.RouteOutcome) []string {
	var out []string
	for _, d := range r.Digests {
		out = append(out, d.DigestID)
	}
	return out
}

func idsOf(msgs []received, rows []store.ExpiringResource) []string {
	var out []string
	for _, m := range msgs {
		out = append(out, idsIn(m, rows)...)
	}
	return out
}

// TestNotifyWorkerKilledMidSendSendsNoDuplicate: the worker process dies
// while a webhook and a DingTalk robot each hold its request. The worker
// that takes over sends the webhook's message again with the same
// webhook-id (at least once: the receiver drops the duplicate), and marks
// the robot's message unconfirmed without sending it again (at most once:
// a chat group cannot drop a duplicate); unconfirmed is reported, never
// counted as sent, and a later run sends neither again. No worker log
// holds a secret.
func TestNotifyWorkerKilledMidSendSendsNoDuplicate(t *testing.T) {
	secret, dingSecret := "whsec_"+base64Of("kill-"+randomToken()), "SEC"+randomToken()
	hook, ding := newReceiver(t, "webhook", secret), newReceiver(t, "dingtalk", dingSecret)
	for _, r := range []*receiver{hook, ding} {
		r.hold, r.held = make(chan struct{}), make(chan struct{})
	}
	t.Setenv("T_HOOK_SECRET", secret)
	t.Setenv("T_DING_SECRET", dingSecret)
	writeRoutes(t, fmt.Sprintf(`
after_sync: false # this test starts the reminders runs itself
default_route: ops
thresholds: [30]
channels:
  hook: {type: webhook, url: %q, secret: "env:T_HOOK_SECRET"}
  ding: {type: dingtalk, url: %q, secret: "env:T_DING_SECRET", max_items: 500}
routes:
  - {name: ops, channels: [hook, ding]}
`, hook.url(), ding.url()))
	s := newStack(t, stackOptions{resources: 300, seed: 3, workerProcess: true})
	w1 := s.startWorkerProcess()
	syncAndTagOwners(t, s)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	id := "notify-kill-" + s.cfg.Huawei.DomainID
	run, err := s.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: s.cfg.Temporal.TaskQueue}, workflows.NotifyWorkflowName,
		workflows.NotifyInput{AccountID: s.cfg.Huawei.DomainID})
	require.NoError(t, err)
	for _, r := range []*receiver{hook, ding} {
		select {
		case <-r.held:
		case <-ctx.Done():
			t.Fatalf("the digest never reached the %s receiver", r.kind)
		}
	}
	w1.kill()
	s.startWorkerProcess()
	close(hook.hold) // the requests arrive after all; their sender is gone
	close(ding.hold)

	var res workflows.NotifyResult
	require.NoError(t, run.Get(ctx, &res))
	require.Len(t, res.Routes, 1)
	require.Len(t, res.Routes[0].Digests, 1)
	sends := map[string]contract.SendOutcome{}
	for _, snd := range res.Routes[0].Digests[0].Sends {
		sends[snd.Channel] = snd
	}
	assert.Equal(t, contract.SendSent, sends["hook"].Status, "%+v", sends["hook"])
	assert.Equal(t, 2, hook.requestCount(), "the webhook's message is sent again")
	require.Len(t, hook.messages(), 2)
	assert.Equal(t, hook.messages()[0].ID, hook.messages()[1].ID, "with the same webhook-id")
	assert.Equal(t, contract.SendUnconfirmed, sends["ding"].Status, "%+v", sends["ding"])
	assert.Contains(t, sends["ding"].Error, "may have arrived")
	assert.Equal(t, 1, ding.requestCount(), "the robot's message is not sent again")
	assert.Equal(t, 1, res.Sent)
	assert.Equal(t, 1, res.Unconfirmed, "unconfirmed is reported, not counted as sent")
	assert.False(t, res.Routes[0].Digests[0].Released, "nothing is released: never sent twice")

	res2, _ := s.runNotify(id+"-again", workflows.NotifyInput{})
	assert.Empty(t, res2.Routes, "a later run sends neither again")
	assert.Equal(t, 2, hook.requestCount())
	assert.Equal(t, 1, ding.requestCount())
	s.assertNoSecretInHistory(id, run.GetRunID(), []string{secret, hook.token, dingSecret, ding.token})
	for _, log := range s.workerLogs {
		b, err := os.ReadFile(log)
		require.NoError(t, err)
		for _, sec := range []string{secret, hook.token, dingSecret, ding.token} {
			assert.NotContains(t, string(b), sec)
		}
	}
}

// TestRemindersFollowASuccessfulSync: owners tag their resources in the
// console; the next sync reads the tags and, once it has succeeded, its
// reminders run reaches each owner with exactly their due resources,
// without anyone starting it.
func TestRemindersFollowASuccessfulSync(t *testing.T) {
	secret := "whsec_" + base64Of("after-sync-"+randomToken())
	hook, ops := newReceiver(t, "webhook", secret), newReceiver(t, "webhook", secret)
	t.Setenv("T_HOOK_SECRET", secret)
	writeRoutes(t, fmt.Sprintf(`
owner_keys: [owner]
default_route: ops
thresholds: [30, 7]
channels:
  hook: {type: webhook, url: %q, secret: "env:T_HOOK_SECRET"}
  ops-hook: {type: webhook, url: %q, secret: "env:T_HOOK_SECRET"}
routes:
  - {name: alice, owners: [alice], channels: [hook]}
  - {name: ops, channels: [ops-hook]}
`, hook.url(), ops.url()))
	s := newStack(t, stackOptions{resources: 400, seed: 31})
	var alices []string
	for r := range s.sim.All() {
		if r.TMSResourceType != "" && len(alices) < 40 {
			alices = append(alices, r.ResourceID)
		}
	}
	require.Equal(t, len(alices), s.sim.SetTags(alices, map[string]string{"owner": "alice"}))

	id := s.syncID("remind")
	summary, err := s.runSync(id, workflows.SyncInput{ExpireDays: 40, LookbackDays: 20})
	require.NoError(t, err)
	require.Equal(t, contract.StatusSuccess, summary.Status)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var res workflows.NotifyResult
	require.NoError(t, s.client.GetWorkflow(ctx, workflows.NotifyWorkflowID(id), "").Get(ctx, &res), "the sync started its reminders")

	var rows []store.ExpiringResource
	require.NoError(t, s.store.DB().Where("account_id = ?", s.cfg.Huawei.DomainID).Find(&rows).Error)
	want := expectedDigests(rows, res.AsOf, []int{30, 7})
	require.NotEmpty(t, want)
	assertDigests(t, "hook", hook.messages(), "alice", want, rows)
	assertDigests(t, "ops-hook", ops.messages(), "ops", want, rows)
	for _, r := range rows {
		if slices.Contains(alices, r.ResourceID) {
			assert.Equal(t, "alice", r.Tags["owner"], "the sync read the owner's tag")
		}
	}
}
