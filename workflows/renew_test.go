package workflows_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"expiry-sync/internal/contract"
	"expiry-sync/workflows"
)

// renewCloud plays the renewal activities with the cloud's own truth: how
// many orders it placed, what it charged. The tests judge the workflow by
// that truth, never by the workflow's own state alone.
type renewCloud struct {
	mu      sync.Mutex
	mode    string
	policy  contract.RenewPolicy
	prices  []contract.Amount // successive quote totals; the last repeats
	quotes  int
	orders  int // orders placed
	paid    int
	applied int
	events  []contract.RenewEvent
	orderFn func() (contract.RenewOrderResult, error) // nil: place one order
	notices []string                                  // the states the routes' channels were told of
	// recordFails: a record the database refuses for good.
	recordFails func(contract.RenewEvent) error
	metrics     *countingMetrics
}

// countingMetrics counts the workflow's own counters by name and tags.
type countingMetrics struct {
	client.MetricsHandler
	mu     *sync.Mutex
	tags   string
	counts map[string]int64
}

func (m *countingMetrics) WithTags(tags map[string]string) client.MetricsHandler {
	return &countingMetrics{MetricsHandler: m.MetricsHandler, mu: m.mu, counts: m.counts, tags: fmt.Sprint(tags)}
}

func (m *countingMetrics) Counter(name string) client.MetricsCounter {
	return counterFunc(func(n int64) {
		m.mu.Lock()
		defer m.mu.Unlock()
		m.counts[name+m.tags] += n
	})
}

type counterFunc func(int64)

func (f counterFunc) Inc(n int64) { f(n) }

func (f *renewCloud) open(_ context.Context, in contract.RenewInput) (contract.RenewOpened, error) {
	res := make([]contract.RenewResource, len(in.ResourceIDs))
	for i, id := range in.ResourceIDs {
		res[i] = contract.RenewResource{ID: id, ExpireTime: time.Date(2027, 1, 20, 0, 0, 0, 0, time.UTC)}
	}
	return contract.RenewOpened{Policy: f.policy, Resources: res, Deadline: time.Date(2027, 1, 17, 0, 0, 0, 0, time.UTC)}, nil
}

func (f *renewCloud) quote(_ context.Context, in contract.QuoteInput) (contract.RenewQuote, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	total := f.prices[min(f.quotes, len(f.prices)-1)]
	f.quotes++
	return contract.RenewQuote{Currency: "CNY", Total: total, Lines: []contract.QuoteLine{{ResourceID: in.ResourceIDs[0], Amount: total}}}, nil
}

func (f *renewCloud) record(_ context.Context, ev contract.RenewEvent) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.recordFails != nil {
		if err := f.recordFails(ev); err != nil {
			return err
		}
	}
	f.events = append(f.events, ev)
	return nil
}

func (f *renewCloud) order(_ context.Context, in contract.RenewOrderInput) (contract.RenewOrderResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.orderFn != nil {
		return f.orderFn()
	}
	if f.mode == contract.RenewModeOff {
		return contract.RenewOrderResult{Mode: f.mode}, nil
	}
	f.orders++
	return contract.RenewOrderResult{Mode: f.mode, Orders: []contract.OrderRef{{OrderID: fmt.Sprintf("CS%d", f.orders), ResourceIDs: in.ResourceIDs}}}, nil
}

func (f *renewCloud) pay(_ context.Context, in contract.RenewPayInput) (contract.RenewPayResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.paid++
	out := contract.RenewPayResult{Orders: in.Orders}
	for i := range out.Orders {
		out.Orders[i].Paid = true
	}
	return out, nil
}

func (f *renewCloud) watch(_ context.Context, in contract.RenewWatchInput) (contract.RenewWatchResult, error) {
	out := contract.RenewWatchResult{NewExpiry: map[string]time.Time{}}
	for _, r := range in.Resources {
		out.NewExpiry[r.ID] = in.Period.AddTo(r.ExpireTime)
	}
	return out, nil
}

func (f *renewCloud) notify(_ context.Context, st contract.RenewState) ([]contract.SendOutcome, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.notices = append(f.notices, st.State)
	return []contract.SendOutcome{{Channel: "ops", Status: "sent"}}, nil
}

func (f *renewCloud) apply(_ context.Context, in contract.RenewApplyInput) (contract.RenewApplyResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.mode == contract.RenewModeOff {
		return contract.RenewApplyResult{Mode: f.mode}, nil
	}
	f.applied++
	return contract.RenewApplyResult{Mode: f.mode, Applied: in.ResourceIDs}, nil
}

func (f *renewCloud) eventKinds() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var kinds []string
	for _, e := range f.events {
		kinds = append(kinds, e.Kind)
	}
	return kinds
}

func renewEnv(f *renewCloud) *testsuite.TestWorkflowEnvironment {
	var s testsuite.WorkflowTestSuite
	f.metrics = &countingMetrics{MetricsHandler: client.MetricsNopHandler, mu: &sync.Mutex{}, counts: map[string]int64{}}
	s.SetMetricsHandler(f.metrics)
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(workflows.RenewResources, workflowNamed(workflows.RenewWorkflowName))
	for name, fn := range map[string]any{
		contract.ActivityRenewOpen: f.open, contract.ActivityRenewQuote: f.quote, contract.ActivityRenewRecord: f.record,
		contract.ActivityRenewOrder: f.order, contract.ActivityRenewPay: f.pay, contract.ActivityRenewWatch: f.watch, contract.ActivityRenewApply: f.apply,
		contract.ActivityRenewNotify: f.notify,
	} {
		env.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: name})
	}
	env.SetStartTime(time.Date(2027, 1, 1, 9, 0, 0, 0, time.UTC))
	return env
}

func renewInput() contract.RenewInput {
	return contract.RenewInput{Account: "prod", Kind: contract.RenewKindRenew, ResourceIDs: []string{"ecs-1"},
		Period: contract.Period{Unit: "m", Num: 1}, Requester: "alice@ops", WatchEvery: time.Minute}
}

// updateResult records one update's outcome.
type updateResult struct {
	rejected error
	err      error
	state    contract.RenewState
}

func (u *updateResult) callbacks() *testsuite.TestUpdateCallback {
	return &testsuite.TestUpdateCallback{
		OnReject: func(err error) { u.rejected = err },
		OnAccept: func() {},
		OnComplete: func(v any, err error) {
			u.err = err
			if st, ok := v.(contract.RenewState); ok {
				u.state = st
			}
		},
	}
}

// sendAt sends an update after d of workflow time.
func sendAt(env *testsuite.TestWorkflowEnvironment, d time.Duration, name, who string) *updateResult {
	u := &updateResult{}
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(name, fmt.Sprintf("%s-%s-%s", name, who, d), u.callbacks(), contract.ApproveInput{Approver: who, Comment: "ok"})
	}, d)
	return u
}

func queryState(t *testing.T, env *testsuite.TestWorkflowEnvironment) contract.RenewState {
	v, err := env.QueryWorkflow(contract.RenewStateQuery)
	require.NoError(t, err)
	var st contract.RenewState
	require.NoError(t, v.Get(&st))
	return st
}

func runRenew(t *testing.T, env *testsuite.TestWorkflowEnvironment, in contract.RenewInput) contract.RenewState {
	t.Helper()
	env.ExecuteWorkflow(workflows.RenewWorkflowName, in)
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var st contract.RenewState
	require.NoError(t, env.GetWorkflowResult(&st))
	return st
}

// The validator refuses the requester under four eyes and anyone outside
// the approvers; nothing is ordered until an approver says yes, then once.
func TestRenewApprovalRulesAreEnforcedBeforeAnyOrder(t *testing.T) {
	f := &renewCloud{mode: contract.RenewModeOrder, prices: []contract.Amount{100e6},
		policy: contract.RenewPolicy{FourEyes: true, Approvers: []string{"alice@ops", "bob@ops"}}}
	env := renewEnv(f)
	var waiting contract.RenewState
	env.RegisterDelayedCallback(func() { waiting = queryState(t, env) }, 30*time.Second)
	own := sendAt(env, time.Minute, contract.RenewApproveName, "alice@ops")
	stranger := sendAt(env, 2*time.Minute, contract.RenewApproveName, "mallory@ops")
	bob := sendAt(env, 3*time.Minute, contract.RenewApproveName, "bob@ops")
	st := runRenew(t, env, renewInput())

	assert.Equal(t, contract.WaitsApproval, waiting.WaitsOn)
	require.Error(t, own.rejected)
	assert.Contains(t, own.rejected.Error(), "four eyes")
	require.Error(t, stranger.rejected)
	assert.Contains(t, stranger.rejected.Error(), "may not approve")
	require.NoError(t, bob.rejected)
	assert.Equal(t, contract.RenewDone, st.State)
	assert.Equal(t, 1, f.orders, "exactly one order")
	require.Len(t, st.Approvals, 1)
	assert.Equal(t, "bob@ops", st.Approvals[0].Approver)
	assert.Equal(t, contract.Amount(100e6), st.Approved)
	kinds := f.eventKinds()
	assert.Less(t, indexOf(kinds, "approved"), indexOf(kinds, "ordered"), "the approval is recorded before the order: %v", kinds)
	assert.Equal(t, []string{contract.RenewOrdered, contract.RenewDone}, f.notices, "the routes' channels are told once per resting point: the unpaid order, the end")
	assert.Equal(t, int64(1), f.metrics.counts[workflows.RenewEventsMetric+fmt.Sprint(map[string]string{"account": "prod", "kind": "renew", "event": "ordered"})])
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return 1 << 30
}

// A total above second_approval_above needs two different approvers; the
// same approver twice is refused.
func TestRenewSecondApprovalAboveThreshold(t *testing.T) {
	f := &renewCloud{mode: contract.RenewModeOrder, prices: []contract.Amount{5000e6},
		policy: contract.RenewPolicy{FourEyes: true, SecondApprovalAbove: 1000e6}}
	env := renewEnv(f)
	first := sendAt(env, time.Minute, contract.RenewApproveName, "bob@ops")
	again := sendAt(env, 2*time.Minute, contract.RenewApproveName, "bob@ops")
	var ordersAfterFirst int
	env.RegisterDelayedCallback(func() { ordersAfterFirst = f.orders }, 150*time.Second)
	second := sendAt(env, 3*time.Minute, contract.RenewApproveName, "carol@ops")
	st := runRenew(t, env, renewInput())

	require.NoError(t, first.rejected)
	require.Error(t, again.rejected)
	assert.Contains(t, again.rejected.Error(), "already approved")
	require.NoError(t, second.rejected)
	assert.Equal(t, 0, ordersAfterFirst, "one approval of two orders nothing")
	assert.Equal(t, 1, f.orders)
	assert.Equal(t, 2, st.Needed)
	assert.Len(t, st.Approvals, 2)
}

// The approved quote is the ceiling: a higher price before ordering voids
// the approval and asks again; the order follows the second yes only.
func TestRenewPriceRiseAsksAgain(t *testing.T) {
	f := &renewCloud{mode: contract.RenewModeOrder, prices: []contract.Amount{100e6, 120e6}, policy: contract.RenewPolicy{FourEyes: true}}
	env := renewEnv(f)
	sendAt(env, time.Minute, contract.RenewApproveName, "bob@ops")
	var mid contract.RenewState
	env.RegisterDelayedCallback(func() { mid = queryState(t, env) }, 2*time.Minute)
	sendAt(env, 3*time.Minute, contract.RenewApproveName, "bob@ops")
	st := runRenew(t, env, renewInput())

	assert.Equal(t, contract.RenewPending, mid.State, "asked again after the rise")
	assert.Contains(t, mid.Message, "price rose from 100.00 to 120.00")
	assert.Empty(t, mid.Approvals)
	assert.Equal(t, 1, f.orders)
	assert.Equal(t, contract.Amount(120e6), st.Approved)
	assert.Contains(t, f.eventKinds(), "price-rose")
}

// Rejected, past its deadline, or in mode off: nothing is ordered.
func TestRenewEndsWithoutOrdering(t *testing.T) {
	t.Run("rejected", func(t *testing.T) {
		f := &renewCloud{mode: contract.RenewModePay, prices: []contract.Amount{1e6}, policy: contract.RenewPolicy{FourEyes: true}}
		env := renewEnv(f)
		sendAt(env, time.Minute, contract.RenewRejectName, "bob@ops")
		late := sendAt(env, 2*time.Minute, contract.RenewApproveName, "carol@ops")
		st := runRenew(t, env, renewInput())
		assert.Equal(t, contract.RenewRejected, st.State)
		assert.True(t, st.Closed)
		assert.Equal(t, 0, f.orders)
		assert.Zero(t, f.paid)
		_ = late // the workflow had ended: the update never reached it
	})
	t.Run("deadline", func(t *testing.T) {
		f := &renewCloud{mode: contract.RenewModePay, prices: []contract.Amount{1e6}, policy: contract.RenewPolicy{FourEyes: true}}
		env := renewEnv(f)
		st := runRenew(t, env, renewInput())
		assert.Equal(t, contract.RenewExpired, st.State)
		assert.Equal(t, time.Date(2027, 1, 17, 0, 0, 0, 0, time.UTC), st.UpdatedAt, "ended at its deadline")
		assert.Contains(t, st.Message, "nothing was ordered")
		assert.Equal(t, 0, f.orders)
	})
	t.Run("mode off", func(t *testing.T) {
		f := &renewCloud{mode: contract.RenewModeOff, prices: []contract.Amount{1e6}, policy: contract.RenewPolicy{FourEyes: true}}
		env := renewEnv(f)
		sendAt(env, time.Minute, contract.RenewApproveName, "bob@ops")
		st := runRenew(t, env, renewInput())
		assert.Equal(t, contract.RenewApproved, st.State)
		assert.True(t, st.DryRun)
		assert.Contains(t, st.Message, "EXPIRY_SYNC_RENEW=off")
		assert.Equal(t, 0, f.orders)
		assert.Equal(t, 2, f.quotes, "the whole path up to the order: quoted, approved, quoted again")
	})
}

// An order step that cannot tell whether an order stands stops the
// request for good: one attempt, no second order, the reason on record.
func TestRenewOrderUncertainIsFinal(t *testing.T) {
	f := &renewCloud{mode: contract.RenewModeOrder, prices: []contract.Amount{1e6}, policy: contract.RenewPolicy{FourEyes: true}}
	calls := 0
	f.orderFn = func() (contract.RenewOrderResult, error) {
		calls++
		return contract.RenewOrderResult{}, temporal.NewNonRetryableApplicationError("an order for ecs-1 may have been placed", contract.ErrTypeOrderUncertain, nil)
	}
	env := renewEnv(f)
	sendAt(env, time.Minute, contract.RenewApproveName, "bob@ops")
	st := runRenew(t, env, renewInput())
	assert.Equal(t, 1, calls)
	assert.Equal(t, contract.RenewFailed, st.State)
	assert.Contains(t, st.Message, "may have been placed")
}

// The Web UI's signal approves by the same rules; a signal the rules
// refuse is recorded and changes nothing.
func TestRenewSignalApprovesByTheSameRules(t *testing.T) {
	f := &renewCloud{mode: contract.RenewModePay, prices: []contract.Amount{1e6}, policy: contract.RenewPolicy{FourEyes: true, MaxAmount: 10e6}}
	env := renewEnv(f)
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(contract.RenewApproveName, contract.ApproveInput{Approver: "alice@ops"})
	}, time.Minute)
	var afterRefused int
	env.RegisterDelayedCallback(func() { afterRefused = f.orders }, 2*time.Minute)
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(contract.RenewApproveName, contract.ApproveInput{Approver: "bob@ops", Comment: "from the Web UI"})
	}, 3*time.Minute)
	st := runRenew(t, env, renewInput())
	assert.Equal(t, 0, afterRefused)
	assert.Contains(t, f.eventKinds(), "refused")
	assert.Equal(t, contract.RenewDone, st.State)
	assert.Equal(t, 1, f.orders)
	assert.Equal(t, 1, f.paid)
	assert.Equal(t, "from the Web UI", st.Approvals[0].Comment)
}

// Auto-renew goes through the same approval, then is applied once.
func TestAutoRenewIsApprovedThenApplied(t *testing.T) {
	f := &renewCloud{mode: contract.RenewModeOrder, prices: []contract.Amount{0}, policy: contract.RenewPolicy{FourEyes: true}}
	env := renewEnv(f)
	var before int
	env.RegisterDelayedCallback(func() { before = f.applied }, 30*time.Second)
	sendAt(env, time.Minute, contract.RenewApproveName, "bob@ops")
	in := renewInput()
	in.Kind, in.Period = contract.RenewKindAutoRenewOn, contract.Period{}
	st := runRenew(t, env, in)
	assert.Equal(t, 0, before)
	assert.Equal(t, 1, f.applied)
	assert.Equal(t, contract.RenewDone, st.State)
	assert.Equal(t, 0, f.quotes)
}

// An approval the database cannot record orders nothing: the order waits
// for the approval's record, not only for the approval.
func TestRenewOrdersNothingWhenTheApprovalCannotBeRecorded(t *testing.T) {
	f := &renewCloud{mode: contract.RenewModePay, prices: []contract.Amount{1e6}, policy: contract.RenewPolicy{FourEyes: true}}
	f.recordFails = func(ev contract.RenewEvent) error {
		if ev.Kind == "approved" && ev.Actor != "" {
			return temporal.NewNonRetryableApplicationError("the database refused the row", contract.ErrTypeDatabaseRejected, nil)
		}
		return nil
	}
	env := renewEnv(f)
	sendAt(env, time.Minute, contract.RenewApproveName, "bob@ops")
	env.ExecuteWorkflow(workflows.RenewWorkflowName, renewInput())
	require.True(t, env.IsWorkflowCompleted())
	require.Error(t, env.GetWorkflowError())
	assert.Equal(t, 0, f.orders)
	assert.Zero(t, f.paid)
}
