package hwsim_test

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	bss "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/bss/v2"
	bssmodel "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/bss/v2/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"expiry-sync/internal/testkit/hwsim"
)

// renewSim is a simulator with servers (main records, in use) that carry
// two attached volumes each, expiring in about a month.
func renewSim(t *testing.T, servers int, knobs hwsim.Knobs) (*hwsim.Simulator, string, *bss.BssClient, []string) {
	t.Helper()
	sim, base := newSim(t, 0, func(o *hwsim.Options) { o.Knobs = knobs })
	ids := sim.AddResourcesWithChildren(servers, 2, testEpoch.AddDate(0, 1, 0), testEpoch.AddDate(0, 1, 1))
	require.Len(t, ids, servers)
	return sim, base, bssClient(t, base, goodCreds, httpConfig()), ids
}

func childrenOf(sim *hwsim.Simulator, main string) []string {
	var out []string
	for r := range sim.All() {
		if r.ParentResourceID == main {
			out = append(out, r.ResourceID)
		}
	}
	return out
}

func quote(c *bss.BssClient, ids []string, pt, pn int32, attached bool) (*bssmodel.ListRenewRateOnPeriodResponse, error) {
	return c.ListRenewRateOnPeriod(&bssmodel.ListRenewRateOnPeriodRequest{Body: &bssmodel.ListRenewRateOnPeriodReq{
		ResourceIds: ids, PeriodType: pt, PeriodNum: pn, IncludeRelativeResources: ptr(attached)}})
}

func renew(c *bss.BssClient, ids []string, pt, pn, autoPay int32) (*bssmodel.RenewalResourcesResponse, error) {
	return c.RenewalResources(&bssmodel.RenewalResourcesRequest{Body: &bssmodel.RenewalResourcesReq{
		ResourceIds: ids, PeriodType: pt, PeriodNum: pn, IsAutoPay: ptr(autoPay)}})
}

func pay(c *bss.BssClient, orderID string) (*bssmodel.PayOrdersResponse, error) {
	return c.PayOrders(&bssmodel.PayOrdersRequest{Body: &bssmodel.PayCustomerOrderV3Req{OrderId: orderID, UseCoupon: "NO", UseDiscount: "NO"}})
}

func cents(t *testing.T, s string) int64 {
	t.Helper()
	units, frac, ok := strings.Cut(s, ".")
	require.True(t, ok, "amount %q has two decimals", s)
	require.Len(t, frac, 2, "amount %q has two decimals", s)
	u, err := strconv.ParseInt(units, 10, 64)
	require.NoError(t, err)
	f, err := strconv.ParseInt(frac, 10, 64)
	require.NoError(t, err)
	return u*100 + f
}

func quoteAmounts(t *testing.T, resp *bssmodel.ListRenewRateOnPeriodResponse) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for _, r := range *resp.RenewInquiryResults {
		out[*r.ResourceId] = cents(t, *r.Amount)
	}
	return out
}

func failures(resp []bssmodel.FailResourceInfo) map[string]string {
	out := map[string]string{}
	for _, f := range resp {
		out[*f.ResourceId] = *f.ErrorCode
	}
	return out
}

func TestRenewRateQuotesMainResourcesWithTheirAttachedOnes(t *testing.T) {
	sim, _, c, servers := renewSim(t, 3, hwsim.Knobs{})
	alone, err := quote(c, servers, 2, 1, false)
	require.NoError(t, err)
	with, err := quote(c, servers, 2, 1, true)
	require.NoError(t, err)
	assert.Equal(t, "CNY", *with.Currency)
	a, w := quoteAmounts(t, alone), quoteAmounts(t, with)
	var total int64
	for _, id := range servers {
		assert.Greater(t, a[id], int64(0))
		assert.Greater(t, w[id], a[id], "the attached volumes are priced too")
		total += w[id]
	}
	assert.Equal(t, total, cents(t, *with.OfficialWebsiteRatingResult.OfficialWebsiteAmount))
	assert.Empty(t, *with.FailResourceInfos)

	// The price is deterministic, proportional to the months, a year ten months.
	again, err := quote(c, servers, 2, 1, true)
	require.NoError(t, err)
	assert.Equal(t, w, quoteAmounts(t, again))
	three, err := quote(c, servers, 2, 3, true)
	require.NoError(t, err)
	year, err := quote(c, servers, 3, 1, true)
	require.NoError(t, err)
	for _, id := range servers {
		assert.Equal(t, 3*w[id], quoteAmounts(t, three)[id])
		assert.Equal(t, 10*w[id], quoteAmounts(t, year)[id])
	}

	// The price factor raises every price from the next request on.
	require.NoError(t, sim.SetKnobs(hwsim.Knobs{RenewPriceFactor: 1.5}))
	dearer, err := quote(c, servers, 2, 1, true)
	require.NoError(t, err)
	for _, id := range servers {
		assert.InDelta(t, float64(w[id])*1.5, float64(quoteAmounts(t, dearer)[id]), 3)
	}
}

func TestRenewRateFailuresAndLimits(t *testing.T) {
	sim, _, c, servers := renewSim(t, 11, hwsim.Knobs{})
	volume := childrenOf(sim, servers[0])[0]
	require.Equal(t, 1, sim.SetStatus(servers[1:2], hwsim.StatusClosed))
	require.Equal(t, 2, sim.SetStatus(servers[2:4], hwsim.StatusFrozen))
	require.Equal(t, 1, sim.SetStatus(servers[4:5], hwsim.StatusExpired))
	unknown := "no-such-resource"
	resp, err := quote(c, []string{servers[0], volume, servers[1], unknown, servers[2], servers[4]}, 2, 1, true)
	require.NoError(t, err, "failures come in a 200 answer")
	assert.Equal(t, http.StatusOK, resp.HttpStatusCode)
	assert.Equal(t, map[string]string{volume: "CBC.30050007", servers[1]: "CBC.30050009", unknown: "CBC.30050009"},
		failures(*resp.FailResourceInfos))
	assert.ElementsMatch(t, []string{servers[0], servers[2], servers[4]}, keys(quoteAmounts(t, resp)), "frozen and expired resources are priced")

	_, err = quote(c, servers, 2, 1, true)
	serviceError(t, err, 400, "CBC.0100") // 11 ids
	_, err = quote(c, servers[:1], 2, 12, true)
	serviceError(t, err, 400, "CBC.0100")
	_, err = quote(c, servers[:1], 3, 4, true)
	serviceError(t, err, 400, "CBC.0100")
	_, err = quote(c, servers[:1], 1, 1, true)
	serviceError(t, err, 400, "CBC.0100")
	_, err = quote(c, []string{servers[0], servers[0]}, 2, 1, true)
	serviceError(t, err, 400, "CBC.30050012")
	_, err = quote(c, servers[:10], 3, 3, true)
	require.NoError(t, err, "10 ids and 3 years are allowed")
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestRenewPlacesOneUnpaidOrderAndPaymentMovesTheExpiry(t *testing.T) {
	sim, base, c, servers := renewSim(t, 2, hwsim.Knobs{})
	before := map[string]hwsim.Resource{}
	for r := range sim.All() {
		before[r.ResourceID] = r
	}
	q, err := quote(c, servers, 2, 3, true)
	require.NoError(t, err)
	created := time.Now().UTC().Truncate(time.Second)

	resp, err := renew(c, servers, 2, 3, 0)
	require.NoError(t, err)
	require.Len(t, *resp.OrderIds, 1)
	id := (*resp.OrderIds)[0]
	assert.Regexp(t, `^CS\d{12}[0-9A-Z]{5}$`, id)

	orders := sim.Orders()
	require.Len(t, orders, 1)
	o := orders[0]
	assert.Equal(t, id, o.OrderID)
	assert.Equal(t, hwsim.OrderPendingPayment, o.Status)
	assert.Equal(t, hwsim.OrderTypeRenew, o.OrderType)
	assert.Equal(t, servers, o.MainResourceIDs)
	want := slices.Concat(servers[:1], childrenOf(sim, servers[0]), servers[1:], childrenOf(sim, servers[1]))
	assert.Equal(t, want, o.ResourceIDs, "the main resources and their attached ones")
	assert.Equal(t, *q.OfficialWebsiteRatingResult.OfficialWebsiteAmount, o.Amount, "the order costs what was quoted")
	assert.Nil(t, o.PaymentTime)
	assert.WithinDuration(t, o.CreateTime.Add(7*24*time.Hour), o.PaymentDeadline, time.Second)

	// A second renewal of a resource in the unpaid order is refused: no second order.
	_, err = renew(c, servers[1:], 2, 3, 0)
	serviceError(t, err, 400, "CBC.99003100")
	q2, err := quote(c, servers[1:], 2, 3, true)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{servers[1]: "CBC.30050010"}, failures(*q2.FailResourceInfos))
	require.Len(t, sim.Orders(), 1)

	// ListCustomerOrders finds it by type, status, time and id.
	list, err := c.ListCustomerOrders(&bssmodel.ListCustomerOrdersRequest{OrderType: ptr("2"), Status: ptr(int32(6)),
		CreateTimeBegin: ptr(created.Format("2006-01-02T15:04:05Z"))})
	require.NoError(t, err)
	require.Equal(t, int32(1), *list.TotalCount)
	info := (*list.OrderInfos)[0]
	assert.Equal(t, id, *info.OrderId)
	assert.Equal(t, int32(2), *info.OrderType)
	assert.Equal(t, "CNY", *info.Currency)
	assert.InDelta(t, float64(cents(t, o.Amount))/100, *info.OfficialAmount, 1e-9)
	assert.InDelta(t, *info.OfficialAmount, *info.AmountAfterDiscount, 1e-9)
	assert.Nil(t, info.PaymentTime)
	later, err := c.ListCustomerOrders(&bssmodel.ListCustomerOrdersRequest{CreateTimeBegin: ptr(created.Add(time.Minute).Format("2006-01-02T15:04:05Z"))})
	require.NoError(t, err)
	assert.Equal(t, int32(0), *later.TotalCount)
	byID, err := c.ListCustomerOrders(&bssmodel.ListCustomerOrdersRequest{OrderId: ptr(strings.ToLower(id))})
	require.NoError(t, err)
	assert.Equal(t, int32(1), *byID.TotalCount, "order_id is case-insensitive")

	// Its details and its resources (ListPayPerUseCustomerResources by order_id).
	details, err := c.ShowCustomerOrderDetails(&bssmodel.ShowCustomerOrderDetailsRequest{OrderId: id, Limit: ptr(int32(100))})
	require.NoError(t, err)
	assert.Equal(t, int32(len(want)), *details.TotalCount)
	assert.Len(t, *details.OrderLineItems, len(want))
	assert.Equal(t, int32(6), *details.OrderInfo.Status)
	require.NotNil(t, details.OrderInfo.PendingPaymentEndTime)
	line := (*details.OrderLineItems)[0]
	assert.Equal(t, before[servers[0]].ExpireTime.Format("2006-01-02T15:04:05Z"), *line.EffectiveTime)
	assert.Equal(t, before[servers[0]].ExpireTime.AddDate(0, 3, 0).Format("2006-01-02T15:04:05Z"), *line.ExpireTime)
	records, _ := listAllBSS(t, c, bssmodel.QueryResourcesReq{OrderId: ptr(id)})
	var listed []string
	for _, r := range records {
		listed = append(listed, *r.ResourceId)
	}
	assert.ElementsMatch(t, want, listed)
	mainsOnly, _ := listAllBSS(t, c, bssmodel.QueryResourcesReq{OrderId: ptr(id), OnlyMainResource: ptr(int32(1))})
	assert.Len(t, mainsOnly, 2)
	none, _ := listAllBSS(t, c, bssmodel.QueryResourcesReq{OrderId: ptr("CS000000000000XXXXX")})
	assert.Empty(t, none)

	// Payment: once; the expiry moves by three calendar months.
	payResp, err := pay(c, id)
	require.NoError(t, err)
	assert.Equal(t, http.StatusNoContent, payResp.HttpStatusCode)
	_, err = pay(c, id)
	serviceError(t, err, 400, "CBC.99003106")
	_, err = pay(c, "CS000000000000XXXXX")
	serviceError(t, err, 400, "CBC.30000010")
	o = sim.Orders()[0]
	assert.Equal(t, hwsim.OrderCompleted, o.Status)
	require.NotNil(t, o.PaymentTime)
	for _, rid := range want {
		now, ok := sim.Lookup(rid)
		require.True(t, ok)
		assert.Equal(t, before[rid].ExpireTime.AddDate(0, 3, 0), now.ExpireTime, rid)
	}
	// The listing serves the new expiry.
	after, _ := listAllBSS(t, c, bssmodel.QueryResourcesReq{ResourceIds: &servers})
	for _, r := range after {
		assert.Equal(t, before[*r.ResourceId].ExpireTime.AddDate(0, 3, 0).Format("2006-01-02T15:04:05Z"), *r.ExpireTime)
	}
	paid, err := c.ListCustomerOrders(&bssmodel.ListCustomerOrdersRequest{Status: ptr(int32(5))})
	require.NoError(t, err)
	require.Equal(t, int32(1), *paid.TotalCount)
	assert.NotNil(t, (*paid.OrderInfos)[0].PaymentTime)

	// The truth counts every call.
	truth := getJSON[hwsim.RenewTruth](t, base+"/_hwsim/orders")
	require.Len(t, truth.Orders, 1)
	assert.Equal(t, int64(2), truth.Calls[hwsim.APIRenew].Requests)
	assert.Equal(t, int64(1), truth.Calls[hwsim.APIRenew].OK)
	assert.Equal(t, int64(3), truth.Calls[hwsim.APIPayOrder].Requests)
	assert.Equal(t, int64(1), truth.Calls[hwsim.APIPayOrder].OK, "204 counts as OK")
	assert.Equal(t, int64(2), truth.Calls[hwsim.APIRenewRate].Requests)
	assert.Equal(t, int64(1), truth.Calls[hwsim.APIOrderDetails].Requests)
}

func TestRenewRefusalsAndFrozenResources(t *testing.T) {
	sim, _, c, servers := renewSim(t, 12, hwsim.Knobs{})
	volume := childrenOf(sim, servers[0])[0]
	_, err := renew(c, []string{volume}, 2, 1, 0)
	serviceError(t, err, 400, "CBC.30010036")
	_, err = renew(c, servers[:11], 2, 1, 0)
	serviceError(t, err, 400, "CBC.0100")
	_, err = renew(c, servers[:1], 2, 12, 0)
	serviceError(t, err, 400, "CBC.30010069")
	_, err = renew(c, servers[:1], 3, 4, 0)
	serviceError(t, err, 400, "CBC.30010069")
	_, err = renew(c, servers[:1], 4, 1, 0)
	serviceError(t, err, 400, "CBC.0100")
	sim.SetStatus(servers[1:2], hwsim.StatusClosed)
	_, err = renew(c, servers[:2], 2, 1, 0)
	serviceError(t, err, 400, "CBC.99003016")
	_, err = renew(c, []string{"no-such-resource"}, 2, 1, 0)
	serviceError(t, err, 400, "CBC.99003016")
	assert.Empty(t, sim.Orders(), "a refused call orders nothing")

	// Frozen and expired (grace period) resources renew, and come back in use once paid.
	sim.SetStatus(servers[2:3], hwsim.StatusFrozen)
	sim.SetStatus(servers[3:4], hwsim.StatusExpired)
	resp, err := renew(c, servers[2:4], 3, 1, 1)
	require.NoError(t, err)
	require.Len(t, *resp.OrderIds, 1)
	o := sim.Orders()[0]
	assert.Equal(t, hwsim.OrderCompleted, o.Status, "is_auto_pay 1 pays at once")
	assert.True(t, o.AutoPay)
	for _, id := range o.ResourceIDs {
		r, _ := sim.Lookup(id)
		assert.Equal(t, int32(hwsim.StatusInUse), r.Status, id)
	}

	// RenewFailInAnswer: the failures come in a 200 answer, the rest is ordered.
	require.NoError(t, sim.SetKnobs(hwsim.Knobs{RenewFailInAnswer: true}))
	resp, err = renew(c, []string{servers[4], volume, servers[1]}, 2, 1, 0)
	require.NoError(t, err)
	require.Len(t, *resp.OrderIds, 1)
	assert.Equal(t, map[string]string{volume: "CBC.30010036", servers[1]: "CBC.99003016"}, failures(*resp.FailResourceInfos))
	orders := sim.Orders()
	require.Len(t, orders, 2)
	assert.Equal(t, servers[4:5], orders[1].MainResourceIDs)
}

func TestCancelOrderOnlyWhilePendingPayment(t *testing.T) {
	sim, _, c, servers := renewSim(t, 1, hwsim.Knobs{})
	before, _ := sim.Lookup(servers[0])
	resp, err := renew(c, servers, 2, 1, 0)
	require.NoError(t, err)
	id := (*resp.OrderIds)[0]
	cancel := func(id string) (*bssmodel.CancelCustomerOrderResponse, error) {
		return c.CancelCustomerOrder(&bssmodel.CancelCustomerOrderRequest{Body: &bssmodel.CancelCustomerOrderReq{OrderId: id}})
	}
	cr, err := cancel(id)
	require.NoError(t, err)
	assert.Equal(t, http.StatusNoContent, cr.HttpStatusCode)
	assert.Equal(t, hwsim.OrderCanceled, sim.Orders()[0].Status)
	_, err = cancel(id)
	serviceError(t, err, 400, "CBC.99005010")
	_, err = pay(c, id)
	serviceError(t, err, 400, "CBC.99003106")
	_, err = cancel("CS000000000000XXXXX")
	serviceError(t, err, 400, "CBC.30000010")
	r, _ := sim.Lookup(servers[0])
	assert.Equal(t, before.ExpireTime, r.ExpireTime, "a canceled order renews nothing")

	// Once canceled, the resource can be ordered again.
	_, err = renew(c, servers, 2, 1, 0)
	require.NoError(t, err)
	assert.Len(t, sim.Orders(), 2)
}

func TestPayOrderCouponsAndDiscounts(t *testing.T) {
	_, _, c, servers := renewSim(t, 1, hwsim.Knobs{})
	resp, err := renew(c, servers, 2, 1, 0)
	require.NoError(t, err)
	id := (*resp.OrderIds)[0]
	coupons, err := c.ListOrderCouponsByOrderId(&bssmodel.ListOrderCouponsByOrderIdRequest{OrderId: id})
	require.NoError(t, err)
	assert.Empty(t, *coupons.UserCoupons)
	discounts, err := c.ListOrderDiscounts(&bssmodel.ListOrderDiscountsRequest{OrderId: id})
	require.NoError(t, err)
	assert.Empty(t, *discounts.Discounts)

	payWith := func(body bssmodel.PayCustomerOrderV3Req) error {
		body.OrderId = id
		_, err := c.PayOrders(&bssmodel.PayOrdersRequest{Body: &body})
		return err
	}
	serviceError(t, payWith(bssmodel.PayCustomerOrderV3Req{UseCoupon: "YES", UseDiscount: "NO"}), 400, "CBC.0100")
	serviceError(t, payWith(bssmodel.PayCustomerOrderV3Req{UseCoupon: "MAYBE", UseDiscount: "NO"}), 400, "CBC.0100")
	serviceError(t, payWith(bssmodel.PayCustomerOrderV3Req{UseCoupon: "NO", UseDiscount: "YES",
		DiscountInfos: &[]bssmodel.DiscountSimpleInfoV3{{Id: "d1", Type: 2}}}), 400, "CBC.99003108")
	require.NoError(t, payWith(bssmodel.PayCustomerOrderV3Req{UseCoupon: "NO", UseDiscount: "NO"}))
}

func TestAutoRenewAppliesToTheAttachedResources(t *testing.T) {
	sim, base, c, servers := renewSim(t, 2, hwsim.Knobs{})
	group := append(servers[:1:1], childrenOf(sim, servers[0])...)
	set := func(id string, times int32, period string) error {
		_, err := c.AutoRenewalResources(&bssmodel.AutoRenewalResourcesRequest{ResourceId: id, Body: &bssmodel.AutoRenewalResourcesReq{
			AutoRenewTimes: ptr(times), PeriodType: periodType(t, period)}})
		return err
	}
	cancel := func(id string) (*bssmodel.CancelAutoRenewalResourcesResponse, error) {
		return c.CancelAutoRenewalResources(&bssmodel.CancelAutoRenewalResourcesRequest{ResourceId: id})
	}
	require.NoError(t, set(servers[0], 5, "YEAR"))
	for _, id := range group {
		r, _ := sim.Lookup(id)
		assert.Equal(t, int32(hwsim.PolicyAutoRenew), r.ExpirePolicy, id)
	}
	records, _ := listAllBSS(t, c, bssmodel.QueryResourcesReq{ResourceIds: &[]string{servers[0]}})
	require.Len(t, records, 3)
	for _, r := range records {
		assert.Equal(t, int32(3), *r.ExpirePolicy, "the listing serves the setting")
	}
	truth := getJSON[hwsim.RenewTruth](t, base+"/_hwsim/orders")
	require.Len(t, truth.AutoRenew, 1)
	assert.Equal(t, hwsim.AutoRenewSetting{ResourceID: servers[0], ResourceIDs: group, Times: 5, PeriodType: "YEAR"}, truth.AutoRenew[0])
	assert.Len(t, truth.ExpirePolicies, 3)

	resp, err := cancel(servers[0])
	require.NoError(t, err)
	assert.Equal(t, http.StatusNoContent, resp.HttpStatusCode)
	for _, id := range group {
		r, _ := sim.Lookup(id)
		assert.Equal(t, int32(hwsim.PolicyGrace), r.ExpirePolicy, id)
	}
	_, err = cancel(servers[0])
	serviceError(t, err, 400, "CBC.99003605")
	_, err = cancel("no-such-resource")
	serviceError(t, err, 400, "CBC.99003012")
	serviceError(t, set("no-such-resource", 0, "MONTH"), 400, "CBC.99003012")
	serviceError(t, set(servers[1], 100, "MONTH"), 400, "CBC.0100")

	// Without a body: unlimited times, the last order's period.
	_, err = c.AutoRenewalResources(&bssmodel.AutoRenewalResourcesRequest{ResourceId: servers[1]})
	require.NoError(t, err)
	r1, _ := sim.Lookup(servers[1])
	assert.Equal(t, int32(hwsim.PolicyAutoRenew), r1.ExpirePolicy)

	// An attached resource's id sets its main resource too.
	require.NoError(t, set(group[1], 0, "MONTH"))
	r, _ := sim.Lookup(servers[0])
	assert.Equal(t, int32(hwsim.PolicyAutoRenew), r.ExpirePolicy)
	assert.Empty(t, sim.Orders(), "auto-renew orders nothing now")
}

func periodType(t *testing.T, s string) *bssmodel.AutoRenewalResourcesReqPeriodType {
	t.Helper()
	var p bssmodel.AutoRenewalResourcesReqPeriodType
	require.NoError(t, p.UnmarshalJSON([]byte(strconv.Quote(s))))
	return &p
}

func TestToOnDemandPartialFailureIsHTTP200(t *testing.T) {
	sim, _, c, servers := renewSim(t, 3, hwsim.Knobs{})
	sim.SetStatus(servers[1:2], hwsim.StatusFrozen)
	sim.SetStatus(servers[2:3], hwsim.StatusExpired)
	toOnDemand := func(op string, ids []string) (*bssmodel.UpdatePeriodToOnDemandResponse, error) {
		return c.UpdatePeriodToOnDemand(&bssmodel.UpdatePeriodToOnDemandRequest{Body: &bssmodel.PeriodToOnDemandReq{Operation: op, ResourceIds: ids}})
	}
	resp, err := toOnDemand("SET_UP", servers)
	require.NoError(t, err, "a partial failure is not an HTTP error")
	assert.Equal(t, http.StatusOK, resp.HttpStatusCode)
	require.NotNil(t, resp.ErrorDetails)
	got := map[string]string{}
	for _, d := range *resp.ErrorDetails {
		got[*d.Id] = *d.ErrorCode
	}
	assert.Equal(t, map[string]string{servers[1]: "CBC.99003610", servers[2]: "CBC.99003610"}, got)
	for _, id := range append(servers[:1:1], childrenOf(sim, servers[0])...) {
		r, _ := sim.Lookup(id)
		assert.Equal(t, int32(hwsim.PolicyToOnDemand), r.ExpirePolicy, id)
	}
	frozen, _ := sim.Lookup(servers[1])
	assert.NotEqual(t, int32(hwsim.PolicyToOnDemand), frozen.ExpirePolicy)

	resp, err = toOnDemand("CANCEL", servers[:1])
	require.NoError(t, err)
	assert.Empty(t, *resp.ErrorDetails)
	r, _ := sim.Lookup(servers[0])
	assert.Equal(t, int32(hwsim.PolicyGrace), r.ExpirePolicy)

	_, err = toOnDemand("SET_UP", []string{servers[0], "no-such-resource"})
	serviceError(t, err, 400, "CBC.99003012")
	_, err = toOnDemand("SET_UP", childrenOf(sim, servers[0])[:1])
	serviceError(t, err, 400, "CBC.0100")
	_, err = toOnDemand("LATER", servers[:1])
	serviceError(t, err, 400, "CBC.0100")
	many := make([]string, 101)
	for i := range many {
		many[i] = servers[0]
	}
	_, err = toOnDemand("SET_UP", many)
	serviceError(t, err, 400, "CBC.0100")
}

func TestOrderAnswerLostPlacesTheOrderOnce(t *testing.T) {
	sim, _, c, servers := renewSim(t, 2, hwsim.Knobs{OrderAnswerLost: 1})
	_, err := renew(c, servers[:1], 2, 1, 0)
	serviceError(t, err, 500, "CBC.0999")
	orders := sim.Orders()
	require.Len(t, orders, 1, "the order was placed before the answer was lost")
	assert.True(t, orders[0].AnswerLost)
	// A retry meets the unpaid order.
	_, err = renew(c, servers[:1], 2, 1, 0)
	serviceError(t, err, 400, "CBC.99003100")
	require.Len(t, sim.Orders(), 1)

	// The connection closed without an answer; the knob counts from when it is set.
	require.NoError(t, sim.SetKnobs(hwsim.Knobs{OrderAnswerLost: 1, OrderAnswerLostMode: hwsim.OrderLostClose}))
	_, err = renew(c, servers[1:], 2, 1, 0)
	require.Error(t, err)
	var ue *url.Error
	assert.True(t, errors.As(err, &ue), "no HTTP answer: %T %v", err, err)
	require.Len(t, sim.Orders(), 2)
	assert.True(t, sim.Orders()[1].AnswerLost)
	assert.Equal(t, int64(2), sim.RenewTruth().Calls[hwsim.APIRenew].ServerErrors, "the 500 and the closed connection")
}

func TestOrderListLagAndLapse(t *testing.T) {
	sim, _, c, servers := renewSim(t, 1, hwsim.Knobs{OrderListLag: 800 * time.Millisecond, OrderPaymentWindow: 1500 * time.Millisecond})
	resp, err := renew(c, servers, 2, 1, 0)
	require.NoError(t, err)
	id := (*resp.OrderIds)[0]
	list, err := c.ListCustomerOrders(&bssmodel.ListCustomerOrdersRequest{})
	require.NoError(t, err)
	assert.Equal(t, int32(0), *list.TotalCount, "not listed yet")
	_, err = c.ShowCustomerOrderDetails(&bssmodel.ShowCustomerOrderDetailsRequest{OrderId: id})
	require.NoError(t, err, "the details know it at once")
	require.Eventually(t, func() bool {
		list, err := c.ListCustomerOrders(&bssmodel.ListCustomerOrdersRequest{})
		return err == nil && *list.TotalCount == 1
	}, 3*time.Second, 100*time.Millisecond)

	// Unpaid past its window, the order lapses.
	require.Eventually(t, func() bool {
		list, err := c.ListCustomerOrders(&bssmodel.ListCustomerOrdersRequest{Status: ptr(int32(4))})
		return err == nil && *list.TotalCount == 1
	}, 3*time.Second, 100*time.Millisecond)
	_, err = pay(c, id)
	serviceError(t, err, 400, "CBC.99003110")
	o := sim.Orders()[0]
	assert.True(t, o.Lapsed)
	assert.Equal(t, hwsim.OrderCanceled, o.Status)
}

func TestListOrdersFiltersAndPages(t *testing.T) {
	_, _, c, servers := renewSim(t, 5, hwsim.Knobs{})
	var ids []string
	for _, s := range servers {
		resp, err := renew(c, []string{s}, 2, 1, 0)
		require.NoError(t, err)
		ids = append(ids, (*resp.OrderIds)[0])
	}
	var got []string
	for offset := int32(0); ; offset += 2 {
		list, err := c.ListCustomerOrders(&bssmodel.ListCustomerOrdersRequest{Limit: ptr(int32(2)), Offset: ptr(offset), OrderBy: ptr("createTime")})
		require.NoError(t, err)
		assert.Equal(t, int32(5), *list.TotalCount)
		for _, o := range *list.OrderInfos {
			got = append(got, *o.OrderId)
		}
		if len(*list.OrderInfos) < 2 {
			break
		}
	}
	assert.Equal(t, ids, got)
	for _, bad := range []bssmodel.ListCustomerOrdersRequest{
		{Limit: ptr(int32(101))}, {Status: ptr(int32(2))}, {OrderType: ptr("7")},
		{CreateTimeBegin: ptr("2026-01-01 00:00:00")},
		{CreateTimeBegin: ptr("2024-01-01T00:00:00Z"), CreateTimeEnd: ptr("2025-06-01T00:00:00Z")},
	} {
		_, err := c.ListCustomerOrders(&bad)
		serviceError(t, err, 400, "CBC.0100")
	}
	renewals, err := c.ListCustomerOrders(&bssmodel.ListCustomerOrdersRequest{OrderType: ptr("1")})
	require.NoError(t, err)
	assert.Equal(t, int32(0), *renewals.TotalCount, "no new-purchase order")
}

func TestRenewalAPIsRefuseAPartner(t *testing.T) {
	_, base, c, servers := renewSim(t, 1, hwsim.Knobs{})
	_, err := c.ListCustomerOrders(&bssmodel.ListCustomerOrdersRequest{CustomerId: ptr("a-customer-of-a-partner")})
	serviceError(t, err, 403, "CBC.0151")
	_, err = c.ListCustomerOrders(&bssmodel.ListCustomerOrdersRequest{CustomerId: ptr(testDomain)})
	require.NoError(t, err, "the account may name itself")
	raw := rawCall(t, base, "POST", "/v2/orders/subscriptions/resources/renew", nil,
		mustJSON(t, map[string]any{"resource_ids": servers, "period_type": 2, "period_num": 1, "customer_id": "a-customer-of-a-partner"}), goodCreds)
	assert.Equal(t, 403, raw.status)
	assert.Contains(t, string(raw.body), "CBC.0151")
	// A partner's own keys sign for another domain: refused at the gateway.
	partner := bssClient(t, base, creds{testAK, testSK, "p00000000000000000000000000000p1"}, httpConfig())
	_, err = renew(partner, servers, 2, 1, 0)
	serviceError(t, err, 403, "CBC.0151")
}

func TestRenewalKnobsAndAdminEndpoints(t *testing.T) {
	sim, base, c, servers := renewSim(t, 1, hwsim.Knobs{})
	k := putKnobs(t, base, `{"renew_price_factor":2,"renew_fail_in_answer":true,"order_answer_lost":3,"order_answer_lost_mode":"close","order_list_lag":"2s","order_payment_window":"48h"}`)
	assert.Equal(t, 2.0, k.RenewPriceFactor)
	assert.True(t, k.RenewFailInAnswer)
	assert.Equal(t, 3, k.OrderAnswerLost)
	assert.Equal(t, hwsim.OrderLostClose, k.OrderAnswerLostMode)
	assert.Equal(t, 2*time.Second, k.OrderListLag)
	assert.Equal(t, 48*time.Hour, k.OrderPaymentWindow)
	assert.Equal(t, 3, sim.Knobs().OrderAnswerLost)
	for _, bad := range []string{`{"order_answer_lost_mode":"maybe"}`, `{"renew_price_factor":-1}`, `{"order_list_lag":"2h"}`} {
		status, _ := putKnobsRaw(t, base, bad)
		assert.Equal(t, http.StatusBadRequest, status, bad)
	}
	require.NoError(t, sim.SetKnobs(hwsim.Knobs{}))

	resp, err := renew(c, servers, 2, 1, 0)
	require.NoError(t, err)
	id := (*resp.OrderIds)[0]
	o := postJSON[hwsim.Order](t, base+"/_hwsim/orders/"+id+"/pay", http.StatusOK)
	assert.Equal(t, hwsim.OrderCompleted, o.Status)
	postJSON[map[string]any](t, base+"/_hwsim/orders/"+id+"/pay", http.StatusConflict)
	postJSON[map[string]any](t, base+"/_hwsim/orders/CS000/cancel", http.StatusNotFound)
	truth := getJSON[hwsim.RenewTruth](t, base+"/_hwsim/orders")
	require.Len(t, truth.Orders, 1)
	assert.Equal(t, hwsim.OrderCompleted, truth.Orders[0].Status)
	assert.Zero(t, truth.Calls[hwsim.APIPayOrder].Requests, "a payment in the console is no API call")
}

func getJSON[T any](t *testing.T, url string) T {
	t.Helper()
	status, body := admin(t, http.MethodGet, url, "")
	require.Equal(t, http.StatusOK, status, string(body))
	return decodeInto[T](t, body)
}

func postJSON[T any](t *testing.T, url string, wantStatus int) T {
	t.Helper()
	status, body := admin(t, http.MethodPost, url, "")
	require.Equal(t, wantStatus, status, string(body))
	return decodeInto[T](t, body)
}

func putKnobsRaw(t *testing.T, base, body string) (int, []byte) {
	t.Helper()
	return admin(t, http.MethodPut, base+"/_hwsim/knobs", body)
}

func putKnobs(t *testing.T, base, body string) hwsim.Knobs {
	t.Helper()
	status, data := putKnobsRaw(t, base, body)
	require.Equal(t, http.StatusOK, status, string(data))
	return decodeInto[hwsim.Knobs](t, data)
}

// Every renewal API runs through the gateway: a bad signature is refused
// before the API sees the request, and counted.
func TestRenewalAPIsCheckTheSignature(t *testing.T) {
	sim, base, _, servers := renewSim(t, 1, hwsim.Knobs{})
	c := bssClient(t, base, creds{testAK, "not-the-secret", testDomain}, httpConfig())
	_, e1 := quote(c, servers, 2, 1, true)
	_, e2 := renew(c, servers, 2, 1, 0)
	_, e3 := pay(c, "CS1")
	_, e4 := c.CancelCustomerOrder(&bssmodel.CancelCustomerOrderRequest{Body: &bssmodel.CancelCustomerOrderReq{OrderId: "CS1"}})
	_, e5 := c.ListCustomerOrders(&bssmodel.ListCustomerOrdersRequest{OrderType: ptr("2")})
	_, e6 := c.ShowCustomerOrderDetails(&bssmodel.ShowCustomerOrderDetailsRequest{OrderId: "CS1"})
	_, e7 := c.ListOrderCouponsByOrderId(&bssmodel.ListOrderCouponsByOrderIdRequest{OrderId: "CS1"})
	_, e8 := c.ListOrderDiscounts(&bssmodel.ListOrderDiscountsRequest{OrderId: "CS1"})
	_, e9 := c.AutoRenewalResources(&bssmodel.AutoRenewalResourcesRequest{ResourceId: servers[0]})
	_, e10 := c.CancelAutoRenewalResources(&bssmodel.CancelAutoRenewalResourcesRequest{ResourceId: servers[0]})
	_, e11 := c.UpdatePeriodToOnDemand(&bssmodel.UpdatePeriodToOnDemandRequest{Body: &bssmodel.PeriodToOnDemandReq{Operation: "SET_UP", ResourceIds: servers}})
	for _, err := range []error{e1, e2, e3, e4, e5, e6, e7, e8, e9, e10, e11} {
		serviceError(t, err, 401, "APIGW.0301")
	}
	truth := sim.RenewTruth()
	require.Len(t, truth.Calls, 11)
	for api, st := range truth.Calls {
		assert.Equal(t, hwsim.APIStats{Requests: 1, Unauthorized: 1}, st, api)
	}
	assert.Empty(t, truth.Orders)
}
