package hwsim

import (
	"cmp"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Orders: PayOrders, CancelCustomerOrder, ListCustomerOrders,
// ShowCustomerOrderDetails, ListOrderCouponsByOrderId, ListOrderDiscounts,
// and the simulator's own truth about orders (RenewTruth, /_hwsim/orders).

// Order is one order as the simulator knows it (RenewTruth, GET
// /_hwsim/orders).
type Order struct {
	OrderID   string `json:"order_id"`
	OrderType int    `json:"order_type"` // 2: renewal
	Status    int    `json:"status"`     // OrderPendingPayment, OrderCompleted, OrderCanceled
	// ResourceIDs are every resource the order renews: its main resources
	// and their attached ones, as they were when it was placed.
	ResourceIDs     []string   `json:"resource_ids"`
	MainResourceIDs []string   `json:"main_resource_ids"`
	PeriodType      int        `json:"period_type"` // 2 month, 3 year
	PeriodNum       int        `json:"period_num"`
	Amount          string     `json:"amount"` // yuan, "1234.50"
	Currency        string     `json:"currency"`
	AutoPay         bool       `json:"auto_pay,omitempty"`
	CreateTime      time.Time  `json:"create_time"`
	PaymentTime     *time.Time `json:"payment_time,omitempty"`
	CancelTime      *time.Time `json:"cancel_time,omitempty"`
	PaymentDeadline time.Time  `json:"payment_deadline"`
	Lapsed          bool       `json:"lapsed,omitempty"` // canceled because unpaid past its deadline
	// AnswerLost: RenewalResources placed it and then lost its answer
	// (OrderAnswerLost).
	AnswerLost bool `json:"answer_lost,omitempty"`
}

// RenewTruth is everything the renewal APIs did (GET /_hwsim/orders).
type RenewTruth struct {
	Orders []Order `json:"orders"` // in the order they were placed
	// Calls are the request counters of the renewal APIs, by Stats key
	// (APIRenew, APIPayOrder, ...).
	Calls map[string]APIStats `json:"calls"`
	// AutoRenew are the settings AutoRenewalResources made, by main
	// resource (a resource the dataset generated with expire_policy 3 has
	// auto-renew on without a setting here).
	AutoRenew []AutoRenewSetting `json:"auto_renew"`
	// ExpirePolicies are the expire_policy values the renewal APIs set
	// (auto-renew 3, to-on-demand 1, canceled 0), by resource id; the
	// listing and Truth serve them too.
	ExpirePolicies map[string]int32 `json:"expire_policies"`
}

func (o *order) export() Order {
	out := Order{
		OrderID: o.id, OrderType: o.typ, Status: o.status, ResourceIDs: o.resourceIDs(),
		MainResourceIDs: slices.Clone(o.mains), PeriodType: int(o.periodType), PeriodNum: int(o.periodNum),
		Amount: yuan(o.cents), Currency: renewCurrency, AutoPay: o.autoPay, CreateTime: o.created,
		PaymentDeadline: o.deadline, Lapsed: o.lapsed, AnswerLost: o.answerLost,
	}
	if !o.paid.IsZero() {
		t := o.paid
		out.PaymentTime = &t
	}
	if !o.canceled.IsZero() {
		t := o.canceled
		out.CancelTime = &t
	}
	return out
}

// Orders returns every order, in the order they were placed.
func (s *Simulator) Orders() []Order {
	rn := s.rn()
	rn.mu.Lock()
	defer rn.mu.Unlock()
	rn.settleLocked(time.Now())
	out := make([]Order, len(rn.orders))
	for i, o := range rn.orders {
		out[i] = o.export()
	}
	return out
}

var renewAPIs = []apiID{apiRenewRate, apiRenew, apiPayOrder, apiCancelOrder, apiListOrders, apiOrderDetails,
	apiOrderCoupons, apiOrderDiscounts, apiAutoRenew, apiAutoRenewCancel, apiToOnDemand}

// RenewTruth returns the orders, the renewal APIs' counters, the auto-renew
// settings and the expire policies the renewal APIs set.
func (s *Simulator) RenewTruth() RenewTruth {
	t := RenewTruth{Orders: s.Orders(), Calls: make(map[string]APIStats, len(renewAPIs)),
		AutoRenew: []AutoRenewSetting{}, ExpirePolicies: map[string]int32{}}
	for _, api := range renewAPIs {
		t.Calls[api.String()] = s.stats[api].snapshot()
	}
	rn := s.rn()
	rn.mu.Lock()
	defer rn.mu.Unlock()
	for _, set := range rn.autoRenew {
		c := *set
		c.ResourceIDs = slices.Clone(set.ResourceIDs)
		t.AutoRenew = append(t.AutoRenew, c)
	}
	slices.SortFunc(t.AutoRenew, func(a, b AutoRenewSetting) int { return strings.Compare(a.ResourceID, b.ResourceID) })
	d := s.data
	d.mu.RLock()
	defer d.mu.RUnlock()
	for i, p := range d.policies {
		if !d.isRemoved(i) {
			t.ExpirePolicies[resourceID(d.seed, d.codec, i)] = p
		}
	}
	return t
}

// Errors of PayOrderInConsole and CancelOrderInConsole.
var (
	ErrNoOrder        = errors.New("hwsim: no such order")
	ErrOrderNotUnpaid = errors.New("hwsim: the order is not waiting for payment")
)

// PayOrderInConsole pays an unpaid order as a person does in Billing
// Center: as PayOrders does, without an API call.
func (s *Simulator) PayOrderInConsole(orderID string) (Order, error) {
	return s.inConsole(orderID, s.payLocked)
}

// CancelOrderInConsole cancels an unpaid order as a person does in Billing
// Center.
func (s *Simulator) CancelOrderInConsole(orderID string) (Order, error) {
	return s.inConsole(orderID, cancelLocked)
}

// inConsole does to an unpaid order what a person does in the console.
func (s *Simulator) inConsole(orderID string, act func(o *order, now time.Time)) (out Order, err error) {
	s.atOrder(orderID, func(o *order, now time.Time) {
		switch {
		case o == nil:
			err = ErrNoOrder
		case o.status != OrderPendingPayment:
			out, err = o.export(), ErrOrderNotUnpaid
		default:
			act(o, now)
			out = o.export()
		}
	})
	return out, err
}

// atOrder runs fn under the orders' lock, once the orders past their
// payment deadline have lapsed, with the order (nil: unknown) and the time.
func (s *Simulator) atOrder(orderID string, fn func(o *order, now time.Time)) {
	rn := s.rn()
	rn.mu.Lock()
	defer rn.mu.Unlock()
	now := time.Now().UTC()
	rn.settleLocked(now)
	fn(rn.byID[strings.ToUpper(orderID)], now)
}

// cancelLocked cancels an unpaid order.
func cancelLocked(o *order, now time.Time) { o.status, o.canceled = OrderCanceled, now }

// orderMains is the main resource ids of an order (nil for an unknown
// one): what ListPayPerUseCustomerResources' order_id filter lists.
func (s *Simulator) orderMains(orderID string) ([]string, bool) {
	rn := s.rn()
	rn.mu.Lock()
	defer rn.mu.Unlock()
	o, ok := rn.byID[strings.ToUpper(orderID)]
	if !ok {
		return nil, false
	}
	return slices.Clone(o.mains), true
}

func orderInvalid(id string) *apiError {
	return svcError(http.StatusBadRequest, codeOrderInvalid, "Invalid order (the order may not exist): "+id)
}

// PayOrders.

type couponInfo struct {
	ID   *string `json:"id"`
	Type *int32  `json:"type"`
}

type payReq struct {
	OrderID       *string      `json:"order_id"`
	UseCoupon     *string      `json:"use_coupon"`
	UseDiscount   *string      `json:"use_discount"`
	CouponInfos   []couponInfo `json:"coupon_infos"`
	DiscountInfos []couponInfo `json:"discount_infos"`
	CustomerID    *string      `json:"customer_id"`
}

// yesNo checks use_coupon / use_discount against their lists, as the SDK's
// PayCustomerOrderV3Req documents them: "YES" or "NO"; with YES the list is
// required, with NO it must be absent ("当use_coupon参数取值为“NO”，本字段
// 不可填写，否则报参数错误").
func yesNo(field string, v *string, list []couponInfo, listField string, maxN int) (bool, *apiError) {
	if v == nil || (*v != "YES" && *v != "NO") {
		return false, bssParam("%s must be YES or NO", field)
	}
	if *v == "NO" {
		if len(list) > 0 {
			return false, bssParam("%s must be absent when %s is NO", listField, field)
		}
		return false, nil
	}
	if len(list) == 0 || len(list) > maxN {
		return false, bssParam("%s must hold 1 to %d entries when %s is YES", listField, maxN, field)
	}
	for _, c := range list {
		if c.ID == nil || *c.ID == "" || c.Type == nil {
			return false, bssParam("every %s entry needs an id and a type", listField)
		}
	}
	return true, nil
}

// handlePayOrder plays PayOrders
// (https://support.huaweicloud.com/api-oce/api_order_00030.html, status
// codes as on the older page api_order_00016): an unpaid order is paid once
// (status 5, payment_time set, its resources' expire times moved by the
// period and frozen or expired ones back in use); the answer is 204
// ("状态码:204 默认返回:Success" in the pages' response section). An unknown
// order answers 400 CBC.30000010, one no longer waiting for payment 400
// CBC.99003106 ("订单状态已发生变更,不能进行支付操作"), one past its payment
// deadline 400 CBC.99003110. No simulated account holds a coupon or a
// discount (ListOrderCouponsByOrderId and ListOrderDiscounts answer none), so
// a discount id is 400 CBC.99003108 ("您选择的折扣不可用于该订单") and a
// coupon id 400 CBC.0100 (the pages have no code for an unknown coupon).
func (s *Simulator) handlePayOrder(ex *exchange) (any, *apiError) {
	var req payReq
	if e := decodeStrict(ex.body, &req, bssParam); e != nil {
		return nil, e
	}
	if e := s.partnerRefused(req.CustomerID); e != nil {
		return nil, e
	}
	if req.OrderID == nil || *req.OrderID == "" {
		return nil, bssParam("order_id is required")
	}
	coupons, e := yesNo("use_coupon", req.UseCoupon, req.CouponInfos, "coupon_infos", maxCoupons)
	if e != nil {
		return nil, e
	}
	discounts, e := yesNo("use_discount", req.UseDiscount, req.DiscountInfos, "discount_infos", maxDiscounts)
	if e != nil {
		return nil, e
	}
	var refused *apiError
	s.atOrder(*req.OrderID, func(o *order, now time.Time) {
		switch {
		case o == nil:
			refused = orderInvalid(*req.OrderID)
		case o.lapsed:
			refused = svcError(http.StatusBadRequest, codeOrderLapsed, "The order is past its payment deadline; place a new order: "+o.id)
		case o.status != OrderPendingPayment:
			refused = svcError(http.StatusBadRequest, codeOrderChanged, "The order status has changed and the order cannot be paid: "+o.id)
		case discounts:
			refused = svcError(http.StatusBadRequest, codeDiscountInvalid, "The selected discount cannot be used for the order: "+*req.DiscountInfos[0].ID)
		case coupons:
			refused = bssParam("coupon %s cannot be used for order %s", *req.CouponInfos[0].ID, o.id)
		default:
			s.payLocked(o, now)
		}
	})
	if refused != nil {
		return nil, refused
	}
	return noContent{}, nil
}

// CancelCustomerOrder.

type cancelReq struct {
	OrderID    *string `json:"order_id"`
	CustomerID *string `json:"customer_id"`
}

// handleCancelOrder plays CancelCustomerOrder
// (https://support.huaweicloud.com/api-oce/api_order_00017.html): "只有订单
// 状态是"待支付"的时候,才能取消订单"; 204 on success, 400 CBC.99005010 ("订单
// 状态不允许取消") for an order in any other status. An unknown order answers
// 400 CBC.30000010, PayOrders' code for it (this page's table has none).
func (s *Simulator) handleCancelOrder(ex *exchange) (any, *apiError) {
	var req cancelReq
	if e := decodeStrict(ex.body, &req, bssParam); e != nil {
		return nil, e
	}
	if e := s.partnerRefused(req.CustomerID); e != nil {
		return nil, e
	}
	if req.OrderID == nil || *req.OrderID == "" {
		return nil, bssParam("order_id is required")
	}
	var refused *apiError
	s.atOrder(*req.OrderID, func(o *order, now time.Time) {
		switch {
		case o == nil:
			refused = orderInvalid(*req.OrderID)
		case o.status != OrderPendingPayment:
			refused = svcError(http.StatusBadRequest, codeCancelRefused, "The order status does not allow cancellation: "+o.id)
		default:
			cancelLocked(o, now)
		}
	})
	if refused != nil {
		return nil, refused
	}
	return noContent{}, nil
}

// ListCustomerOrders.

// customerOrderJSON is CustomerOrderV2 (lists) and CustomerOrderV3
// (details: user_name and pending_payment_end_time too).
type customerOrderJSON struct {
	OrderID               string  `json:"order_id"`
	CustomerID            string  `json:"customer_id"`
	ServiceTypeCode       string  `json:"service_type_code"`
	ServiceTypeName       string  `json:"service_type_name"`
	SourceType            int32   `json:"source_type"` // 1: the customer
	Status                int32   `json:"status"`
	OrderType             int32   `json:"order_type"`
	AmountAfterDiscount   float64 `json:"amount_after_discount"`
	OfficialAmount        float64 `json:"official_amount"`
	MeasureID             int32   `json:"measure_id"` // 1: yuan
	CreateTime            string  `json:"create_time"`
	PaymentTime           *string `json:"payment_time,omitempty"`
	Currency              string  `json:"currency"`
	UserName              string  `json:"user_name,omitempty"`
	PendingPaymentEndTime *string `json:"pending_payment_end_time,omitempty"`
}

func (s *Simulator) orderJSON(o *order, v3 bool) customerOrderJSON {
	j := customerOrderJSON{
		OrderID: o.id, CustomerID: s.domainID, SourceType: 1, Status: int32(o.status), OrderType: int32(o.typ),
		AmountAfterDiscount: yuanFloat(o.cents), OfficialAmount: yuanFloat(o.cents), MeasureID: 1,
		CreateTime: o.created.Format(bssTimeFormat), Currency: renewCurrency,
	}
	if len(o.lines) > 0 {
		j.ServiceTypeCode, j.ServiceTypeName = o.lines[0].service, o.lines[0].serviceName
	}
	if !o.paid.IsZero() {
		p := o.paid.Format(bssTimeFormat)
		j.PaymentTime = &p
	}
	if v3 {
		j.UserName = "hwsim"
		if o.status == OrderPendingPayment {
			d := o.deadline.Format(bssTimeFormat)
			j.PendingPaymentEndTime = &d
		}
	}
	return j
}

type listOrdersResp struct {
	TotalCount int32               `json:"total_count"`
	OrderInfos []customerOrderJSON `json:"order_infos"`
}

// orderFilter is a parsed ListCustomerOrders query.
type orderFilter struct {
	id                   string
	createFrom, createTo time.Time
	payFrom, payTo       time.Time
	status, typ          int
	service              string
	offset, limit        int
	ascending            bool
	subCustomer          bool
}

var (
	orderStatuses = []int{OrderPendingReview, OrderProcessing, OrderCanceled, OrderCompleted, OrderPendingPayment, OrderPendingConfirm}
	orderTypes    = []int{1, 2, 3, 4, 10, 11, 13, 14, 15}
)

// parseOrderFilter reads the query as ListCustomerOrders' page documents it
// (https://support.huaweicloud.com/api-oce/api_order_00013.html): times
// UTC "yyyy-MM-dd'T'HH:mm:ss'Z'", a begin-end span of at most a year, limit
// 1-100 (default 10), offset from 0, order_by createTime or -createTime;
// absent or empty values do not filter. Out-of-range values answer 400
// CBC.0100.
func parseOrderFilter(ex *exchange) (*orderFilter, *apiError) {
	q := ex.r.URL.Query()
	f := &orderFilter{id: q.Get("order_id"), service: q.Get("service_type_code"), limit: 10}
	var e *apiError
	for _, tf := range []struct {
		from, to string
		dst      [2]*time.Time
	}{{"create_time_begin", "create_time_end", [2]*time.Time{&f.createFrom, &f.createTo}},
		{"payment_time_begin", "payment_time_end", [2]*time.Time{&f.payFrom, &f.payTo}}} {
		for n, name := range []string{tf.from, tf.to} {
			if v := q.Get(name); v != "" {
				if *tf.dst[n], e = parseOrderTime(name, v); e != nil {
					return nil, e
				}
			}
		}
		if from, to := *tf.dst[0], *tf.dst[1]; !from.IsZero() && !to.IsZero() && to.After(from.AddDate(1, 0, 0)) {
			return nil, bssParam("%s and %s must be at most one year apart", tf.from, tf.to)
		}
	}
	if f.status, e = queryInt(q.Get("status"), "status", orderStatuses); e != nil {
		return nil, e
	}
	if f.typ, e = queryInt(q.Get("order_type"), "order_type", orderTypes); e != nil {
		return nil, e
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return nil, bssParam("limit must be 1 to 100, got %q", v)
		}
		f.limit = n
	}
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return nil, bssParam("offset must be >= 0, got %q", v)
		}
		f.offset = n
	}
	switch strings.ToLower(q.Get("order_by")) {
	case "", "-createtime":
	case "createtime":
		f.ascending = true
	default:
		return nil, bssParam("order_by must be createTime or -createTime, got %q", q.Get("order_by"))
	}
	switch q.Get("method") {
	case "", "oneself":
	case "sub_customer":
		f.subCustomer = true
	default:
		return nil, bssParam("method must be oneself or sub_customer, got %q", q.Get("method"))
	}
	return f, nil
}

func parseOrderTime(name, v string) (time.Time, *apiError) {
	t, err := time.Parse(bssTimeFormat, v)
	if err != nil {
		return time.Time{}, bssParam("%s must be a UTC time like 2019-05-06T08:05:01Z, got %q", name, v)
	}
	return t, nil
}

func queryInt(v, name string, allowed []int) (int, *apiError) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || !slices.Contains(allowed, n) {
		return 0, bssParam("%s must be one of %v, got %q", name, allowed, v)
	}
	return n, nil
}

func (f *orderFilter) match(o *order) bool {
	switch {
	case f.subCustomer: // the simulated account pays for no enterprise sub-account
		return false
	case f.id != "" && !strings.EqualFold(f.id, o.id): // "大小写不敏感"
		return false
	case !f.createFrom.IsZero() && o.created.Before(f.createFrom), !f.createTo.IsZero() && o.created.After(f.createTo):
		return false
	case !f.payFrom.IsZero() && (o.paid.IsZero() || o.paid.Before(f.payFrom)),
		!f.payTo.IsZero() && (o.paid.IsZero() || o.paid.After(f.payTo)):
		return false
	case f.status != 0 && o.status != f.status, f.typ != 0 && o.typ != f.typ:
		return false
	}
	return f.service == "" || len(o.lines) > 0 && strings.EqualFold(f.service, o.lines[0].service)
}

// handleListOrders plays ListCustomerOrders
// (https://support.huaweicloud.com/api-oce/api_order_00013.html) over the
// renewal orders, the only orders the simulator has. The order of the
// answer is newest first unless order_by says otherwise: the page documents
// order_by but no default (plausible, not documented). OrderListLag hides
// an order for a while after it is placed. A customer_id other than the
// account's, or an indirect_partner_id, is a partner's query: 403 CBC.0151.
func (s *Simulator) handleListOrders(ex *exchange) (any, *apiError) {
	if e := s.partnerRefused(nonEmptyQuery(ex, "customer_id")); e != nil {
		return nil, e
	}
	if e := s.partnerRefused(nonEmptyQuery(ex, "indirect_partner_id")); e != nil {
		return nil, e
	}
	f, e := parseOrderFilter(ex)
	if e != nil {
		return nil, e
	}
	rn := s.rn()
	rn.mu.Lock()
	defer rn.mu.Unlock()
	now := time.Now().UTC()
	rn.settleLocked(now)
	var matches []*order
	for _, o := range rn.orders {
		if now.Sub(o.created) >= ex.cfg.knobs.OrderListLag && f.match(o) {
			matches = append(matches, o)
		}
	}
	slices.SortStableFunc(matches, func(a, b *order) int {
		if f.ascending {
			return a.created.Compare(b.created)
		}
		return cmp.Or(b.created.Compare(a.created), cmp.Compare(b.id, a.id))
	})
	resp := listOrdersResp{TotalCount: int32(len(matches)), OrderInfos: []customerOrderJSON{}}
	for _, o := range matches[min(f.offset, len(matches)):min(f.offset+f.limit, len(matches))] {
		resp.OrderInfos = append(resp.OrderInfos, s.orderJSON(o, false))
	}
	return resp, nil
}

// ShowCustomerOrderDetails.

type productObjectJSON struct {
	ProductID           string `json:"product_id"`
	ProductSpecDesc     string `json:"product_spec_desc"`
	ProductOwnerService string `json:"product_owner_service"`
	CommercialResource  string `json:"commercial_resource"`
}

// orderLineJSON is OrderLineItemEntityV2. It has no resource id field (SDK
// v0.1.207): the resources of an order are listed by
// ListPayPerUseCustomerResources with order_id, as ListCustomerOrders' page
// says ("如果想查询某条订单下的资源信息...请调用“查询客户包年/包月资源列表”接口
// 在请求参数输入订单号进行查询").
type orderLineJSON struct {
	OrderLineItemID     string            `json:"order_line_item_id"`
	ServiceTypeCode     string            `json:"service_type_code"`
	ServiceTypeName     string            `json:"service_type_name"`
	ProductID           string            `json:"product_id"`
	ProductSpecDesc     string            `json:"product_spec_desc"`
	PeriodType          int32             `json:"period_type"`
	PeriodNum           int32             `json:"period_num"`
	EffectiveTime       string            `json:"effective_time"`
	ExpireTime          string            `json:"expire_time"`
	SubscriptionNum     int32             `json:"subscription_num"`
	AmountAfterDiscount float64           `json:"amount_after_discount"`
	OfficialAmount      float64           `json:"official_amount"`
	Currency            string            `json:"currency"`
	ProductOwnerService string            `json:"product_owner_service"`
	CommercialResource  string            `json:"commercial_resource"`
	BaseProductInfo     productObjectJSON `json:"base_product_info"`
	OrderID             string            `json:"order_id"`
}

type orderDetailsResp struct {
	TotalCount     int32             `json:"total_count"`
	OrderInfo      customerOrderJSON `json:"order_info"`
	OrderLineItems []orderLineJSON   `json:"order_line_items"`
}

// handleOrderDetails plays ShowCustomerOrderDetails (SDK
// ShowCustomerOrderDetailsResponse: total_count lines, order_info
// CustomerOrderV3 with pending_payment_end_time, order_line_items paged by
// limit (default 10) and offset): one line per renewed resource, its
// effective_time the old expire time and expire_time the new one. An
// unknown order answers 400 CBC.30000010, PayOrders' code for it: the
// details page's table was not found.
func (s *Simulator) handleOrderDetails(ex *exchange) (any, *apiError) {
	q := ex.r.URL.Query()
	if e := s.partnerRefused(nonEmptyQuery(ex, "indirect_partner_id")); e != nil {
		return nil, e
	}
	offset, limit := 0, 10
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return nil, bssParam("limit must be 1 to 100, got %q", v)
		}
		limit = n
	}
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return nil, bssParam("offset must be >= 0, got %q", v)
		}
		offset = n
	}
	id := ex.r.PathValue("order_id")
	var resp orderDetailsResp
	found := false
	s.atOrder(id, func(o *order, _ time.Time) {
		if o != nil {
			resp, found = s.orderDetails(o, offset, limit), true
		}
	})
	if !found {
		return nil, orderInvalid(id)
	}
	return resp, nil
}

// orderDetails is one page of an order's lines, from offset.
func (s *Simulator) orderDetails(o *order, offset, limit int) orderDetailsResp {
	resp := orderDetailsResp{TotalCount: int32(len(o.lines)), OrderInfo: s.orderJSON(o, true), OrderLineItems: []orderLineJSON{}}
	for n, l := range o.lines[min(offset, len(o.lines)):min(offset+limit, len(o.lines))] {
		resp.OrderLineItems = append(resp.OrderLineItems, orderLineJSON{
			OrderLineItemID: o.id + "-" + strconv.Itoa(offset+n+1), ServiceTypeCode: l.service, ServiceTypeName: l.serviceName,
			ProductID: l.product, ProductSpecDesc: l.desc, PeriodType: o.periodType, PeriodNum: o.periodNum,
			EffectiveTime: l.oldExpire.Format(bssTimeFormat), ExpireTime: l.newExpire.Format(bssTimeFormat),
			SubscriptionNum: 1, AmountAfterDiscount: yuanFloat(l.cents), OfficialAmount: yuanFloat(l.cents),
			Currency: renewCurrency, ProductOwnerService: l.service, CommercialResource: l.resType,
			BaseProductInfo: productObjectJSON{ProductID: l.product, ProductSpecDesc: l.desc, ProductOwnerService: l.service, CommercialResource: l.resType},
			OrderID:         o.id,
		})
	}
	return resp
}

// ListOrderCouponsByOrderId and ListOrderDiscounts.

type orderCouponsResp struct {
	Count                int32      `json:"count"`
	UserCoupons          []struct{} `json:"user_coupons"`
	CouponMaxUseQuantity []struct{} `json:"coupon_max_use_quantity"`
}

type orderDiscountsResp struct {
	Discounts []struct{} `json:"discounts"`
}

// orderOf reads the order_id query of the coupon and discount look-ups.
func (s *Simulator) orderOf(ex *exchange) *apiError {
	id := ex.r.URL.Query().Get("order_id")
	if id == "" {
		return bssParam("order_id is required")
	}
	if _, ok := s.orderMains(id); !ok {
		return orderInvalid(id)
	}
	return nil
}

// handleOrderCoupons plays ListOrderCouponsByOrderId
// (https://support.huaweicloud.com/api-bpconsole/api_order_00015.md): the
// simulated account holds no coupon, so the list is empty (plausible: an
// account without coupons).
func (s *Simulator) handleOrderCoupons(ex *exchange) (any, *apiError) {
	if e := s.orderOf(ex); e != nil {
		return nil, e
	}
	return orderCouponsResp{UserCoupons: []struct{}{}, CouponMaxUseQuantity: []struct{}{}}, nil
}

// handleOrderDiscounts plays ListOrderDiscounts (SDK
// ListOrderDiscountsResponse): the simulated account has no discount.
func (s *Simulator) handleOrderDiscounts(ex *exchange) (any, *apiError) {
	if e := s.orderOf(ex); e != nil {
		return nil, e
	}
	return orderDiscountsResp{Discounts: []struct{}{}}, nil
}

// Admin: GET /_hwsim/orders, POST /_hwsim/orders/{id}/pay and /cancel.

func (s *Simulator) adminOrderRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /_hwsim/orders", func(w http.ResponseWriter, _ *http.Request) {
		adminJSON(w, http.StatusOK, s.RenewTruth())
	})
	mux.HandleFunc("POST /_hwsim/orders/{id}/pay", func(w http.ResponseWriter, r *http.Request) {
		adminOrderResult(w, s.PayOrderInConsole)(r.PathValue("id"))
	})
	mux.HandleFunc("POST /_hwsim/orders/{id}/cancel", func(w http.ResponseWriter, r *http.Request) {
		adminOrderResult(w, s.CancelOrderInConsole)(r.PathValue("id"))
	})
}

func adminOrderResult(w http.ResponseWriter, f func(string) (Order, error)) func(string) {
	return func(id string) {
		o, err := f(id)
		switch {
		case errors.Is(err, ErrNoOrder):
			adminError(w, http.StatusNotFound, "order not found")
		case err != nil:
			adminJSON(w, http.StatusConflict, map[string]any{"error": err.Error(), "order": o})
		default:
			adminJSON(w, http.StatusOK, o)
		}
	}
}
