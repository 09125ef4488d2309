package hwsim

import (
	"net/http"
	"sync/atomic"
)

// API names, the keys of Stats.APIs.
const (
	APIBSSList      = "bss.list"      // BSS ListPayPerUseCustomerResources
	APITMSShow      = "tms.show"      // TMS ShowResourceTag
	APITMSFilter    = "tms.filter"    // TMS ListResource
	APITMSTags      = "tms.tags"      // TMS ListTags (tag keys and values of a project and type)
	APITMSProviders = "tms.providers" // TMS ListProviders

	// Renewal APIs (renew.go, orders.go).
	APIRenewRate       = "bss.renew_rate"       // BSS ListRenewRateOnPeriod
	APIRenew           = "bss.renew"            // BSS RenewalResources
	APIPayOrder        = "bss.pay_order"        // BSS PayOrders
	APICancelOrder     = "bss.cancel_order"     // BSS CancelCustomerOrder
	APIListOrders      = "bss.list_orders"      // BSS ListCustomerOrders
	APIOrderDetails    = "bss.order_details"    // BSS ShowCustomerOrderDetails
	APIOrderCoupons    = "bss.order_coupons"    // BSS ListOrderCouponsByOrderId
	APIOrderDiscounts  = "bss.order_discounts"  // BSS ListOrderDiscounts
	APIAutoRenew       = "bss.autorenew"        // BSS AutoRenewalResources
	APIAutoRenewCancel = "bss.autorenew_cancel" // BSS CancelAutoRenewalResources
	APIToOnDemand      = "bss.to_on_demand"     // BSS UpdatePeriodToOnDemand
)

type apiID int

const (
	apiBSSList apiID = iota
	apiTMSShow
	apiTMSFilter
	apiTMSTags
	apiTMSProviders
	apiRenewRate
	apiRenew
	apiPayOrder
	apiCancelOrder
	apiListOrders
	apiOrderDetails
	apiOrderCoupons
	apiOrderDiscounts
	apiAutoRenew
	apiAutoRenewCancel
	apiToOnDemand
	numAPIs
)

func (a apiID) String() string {
	return [...]string{APIBSSList, APITMSShow, APITMSFilter, APITMSTags, APITMSProviders,
		APIRenewRate, APIRenew, APIPayOrder, APICancelOrder, APIListOrders, APIOrderDetails,
		APIOrderCoupons, APIOrderDiscounts, APIAutoRenew, APIAutoRenewCancel, APIToOnDemand}[a]
}

type service int

const (
	serviceBSS service = iota
	serviceTMS
)

func (a apiID) service() service {
	switch a {
	case apiTMSShow, apiTMSFilter, apiTMSTags, apiTMSProviders:
		return serviceTMS
	}
	return serviceBSS
}

// Stats are the request counters per API (keys APIBSSList, APITMSShow,
// APITMSFilter, APITMSTags, APITMSProviders and the renewal APIs' APIRenew...).
type Stats struct {
	APIs map[string]APIStats `json:"apis"`
}

// APIStats counts the requests of one API by outcome. Slow counts requests
// delayed by SlowRatio (whatever their outcome); Canceled counts requests
// whose client went away before the answer.
type APIStats struct {
	Requests     int64 `json:"requests"`
	OK           int64 `json:"ok"`
	Throttled    int64 `json:"throttled"`     // 429, 403 TMS.0006, 400 CBC.99007197
	ServerErrors int64 `json:"server_errors"` // 500
	Unauthorized int64 `json:"unauthorized"`  // 401
	Forbidden    int64 `json:"forbidden"`     // 403
	NotFound     int64 `json:"not_found"`     // 404
	BadRequest   int64 `json:"bad_request"`   // 400
	Slow         int64 `json:"slow"`
	Canceled     int64 `json:"canceled"`
}

// Total sums the counters of every API.
func (s Stats) Total() APIStats {
	var t APIStats
	for _, a := range s.APIs {
		t.Requests += a.Requests
		t.OK += a.OK
		t.Throttled += a.Throttled
		t.ServerErrors += a.ServerErrors
		t.Unauthorized += a.Unauthorized
		t.Forbidden += a.Forbidden
		t.NotFound += a.NotFound
		t.BadRequest += a.BadRequest
		t.Slow += a.Slow
		t.Canceled += a.Canceled
	}
	return t
}

type counters struct {
	requests, ok, throttled, serverErrors, unauthorized, forbidden, notFound, badRequest, slow, canceled atomic.Int64
}

func (c *counters) all() []*atomic.Int64 {
	return []*atomic.Int64{&c.requests, &c.ok, &c.throttled, &c.serverErrors, &c.unauthorized, &c.forbidden, &c.notFound, &c.badRequest, &c.slow, &c.canceled}
}

func (c *counters) snapshot() APIStats {
	return APIStats{
		Requests: c.requests.Load(), OK: c.ok.Load(), Throttled: c.throttled.Load(),
		ServerErrors: c.serverErrors.Load(), Unauthorized: c.unauthorized.Load(),
		Forbidden: c.forbidden.Load(), NotFound: c.notFound.Load(), BadRequest: c.badRequest.Load(),
		Slow: c.slow.Load(), Canceled: c.canceled.Load(),
	}
}

func (c *counters) reset() {
	for _, v := range c.all() {
		v.Store(0)
	}
}

func (c *counters) countStatus(status int) {
	switch status {
	case http.StatusOK, http.StatusNoContent:
		c.ok.Add(1)
	case http.StatusTooManyRequests:
		c.throttled.Add(1)
	case http.StatusInternalServerError:
		c.serverErrors.Add(1)
	case http.StatusUnauthorized:
		c.unauthorized.Add(1)
	case http.StatusForbidden:
		c.forbidden.Add(1)
	case http.StatusNotFound:
		c.notFound.Add(1)
	case http.StatusBadRequest:
		c.badRequest.Add(1)
	}
}
