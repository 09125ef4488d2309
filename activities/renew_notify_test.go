package activities_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"expiry-sync/activities"
	"expiry-sync/internal/contract"
	"expiry-sync/internal/notify"
	"expiry-sync/internal/store"
	"expiry-sync/internal/testkit/testenv"
)

// hookReceiver keeps what each path received: the bodies and webhook ids.
// A path under /refuse/ answers 403, as Slack does to a removed hook; one
// under /flaky/ answers its first request 503.
type hookReceiver struct {
	*httptest.Server
	mu     sync.Mutex
	bodies map[string][][]byte
	ids    map[string][]string
}

func newHookReceiver(t *testing.T) *hookReceiver {
	r := &hookReceiver{bodies: map[string][][]byte{}, ids: map[string][]string{}}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.bodies[req.URL.Path] = append(r.bodies[req.URL.Path], b)
		r.ids[req.URL.Path] = append(r.ids[req.URL.Path], req.Header.Get("webhook-id"))
		r.mu.Unlock()
		if strings.HasPrefix(req.URL.Path, "/flaky/") && len(r.bodies[req.URL.Path]) == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		if strings.HasPrefix(req.URL.Path, "/refuse/") {
			w.WriteHeader(http.StatusForbidden)
			_, _ = io.WriteString(w, "action_prohibited")
			return
		}
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *hookReceiver) got(path string) ([][]byte, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.bodies[path], r.ids[path]
}

// renewNotifyFixture: a store holding three resources of the default
// account (alice's by "owner", bob's by "负责人", one without tags), a
// routes file of four routes and its receivers.
func renewNotifyFixture(t *testing.T, routes string) (*activities.Notifier, *testsuite.TestActivityEnvironment, *hookReceiver) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, testenv.SQLiteURL(t))
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	require.NoError(t, st.Migrate(ctx))
	now := time.Now().UTC().Truncate(time.Second)
	for id, tags := range map[string]store.Tags{"ecs-alice": {"owner": "alice"}, "ecs-bob": {"负责人": "bob"}, "ecs-none": {}} {
		require.NoError(t, st.DB().Create(&store.ExpiringResource{CloudProvider: "huawei", AccountID: domain, AccountName: contract.DefaultAccount,
			ResourceID: id, ResourceName: "vm-" + id, ServiceTypeCode: "hws.service.type.ec2", ExpireTime: now.Add(3 * 24 * time.Hour), IsActive: true,
			Tags: tags, TagStatus: "ok", FirstSeenAt: now, LastSyncedAt: now, LastSyncID: "s"}).Error)
	}
	srv := newHookReceiver(t)
	t.Setenv("T_RN_SECRET", "whsec_"+"cmVuZXctbm90aWZ5LXNlY3JldA==")
	t.Setenv("T_RN_SLACK", srv.URL+"/slack/T000/B000/XOXSECRETPATH")
	t.Setenv("T_RN_REFUSE", srv.URL+"/refuse/T000/B000/XOXREFUSEDPATH")
	file := filepath.Join(t.TempDir(), "notify.yaml")
	require.NoError(t, os.WriteFile(file, []byte(strings.ReplaceAll(routes, "SRV", srv.URL)), 0o600))
	n := &activities.Notifier{Store: st, Accounts: map[string]string{contract.DefaultAccount: domain}, ConfigFile: file}
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(n)
	return n, env, srv
}

const renewRoutes = `default_route: ops
channels:
  hook-storage: {type: webhook, url: "SRV/hook-storage", secret: "env:T_RN_SECRET"}
  hook-web: {type: webhook, url: "SRV/hook-web", secret: "env:T_RN_SECRET"}
  shared-slack: {type: slack, url: "env:T_RN_SLACK"}
  hook-other: {type: webhook, url: "SRV/hook-other", secret: "env:T_RN_SECRET"}
  hook-ops: {type: webhook, url: "SRV/hook-ops", secret: "env:T_RN_SECRET"}
  slack-gone: {type: slack, url: "env:T_RN_REFUSE"}
routes:
  - {name: storage, owners: [alice], channels: [hook-storage, shared-slack], language: zh}
  - {name: web, match: ["b*"], channels: [hook-web, shared-slack], language: en}
  - {name: other, owners: [zed], channels: [hook-other]}
  - {name: ops, channels: [hook-ops, slack-gone]}
`

func renewState(state string, ids ...string) contract.RenewState {
	at := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	st := contract.RenewState{RequestID: "renew-default-1a2b3c4d5e-20261201", Account: contract.DefaultAccount, Kind: contract.RenewKindRenew,
		State: state, ResourceIDs: ids, Period: contract.Period{Unit: "y", Num: 1}, Requester: "carol@laptop",
		Quote:     &contract.RenewQuote{Currency: "CNY", Total: 820_000000},
		Approvals: []contract.Approval{{Approver: "dave@desk", At: at, Total: 820_000000}},
		Orders:    []contract.OrderRef{{OrderID: "CS2612010800ABCDE", ResourceIDs: ids, Amount: 820_000000}},
		CreatedAt: at, UpdatedAt: at}
	if state == contract.RenewOrdered {
		st.WaitsOn, st.Message = contract.WaitsPayment, "ordered, not paid: pay CS2612010800ABCDE in Huawei's console"
	}
	for _, id := range ids {
		st.Resources = append(st.Resources, contract.RenewResource{ID: id, Name: "vm-" + id, ExpireTime: at.Add(72 * time.Hour)})
	}
	return st
}

func renewNotify(t *testing.T, env *testsuite.TestActivityEnvironment, n *activities.Notifier, st contract.RenewState) []contract.SendOutcome {
	t.Helper()
	val, err := env.ExecuteActivity(n.RenewNotify, st)
	require.NoError(t, err)
	var out []contract.SendOutcome
	require.NoError(t, val.Get(&out))
	return out
}

// webhookRenewal decodes a webhook's body: its type, its text and the
// renewal object.
func webhookRenewal(t *testing.T, body []byte) (string, string, map[string]any) {
	t.Helper()
	var ev struct {
		Type string
		Data struct {
			Text    string
			Renewal map[string]any
		}
	}
	require.NoError(t, json.Unmarshal(body, &ev))
	return ev.Type, ev.Data.Text, ev.Data.Renewal
}

// The request's resources are alice's (route storage) and bob's (route
// web): their routes' channels get exactly one message each, the Slack
// channel both routes name once (in storage's language, the first of
// them), naming the request and its state; the routes of nobody in the
// request get nothing. A retried activity sends the same ids; the next
// state other ones.
func TestRenewNotifyTellsTheChannelsOfTheResourcesRoutes(t *testing.T) {
	n, env, srv := renewNotifyFixture(t, renewRoutes)
	st := renewState(contract.RenewOrdered, "ecs-alice", "ecs-bob")
	out := renewNotify(t, env, n, st)
	var channels []string
	for _, o := range out {
		channels = append(channels, o.Channel)
		assert.Equal(t, contract.SendSent, o.Status, "%s: %s", o.Channel, o.Error)
		assert.Equal(t, 1, o.Attempts)
	}
	assert.Equal(t, []string{"hook-storage", "shared-slack", "hook-web"}, channels, "each channel once, in the routes file's order")

	for path, mine := range map[string]string{"/hook-storage": "ecs-alice", "/hook-web": "ecs-bob"} {
		bodies, ids := srv.got(path)
		require.Len(t, bodies, 1, path)
		typ, text, r := webhookRenewal(t, bodies[0])
		assert.Equal(t, "expiry.renewal", typ)
		assert.Equal(t, st.RequestID, r["request_id"], path)
		assert.Equal(t, "ordered", r["state"], path)
		assert.Equal(t, []any{mine}, r["route_resources"], "%s: the route's own resource", path)
		assert.Equal(t, map[string]any{"ecs-alice": "alice", "ecs-bob": "bob"}, r["owners"])
		assert.Contains(t, text, st.RequestID)
		assert.Contains(t, text, "CS2612010800ABCDE")
		assert.NotEmpty(t, ids[0])
	}
	_, text, _ := webhookRenewal(t, first(t, srv, "/hook-storage"))
	assert.Contains(t, text, "已下单，待支付", "storage writes zh")
	_, text, _ = webhookRenewal(t, first(t, srv, "/hook-web"))
	assert.Contains(t, text, "ordered, awaiting payment", "web writes en")

	slack, _ := srv.got("/slack/T000/B000/XOXSECRETPATH")
	require.Len(t, slack, 1, "the channel both routes name gets one message")
	assert.Contains(t, string(slack[0]), st.RequestID)
	assert.Contains(t, string(slack[0]), "已下单，待支付", "in the first route's language")
	assert.Contains(t, string(slack[0]), "ecs-alice")
	assert.Contains(t, string(slack[0]), "ecs-bob")
	for _, path := range []string{"/hook-other", "/hook-ops", "/refuse/T000/B000/XOXREFUSEDPATH"} {
		bodies, _ := srv.got(path)
		assert.Empty(t, bodies, "%s: no resource of its route is in the request", path)
	}

	// Retried: the same ids. Next state: other ids.
	renewNotify(t, env, n, st)
	_, ids := srv.got("/hook-storage")
	require.Len(t, ids, 2)
	assert.Equal(t, ids[0], ids[1], "a retried activity sends the same webhook-id")
	_, webIDs := srv.got("/hook-web")
	assert.NotEqual(t, ids[0], webIDs[0], "one id per channel")
	done := st
	done.State, done.WaitsOn, done.Closed = contract.RenewDone, "", true
	done.NewExpiry = map[string]time.Time{"ecs-alice": time.Date(2027, 12, 4, 8, 0, 0, 0, time.UTC)}
	renewNotify(t, env, n, done)
	bodies, ids := srv.got("/hook-storage")
	require.Len(t, bodies, 3)
	assert.NotEqual(t, ids[0], ids[2], "the next resting point is another message")
	_, text, r := webhookRenewal(t, bodies[2])
	assert.Equal(t, "done", r["state"])
	assert.Contains(t, text, "新到期 2027-12-04 08:00 UTC")
}

func first(t *testing.T, srv *hookReceiver, path string) []byte {
	t.Helper()
	bodies, _ := srv.got(path)
	require.NotEmpty(t, bodies, path)
	return bodies[0]
}

// A resource without an owner tag, or that the inventory does not hold,
// goes to the default route. A channel that refuses fails in its outcome
// (without its URL's secret path), not the activity.
func TestRenewNotifySendsUnownedResourcesToTheDefaultRoute(t *testing.T) {
	n, env, srv := renewNotifyFixture(t, renewRoutes)
	st := renewState(contract.RenewFailed, "ecs-none", "ecs-unknown")
	st.Message, st.Closed = "the quote failed: CBC.0150 resource not found", true
	out := renewNotify(t, env, n, st)
	require.Len(t, out, 2)
	assert.Equal(t, "hook-ops", out[0].Channel)
	assert.Equal(t, contract.SendSent, out[0].Status)
	assert.Equal(t, "slack-gone", out[1].Channel)
	assert.Equal(t, contract.SendFailed, out[1].Status)
	assert.Contains(t, out[1].Error, "HTTP 403")
	assert.NotContains(t, out[1].Error, "XOXREFUSEDPATH", "no secret in the outcome")
	assert.Equal(t, 1, out[1].Attempts, "a refusal is not tried again")

	bodies, _ := srv.got("/hook-ops")
	require.Len(t, bodies, 1)
	_, text, r := webhookRenewal(t, bodies[0])
	assert.Equal(t, "failed", r["state"])
	assert.ElementsMatch(t, []any{"ecs-none", "ecs-unknown"}, r["route_resources"])
	assert.Contains(t, text, st.RequestID)
	assert.Contains(t, text, "the quote failed")
	for _, path := range []string{"/hook-storage", "/hook-web", "/hook-other", "/slack/T000/B000/XOXSECRETPATH"} {
		b, _ := srv.got(path)
		assert.Empty(t, b, path)
	}
}

// No routes file: nothing to tell. A routes file that cannot be read
// fails the activity for good.
func TestRenewNotifyWithoutOrWithABadRoutesFile(t *testing.T) {
	n, env, _ := renewNotifyFixture(t, renewRoutes)
	off := &activities.Notifier{Store: n.Store, Accounts: n.Accounts}
	var suite testsuite.WorkflowTestSuite
	offEnv := suite.NewTestActivityEnvironment()
	offEnv.RegisterActivity(off)
	val, err := offEnv.ExecuteActivity(off.RenewNotify, renewState(contract.RenewDone, "ecs-alice"))
	require.NoError(t, err)
	var out []contract.SendOutcome
	require.NoError(t, val.Get(&out))
	assert.Empty(t, out)

	require.NoError(t, os.WriteFile(n.ConfigFile, []byte("default_route: nowhere\n"), 0o600))
	_, err = env.ExecuteActivity(n.RenewNotify, renewState(contract.RenewDone, "ecs-alice"))
	require.Error(t, err)
	app := appError(t, err)
	assert.Equal(t, string(notify.ClassConfig), app.Type())
	assert.True(t, app.NonRetryable())
}

// A failure that may heal is tried again within the activity, with the
// same id: the outcome counts the attempts.
func TestRenewNotifyTriesAnUnavailableReceiverAgain(t *testing.T) {
	n, env, srv := renewNotifyFixture(t, `default_route: ops
channels:
  flaky: {type: webhook, url: "SRV/flaky/hook", secret: "env:T_RN_SECRET"}
routes:
  - {name: ops, channels: [flaky]}
`)
	out := renewNotify(t, env, n, renewState(contract.RenewExpired, "ecs-alice"))
	require.Len(t, out, 1)
	assert.Equal(t, contract.SendSent, out[0].Status, out[0].Error)
	assert.Equal(t, 2, out[0].Attempts)
	_, ids := srv.got("/flaky/hook")
	require.Len(t, ids, 2)
	assert.Equal(t, ids[0], ids[1], "sent again with its id")
}

// The workflow calls the activity by the contract's name.
func TestRenewNotifyIsTheContractsActivity(t *testing.T) {
	_, ok := reflect.TypeOf(&activities.Notifier{}).MethodByName(contract.ActivityRenewNotify)
	assert.True(t, ok)
}
