package notify

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"expiry-sync/internal/store"
)

// The expected signatures were computed with Python's hmac module from each
// platform's documented algorithm; the Standard Webhooks one is the
// example of the spec's reference libraries.
func TestSignaturesMatchTheDocumentedAlgorithms(t *testing.T) {
	assert.Equal(t, "N5P09a4+p1AMJIJWnIvQd2Yxw9+fu/oEBnPrjCcsLXk=", DingTalkSign("SECabc123", 1700000000000))
	assert.Equal(t, "OrBzY1Y01Gq+HgJsl+7OfWcMVwc7YocohQm5iiZwjhU=", FeishuSign("feishu-secret", 1700000000))
	assert.Equal(t, "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
		StandardWebhookSignature("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", []byte(`{"test": 2432232314}`)))
}

const minimal = `
default_route: ops
channels:
  hook: {type: webhook, url: "https://example.com/h", secret: "env:X"}
routes:
  - {name: ops, channels: [hook]}
`

func TestParseFillsDefaults(t *testing.T) {
	c, err := Parse([]byte(minimal))
	require.NoError(t, err)
	assert.Equal(t, DefaultOwnerKeys, c.OwnerKeys)
	r := c.Route("ops")
	assert.Equal(t, Thresholds{Overdue, 1, 7, 30}, r.Thresholds, "sorted, overdue first")
	assert.Equal(t, "en", r.Language)
	assert.False(t, *r.IncludeAutoRenew)
	assert.Equal(t, 15*time.Second, c.Channels["hook"].Timeout)
}

func TestParseNamesTheBadValue(t *testing.T) {
	for name, tc := range map[string]struct{ yaml, want string }{
		"literal secret": {strings.Replace(minimal, `"env:X"`, `"s3cr3t"`, 1), "secret must be a reference"},
		"unknown type":   {strings.Replace(minimal, "type: webhook", "type: pager", 1), `type "pager" is not allowed: use one of webhook, dingtalk`},
		"bad threshold":  {minimal + "thresholds: [30, soon]\n", `threshold "soon" is not allowed`},
		"no default":     {strings.Replace(minimal, "default_route: ops", "", 1), "default_route is not set"},
		"unknown route":  {strings.Replace(minimal, "default_route: ops", "default_route: nobody", 1), `default_route "nobody" is not a route: allowed ops`},
		"unknown chan":   {strings.Replace(minimal, "channels: [hook]", "channels: [mail]", 1), `channel "mail" is not defined: allowed hook`},
		"unknown field":  {minimal + "colour: blue\n", "field colour not found"},
		"bad language":   {minimal + "language: fr\n", `language "fr" is not allowed: use one of zh, en`},
		// yaml.v3's decoder refuses a repeated key itself (yamlkeys does it
		// for the accounts file, which is read as nodes).
		"repeated key":     {minimal + "default_route: ops\n", `line 7: mapping key "default_route" already defined at line 2`},
		"repeated channel": {strings.Replace(minimal, "routes:", "  hook: {type: webhook, url: \"https://example.com/i\", secret: \"env:X\"}\nroutes:", 1), `mapping key "hook" already defined at line 4`},
		"bad quiet":        {strings.Replace(minimal, "channels: [hook]}", "channels: [hook], quiet_hours: {start: '25:00', end: '08:00'}}", 1), `"25:00" is not a time of day`},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse([]byte(tc.yaml))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.NotContains(t, err.Error(), "s3cr3t")
		})
	}
}

func TestPlanRoutesByOwnerAndTightestThreshold(t *testing.T) {
	c, err := Parse([]byte(`
default_route: ops
owner_keys: [owner, 负责人]
channels:
  hook: {type: webhook, url: "https://example.com/h", secret: "env:X"}
  hook2: {type: webhook, url: "https://example.com/h2", secret: "env:X"}
routes:
  - {name: a, owners: [alice], channels: [hook]}
  - {name: team, match: ["team-*"], channels: [hook], include_auto_renew: true}
  - {name: ops, channels: [hook, hook2]}
`))
	require.NoError(t, err)
	asOf := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	row := func(id string, days float64, policy int, tags store.Tags) store.ExpiringResource {
		return store.ExpiringResource{ResourceID: id, ExpireTime: asOf.Add(time.Duration(days * 24 * float64(time.Hour))), ExpirePolicy: &policy, Tags: tags, IsActive: true}
	}
	rows := []store.ExpiringResource{
		row("over", -2, 0, store.Tags{"owner": "alice"}),
		row("one", 0.5, 0, store.Tags{"owner": "alice"}),
		row("seven", 7, 0, store.Tags{"负责人": "alice"}),
		row("thirty", 20, 0, store.Tags{"owner": "", "负责人": "alice"}),
		row("far", 31, 0, store.Tags{"owner": "alice"}),
		row("auto", 3, 3, store.Tags{"owner": "alice"}),
		row("team-auto", 3, 3, store.Tags{"owner": "team-x"}),
		row("nobody", 3, 0, nil),
		row("sent", 3, 0, store.Tags{"owner": "bob"}),
		row("half", 3, 0, store.Tags{"owner": "bob"}),
		row("both", 3, 0, store.Tags{"owner": "bob"}),
	}
	notified := map[store.NotifyKey][]string{
		{ResourceID: "sent", ExpireTime: rows[8].ExpireTime, ThresholdDays: 7}:  {store.AllChannels}, // before per-channel claims
		{ResourceID: "half", ExpireTime: rows[9].ExpireTime, ThresholdDays: 7}:  {"hook"},
		{ResourceID: "both", ExpireTime: rows[10].ExpireTime, ThresholdDays: 7}: {"hook2", "hook"},
	}
	got := map[string][]string{}
	for _, p := range c.Plan(rows, notified, asOf, nil) {
		for _, it := range p.Items {
			key := p.Route.Name + "/" + map[int]string{0: "overdue", 1: "1", 7: "7", 30: "30"}[p.Threshold]
			got[key] = append(got[key], it.ResourceID+"→"+strings.Join(it.Channels, ","))
		}
	}
	assert.Equal(t, map[string][]string{
		"a/overdue": {"over→hook"}, "a/1": {"one→hook"}, "a/7": {"seven→hook"}, "a/30": {"thirty→hook"},
		"team/7": {"team-auto→hook"}, "ops/7": {"nobody→hook,hook2", "half→hook2"},
	}, got, "each resource on the channels that still owe it")
}

func TestQuietHoursOvernight(t *testing.T) {
	q := &QuietHours{Start: "22:00", End: "08:00", TimeZone: "Asia/Shanghai"}
	require.NoError(t, q.parse())
	at := func(h int) time.Time { return time.Date(2026, 12, 1, h, 30, 0, 0, q.loc) }
	assert.Equal(t, time.Date(2026, 12, 2, 8, 0, 0, 0, q.loc).UTC(), q.Until(at(23)))
	assert.Equal(t, time.Date(2026, 12, 1, 8, 0, 0, 0, q.loc).UTC(), q.Until(at(3)))
	assert.True(t, q.Until(at(12)).IsZero())
}

func TestSendErrorsByClassNeverShowTheURL(t *testing.T) {
	var answer func(w http.ResponseWriter)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { answer(w) }))
	defer srv.Close()
	t.Setenv("T_SECRET", "sekret")
	for name, tc := range map[string]struct {
		typ    string
		answer func(w http.ResponseWriter)
		class  Class
	}{
		"429":             {TypeSlack, func(w http.ResponseWriter) { w.Header().Set("Retry-After", "7"); w.WriteHeader(429) }, ClassRateLimited},
		"503":             {TypeWebhook, func(w http.ResponseWriter) { w.WriteHeader(503) }, ClassUnavailable},
		"404":             {TypeSlack, func(w http.ResponseWriter) { http.Error(w, "channel_not_found", 404) }, ClassRejected},
		"dingtalk 130101": {TypeDingTalk, func(w http.ResponseWriter) { _, _ = w.Write([]byte(`{"errcode":130101,"errmsg":"send too fast"}`)) }, ClassRateLimited},
		"dingtalk 310000": {TypeDingTalk, func(w http.ResponseWriter) { _, _ = w.Write([]byte(`{"errcode":310000,"errmsg":"sign not match"}`)) }, ClassRejected},
		"feishu 11232":    {TypeFeishu, func(w http.ResponseWriter) { _, _ = w.Write([]byte(`{"code":11232,"msg":"frequency limited"}`)) }, ClassRateLimited},
		"wecom 45009": {TypeWeCom, func(w http.ResponseWriter) {
			_, _ = w.Write([]byte(`{"errcode":45009,"errmsg":"api freq out of limit"}`))
		}, ClassRateLimited},
		"wecom busy":       {TypeWeCom, func(w http.ResponseWriter) { _, _ = w.Write([]byte(`{"errcode":-1,"errmsg":"system busy"}`)) }, ClassUnavailable},
		"no answer (hang)": {TypeWebhook, func(w http.ResponseWriter) { time.Sleep(1500 * time.Millisecond) }, ClassUncertain},
	} {
		t.Run(name, func(t *testing.T) {
			answer = tc.answer
			ch := &Channel{Name: "c", Type: tc.typ, URL: Ref(srv.URL + "/path/token-abc?access_token=tok"), Secret: "env:T_SECRET"}
			require.NoError(t, ch.check())
			ch.Timeout = time.Second
			err := ch.Send(context.Background(), Message{ID: "m1", Digest: Digest{Route: "r", Language: "en", Threshold: 7}})
			var se *SendError
			require.True(t, errors.As(err, &se), "%v", err)
			assert.Equal(t, tc.class, se.Class, se.Msg)
			assert.NotContains(t, se.Msg, "token-abc")
			assert.NotContains(t, se.Msg, "tok")
			assert.NotContains(t, se.Msg, "sekret")
			if name == "429" {
				assert.Equal(t, 7*time.Second, se.RetryAfter)
			}
		})
	}
	ch := &Channel{Name: "c", Type: TypeWebhook, URL: "http://127.0.0.1:1/hook/token-abc", Secret: "env:T_SECRET"}
	require.NoError(t, ch.check())
	err := ch.Send(context.Background(), Message{ID: "m1", Digest: Digest{Route: "r", Language: "en"}})
	var se *SendError
	require.True(t, errors.As(err, &se))
	assert.Equal(t, ClassUnavailable, se.Class, "refused connection: not delivered, retried")
	assert.NotContains(t, se.Msg, "token-abc")
}
