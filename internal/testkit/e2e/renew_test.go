package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/encoding/protojson"

	"expiry-sync/internal/contract"
	"expiry-sync/internal/testkit/hwsim"
	"expiry-sync/workflows"
)

// Renewals on the real stack: a worker process (killed where a test says),
// the dev server, MariaDB and the simulator, whose own truth (orders
// placed, paid, expiries moved) is what every test judges by.

// holdPoint holds the simulator's answer to one Huawei call after the
// simulator acted on it, so a test can kill the worker while Huawei has
// done the work and the worker has not heard of it.
type holdPoint struct {
	method, path string // the call held: its method and path prefix
	mu           sync.Mutex
	armed        bool
	reached      chan struct{}
	release      chan struct{}
}

func newHoldPoint(method, path string) *holdPoint {
	return &holdPoint{method: method, path: path, reached: make(chan struct{}), release: make(chan struct{})}
}

func (h *holdPoint) arm() {
	h.mu.Lock()
	h.armed = true
	h.mu.Unlock()
}

// take disarms the point if r is the call it holds.
func (h *holdPoint) take(r *http.Request) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.armed || r.Method != h.method || !strings.HasPrefix(r.URL.Path, h.path) {
		return false
	}
	h.armed = false
	return true
}

func (h *holdPoint) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !h.take(r) {
			next.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r) // Huawei acts...
		close(h.reached)
		<-h.release // ...and its answer waits for the worker's death
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	})
}

// renewStack is a stack whose worker runs as a process in mode, under a
// policy: four eyes, bob and carol approve, max_amount 100000.
func renewStack(t *testing.T, mode string, hold *holdPoint, knobs hwsim.Knobs) *stack {
	o := stackOptions{resources: 60, seed: 1000 + int64(queueSeq.Add(1)), knobs: knobs, workerProcess: true, parallel: true}
	if hold != nil {
		o.wire = hold.wrap
	}
	s := newStack(t, o)
	policy := filepath.Join(t.TempDir(), "renew-policy.yaml")
	require.NoError(t, os.WriteFile(policy, []byte(`default:
  approvers: [alice@ops, bob@ops, carol@ops]
  four_eyes: true
  second_approval_above: "50000"
  max_amount: "100000"
`), 0o600))
	s.cfg.RenewMode, s.cfg.RenewPolicyFile = mode, policy
	return s
}

// mainResources are n main resources of the simulator, the soonest to
// expire first (closed ones left out).
func mainResources(s *stack, n int) []hwsim.Resource {
	var out []hwsim.Resource
	for _, r := range s.sim.Resources() {
		if r.IsMainResource == 1 && r.Status != 3 {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b hwsim.Resource) int { return a.ExpireTime.Compare(b.ExpireTime) })
	return out[:n]
}

func resourceIDs(rs []hwsim.Resource) []string {
	ids := make([]string, len(rs))
	for i, r := range rs {
		ids[i] = r.ResourceID
	}
	return ids
}

// request starts a renewal request as the starter does.
func (s *stack) request(t *testing.T, ids []string, period string) client.WorkflowRun {
	p, err := contract.ParsePeriod(period)
	require.NoError(t, err)
	in := contract.RenewInput{Account: contract.DefaultAccount, Kind: contract.RenewKindRenew, ResourceIDs: ids, Period: p,
		Requester: "alice@ops", WatchEvery: 2 * time.Second}
	in.RequestID = contract.RenewRequestID(in, time.Now())
	run, err := s.client.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{ID: in.RequestID, TaskQueue: s.cfg.Temporal.TaskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING},
		workflows.RenewWorkflowName, in)
	require.NoError(t, err)
	return run
}

// pendingRequest starts a request and waits until it waits for approval.
func (s *stack) pendingRequest(t *testing.T, ids []string, period string) client.WorkflowRun {
	run := s.request(t, ids, period)
	s.waitState(t, run.GetID(), contract.RenewPending, time.Minute)
	return run
}

func (s *stack) renewState(t *testing.T, id string) contract.RenewState {
	v, err := s.client.QueryWorkflow(context.Background(), id, "", contract.RenewStateQuery)
	require.NoError(t, err)
	var st contract.RenewState
	require.NoError(t, v.Get(&st))
	return st
}

func (s *stack) waitState(t *testing.T, id, state string, bound time.Duration) {
	t.Helper()
	var last contract.RenewState
	for deadline := time.Now().Add(bound); ; time.Sleep(200 * time.Millisecond) {
		v, err := s.client.QueryWorkflow(context.Background(), id, "", contract.RenewStateQuery)
		if err == nil && v.Get(&last) == nil && last.State == state {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("request %s is not %s within %s: it is %s (%s); the worker's log: %s", id, state, bound, last.State, last.Message, s.workerLogs)
		}
	}
}

// approve sends the approve update as who; the error is the validator's.
func (s *stack) approve(id, who string) (contract.RenewState, error) {
	h, err := s.client.UpdateWorkflow(context.Background(), client.UpdateWorkflowOptions{WorkflowID: id, UpdateName: contract.RenewApproveName,
		WaitForStage: client.WorkflowUpdateStageCompleted, Args: []any{contract.ApproveInput{Approver: who, Comment: "e2e"}}})
	if err != nil {
		return contract.RenewState{}, err
	}
	var st contract.RenewState
	return st, h.Get(context.Background(), &st)
}

// approveEnough approves as bob, and as carol when the total needs a second
// approver (second_approval_above).
func (s *stack) approveEnough(id string) error {
	st, err := s.approve(id, "bob@ops")
	if err != nil || len(st.Approvals) >= st.Needed {
		return err
	}
	_, err = s.approve(id, "carol@ops")
	return err
}

func finalState(t *testing.T, run client.WorkflowRun, bound time.Duration) contract.RenewState {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	var st contract.RenewState
	require.NoError(t, run.Get(ctx, &st))
	return st
}

// ordersFor are the simulator's orders naming any of the ids.
func ordersFor(s *stack, ids []string) []hwsim.Order {
	var out []hwsim.Order
	for _, o := range s.sim.Orders() {
		if slices.ContainsFunc(o.MainResourceIDs, func(id string) bool { return slices.Contains(ids, id) }) {
			out = append(out, o)
		}
	}
	return out
}

func expireOf(s *stack, id string) time.Time {
	for _, r := range s.sim.Resources() {
		if r.ResourceID == id {
			return r.ExpireTime
		}
	}
	return time.Time{}
}

// Killed at every Huawei call of a renewal, after Huawei acted and before
// the worker heard the answer: whatever the step, exactly one order is
// placed and paid, the expiry moves by exactly one period, and the record
// ends done with the approval before the order.
func TestRenewSurvivesAKilledWorkerAtEveryStep(t *testing.T) {
	steps := []struct{ name, method, path string }{
		{"look-up", http.MethodPost, "/v2/orders/suscriptions/resources/query"},
		{"quote", http.MethodPost, "/v2/bills/ratings/period-resources/renew-rate"},
		{"order-search", http.MethodGet, "/v2/orders/customer-orders"},
		{"order", http.MethodPost, "/v2/orders/subscriptions/resources/renew"},
		{"pay", http.MethodPost, "/v3/orders/customer-orders/pay"},
		{"order-details", http.MethodGet, "/v2/orders/customer-orders/details/"},
	}
	for _, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			t.Parallel()
			hold := newHoldPoint(step.method, step.path)
			s := renewStack(t, contract.RenewModePay, hold, hwsim.Knobs{})
			w := s.startWorkerProcess()
			res := mainResources(s, 1)
			before := res[0].ExpireTime
			run := s.pendingRequest(t, resourceIDs(res), "1m")
			hold.arm() // every step after approval: the look-up, quote and order calls come again
			go func() { _ = s.approveEnough(run.GetID()) }()
			select {
			case <-hold.reached:
			case <-time.After(2 * time.Minute):
				t.Fatalf("the %s call never came", step.name)
			}
			w.kill()
			close(hold.release)
			s.startWorkerProcess()

			st := finalState(t, run, 4*time.Minute)
			require.Equal(t, contract.RenewDone, st.State, st.Message)
			orders := ordersFor(s, resourceIDs(res))
			require.Len(t, orders, 1, "exactly one order whatever the step: %+v", orders)
			assert.Equal(t, hwsim.OrderCompleted, orders[0].Status, "paid")
			assert.Equal(t, before.AddDate(0, 1, 0), expireOf(s, res[0].ResourceID), "moved by one period, once")
			assert.Equal(t, orders[0].OrderID, st.Orders[0].OrderID)

			rec, events, err := s.store.Renewal(context.Background(), run.GetID())
			require.NoError(t, err)
			assert.Equal(t, contract.RenewDone, rec.State)
			var kinds []string
			for _, e := range events {
				kinds = append(kinds, e.Kind)
			}
			require.Contains(t, kinds, "approved")
			assert.Less(t, slices.Index(kinds, "approved"), slices.Index(kinds, "ordered"), "%v", kinds)
		})
	}
}

// An order whose answer is lost, and that Huawei's order list shows only
// later: the retry adopts it (one order); beyond the settle window it
// would stop as uncertain, never order twice.
func TestRenewAdoptsAnOrderWhoseAnswerWasLost(t *testing.T) {
	s := renewStack(t, contract.RenewModeOrder, nil, hwsim.Knobs{OrderAnswerLost: 1, OrderListLag: 3 * time.Second})
	s.startWorkerProcess()
	res := mainResources(s, 2)
	run := s.pendingRequest(t, resourceIDs(res), "1y")
	require.NoError(t, s.approveEnough(run.GetID()))
	s.waitState(t, run.GetID(), contract.RenewOrdered, 3*time.Minute)
	orders := ordersFor(s, resourceIDs(res))
	require.Len(t, orders, 1)
	assert.True(t, orders[0].AnswerLost)
	assert.Equal(t, hwsim.OrderPendingPayment, orders[0].Status, "order mode leaves it unpaid")
	st := s.renewState(t, run.GetID())
	assert.True(t, st.Orders[0].Adopted)

	// A person pays it in the console: the request sees it and the new expiry.
	_, err := s.sim.PayOrderInConsole(orders[0].OrderID)
	require.NoError(t, err)
	final := finalState(t, run, 2*time.Minute)
	assert.Equal(t, contract.RenewDone, final.State, final.Message)
	assert.Len(t, final.NewExpiry, 2)
}

// Validator refusals, reject, deadline, mode off, a price rise, the split
// above 10 resources and an attached resource, on one stack each.
func TestRenewRulesOnTheRealStack(t *testing.T) {
	t.Run("four eyes and approvers", func(t *testing.T) {
		t.Parallel()
		s := renewStack(t, contract.RenewModeOrder, nil, hwsim.Knobs{})
		s.startWorkerProcess()
		run := s.pendingRequest(t, resourceIDs(mainResources(s, 1)), "1m")
		_, err := s.approve(run.GetID(), "alice@ops")
		require.ErrorContains(t, err, "four eyes")
		_, err = s.approve(run.GetID(), "mallory@ops")
		require.ErrorContains(t, err, "may not approve")
		assert.Empty(t, s.sim.Orders())
		require.NoError(t, s.client.CancelWorkflow(context.Background(), run.GetID(), ""))
	})
	t.Run("signal from the Web UI", func(t *testing.T) {
		t.Parallel()
		s := renewStack(t, contract.RenewModeOrder, nil, hwsim.Knobs{})
		s.startWorkerProcess()
		run := s.pendingRequest(t, resourceIDs(mainResources(s, 1)), "1m")
		signal := func(who string) {
			require.NoError(t, s.client.SignalWorkflow(context.Background(), run.GetID(), "", contract.RenewApproveName, contract.ApproveInput{Approver: who, Comment: "from the Web UI"}))
		}
		signal("mallory@ops") // not an approver: recorded, ignored
		eventually(t, "the refused signal is recorded", time.Minute, func() bool {
			_, events, err := s.store.Renewal(context.Background(), run.GetID())
			return err == nil && slices.ContainsFunc(events, func(e contract.RenewEvent) bool { return e.Kind == "refused" && e.Actor == "mallory@ops" })
		})
		assert.Empty(t, s.sim.Orders())
		signal("bob@ops")
		s.waitState(t, run.GetID(), contract.RenewOrdered, time.Minute)
		assert.Len(t, s.sim.Orders(), 1)
		require.NoError(t, s.client.CancelWorkflow(context.Background(), run.GetID(), ""))
	})
	t.Run("reject", func(t *testing.T) {
		t.Parallel()
		s := renewStack(t, contract.RenewModePay, nil, hwsim.Knobs{})
		s.startWorkerProcess()
		run := s.pendingRequest(t, resourceIDs(mainResources(s, 1)), "1m")
		h, err := s.client.UpdateWorkflow(context.Background(), client.UpdateWorkflowOptions{WorkflowID: run.GetID(), UpdateName: contract.RenewRejectName,
			WaitForStage: client.WorkflowUpdateStageCompleted, Args: []any{contract.ApproveInput{Approver: "carol@ops", Comment: "not needed"}}})
		require.NoError(t, err)
		require.NoError(t, h.Get(context.Background(), nil))
		st := finalState(t, run, time.Minute)
		assert.Equal(t, contract.RenewRejected, st.State)
		assert.Empty(t, s.sim.Orders())
	})
	t.Run("deadline", func(t *testing.T) {
		t.Parallel()
		s := renewStack(t, contract.RenewModePay, nil, hwsim.Knobs{})
		s.startWorkerProcess()
		ids := resourceIDs(mainResources(s, 1))
		deadline := time.Now().Add(5 * time.Second)
		in := contract.RenewInput{Account: contract.DefaultAccount, Kind: contract.RenewKindRenew, ResourceIDs: ids, Period: contract.Period{Unit: "m", Num: 1},
			Requester: "alice@ops", Deadline: &deadline}
		in.RequestID = contract.RenewRequestID(in, time.Now())
		run, err := s.client.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{ID: in.RequestID, TaskQueue: s.cfg.Temporal.TaskQueue}, workflows.RenewWorkflowName, in)
		require.NoError(t, err)
		st := finalState(t, run, time.Minute)
		assert.Equal(t, contract.RenewExpired, st.State)
		assert.Empty(t, s.sim.Orders())
	})
	t.Run("mode off", func(t *testing.T) {
		t.Parallel()
		s := renewStack(t, contract.RenewModeOff, nil, hwsim.Knobs{})
		s.startWorkerProcess()
		run := s.pendingRequest(t, resourceIDs(mainResources(s, 1)), "1m")
		require.NoError(t, s.approveEnough(run.GetID()))
		st := finalState(t, run, time.Minute)
		assert.Equal(t, contract.RenewApproved, st.State)
		assert.True(t, st.DryRun)
		assert.Empty(t, s.sim.Orders())
		calls := s.sim.RenewTruth().Calls
		assert.Equal(t, int64(2), calls[hwsim.APIRenewRate].Requests, "quoted, and quoted again before the order")
	})
	t.Run("price rise", func(t *testing.T) {
		t.Parallel()
		s := renewStack(t, contract.RenewModePay, nil, hwsim.Knobs{})
		s.startWorkerProcess()
		res := mainResources(s, 1)
		run := s.pendingRequest(t, resourceIDs(res), "1m")
		first := s.renewState(t, run.GetID()).Quote.Total
		require.NoError(t, s.sim.SetKnobs(hwsim.Knobs{RenewPriceFactor: 1.5}))
		require.NoError(t, s.approveEnough(run.GetID()))
		eventually(t, "asked again", time.Minute, func() bool {
			st := s.renewState(t, run.GetID())
			return st.State == contract.RenewPending && len(st.Approvals) == 0 && st.Quote.Total > first
		})
		assert.Empty(t, s.sim.Orders(), "nothing ordered at the higher price without a new yes")
		require.NoError(t, s.approveEnough(run.GetID()))
		st := finalState(t, run, 2*time.Minute)
		assert.Equal(t, contract.RenewDone, st.State, st.Message)
		require.Len(t, ordersFor(s, resourceIDs(res)), 1)
		paid, err := contract.ParseAmount(ordersFor(s, resourceIDs(res))[0].Amount)
		require.NoError(t, err)
		assert.Equal(t, st.Approved, paid, "paid what was approved the second time")
	})
	t.Run("more than 10 resources", func(t *testing.T) {
		t.Parallel()
		s := renewStack(t, contract.RenewModeOrder, nil, hwsim.Knobs{})
		s.startWorkerProcess()
		res := mainResources(s, 12)
		run := s.pendingRequest(t, resourceIDs(res), "1m")
		require.NoError(t, s.approveEnough(run.GetID()))
		s.waitState(t, run.GetID(), contract.RenewOrdered, 2*time.Minute)
		calls := s.sim.RenewTruth().Calls
		assert.Equal(t, int64(2), calls[hwsim.APIRenew].Requests, "12 resources: two calls of at most 10")
		var ordered []string
		for _, o := range ordersFor(s, resourceIDs(res)) {
			ordered = append(ordered, o.MainResourceIDs...)
		}
		assert.ElementsMatch(t, resourceIDs(res), ordered)
		require.NoError(t, s.client.CancelWorkflow(context.Background(), run.GetID(), ""))
	})
	t.Run("attached resource", func(t *testing.T) {
		t.Parallel()
		s := renewStack(t, contract.RenewModeOrder, nil, hwsim.Knobs{})
		s.startWorkerProcess()
		var child hwsim.Resource
		for _, r := range s.sim.Resources() {
			if r.IsMainResource == 0 && r.ParentResourceID != "" {
				child = r
				break
			}
		}
		require.NotEmpty(t, child.ResourceID, "the dataset has attached resources")
		run := s.request(t, []string{child.ResourceID}, "1m")
		err := run.Get(context.Background(), nil)
		require.Error(t, err)
		assert.Contains(t, err.Error(), fmt.Sprintf("renew its main resource %s", child.ParentResourceID))
		assert.Empty(t, s.sim.Orders())
	})
}

// TestRenewFromTheStarter walks the commands as a person would: quote
// (read-only), request, a refused self-approval, approve, status, list;
// then the next sync stores the new expiry and the report shows the
// decisions. The request's history replays against today's code; with
// EXPIRY_SYNC_RECORD_RENEW_HISTORY=path it is written there (refreshing
// workflows/testdata), and with EXPIRY_SYNC_TRANSCRIPT=path the session is.
func TestRenewFromTheStarter(t *testing.T) {
	s := newStack(t, stackOptions{resources: 60, seed: 1000 + int64(queueSeq.Add(1)), workerProcess: true})
	t.Setenv("DATABASE_URL", s.dbURL)
	policy := filepath.Join(t.TempDir(), "renew-policy.yaml")
	require.NoError(t, os.WriteFile(policy, []byte("default:\n  approvers: [alice@ops, bob@ops]\n  four_eyes: true\n  max_amount: \"100000\"\n"), 0o600))
	s.cfg.RenewMode, s.cfg.RenewPolicyFile = contract.RenewModePay, policy
	notices := renewHook(t)
	s.startWorkerProcess()
	var transcript strings.Builder
	run := func(want int, args ...string) string {
		t.Helper()
		code, out, errOut := s.starter(args...)
		fmt.Fprintf(&transcript, "$ starter %s\n%s%s[exit %d]\n\n", strings.Join(args, " "), out, errOut, code)
		require.Equal(t, want, code, "starter %v\nstdout:\n%s\nstderr:\n%s", args, out, errOut)
		return out + errOut
	}
	run(0, "sync", "--expire-days", "400", "--lookback-days", "40", "--wait")
	res := mainResources(s, 2)
	id, other := res[0].ResourceID, res[1].ResourceID

	out := run(0, "renew", "quote", "--resource", id, "--period", "1m")
	assert.Contains(t, out, "TOTAL")
	assert.Empty(t, s.sim.Orders(), "a quote orders nothing")

	out = run(0, "renew", "request", "--resource", id, "--period", "1m", "--reason", "ticket OPS-1", "--requester", "alice@ops", "--wait", "-o", "json")
	var started struct {
		RequestID string `json:"request_id"`
	}
	require.NoError(t, json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &started), out)
	req := started.RequestID

	out = run(2, "renew", "approve", req, "--approver", "alice@ops")
	assert.Contains(t, out, "four eyes")
	assert.Empty(t, s.sim.Orders())

	run(0, "renew", "approve", req, "--approver", "bob@ops", "--comment", "budget ok", "--wait")
	out = run(0, "renew", "status", req)
	orders := ordersFor(s, []string{id})
	require.Len(t, orders, 1)
	assert.Contains(t, out, orders[0].OrderID)
	assert.Contains(t, out, contract.RenewDone)
	newExpiry := expireOf(s, id)
	assert.Equal(t, res[0].ExpireTime.AddDate(0, 1, 0), newExpiry)
	assert.Contains(t, run(0, "renew", "list", "--state", contract.RenewDone), req)

	run(0, "lapse", "--resource", other, "--reason", "decommissioned", "--requester", "alice@ops")
	run(0, "sync", "--expire-days", "400", "--lookback-days", "40", "--wait")
	assert.Equal(t, newExpiry, s.rows()[id].ExpireTime.UTC(), "the next sync stores the new expiry")
	out = run(0, "report", "--expire-days", "400", "--limit", "1000")
	assert.Contains(t, out, "renewed until "+newExpiry.Format(time.DateOnly))
	assert.Contains(t, out, "lapse: decommissioned")

	eventually(t, "the route's channel is told the request is done", time.Minute, func() bool {
		return slices.ContainsFunc(notices(), func(b string) bool {
			return strings.Contains(b, `"expiry.renewal"`) && strings.Contains(b, req) && strings.Contains(b, `"state":"done"`)
		})
	})
	h := s.history(req, "")
	require.NoError(t, renewReplayer().ReplayWorkflowHistoryWithOptions(nil, h,
		worker.ReplayWorkflowHistoryOptions{OriginalExecution: workflow.Execution{ID: req}}))
	if path := os.Getenv("EXPIRY_SYNC_RECORD_RENEW_HISTORY"); path != "" {
		b, err := protojson.MarshalOptions{Indent: "  "}.Marshal(h)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(path, b, 0o644))
		t.Logf("recorded %d events of %s to %s", len(h.Events), req, path)
	}
	if path := os.Getenv("EXPIRY_SYNC_TRANSCRIPT"); path != "" {
		require.NoError(t, os.WriteFile(path, []byte(transcript.String()), 0o644))
	}
}

func renewReplayer() worker.WorkflowReplayer {
	r := worker.NewWorkflowReplayer()
	r.RegisterWorkflowWithOptions(workflows.RenewResources, workflow.RegisterOptions{Name: workflows.RenewWorkflowName})
	return r
}

// modelRequest is what the test itself knows of one request: what it
// asked, and which of its updates the workflow accepted.
type modelRequest struct {
	id        string
	ids       []string
	run       client.WorkflowRun
	approvals []modelApproval // accepted
	rejected  bool            // a reject was accepted
}

type modelApproval struct {
	who string
	at  time.Time
}

// TestRenewalModel runs random sequences of requests, approvals by the
// right and the wrong people, rejections, price changes, lost order
// answers, worker kills and console payments on the real stack, and
// checks what must always hold against the simulator's truth and the
// test's own record, never against the product's tables:
//   - every order belongs to one request, at most one per request;
//   - no order without the approvals the policy asks for, accepted before
//     it was placed, and none for a request rejected first;
//   - the validator refuses every approval the rules forbid;
//   - nothing is paid above max_amount;
//   - each expiry moved by the period once per paid order naming it.
//
// EXPIRY_SYNC_RENEW_MODEL_SEEDS sets how many sequences (default 3).
func TestRenewalModel(t *testing.T) {
	n := 3
	if v := os.Getenv("EXPIRY_SYNC_RENEW_MODEL_SEEDS"); v != "" {
		_, err := fmt.Sscan(v, &n)
		require.NoError(t, err)
	}
	for seed := 1; seed <= n; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			t.Parallel()
			runRenewalModel(t, int64(seed))
		})
	}
}

const (
	modelMaxAmount      = "2500"
	modelSecondApproval = "2000"
)

func runRenewalModel(t *testing.T, seed int64) {
	rng := rand.New(rand.NewPCG(uint64(seed), 23))
	mode := []string{contract.RenewModeOrder, contract.RenewModePay}[rng.IntN(2)]
	knobs := hwsim.Knobs{}
	if rng.IntN(2) == 0 {
		knobs.OrderListLag = 2 * time.Second
	}
	s := newStack(t, stackOptions{resources: 80, seed: 2000 + seed, knobs: knobs, workerProcess: true, parallel: true})
	policy := filepath.Join(t.TempDir(), "renew-policy.yaml")
	require.NoError(t, os.WriteFile(policy, []byte(fmt.Sprintf("default:\n  approvers: [alice@ops, bob@ops, carol@ops]\n  four_eyes: true\n  second_approval_above: %q\n  max_amount: %q\n",
		modelSecondApproval, modelMaxAmount)), 0o600))
	s.cfg.RenewMode, s.cfg.RenewPolicyFile = mode, policy
	w := s.startWorkerProcess()
	t.Logf("seed %d: mode %s, order list lag %s", seed, mode, knobs.OrderListLag)

	free := resourceIDs(mainResources(s, 8))
	before := map[string]time.Time{}
	for _, id := range free {
		before[id] = expireOf(s, id)
	}
	period := contract.Period{Unit: "m", Num: 1}
	var reqs []*modelRequest
	people := []string{"alice@ops", "bob@ops", "carol@ops", "mallory@ops"}
	for step := 0; step < 20; step++ {
		op := rng.IntN(8)
		if step < 2 {
			op = 0 // begin with requests, so that most steps act on one
		}
		switch {
		case op == 0 && len(free) > 0: // a request of 1-3 resources no other request names
			k := min(len(free), 1+rng.IntN(3))
			ids := free[:k]
			free = free[k:]
			run := s.request(t, ids, "1m")
			reqs = append(reqs, &modelRequest{id: run.GetID(), ids: ids, run: run})
			t.Logf("step %d: request %s for %v", step, run.GetID(), ids)
		case op <= 3 && len(reqs) > 0: // an approval by anyone
			r := reqs[rng.IntN(len(reqs))]
			who := people[rng.IntN(len(people))]
			sent := time.Now() // accepted after this: the earliest an order may follow
			_, err := s.approve(r.id, who)
			forbidden := who == "mallory@ops" || who == "alice@ops" // not an approver; the requester under four eyes
			if forbidden {
				require.Error(t, err, "the validator refuses %s on %s", who, r.id)
			}
			if err == nil {
				r.approvals = append(r.approvals, modelApproval{who: who, at: sent})
			}
			t.Logf("step %d: approve %s as %s: %v", step, r.id, who, err)
		case op == 4 && len(reqs) > 0 && rng.IntN(3) == 0:
			r := reqs[rng.IntN(len(reqs))]
			h, err := s.client.UpdateWorkflow(context.Background(), client.UpdateWorkflowOptions{WorkflowID: r.id, UpdateName: contract.RenewRejectName,
				WaitForStage: client.WorkflowUpdateStageCompleted, Args: []any{contract.ApproveInput{Approver: "carol@ops"}}})
			if err == nil && h.Get(context.Background(), nil) == nil {
				r.rejected = true // accepted only while it waits: it can have ordered nothing
			}
			t.Logf("step %d: reject %s: %v", step, r.id, err)
		case op == 5:
			factor := []float64{1, 1.3, 0.8}[rng.IntN(3)]
			knobs.RenewPriceFactor = factor
			require.NoError(t, s.sim.SetKnobs(knobs))
			t.Logf("step %d: price factor %g", step, factor)
		case op == 6:
			knobs.OrderAnswerLost = 1
			require.NoError(t, s.sim.SetKnobs(knobs))
			knobs.OrderAnswerLost = 0
			t.Logf("step %d: the next order's answer is lost", step)
		case op == 7:
			time.Sleep(time.Duration(rng.IntN(2000)) * time.Millisecond)
			w.kill()
			w = s.startWorkerProcess()
			t.Logf("step %d: worker killed and restarted", step)
		}
		time.Sleep(time.Duration(rng.IntN(1500)) * time.Millisecond)
	}
	consolePaid := map[string]bool{}
	// Let every request end: approve what waits (two approvers, as a total
	// above second_approval_above asks), pay what waits for payment.
	eventually(t, "every request ends", 4*time.Minute, func() bool {
		open := 0
		for _, r := range reqs {
			v, err := s.client.QueryWorkflow(context.Background(), r.id, "", contract.RenewStateQuery)
			var st contract.RenewState
			if err != nil || v.Get(&st) != nil {
				open++ // a query needs a worker: one may be starting
				continue
			}
			if st.Closed {
				continue
			}
			open++
			switch st.WaitsOn {
			case contract.WaitsApproval:
				for _, who := range []string{"bob@ops", "carol@ops"} {
					sent := time.Now()
					if _, err := s.approve(r.id, who); err == nil {
						r.approvals = append(r.approvals, modelApproval{who: who, at: sent})
					}
				}
			case contract.WaitsPayment:
				for _, o := range st.Orders {
					if _, err := s.sim.PayOrderInConsole(o.OrderID); err == nil {
						consolePaid[o.OrderID] = true
					}
				}
			}
		}
		return open == 0
	})
	checkRenewalModel(t, s, reqs, before, period, consolePaid)
}

func checkRenewalModel(t *testing.T, s *stack, reqs []*modelRequest, expiries map[string]time.Time, period contract.Period, consolePaid map[string]bool) {
	maxAmount, _ := contract.ParseAmount(modelMaxAmount)
	second, _ := contract.ParseAmount(modelSecondApproval)
	paidPerResource := map[string]int{}
	ordersOf := map[string]int{}
	for _, o := range s.sim.Orders() {
		var owner *modelRequest
		for _, r := range reqs {
			if slices.ContainsFunc(o.MainResourceIDs, func(id string) bool { return slices.Contains(r.ids, id) }) {
				require.Nil(t, owner, "order %s names the resources of two requests", o.OrderID)
				owner = r
			}
		}
		require.NotNil(t, owner, "order %s belongs to no request", o.OrderID)
		ordersOf[owner.id]++
		amount, err := contract.ParseAmount(o.Amount)
		require.NoError(t, err)
		needed := 1
		if amount > second {
			needed = 2
		}
		var approvers []string
		for _, a := range owner.approvals {
			if a.at.Before(o.CreateTime) && !slices.Contains(approvers, a.who) {
				approvers = append(approvers, a.who)
			}
		}
		assert.GreaterOrEqual(t, len(approvers), needed, "order %s of %s (%s) placed after %d distinct approval(s): %+v", o.OrderID, owner.id, o.Amount, len(approvers), owner.approvals)
		assert.False(t, owner.rejected, "order %s of a rejected request %s", o.OrderID, owner.id)
		if o.Status == hwsim.OrderCompleted {
			for _, id := range o.MainResourceIDs {
				paidPerResource[id]++
			}
			if !consolePaid[o.OrderID] {
				assert.Equal(t, contract.RenewModePay, s.cfg.RenewMode, "order %s paid by the worker in mode %s", o.OrderID, s.cfg.RenewMode)
				assert.LessOrEqual(t, amount, maxAmount, "order %s paid above max_amount", o.OrderID)
			}
		}
	}
	for id, n := range ordersOf {
		assert.LessOrEqual(t, n, 1, "request %s has %d orders", id, n)
	}
	for id, t0 := range expiries {
		want := t0
		for range paidPerResource[id] {
			want = period.AddTo(want)
		}
		assert.Equal(t, want, expireOf(s, id), "resource %s moved once per paid order (%d)", id, paidPerResource[id])
	}
	for _, r := range reqs {
		var st contract.RenewState
		require.NoError(t, r.run.Get(context.Background(), &st))
		rec, _, err := s.store.Renewal(context.Background(), r.id)
		require.NoError(t, err)
		assert.Equal(t, st.State, rec.State, "the record of %s agrees with its workflow", r.id)
	}
}

// renewHook is a routes file with one webhook channel for every resource
// (EXPIRY_SYNC_NOTIFY_FILE, read by worker processes started after it);
// the function returns the bodies the webhook received.
func renewHook(t *testing.T) func() []string {
	var mu sync.Mutex
	var bodies []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, string(b))
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(hook.Close)
	routes := filepath.Join(t.TempDir(), "routes.yaml")
	require.NoError(t, os.WriteFile(routes, []byte(fmt.Sprintf("default_route: ops\nchannels:\n  ops-hook: {type: webhook, url: %q, secret: \"env:T_RENEW_HOOK_SECRET\"}\nroutes:\n  - {name: ops, channels: [ops-hook]}\n", hook.URL)), 0o600))
	t.Setenv("T_RENEW_HOOK_SECRET", "renew-hook-secret-0123456789abcdef")
	t.Setenv("EXPIRY_SYNC_NOTIFY_FILE", routes)
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(bodies)
	}
}
