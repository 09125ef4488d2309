package activities_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"expiry-sync/activities"
	"expiry-sync/internal/contract"
	"expiry-sync/internal/testkit/hwsim"
)

// renewFixture is the activity fixture with a Renewer in mode.
func renewFixture(t *testing.T, mode string) (*fixture, *activities.Renewer, *testsuite.TestActivityEnvironment) {
	f := newFixture(t, sk)
	r := &activities.Renewer{Store: f.acts.Store, Accounts: f.acts.Accounts, Mode: mode}
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(r)
	return f, r, env
}

// mainIDs are n main resources of the simulator that can renew.
func mainIDs(f *fixture, n int) []string {
	var ids []string
	for _, r := range f.sim.Resources() {
		if r.IsMainResource == 1 && r.Status != 3 && len(ids) < n {
			ids = append(ids, r.ResourceID)
		}
	}
	return ids
}

func order(env *testsuite.TestActivityEnvironment, in contract.RenewOrderInput) (contract.RenewOrderResult, error) {
	v, err := env.ExecuteActivity(contract.ActivityRenewOrder, in)
	var res contract.RenewOrderResult
	if err == nil {
		err = v.Get(&res)
	}
	return res, err
}

// Huawei placed the order and its answer was lost: the next attempt finds
// it (ListCustomerOrders, its resources by order_id) and adopts it.
func TestRenewOrderAdoptsAnOrderWhoseAnswerWasLost(t *testing.T) {
	f, _, env := renewFixture(t, contract.RenewModeOrder)
	require.NoError(t, f.sim.SetKnobs(hwsim.Knobs{OrderAnswerLost: 1}))
	in := contract.RenewOrderInput{RequestID: "renew-default-0000000001-20261207", Account: contract.DefaultAccount,
		ResourceIDs: mainIDs(f, 2), Period: contract.Period{Unit: "m", Num: 1}, Since: time.Now()}
	_, err := order(env, in)
	require.Error(t, err, "the answer was lost")
	require.Len(t, f.sim.Orders(), 1, "yet Huawei placed the order")

	res, err := order(env, in)
	require.NoError(t, err)
	require.Len(t, res.Orders, 1)
	assert.True(t, res.Orders[0].Adopted)
	assert.Equal(t, f.sim.Orders()[0].OrderID, res.Orders[0].OrderID)
	assert.Len(t, f.sim.Orders(), 1, "no second order")
}

// An attempt that may have ordered, with no order showing: looked for
// again within the settle window, then stopped for good, never re-placed.
func TestRenewOrderThatMayStandIsNeverPlacedAgain(t *testing.T) {
	f, _, env := renewFixture(t, contract.RenewModeOrder)
	require.NoError(t, f.sim.SetKnobs(hwsim.Knobs{OrderAnswerLost: 1, OrderListLag: time.Hour}))
	in := contract.RenewOrderInput{RequestID: "renew-default-0000000002-20261207", Account: contract.DefaultAccount,
		ResourceIDs: mainIDs(f, 1), Period: contract.Period{Unit: "m", Num: 1}, Since: time.Now()}
	_, err := order(env, in)
	require.Error(t, err)

	_, err = order(env, in)
	app := appError(t, err)
	assert.Equal(t, "OrderPending", app.Type(), "within the window: looked for again")
	assert.False(t, app.NonRetryable())

	defer activities.SetOrderSettleWindow(0)()
	_, err = order(env, in)
	app = appError(t, err)
	assert.Equal(t, contract.ErrTypeOrderUncertain, app.Type())
	assert.True(t, app.NonRetryable())
	assert.Contains(t, app.Message(), "not ordering again")
	assert.Len(t, f.sim.Orders(), 1, "one order, whatever the retries")
	assert.Equal(t, int64(1), f.sim.RenewTruth().Calls[hwsim.APIRenew].Requests, "RenewalResources was called once")
}

// Pay mode pays the request's own order once, and nothing above the limit.
func TestRenewPayKeepsToTheLimitAndPaysOnce(t *testing.T) {
	f, _, env := renewFixture(t, contract.RenewModePay)
	in := contract.RenewOrderInput{RequestID: "renew-default-0000000003-20261207", Account: contract.DefaultAccount,
		ResourceIDs: mainIDs(f, 1), Period: contract.Period{Unit: "m", Num: 1}, Since: time.Now()}
	res, err := order(env, in)
	require.NoError(t, err)
	amount, err := contract.ParseAmount(f.sim.Orders()[0].Amount)
	require.NoError(t, err)

	pay := func(limit contract.Amount) contract.RenewPayResult {
		v, err := env.ExecuteActivity(contract.ActivityRenewPay, contract.RenewPayInput{RequestID: in.RequestID, Account: in.Account, Orders: res.Orders, MaxAmount: limit})
		require.NoError(t, err)
		var out contract.RenewPayResult
		require.NoError(t, v.Get(&out))
		return out
	}
	below := pay(amount - 1)
	assert.Contains(t, below.Skipped, "above the limit")
	assert.Equal(t, hwsim.OrderPendingPayment, f.sim.Orders()[0].Status, "nothing paid above the limit")

	assert.True(t, pay(amount).Orders[0].Paid)
	assert.True(t, pay(amount).Orders[0].Paid, "paid already: adopted")
	assert.Equal(t, hwsim.OrderCompleted, f.sim.Orders()[0].Status)
	assert.Equal(t, int64(1), f.sim.RenewTruth().Calls[hwsim.APIPayOrder].Requests, "PayOrders called once")

	_, err = env.ExecuteActivity(contract.ActivityRenewPay, contract.RenewPayInput{RequestID: "renew-default-0000000009-20261207", Account: in.Account, Orders: res.Orders, MaxAmount: amount})
	assert.Contains(t, appError(t, err).Message(), "not recorded as request", "another request's order is never paid")
}

// Mode off orders nothing, whatever it is asked.
func TestRenewOrderInModeOffCallsNothing(t *testing.T) {
	f, _, env := renewFixture(t, contract.RenewModeOff)
	res, err := order(env, contract.RenewOrderInput{RequestID: "renew-default-0000000004-20261207", Account: contract.DefaultAccount,
		ResourceIDs: mainIDs(f, 1), Period: contract.Period{Unit: "m", Num: 1}, Since: time.Now()})
	require.NoError(t, err)
	assert.Equal(t, contract.RenewModeOff, res.Mode)
	assert.Empty(t, res.Orders)
	assert.Empty(t, f.sim.Orders())
	assert.Zero(t, f.sim.RenewTruth().Calls[hwsim.APIListOrders].Requests, "not even a look-up")
}

// A partner's credentials are refused before any call to Huawei.
func TestRenewOpenRefusesAPartnerUpFront(t *testing.T) {
	f, r, env := renewFixture(t, contract.RenewModePay)
	r.Accounts[contract.DefaultAccount].Partner = true
	_, err := env.ExecuteActivity(contract.ActivityRenewOpen, contract.RenewInput{Account: contract.DefaultAccount, Kind: contract.RenewKindRenew,
		ResourceIDs: mainIDs(f, 1), Period: contract.Period{Unit: "m", Num: 1}, Requester: "alice@ops"})
	app := appError(t, err)
	assert.Equal(t, contract.ErrTypePartner, app.Type())
	assert.True(t, app.NonRetryable())
	assert.Contains(t, app.Message(), "partner")
	assert.Zero(t, f.sim.Stats().Total().Requests, "nothing was asked of Huawei")
}

// An attached resource is refused, naming its main resource.
func TestRenewOpenRefusesAnAttachedResourceNamingItsMain(t *testing.T) {
	f, _, env := renewFixture(t, contract.RenewModePay)
	var child hwsim.Resource
	for _, r := range f.sim.Resources() {
		if r.IsMainResource == 0 && r.ParentResourceID != "" {
			child = r
			break
		}
	}
	require.NotEmpty(t, child.ResourceID)
	_, err := env.ExecuteActivity(contract.ActivityRenewOpen, contract.RenewInput{Account: contract.DefaultAccount, Kind: contract.RenewKindRenew,
		ResourceIDs: []string{child.ResourceID}, Period: contract.Period{Unit: "m", Num: 1}, Requester: "alice@ops"})
	app := appError(t, err)
	assert.Equal(t, contract.ErrTypeRenewRefused, app.Type())
	assert.Contains(t, app.Message(), "renew its main resource "+child.ParentResourceID)
}
