package hwsim

import (
	"fmt"
	"hash/fnv"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The renewal APIs of BSS v2, as the official SDK (services/bss/v2,
// bss_meta.go for paths and methods, model/ for shapes) sends them and
// Huawei's API pages (support.huaweicloud.com/api-oce/, the customer
// operations reference; api-bpconsole/ is the partner edition of the same
// pages) describe them:
//
//	ListRenewRateOnPeriod      POST   /v2/bills/ratings/period-resources/renew-rate          bcloud_01007
//	RenewalResources           POST   /v2/orders/subscriptions/resources/renew               api_order_00018
//	PayOrders                  POST   /v3/orders/customer-orders/pay                         api_order_00030
//	CancelCustomerOrder        PUT    /v2/orders/customer-orders/cancel                      api_order_00017
//	ListCustomerOrders         GET    /v2/orders/customer-orders                             api_order_00013
//	ShowCustomerOrderDetails   GET    /v2/orders/customer-orders/details/{order_id}          (SDK model only)
//	ListOrderCouponsByOrderId  GET    /v2/orders/customer-orders/order-coupons               api_order_00015
//	ListOrderDiscounts         GET    /v2/orders/customer-orders/order-discounts             (SDK model only)
//	AutoRenewalResources       POST   /v2/orders/subscriptions/resources/autorenew/{id}      api_order_00022
//	CancelAutoRenewalResources DELETE /v2/orders/subscriptions/resources/autorenew/{id}      api_order_00023
//	UpdatePeriodToOnDemand     POST   /v2/orders/subscriptions/resources/to-on-demand        api_order_00024
//
// Every one of them runs through the gateway (signature, site, faults) and
// answers BSS's flat error body. Each behaviour below names its source, or
// says that Huawei's pages are silent on it.

// Order statuses (CustomerOrderV2.status; ListCustomerOrders' status filter
// documents 1, 3, 4, 5, 6 and 9).
const (
	OrderPendingReview  = 1
	OrderProcessing     = 3
	OrderCanceled       = 4
	OrderCompleted      = 5
	OrderPendingPayment = 6
	OrderPendingConfirm = 9
)

// Order types (ListCustomerOrders' order_type filter).
const (
	OrderTypeNew         = 1
	OrderTypeRenew       = 2
	OrderTypeChange      = 3
	OrderTypeUnsubscribe = 4
	OrderTypeToOnDemand  = 10
	OrderTypeToPeriod    = 11
)

// Period types (period_type of ListRenewRateOnPeriodReq and
// RenewalResourcesReq: "2：月 3：年").
const (
	PeriodMonth = 2
	PeriodYear  = 3
)

// Expire policies a renewal API sets (OrderInstanceV2.expire_policy: "0：
// 到期进入宽限期 1：到期转按需 ... 3：到期后自动续费").
const (
	PolicyGrace      = 0
	PolicyToOnDemand = 1
	PolicyAutoRenew  = 3
)

// Codes of the renewal APIs, each from its page's status-code table.
const (
	// RenewalResources (api_order_00018), all 400.
	codeRenewNotMain  = "CBC.30010036" // 续费的资源非主资源,不允许续费
	codeRenewNoPeriod = "CBC.30010069" // 不存在的续费周期
	codeRenewGone     = "CBC.99003016" // 资源已过期删除或不存在
	codeRenewPending  = "CBC.99003100" // 有资源包含在您的待支付的订单
	// ListRenewRateOnPeriod (bcloud_01007): per resource in
	// fail_resource_infos with HTTP 200, but duplicates 400.
	codeQuoteNotMain = "CBC.30050007" // 资源非主资源,不允许续费询价
	codeQuoteGone    = "CBC.30050009" // 资源已过期删除或不存在
	codeQuotePending = "CBC.30050010" // 有资源包含在您的待支付的订单
	codeQuoteDup     = "CBC.30050012" // 存在重复的资源ID
	// PayOrders (api_order_00016 and api_order_00030), all 400.
	codeOrderInvalid    = "CBC.30000010" // 无效订单(可能是订单不存在)
	codeOrderChanged    = "CBC.99003106" // 订单状态已发生变更,不能进行支付操作
	codeDiscountInvalid = "CBC.99003108" // 您选择的折扣不可用于该订单
	codeOrderLapsed     = "CBC.99003110" // 订单已经过了支付截止时间
	// CancelCustomerOrder (api_order_00017), 400.
	codeCancelRefused = "CBC.99005010" // 订单状态不允许取消
	// Auto-renew (api_order_00023) and to-on-demand (api_order_00024).
	codeNoResource      = "CBC.99003012" // 资源ID不存在 (400)
	codeAutoRenewOff    = "CBC.99003605" // 自动续费已取消,不可进行当前操作 (400)
	codeGraceRetention  = "CBC.99003610" // 宽限期、保留期资源不能转按需 (200!)
	codeOnDemandPending = "CBC.99003623" // 存在其他处理中交易不能转按需 (400)
)

// Limits of the renewal APIs.
const (
	maxRenewIDs       = 10  // RenewalResourcesReq, ListRenewRateOnPeriodReq: "最多10个资源ID"
	maxOnDemandIDs    = 100 // PeriodToOnDemandReq: "最多可设置100个资源ID"
	maxAutoRenewTimes = 99  // AutoRenewalResourcesReq.auto_renew_times: "范围限制：0-99"
	maxCoupons        = 3   // PayCustomerOrderV3Req.coupon_infos: "最多三个"
	maxDiscounts      = 1   // PayCustomerOrderV3Req.discount_infos: "仅支持传递一个"
	renewCurrency     = "CNY"
	// defaultPaymentWindow: an unpaid order lapses after about 7 days (the
	// team reference huawei-api.md, "Renewal APIs"; Huawei's pages give no
	// figure, only CustomerOrderV3.pending_payment_end_time).
	defaultPaymentWindow = 7 * 24 * time.Hour
)

// renewState is what the renewal APIs remember: the orders and the
// auto-renew settings. Its mutex is taken before the dataset's.
type renewState struct {
	mu        sync.Mutex
	orders    []*order
	byID      map[string]*order // by upper-case id: order_id is case-insensitive (ListCustomerOrders)
	autoRenew map[string]*AutoRenewSetting
	seq       uint64
}

// order is one order: its lines are the main resources asked and their
// attached resources at the time it was placed.
type order struct {
	id         string
	typ        int
	status     int
	mains      []string
	lines      []orderLine
	periodType int32
	periodNum  int32
	cents      int64
	autoPay    bool
	created    time.Time
	paid       time.Time
	canceled   time.Time
	deadline   time.Time
	lapsed     bool
	answerLost bool
}

type orderLine struct {
	index                  int
	resourceID             string
	service, serviceName   string
	resType, product, spec string
	desc                   string
	cents                  int64
	oldExpire, newExpire   time.Time
}

func (o *order) resourceIDs() []string {
	out := make([]string, len(o.lines))
	for i, l := range o.lines {
		out[i] = l.resourceID
	}
	return out
}

func (o *order) holds(index int) bool {
	return slices.ContainsFunc(o.lines, func(l orderLine) bool { return l.index == index })
}

func newRenewState() *renewState {
	return &renewState{byID: map[string]*order{}, autoRenew: map[string]*AutoRenewSetting{}}
}

func (s *Simulator) rn() *renewState { return s.renew }

// lostAnswersFor keeps the count of an unchanged OrderAnswerLost, so that
// changing another knob does not re-arm it.
func lostAnswersFor(k Knobs, prev *runtimeConfig) *atomic.Int64 {
	if k.OrderAnswerLost == 0 {
		return nil
	}
	if prev != nil && prev.lostAnswers != nil && prev.knobs.OrderAnswerLost == k.OrderAnswerLost &&
		prev.knobs.OrderAnswerLostMode == k.OrderAnswerLostMode {
		return prev.lostAnswers
	}
	n := new(atomic.Int64)
	n.Store(int64(k.OrderAnswerLost))
	return n
}

func (s *Simulator) renewRoutes(mux *http.ServeMux) {
	mux.Handle("POST /v2/bills/ratings/period-resources/renew-rate", s.gateway(apiRenewRate, s.handleRenewRate))
	mux.Handle("POST /v2/orders/subscriptions/resources/renew", s.gateway(apiRenew, s.handleRenew))
	mux.Handle("POST /v3/orders/customer-orders/pay", s.gateway(apiPayOrder, s.handlePayOrder))
	mux.Handle("PUT /v2/orders/customer-orders/cancel", s.gateway(apiCancelOrder, s.handleCancelOrder))
	mux.Handle("GET /v2/orders/customer-orders", s.gateway(apiListOrders, s.handleListOrders))
	mux.Handle("GET /v2/orders/customer-orders/details/{order_id}", s.gateway(apiOrderDetails, s.handleOrderDetails))
	mux.Handle("GET /v2/orders/customer-orders/order-coupons", s.gateway(apiOrderCoupons, s.handleOrderCoupons))
	mux.Handle("GET /v2/orders/customer-orders/order-discounts", s.gateway(apiOrderDiscounts, s.handleOrderDiscounts))
	mux.Handle("POST /v2/orders/subscriptions/resources/autorenew/{resource_id}", s.gateway(apiAutoRenew, s.handleAutoRenew))
	mux.Handle("DELETE /v2/orders/subscriptions/resources/autorenew/{resource_id}", s.gateway(apiAutoRenewCancel, s.handleAutoRenewCancel))
	mux.Handle("POST /v2/orders/subscriptions/resources/to-on-demand", s.gateway(apiToOnDemand, s.handleToOnDemand))
}

// partnerRefused: "该接口只允许使用客户AK/SK或者Token调用,不允许使用解决方案
// 提供商或华为云总经销商(一级经销商)的AK/SK或者Token调用" and "伙伴操作员账号无法
// 调用当前API" (the partner edition of each renewal page, e.g.
// https://support.huaweicloud.com/api-bpconsole/api_order_00018.html). The
// simulator knows one customer account and no partner: a partner's own keys
// already fail at the gateway (X-Domain-Id not the account: 403 CBC.0151),
// and a request naming a customer_id other than the account itself is a
// partner acting for a customer, refused with the same documented 403
// CBC.0151 ("访问拒绝", in every renewal page's table). The message is the
// simulator's; Huawei's text for it is not documented.
func (s *Simulator) partnerRefused(customerID *string) *apiError {
	if customerID == nil || *customerID == "" || *customerID == s.domainID {
		return nil
	}
	return svcError(http.StatusForbidden, codeBSSDenied,
		"Access denied. Only the customer's own AK/SK may call this API; a partner cannot call it for customer "+*customerID+".")
}

// renewIDs checks resource_ids: 1..limit ids, none empty.
func renewIDs(ids []string, limit int) *apiError {
	if len(ids) == 0 || len(ids) > limit {
		return bssParam("resource_ids must hold 1 to %d ids, got %d", limit, len(ids))
	}
	if slices.Contains(ids, "") {
		return bssParam("resource_ids must not hold an empty id")
	}
	return nil
}

// checkPeriod reads period_type and period_num: 2 months 1-11, 3 years 1-3
// (both request models: "如果是月，目前支持1-11如果是年，目前支持1-3").
// badNum is the code of a period_num outside its type's range.
func checkPeriod(pt, pn *int32, badNum string) (int32, int32, *apiError) {
	if pt == nil || (*pt != PeriodMonth && *pt != PeriodYear) {
		return 0, 0, bssParam("period_type must be 2 (month) or 3 (year)")
	}
	if pn == nil {
		return 0, 0, bssParam("period_num is required")
	}
	maxN := int32(11)
	if *pt == PeriodYear {
		maxN = 3
	}
	if *pn < 1 || *pn > maxN {
		msg := fmt.Sprintf("period_num %d is not allowed for period_type %d: 1 to %d", *pn, *pt, maxN)
		if badNum == codeBSSParam {
			return 0, 0, bssParam("%s", msg)
		}
		return 0, 0, svcError(http.StatusBadRequest, badNum, "The renewal period does not exist: "+msg)
	}
	return *pt, *pn, nil
}

// addPeriod moves t by the period, in calendar months or years.
func addPeriod(t time.Time, pt, pn int32) time.Time {
	if pt == PeriodYear {
		return t.AddDate(int(pn), 0, 0)
	}
	return t.AddDate(0, int(pn), 0)
}

// Prices. Huawei's list prices are not the simulator's to copy: each record
// costs a fixed monthly amount drawn from a hash of its type and spec (and
// its size, for disks and bandwidth), deterministic across runs and
// simulators. A year costs ten months, as Huawei's yearly prices commonly
// do (plausible, not documented here). Amounts are in cents.
func (d *dataset) monthlyCents(i int) int64 {
	r := d.resourceNoTags(i)
	h := fnv.New64a()
	_, _ = h.Write([]byte(r.ResourceTypeCode + "|" + r.ResourceSpecCode))
	x := int64(h.Sum64() % (1 << 31))
	size := int64(math.Max(1, r.SpecSize))
	switch d.slots[i].kind {
	case kindVM:
		return 9_000 + x%140_000
	case kindVMVolume, kindVolume:
		return size * (35 + x%66) // 0.35-1.00 yuan per GB
	case kindEIP:
		return 2_000
	case kindBandwidth:
		return size * (1_800 + x%700)
	case kindRDS:
		return 30_000 + x%270_000
	default:
		return 15_000 + x%135_000
	}
}

// periodCents is record i's price for the period, scaled by factor.
func (d *dataset) periodCents(i int, pt, pn int32, factor float64) int64 {
	months := int64(pn)
	if pt == PeriodYear {
		months = 10 * int64(pn)
	}
	c := d.monthlyCents(i) * months
	if factor > 0 && factor != 1 {
		c = int64(math.Round(float64(c) * factor))
	}
	return c
}

// groupLocked is main record i and its live attached records. Caller holds
// d.mu.
func (d *dataset) groupLocked(i int) []int {
	out := []int{i}
	for j := i + 1; j < len(d.slots) && int(d.slots[j].parent) == j-i; j++ {
		if !d.isRemoved(j) {
			out = append(out, j)
		}
	}
	return out
}

func yuan(cents int64) string { return fmt.Sprintf("%d.%02d", cents/100, cents%100) }

func yuanFloat(cents int64) float64 { return float64(cents) / 100 }

// settleLocked lets unpaid orders past their deadline lapse (status 4).
// Caller holds rn.mu.
func (rn *renewState) settleLocked(now time.Time) {
	for _, o := range rn.orders {
		if o.status == OrderPendingPayment && now.After(o.deadline) {
			o.status, o.canceled, o.lapsed = OrderCanceled, o.deadline, true
		}
	}
}

// pendingLocked reports whether record index is in an order waiting for
// payment. Caller holds rn.mu.
func (rn *renewState) pendingLocked(index int) bool {
	for _, o := range rn.orders {
		if o.status == OrderPendingPayment && o.holds(index) {
			return true
		}
	}
	return false
}

// idCheck is the verdict on one resource id of a renewal call.
type idCheck struct {
	id    string
	index int
	code  string // "" when the resource can be renewed
	msg   string
}

// checkRenewable applies the rules both ListRenewRateOnPeriod and
// RenewalResources document: unknown, removed or closed resources are gone
// (a frozen resource, or an expired one in its grace period, can be
// renewed: that is what renewal is for); attached resources are refused
// ("只支持传入主资源ID"); a resource already in an unpaid order is refused
// (CBC.99003100 / CBC.30050010). codes are the API's (gone, not main,
// pending). Caller holds rn.mu.
func (s *Simulator) checkRenewable(ids []string, gone, notMain, pending string) []idCheck {
	d := s.data
	d.mu.RLock()
	defer d.mu.RUnlock()
	out := make([]idCheck, len(ids))
	for n, id := range ids {
		c := idCheck{id: id, index: -1}
		i, ok := d.lookupIndex(id)
		switch {
		case !ok || d.slots[i].status == StatusClosed:
			c.code, c.msg = gone, "The resource has expired and been deleted, or does not exist: "+id
		case d.slots[i].parent != 0:
			c.code, c.msg = notMain, "The resource is not a primary resource and cannot be renewed on its own (renew its primary resource "+resourceID(d.seed, d.codec, d.mainIndex(i))+"): "+id
		case s.rn().pendingLocked(i):
			c.code, c.msg = pending, "The resource is in an order pending payment: pay or cancel that order first: "+id
		}
		if ok {
			c.index = i
		}
		out[n] = c
	}
	return out
}

// ListRenewRateOnPeriod.

type renewRateReq struct {
	ResourceIDs              []string `json:"resource_ids"`
	PeriodType               *int32   `json:"period_type"`
	PeriodNum                *int32   `json:"period_num"`
	IncludeRelativeResources *bool    `json:"include_relative_resources"`
	CustomerID               *string  `json:"customer_id"`
}

type failResourceInfo struct {
	ResourceID string `json:"resource_id"`
	ErrorCode  string `json:"error_code"`
	ErrorMsg   string `json:"error_msg"`
}

type renewInquiryResult struct {
	ResourceID string `json:"resource_id"`
	Amount     string `json:"amount"`
}

type officialRating struct {
	OfficialWebsiteAmount string `json:"official_website_amount"`
}

type renewRateResp struct {
	Currency                      string               `json:"currency"`
	RenewInquiryResults           []renewInquiryResult `json:"renew_inquiry_results"`
	OfficialWebsiteRatingResult   officialRating       `json:"official_website_rating_result"`
	OptionalDiscountRatingResults []struct{}           `json:"optional_discount_rating_results"`
	FailResourceInfos             []failResourceInfo   `json:"fail_resource_infos"`
}

// handleRenewRate plays ListRenewRateOnPeriod
// (https://support.huaweicloud.com/api-oce/bcloud_01007.html): the price of
// each main resource for the period, its attached resources included when
// include_relative_resources is true (default false, as the page says);
// resources it cannot price are in fail_resource_infos with HTTP 200 (the
// page lists CBC.30050007, CBC.30050009 and CBC.30050010 as 200), a
// duplicate id is 400 CBC.30050012, a period outside the documented ranges
// 400 CBC.0100. No simulated account holds a discount, so
// optional_discount_rating_results is empty and amount equals the
// official price. Amounts are yuan as decimal strings ("单位为元"),
// currency CNY.
func (s *Simulator) handleRenewRate(ex *exchange) (any, *apiError) {
	var req renewRateReq
	if e := decodeStrict(ex.body, &req, bssParam); e != nil {
		return nil, e
	}
	pt, pn, e := s.checkRenewCall(req.CustomerID, req.ResourceIDs, req.PeriodType, req.PeriodNum, codeBSSParam,
		func(dup string) *apiError {
			return svcError(http.StatusBadRequest, codeQuoteDup, "Duplicate resource id: "+dup)
		})
	if e != nil {
		return nil, e
	}
	withAttached := req.IncludeRelativeResources != nil && *req.IncludeRelativeResources
	rn := s.rn()
	rn.mu.Lock()
	defer rn.mu.Unlock()
	rn.settleLocked(time.Now())
	resp := renewRateResp{Currency: renewCurrency, RenewInquiryResults: []renewInquiryResult{},
		OptionalDiscountRatingResults: []struct{}{}, FailResourceInfos: []failResourceInfo{}}
	var total int64
	d := s.data
	for _, c := range s.checkRenewable(req.ResourceIDs, codeQuoteGone, codeQuoteNotMain, codeQuotePending) {
		if c.code != "" {
			resp.FailResourceInfos = append(resp.FailResourceInfos, failResourceInfo{ResourceID: c.id, ErrorCode: c.code, ErrorMsg: c.msg})
			continue
		}
		d.mu.RLock()
		group := []int{c.index}
		if withAttached {
			group = d.groupLocked(c.index)
		}
		var cents int64
		for _, i := range group {
			cents += d.periodCents(i, pt, pn, ex.cfg.knobs.RenewPriceFactor)
		}
		d.mu.RUnlock()
		total += cents
		resp.RenewInquiryResults = append(resp.RenewInquiryResults, renewInquiryResult{ResourceID: c.id, Amount: yuan(cents)})
	}
	resp.OfficialWebsiteRatingResult.OfficialWebsiteAmount = yuan(total)
	return resp, nil
}

// checkRenewCall checks, in their order, what ListRenewRateOnPeriod and
// RenewalResources both refuse: a partner's call, the ids (at most 10), a
// repeated id and the period; each page names its own codes.
func (s *Simulator) checkRenewCall(customerID *string, ids []string, periodType, periodNum *int32, periodCode string,
	duplicate func(id string) *apiError) (int32, int32, *apiError) {
	if e := s.partnerRefused(customerID); e != nil {
		return 0, 0, e
	}
	if e := renewIDs(ids, maxRenewIDs); e != nil {
		return 0, 0, e
	}
	if dup := firstDuplicate(ids); dup != "" {
		return 0, 0, duplicate(dup)
	}
	return checkPeriod(periodType, periodNum, periodCode)
}

func firstDuplicate(ids []string) string {
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if seen[id] {
			return id
		}
		seen[id] = true
	}
	return ""
}

// RenewalResources.

type renewReq struct {
	ResourceIDs []string `json:"resource_ids"`
	PeriodType  *int32   `json:"period_type"`
	PeriodNum   *int32   `json:"period_num"`
	IsAutoPay   *int32   `json:"is_auto_pay"`
	// ExpirePolicy: older SDKs send it; the page says "This field has been
	// discarded ... The carried enumeration does not take effect"
	// (https://apiexplorer.developer.intl.huaweicloud.com/apiexplorer/doc?api=RenewalResources&product=BSSINTL).
	ExpirePolicy *int32  `json:"expire_policy"`
	CustomerID   *string `json:"customer_id"`
}

type renewResp struct {
	OrderIDs          []string           `json:"order_ids"`
	FailResourceInfos []failResourceInfo `json:"fail_resource_infos,omitempty"`
}

// handleRenew plays RenewalResources
// (https://support.huaweicloud.com/api-oce/api_order_00018.html): one order
// per call holding the main resources asked and their attached resources
// ("系统会将主资源和从资源一起续订"), unpaid (status 6) unless is_auto_pay is 1,
// when it is paid at once. A resource it cannot renew refuses the whole
// call with the page's 400 codes (CBC.30010036 attached, CBC.99003016 gone
// or closed, CBC.99003100 in an unpaid order; CBC.30010069 for a period_num
// outside its type's range), unless RenewFailInAnswer. The documented
// CBC.99003100 also keeps a retried call from placing a second order while
// the first waits for payment. OrderAnswerLost loses the answer after the
// order is placed.
func (s *Simulator) handleRenew(ex *exchange) (any, *apiError) {
	var req renewReq
	if e := decodeStrict(ex.body, &req, bssParam); e != nil {
		return nil, e
	}
	// A duplicate id is not in the page's table: a parameter error.
	pt, pn, e := s.checkRenewCall(req.CustomerID, req.ResourceIDs, req.PeriodType, req.PeriodNum, codeRenewNoPeriod,
		func(dup string) *apiError { return bssParam("duplicate resource id %s", dup) })
	if e != nil {
		return nil, e
	}
	autoPay := false
	if req.IsAutoPay != nil {
		switch *req.IsAutoPay {
		case 0:
		case 1:
			autoPay = true
		default:
			return nil, bssParam("is_auto_pay must be 0 or 1, got %d", *req.IsAutoPay)
		}
	}
	k := &ex.cfg.knobs
	rn := s.rn()
	rn.mu.Lock()
	now := time.Now().UTC()
	rn.settleLocked(now)
	resp := renewResp{OrderIDs: []string{}}
	var mains []int
	for _, c := range s.checkRenewable(req.ResourceIDs, codeRenewGone, codeRenewNotMain, codeRenewPending) {
		switch {
		case c.code == "":
			mains = append(mains, c.index)
		case !k.RenewFailInAnswer:
			rn.mu.Unlock()
			return nil, svcError(http.StatusBadRequest, c.code, c.msg)
		default:
			resp.FailResourceInfos = append(resp.FailResourceInfos, failResourceInfo{ResourceID: c.id, ErrorCode: c.code, ErrorMsg: c.msg})
		}
	}
	var placed *order
	if len(mains) > 0 {
		placed = s.placeOrderLocked(mains, pt, pn, autoPay, now, k)
		resp.OrderIDs = append(resp.OrderIDs, placed.id)
	}
	lose := placed != nil && ex.cfg.lostAnswers != nil && ex.cfg.lostAnswers.Add(-1) >= 0
	if lose {
		placed.answerLost = true
	}
	rn.mu.Unlock()
	if lose {
		return loseAnswer(ex)
	}
	return resp, nil
}

// loseAnswer plays OrderAnswerLost once the order is placed.
func loseAnswer(ex *exchange) (any, *apiError) {
	if ex.cfg.knobs.OrderAnswerLostMode == OrderLostClose {
		if conn, _, err := http.NewResponseController(ex.w).Hijack(); err == nil {
			return connectionDropped{conn}, nil
		}
	}
	return nil, serverError(serviceBSS)
}

// placeOrderLocked records a renewal order for main records mains (and
// their attached records), paying it at once for autoPay. Caller holds
// rn.mu.
func (s *Simulator) placeOrderLocked(mains []int, pt, pn int32, autoPay bool, now time.Time, k *Knobs) *order {
	rn := s.rn()
	rn.seq++
	window := k.OrderPaymentWindow
	if window == 0 {
		window = defaultPaymentWindow
	}
	o := &order{
		id: orderID(now, rn.seq), typ: OrderTypeRenew, status: OrderPendingPayment,
		periodType: pt, periodNum: pn, autoPay: autoPay, created: now, deadline: now.Add(window),
	}
	d := s.data
	d.mu.RLock()
	for _, m := range mains {
		o.mains = append(o.mains, resourceID(d.seed, d.codec, m))
		for _, i := range d.groupLocked(m) {
			r := d.resourceNoTags(i)
			l := orderLine{
				index: i, resourceID: r.ResourceID, service: r.ServiceTypeCode, serviceName: r.ServiceTypeName,
				resType: r.ResourceTypeCode, product: r.ProductID, spec: r.ResourceSpecCode, desc: r.ProductSpecDesc,
				cents: d.periodCents(i, pt, pn, k.RenewPriceFactor), oldExpire: r.ExpireTime,
			}
			l.newExpire = addPeriod(r.ExpireTime, pt, pn)
			o.cents += l.cents
			o.lines = append(o.lines, l)
		}
	}
	d.mu.RUnlock()
	rn.orders = append(rn.orders, o)
	rn.byID[strings.ToUpper(o.id)] = o
	if autoPay {
		s.payLocked(o, now)
	}
	return o
}

// orderID looks like Huawei's order ids ("CS170926155954NO7": CS, the
// creation time yyMMddHHmmss, a few characters), made unique by seq.
func orderID(now time.Time, seq uint64) string {
	suffix := strings.ToUpper(strconv.FormatUint(seq, 36))
	for len(suffix) < 5 {
		suffix = "0" + suffix
	}
	return "CS" + now.Format("060102150405") + suffix
}

// payLocked completes order o: status 5, payment time, and the expire time
// of each of its records moved by the period (calendar months or years,
// from the expire time they have now), a frozen or expired record back in
// use (the existing listing serves both at once). Caller holds rn.mu.
func (s *Simulator) payLocked(o *order, now time.Time) {
	o.status, o.paid = OrderCompleted, now
	d := s.data
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, l := range o.lines {
		if d.isRemoved(l.index) {
			continue
		}
		old := d.epoch.Add(time.Duration(d.slots[l.index].expire) * time.Second)
		d.renew(l.index, addPeriod(old, o.periodType, o.periodNum).Sub(old))
	}
}

// Auto-renew.

// AutoRenewSetting is one main resource's auto-renew setting, applied to it
// and its attached resources.
type AutoRenewSetting struct {
	ResourceID  string   `json:"resource_id"`           // the main resource
	ResourceIDs []string `json:"resource_ids"`          // main and attached, whose expire_policy is 3
	Times       int      `json:"times"`                 // 0: unlimited
	PeriodType  string   `json:"period_type,omitempty"` // MONTH, YEAR, or "" (the last order's)
}

type autoRenewReq struct {
	AutoRenewTimes *int32  `json:"auto_renew_times"`
	PeriodType     *string `json:"period_type"`
	CustomerID     *string `json:"customer_id"`
}

// groupOf resolves a resource id for the auto-renew and to-on-demand APIs:
// its main record's index and the group's indices; ok false for an
// unknown, removed or closed resource. Caller holds rn.mu.
func (s *Simulator) groupOf(id string) (main int, group []int, attached, ok bool) {
	d := s.data
	d.mu.RLock()
	defer d.mu.RUnlock()
	i, ok := d.lookupIndex(id)
	if !ok || d.slots[i].status == StatusClosed {
		return 0, nil, false, false
	}
	main = d.mainIndex(i)
	return main, d.groupLocked(main), main != i, true
}

// setPolicyLocked sets expire_policy of records indices. Caller holds
// rn.mu.
func (s *Simulator) setPolicyLocked(indices []int, policy int32) {
	d := s.data
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.policies == nil {
		d.policies = map[int]int32{}
	}
	for _, i := range indices {
		d.policies[i] = policy
	}
}

func (s *Simulator) policyOf(i int) int32 {
	d := s.data
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.resourceNoTags(i).ExpirePolicy
}

func (s *Simulator) idsOf(indices []int) []string {
	d := s.data
	d.mu.RLock()
	defer d.mu.RUnlock()
	out := make([]string, len(indices))
	for n, i := range indices {
		out[n] = resourceID(d.seed, d.codec, i)
	}
	return out
}

func noResource(id string) *apiError {
	return svcError(http.StatusBadRequest, codeNoResource, "The resource ID does not exist: "+id)
}

// handleAutoRenew plays AutoRenewalResources
// (https://support.huaweicloud.com/api-oce/api_order_00022.html): the
// setting applies to the main resource and its attached ones ("设置主资源时
// 会将从资源一起设置"), and an attached resource's id sets its main resource
// too ("设置从资源自动续费,主资源也一并续费"); their expire_policy becomes 3.
// auto_renew_times 0-99 (0 unlimited; absent on first setting: unlimited;
// absent when already on: unchanged, as the page says), period_type MONTH
// or YEAR (SDK AutoRenewalResourcesReq). An unknown, removed or closed
// resource answers 400 CBC.99003012 (the code CancelAutoRenewalResources'
// page gives for an unknown id; this page's table was not found). Success
// answers 204, as CancelAutoRenewalResources' page shows (this page's
// example was not found).
func (s *Simulator) handleAutoRenew(ex *exchange) (any, *apiError) {
	var req autoRenewReq
	if e := decodeStrict(ex.body, &req, bssParam); e != nil {
		return nil, e
	}
	if e := s.partnerRefused(req.CustomerID); e != nil {
		return nil, e
	}
	if req.AutoRenewTimes != nil && (*req.AutoRenewTimes < 0 || *req.AutoRenewTimes > maxAutoRenewTimes) {
		return nil, bssParam("auto_renew_times must be 0 to %d, got %d", maxAutoRenewTimes, *req.AutoRenewTimes)
	}
	if req.PeriodType != nil && *req.PeriodType != "MONTH" && *req.PeriodType != "YEAR" {
		return nil, bssParam("period_type must be MONTH or YEAR, got %q", *req.PeriodType)
	}
	id := ex.r.PathValue("resource_id")
	rn := s.rn()
	rn.mu.Lock()
	defer rn.mu.Unlock()
	main, group, _, ok := s.groupOf(id)
	if !ok {
		return nil, noResource(id)
	}
	ids := s.idsOf(group)
	set, on := rn.autoRenew[ids[0]]
	if !on || s.policyOf(main) != PolicyAutoRenew {
		set = &AutoRenewSetting{ResourceID: ids[0]}
		rn.autoRenew[ids[0]] = set
	}
	set.ResourceIDs = ids
	if req.AutoRenewTimes != nil {
		set.Times = int(*req.AutoRenewTimes)
	}
	if req.PeriodType != nil {
		set.PeriodType = *req.PeriodType
	}
	s.setPolicyLocked(group, PolicyAutoRenew)
	return noContent{}, nil
}

// handleAutoRenewCancel plays CancelAutoRenewalResources
// (https://support.huaweicloud.com/api-oce/api_order_00023.html): 204 on
// success, 400 CBC.99003012 for an unknown resource id, 400 CBC.99003605
// when auto-renew is not on ("自动续费已取消,不可进行当前操作"). It applies to the
// main resource and its attached ones; an attached resource's id cancels
// its main resource's setting (mirroring AutoRenewalResources; this page
// is silent). The expire_policy becomes 0 (grace period): Huawei's pages do
// not say which policy follows.
func (s *Simulator) handleAutoRenewCancel(ex *exchange) (any, *apiError) {
	if e := s.partnerRefused(nonEmptyQuery(ex, "customer_id")); e != nil {
		return nil, e
	}
	id := ex.r.PathValue("resource_id")
	rn := s.rn()
	rn.mu.Lock()
	defer rn.mu.Unlock()
	main, group, _, ok := s.groupOf(id)
	if !ok {
		return nil, noResource(id)
	}
	if s.policyOf(main) != PolicyAutoRenew {
		return nil, svcError(http.StatusBadRequest, codeAutoRenewOff, "Auto-renewal has been canceled; the operation is not allowed: "+id)
	}
	delete(rn.autoRenew, s.idsOf([]int{main})[0])
	s.setPolicyLocked(group, PolicyGrace)
	return noContent{}, nil
}

func nonEmptyQuery(ex *exchange, key string) *string {
	if v := ex.r.URL.Query().Get(key); v != "" {
		return &v
	}
	return nil
}

// UpdatePeriodToOnDemand.

type toOnDemandReq struct {
	Operation   *string  `json:"operation"`
	ResourceIDs []string `json:"resource_ids"`
	CustomerID  *string  `json:"customer_id"`
}

type errorDetail struct {
	ID        string `json:"id"`
	ErrorCode string `json:"error_code"`
	ErrorMsg  string `json:"error_msg"`
}

type toOnDemandResp struct {
	ErrorDetails []errorDetail `json:"error_details"`
}

// handleToOnDemand plays UpdatePeriodToOnDemand
// (https://support.huaweicloud.com/api-oce/api_order_00024.html): operation
// SET_UP or CANCEL, 1-100 main resource ids. SET_UP sets expire_policy 1
// (to pay-per-use) on each resource and its attached ones ("主资源及其对应的
// 从资源将一起转为按需资源"); CANCEL puts a resource set so back to 0 (the page
// does not say which policy follows; a resource not set so is left alone,
// the page being silent on that case). A resource in its grace or retention
// period (status 5 expired or 4 frozen) is not converted and is reported in
// error_details with CBC.99003610, the others are, and the answer is HTTP
// 200 (the page lists "200 CBC.99003610 宽限期、保留期资源不能转按需", and
// error_details "HTTP 200的时候返回该字段;部分失败时仅返回失败的记录"). An
// unknown id refuses the call, 400 CBC.99003012; a resource in an unpaid
// order 400 CBC.99003623 ("存在其他处理中交易不能转按需"); an attached id 400
// CBC.0100 (the page says main ids only, with no code of its own).
func (s *Simulator) handleToOnDemand(ex *exchange) (any, *apiError) {
	var req toOnDemandReq
	if e := decodeStrict(ex.body, &req, bssParam); e != nil {
		return nil, e
	}
	if e := s.partnerRefused(req.CustomerID); e != nil {
		return nil, e
	}
	if req.Operation == nil || (*req.Operation != "SET_UP" && *req.Operation != "CANCEL") {
		return nil, bssParam("operation must be SET_UP or CANCEL")
	}
	if e := renewIDs(req.ResourceIDs, maxOnDemandIDs); e != nil {
		return nil, e
	}
	rn := s.rn()
	rn.mu.Lock()
	defer rn.mu.Unlock()
	rn.settleLocked(time.Now())
	resp := toOnDemandResp{ErrorDetails: []errorDetail{}}
	var apply [][]int
	for _, id := range req.ResourceIDs {
		main, group, attached, ok := s.groupOf(id)
		switch {
		case !ok:
			return nil, noResource(id)
		case attached:
			return nil, bssParam("resource %s is not a primary resource: give primary resource ids only", id)
		case slices.ContainsFunc(group, rn.pendingLocked):
			return nil, svcError(http.StatusBadRequest, codeOnDemandPending, "Another transaction of the resource is in progress: "+id)
		}
		if st := s.statusOf(main); st == StatusExpired || st == StatusFrozen {
			resp.ErrorDetails = append(resp.ErrorDetails, errorDetail{ID: id, ErrorCode: codeGraceRetention,
				ErrorMsg: "A resource in its grace or retention period cannot be changed to pay-per-use: " + id})
			continue
		}
		apply = append(apply, group)
	}
	for _, group := range apply {
		switch {
		case *req.Operation == "SET_UP":
			s.setPolicyLocked(group, PolicyToOnDemand)
		case s.policyOf(group[0]) == PolicyToOnDemand:
			s.setPolicyLocked(group, PolicyGrace)
		}
	}
	return resp, nil
}

func (s *Simulator) statusOf(i int) uint8 {
	d := s.data
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.slots[i].status
}
