package huawei_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"expiry-sync/internal/config"
	"expiry-sync/internal/contract"
	"expiry-sync/internal/huawei"
	"expiry-sync/internal/testkit/hwsim"
)

// renewSetup is a simulator holding servers (main records, in use, two
// attached volumes each) that expire in about a month, and a client.
func renewSetup(t *testing.T, servers int, knobs hwsim.Knobs) (*hwsim.Simulator, *huawei.Client, []string) {
	t.Helper()
	sim, url := newSim(t, 0, knobs)
	now := time.Now()
	ids := sim.AddResourcesWithChildren(servers, 2, now.AddDate(0, 1, 0), now.AddDate(0, 1, 1))
	require.Len(t, ids, servers)
	return sim, newClient(t, url), ids
}

func attachedTo(sim *hwsim.Simulator, main string) []string {
	var out []string
	for r := range sim.All() {
		if r.ParentResourceID == main {
			out = append(out, r.ResourceID)
		}
	}
	return out
}

var threeMonths = contract.Period{Unit: "m", Num: 3}

func TestQuoteRenewalSplitsIntoCallsOfTenAndKeepsFailures(t *testing.T) {
	sim, c, servers := renewSetup(t, 12, hwsim.Knobs{})
	volume := attachedTo(sim, servers[0])[0]
	ids := append(slices.Clone(servers), volume, "no-such-resource", servers[0])
	before := time.Now().UTC()
	q, err := c.QuoteRenewal(context.Background(), ids, threeMonths)
	require.NoError(t, err)
	assert.Equal(t, int64(2), sim.Stats().APIs[hwsim.APIRenewRate].Requests, "14 distinct ids: two calls")
	assert.Equal(t, "CNY", q.Currency)
	require.Len(t, q.Lines, 12)
	var sum contract.Amount
	for i, l := range q.Lines {
		assert.Equal(t, servers[i], l.ResourceID)
		assert.Positive(t, int64(l.Amount))
		sum += l.Amount
	}
	assert.Equal(t, sum, q.Total)
	assert.Equal(t, q.Total, q.Official, "no discount in the simulator")
	assert.Equal(t, []contract.ResourceFailure{
		{ResourceID: volume, Code: "CBC.30050007", Message: q.Failures[0].Message},
		{ResourceID: "no-such-resource", Code: "CBC.30050009", Message: q.Failures[1].Message},
	}, q.Failures)
	assert.False(t, q.QuotedAt.Before(before.Truncate(time.Second)))

	// A year costs more than three months; a period Huawei does not sell is
	// refused before any request.
	y, err := c.QuoteRenewal(context.Background(), servers[:1], contract.Period{Unit: "y", Num: 1})
	require.NoError(t, err)
	assert.Greater(t, y.Total, q.Lines[0].Amount)
	calls := sim.Stats().Total().Requests
	_, err = c.QuoteRenewal(context.Background(), servers[:1], contract.Period{Unit: "m", Num: 12})
	assert.Equal(t, huawei.KindBadRequest, apiError(t, err).Kind)
	_, err = c.QuoteRenewal(context.Background(), nil, threeMonths)
	assert.Equal(t, huawei.KindBadRequest, apiError(t, err).Kind)
	assert.Equal(t, calls, sim.Stats().Total().Requests)
}

func TestRenewResourcesPlacesAnOrderThatRenewalOrdersSinceFinds(t *testing.T) {
	sim, c, servers := renewSetup(t, 3, hwsim.Knobs{})
	ctx := context.Background()
	start := time.Now().UTC().Truncate(time.Second)
	q, err := c.QuoteRenewal(ctx, servers[:2], threeMonths)
	require.NoError(t, err)
	orderIDs, failures, err := c.RenewResources(ctx, servers[:2], threeMonths)
	require.NoError(t, err)
	assert.Empty(t, failures)
	require.Len(t, orderIDs, 1)
	truth := sim.Orders()
	require.Len(t, truth, 1, "exactly one order")

	found, err := c.RenewalOrdersSince(ctx, start, []string{servers[1]})
	require.NoError(t, err)
	require.Len(t, found, 1)
	o := found[0]
	assert.Equal(t, orderIDs[0], o.ID)
	assert.Equal(t, huawei.OrderTypeRenew, o.Type)
	assert.Equal(t, huawei.OrderPendingPayment, o.Status)
	assert.Equal(t, q.Total, o.Amount, "the order costs what was quoted")
	assert.Equal(t, "CNY", o.Currency)
	assert.True(t, o.PaymentTime.IsZero())
	assert.ElementsMatch(t, truth[0].ResourceIDs, o.ResourceIDs, "main and attached resources")
	assert.ElementsMatch(t, servers[:2], o.MainResourceIDs)
	found, err = c.RenewalOrdersSince(ctx, start, attachedTo(sim, servers[0])[:1])
	require.NoError(t, err)
	assert.Len(t, found, 1, "an attached resource finds its order too")

	// Not for other resources, nor before since.
	found, err = c.RenewalOrdersSince(ctx, start, servers[2:])
	require.NoError(t, err)
	assert.Empty(t, found)
	found, err = c.RenewalOrdersSince(ctx, time.Now().Add(2*time.Second), servers[:2])
	require.NoError(t, err)
	assert.Empty(t, found, "created before since")

	// The resources are in an unpaid order: a second order is refused.
	_, _, err = c.RenewResources(ctx, servers[1:2], threeMonths)
	ae := apiError(t, err)
	assert.Equal(t, huawei.CodeInPendingOrder, ae.Code)
	assert.Equal(t, huawei.KindBadRequest, ae.Kind)
	assert.Len(t, sim.Orders(), 1)

	// Limits checked before any request.
	calls := sim.Stats().Total().Requests
	many := make([]string, 11)
	for i := range many {
		many[i] = "r" + string(rune('a'+i))
	}
	_, _, err = c.RenewResources(ctx, many, threeMonths)
	assert.Equal(t, huawei.KindBadRequest, apiError(t, err).Kind)
	_, _, err = c.RenewResources(ctx, servers[2:], contract.Period{Unit: "y", Num: 4})
	assert.Equal(t, huawei.KindBadRequest, apiError(t, err).Kind)
	assert.Equal(t, calls, sim.Stats().Total().Requests)
}

func TestRenewResourcesRefusalsAndFailuresInTheAnswer(t *testing.T) {
	sim, c, servers := renewSetup(t, 2, hwsim.Knobs{})
	ctx := context.Background()
	volume := attachedTo(sim, servers[0])[0]
	_, _, err := c.RenewResources(ctx, []string{servers[0], volume}, threeMonths)
	ae := apiError(t, err)
	assert.Equal(t, "CBC.30010036", ae.Code)
	assert.Equal(t, huawei.KindBadRequest, ae.Kind)
	assert.Empty(t, sim.Orders())

	require.NoError(t, sim.SetKnobs(hwsim.Knobs{RenewFailInAnswer: true}))
	orderIDs, failures, err := c.RenewResources(ctx, []string{servers[0], volume}, threeMonths)
	require.NoError(t, err)
	assert.Len(t, orderIDs, 1)
	require.Len(t, failures, 1)
	assert.Equal(t, contract.ResourceFailure{ResourceID: volume, Code: "CBC.30010036", Message: failures[0].Message}, failures[0])
}

func TestALostRenewalAnswerLeavesAnOrderToFind(t *testing.T) {
	for _, mode := range []string{hwsim.OrderLostError, hwsim.OrderLostClose} {
		t.Run(mode, func(t *testing.T) {
			sim, c, servers := renewSetup(t, 1, hwsim.Knobs{OrderAnswerLost: 1, OrderAnswerLostMode: mode})
			ctx := context.Background()
			start := time.Now().Add(-time.Second)
			_, _, err := c.RenewResources(ctx, servers, threeMonths)
			ae := apiError(t, err)
			assert.True(t, ae.Kind.Retryable(), "%s: a server error or no answer", ae.Kind)
			found, err := c.RenewalOrdersSince(ctx, start, servers)
			require.NoError(t, err)
			require.Len(t, found, 1, "the order was placed")
			assert.Equal(t, sim.Orders()[0].OrderID, found[0].ID)
		})
	}
}

func TestPayOrderMovesTheExpiry(t *testing.T) {
	sim, c, servers := renewSetup(t, 2, hwsim.Knobs{})
	ctx := context.Background()
	before, _ := sim.Lookup(servers[0])
	orderIDs, _, err := c.RenewResources(ctx, servers[:1], threeMonths)
	require.NoError(t, err)
	id := orderIDs[0]

	o, err := c.Order(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, huawei.OrderPendingPayment, o.Status)
	assert.WithinDuration(t, o.CreateTime.Add(7*24*time.Hour), o.PaymentDeadline, time.Second)
	assert.Len(t, o.ResourceIDs, 3)

	require.NoError(t, c.PayOrder(ctx, id, false, false))
	o, err = c.Order(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, huawei.OrderCompleted, o.Status)
	assert.False(t, o.PaymentTime.IsZero())
	assert.True(t, o.PaymentDeadline.IsZero(), "no deadline once paid")

	// The next look-up (the sync's listing) sees the new expiry, for the
	// main resource and its attached ones.
	page, err := c.ListPage(ctx, huawei.ListQuery{ResourceIDs: servers[:1], Limit: 500})
	require.NoError(t, err)
	require.Len(t, page.Resources, 3)
	for _, r := range page.Resources {
		assert.Equal(t, threeMonths.AddTo(before.ExpireTime), r.ExpireTime, r.ResourceID)
	}

	err = c.PayOrder(ctx, id, false, false)
	ae := apiError(t, err)
	assert.Equal(t, "CBC.99003106", ae.Code, "paid once only")
	_, err = c.Order(ctx, "CS000000000000XXXXX")
	assert.Equal(t, huawei.KindNotFound, apiError(t, err).Kind)

	// Coupons and discounts asked for: the account has none, so the order
	// is paid without (sending YES without ids would be refused).
	orderIDs, _, err = c.RenewResources(ctx, servers[1:], threeMonths)
	require.NoError(t, err)
	require.NoError(t, c.PayOrder(ctx, orderIDs[0], true, true))
	st := sim.Stats().APIs
	assert.Equal(t, int64(1), st[hwsim.APIOrderCoupons].OK)
	assert.Equal(t, int64(1), st[hwsim.APIOrderDiscounts].OK)
	assert.Equal(t, hwsim.OrderCompleted, sim.Orders()[1].Status)
}

func TestCancelOrder(t *testing.T) {
	sim, c, servers := renewSetup(t, 1, hwsim.Knobs{})
	ctx := context.Background()
	orderIDs, _, err := c.RenewResources(ctx, servers, threeMonths)
	require.NoError(t, err)
	require.NoError(t, c.CancelOrder(ctx, orderIDs[0]))
	o, err := c.Order(ctx, orderIDs[0])
	require.NoError(t, err)
	assert.Equal(t, huawei.OrderCanceled, o.Status)
	assert.Equal(t, "CBC.99005010", apiError(t, c.CancelOrder(ctx, orderIDs[0])).Code)
	assert.Equal(t, hwsim.OrderCanceled, sim.Orders()[0].Status)
}

func TestSetAutoRenewOnAndOff(t *testing.T) {
	sim, c, servers := renewSetup(t, 1, hwsim.Knobs{})
	ctx := context.Background()
	group := append(slices.Clone(servers), attachedTo(sim, servers[0])...)
	policy := func(id string) int32 { r, _ := sim.Lookup(id); return r.ExpirePolicy }

	require.NoError(t, c.SetAutoRenew(ctx, servers[0], true, 3, contract.Period{Unit: "y", Num: 1}))
	for _, id := range group {
		assert.Equal(t, int32(hwsim.PolicyAutoRenew), policy(id), id)
	}
	truth := sim.RenewTruth()
	require.Len(t, truth.AutoRenew, 1)
	assert.Equal(t, 3, truth.AutoRenew[0].Times)
	assert.Equal(t, "YEAR", truth.AutoRenew[0].PeriodType)

	require.NoError(t, c.SetAutoRenew(ctx, servers[0], false, 0, contract.Period{}))
	for _, id := range group {
		assert.NotEqual(t, int32(hwsim.PolicyAutoRenew), policy(id), id)
	}
	require.NoError(t, c.SetAutoRenew(ctx, servers[0], false, 0, contract.Period{}), "off when already off succeeds")
	assert.Equal(t, int64(1), sim.Stats().APIs[hwsim.APIAutoRenewCancel].BadRequest, "Huawei answered CBC.99003605")

	err := c.SetAutoRenew(ctx, servers[0], true, 100, contract.Period{Unit: "m", Num: 1})
	assert.Equal(t, huawei.KindBadRequest, apiError(t, err).Kind)
	err = c.SetAutoRenew(ctx, "no-such-resource", true, 0, contract.Period{Unit: "m", Num: 1})
	assert.Equal(t, "CBC.99003012", apiError(t, err).Code)
}

func TestToOnDemandSurfacesTheFailuresOfAnHTTP200(t *testing.T) {
	sim, c, servers := renewSetup(t, 3, hwsim.Knobs{})
	require.Equal(t, 1, sim.SetStatus(servers[2:], hwsim.StatusExpired))
	failures, err := c.ToOnDemand(context.Background(), servers)
	require.NoError(t, err)
	require.Len(t, failures, 1)
	assert.Equal(t, servers[2], failures[0].ResourceID)
	assert.Equal(t, huawei.CodeGraceRetention, failures[0].Code)
	assert.NotEmpty(t, failures[0].Message)
	assert.Equal(t, int64(1), sim.Stats().APIs[hwsim.APIToOnDemand].OK, "one HTTP 200")
	for _, id := range append(servers[:2:2], attachedTo(sim, servers[0])...) {
		r, _ := sim.Lookup(id)
		assert.Equal(t, int32(hwsim.PolicyToOnDemand), r.ExpirePolicy, id)
	}
	r, _ := sim.Lookup(servers[2])
	assert.NotEqual(t, int32(hwsim.PolicyToOnDemand), r.ExpirePolicy)
}

func TestAPartnerCannotRenewAndNothingIsSent(t *testing.T) {
	sim, url := newSim(t, 0, hwsim.Knobs{})
	servers := sim.AddResourcesWithChildren(1, 1, time.Now().AddDate(0, 1, 0), time.Now().AddDate(0, 1, 1))
	c := newClient(t, url, func(c *config.Huawei) { c.DomainID, c.PartnerDomainID = "a-customer-of-the-partner", domain })
	ctx := context.Background()
	_, err1 := c.QuoteRenewal(ctx, servers, threeMonths)
	_, _, err2 := c.RenewResources(ctx, servers, threeMonths)
	_, err3 := c.RenewalOrdersSince(ctx, time.Now(), servers)
	_, err4 := c.Order(ctx, "CS1")
	err5 := c.PayOrder(ctx, "CS1", true, true)
	err6 := c.CancelOrder(ctx, "CS1")
	err7 := c.SetAutoRenew(ctx, servers[0], true, 0, threeMonths)
	err8 := c.SetAutoRenew(ctx, servers[0], false, 0, threeMonths)
	_, err9 := c.ToOnDemand(ctx, servers)
	for i, err := range []error{err1, err2, err3, err4, err5, err6, err7, err8, err9} {
		ae := apiError(t, err)
		assert.Equal(t, huawei.KindPartner, ae.Kind, "call %d", i+1)
		assert.Equal(t, huawei.Kind(contract.ErrTypePartner), ae.Kind)
		assert.Contains(t, ae.Error(), "partners cannot use the renewal APIs")
		assert.False(t, ae.Kind.Retryable())
	}
	assert.Zero(t, sim.Stats().Total().Requests, "no request reached Huawei")
	assert.Zero(t, c.Stats().Requests.Load())
}
