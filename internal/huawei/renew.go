package huawei

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/bss/v2/model"

	"expiry-sync/internal/contract"
)

// Renewals (issue 23): price inquiry, renewal orders, payment, auto-renew
// and conversion to pay-per-use at expiry, through BSS v2 (SDK
// services/bss/v2; Huawei's customer operations API reference,
// https://support.huaweicloud.com/api-oce/). Every call goes through call()
// and its error classification, paced by the BSS limiter. None of these
// APIs has a dry-run flag or an idempotency token: a RenewalResources call
// that failed without a clear refusal may have placed its order, so it is
// never retried blindly; RenewalOrdersSince finds what it placed.

// API names of the renewal calls, as APIError.API and the observer see them.
const (
	apiRenewRate       = "BSS ListRenewRateOnPeriod"
	apiRenew           = "BSS RenewalResources"
	apiPayOrder        = "BSS PayOrders"
	apiCancelOrder     = "BSS CancelCustomerOrder"
	apiListOrders      = "BSS ListCustomerOrders"
	apiOrderDetails    = "BSS ShowCustomerOrderDetails"
	apiOrderCoupons    = "BSS ListOrderCouponsByOrderId"
	apiOrderDiscounts  = "BSS ListOrderDiscounts"
	apiAutoRenew       = "BSS AutoRenewalResources"
	apiAutoRenewCancel = "BSS CancelAutoRenewalResources"
	apiToOnDemand      = "BSS UpdatePeriodToOnDemand"
)

// KindPartner: the client holds a partner's (reseller's) credentials, which
// the renewal APIs refuse ("该接口只允许使用客户AK/SK或者Token调用,不允许使用
// 解决方案提供商或华为云总经销商(一级经销商)的AK/SK或者Token调用", the partner
// edition of each page, e.g.
// https://support.huaweicloud.com/api-bpconsole/api_order_00018.html). Not
// retryable.
const KindPartner Kind = contract.ErrTypePartner

// renewActions is the permission each renewal API needs under identity
// policies, from each page's "授权信息" (and the team reference for the
// price inquiry); "" where the page says none is needed or names none.
var renewActions = map[string]string{
	apiRenewRate:       "billing:contract:viewDiscount", // huawei-api.md, "Renewal APIs"
	apiRenew:           "billing:subscription:renew",    // api_order_00018
	apiAutoRenew:       "billing:subscription:renew",    // api_order_00022
	apiAutoRenewCancel: "billing:subscription:renew",    // api_order_00023
	apiToOnDemand:      "billing:subscription:renew",    // api_order_00024
	apiPayOrder:        "billing:order:pay",             // api_order_00030
	apiCancelOrder:     "",                              // api_order_00017: "当前API调用无需身份策略权限"
}

// Order statuses (CustomerOrderV2.status).
const (
	OrderPendingReview  = 1
	OrderPendingRefund  = 2
	OrderProcessing     = 3
	OrderCanceled       = 4
	OrderCompleted      = 5
	OrderPendingPayment = 6
	OrderPendingConfirm = 9
)

// Order types (CustomerOrderV2.order_type).
const (
	OrderTypeNew         = 1
	OrderTypeRenew       = 2
	OrderTypeChange      = 3
	OrderTypeUnsubscribe = 4
	OrderTypeToOnDemand  = 10
	OrderTypeToPeriod    = 11
)

// Limits of the renewal APIs.
const (
	// MaxToOnDemandIDs is how many resources one UpdatePeriodToOnDemand
	// call takes (PeriodToOnDemandReq: "最多可设置100个资源ID").
	MaxToOnDemandIDs = 100
	// MaxAutoRenewTimes bounds auto_renew_times (0 unlimited).
	MaxAutoRenewTimes = 99
	// ordersPageSize: ListCustomerOrders' limit is 1-100 (api_order_00013).
	ordersPageSize = 100
)

// Codes the renewal calls read.
const (
	// CodeAutoRenewOff: CancelAutoRenewalResources when auto-renew is not on
	// ("自动续费已取消,不可进行当前操作", api_order_00023).
	CodeAutoRenewOff = "CBC.99003605"
	// CodeGraceRetention: UpdatePeriodToOnDemand for a resource in its grace
	// or retention period, answered with HTTP 200 (api_order_00024).
	CodeGraceRetention = "CBC.99003610"
	// CodeOrderInvalid: "无效订单(可能是订单不存在)" (PayOrders,
	// api_order_00016).
	CodeOrderInvalid = "CBC.30000010"
	// CodeInPendingOrder: RenewalResources for a resource already in an
	// unpaid order (api_order_00018).
	CodeInPendingOrder = "CBC.99003100"
)

// Order is one order at Huawei.
type Order struct {
	ID     string
	Type   int // OrderTypeRenew, ...
	Status int // OrderPendingPayment, OrderCompleted, OrderCanceled, ...
	// Amount is what the order costs after discounts (amount_after_discount:
	// "不含券不含卡的实付价格"); Official its list price.
	Amount   contract.Amount
	Official contract.Amount
	Currency string
	// CreateTime and PaymentTime are UTC (PaymentTime zero when unpaid).
	CreateTime, PaymentTime time.Time
	// PaymentDeadline is when an unpaid order lapses
	// (pending_payment_end_time), known from Order only; zero otherwise.
	PaymentDeadline time.Time
	// ResourceIDs are every resource the order holds, main and attached;
	// MainResourceIDs the main ones (is_main_resource 1).
	ResourceIDs     []string
	MainResourceIDs []string
}

// partnerRefusal is the error every renewal call of a partner's client
// answers before any request.
func partnerRefusal(api string) *APIError {
	return &APIError{API: api, Kind: KindPartner, Message: "partners cannot use the renewal APIs: " +
		"Huawei accepts only the customer's own AK/SK for them (not a solution provider's or distributor's); " +
		"renew with the customer's own keys (an account of its own, not a customer_id entry)"}
}

// renewCall runs fn through call(), refusing a partner's client before any
// request and naming the permission a 403 lacks.
func renewCall[T any](ctx context.Context, c *Client, api string, fn func() (T, error)) (T, error) {
	var zero T
	if c.customerID != "" {
		return zero, partnerRefusal(api)
	}
	v, err := call(ctx, c.observer, c.bssLimit, api, fn)
	if err != nil {
		var ae *APIError
		if errors.As(err, &ae) && ae.Kind == KindForbidden && ae.IAMAction == "" {
			switch gatewayCode(ae.Code) {
			case codeWrongSite, codeWrongSiteOther, codeIPBlocked:
			default:
				ae.IAMAction = renewActions[api]
			}
		}
		return zero, err
	}
	return v, nil
}

func badRequest(api, format string, args ...any) *APIError {
	return &APIError{API: api, Kind: KindBadRequest, Message: fmt.Sprintf(format, args...)}
}

func badResponse(api, format string, args ...any) *APIError {
	return &APIError{API: api, Kind: KindBadResponse, Message: fmt.Sprintf(format, args...)}
}

// uniqueIDs drops empty and repeated ids, keeping the first of each.
func uniqueIDs(ids []string) []string {
	seen := make(map[string]bool, len(ids))
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if id != "" && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// checkRenewArgs refuses, before any request, a partner's client, a period
// Huawei does not sell and an empty id list.
func (c *Client) checkRenewArgs(api string, ids []string, p contract.Period) ([]string, error) {
	if c.customerID != "" {
		return nil, partnerRefusal(api)
	}
	if err := p.Check(); err != nil {
		return nil, badRequest(api, "%v", err)
	}
	ids = uniqueIDs(ids)
	if len(ids) == 0 {
		return nil, badRequest(api, "no resource id to renew")
	}
	return ids, nil
}

// QuoteRenewal asks ListRenewRateOnPeriod the price of renewing the main
// resources ids for the period, their attached resources included
// (include_relative_resources true), in calls of at most
// contract.MaxRenewIDs ids (repeated ids are asked once: a duplicate is
// 400 CBC.30050012). Resources Huawei cannot price (attached, gone, in an
// unpaid order) come back in Failures, never dropped; so does a resource
// the answer leaves out. Total sums the lines, Official the list prices
// (0 when an answer lacks it).
func (c *Client) QuoteRenewal(ctx context.Context, ids []string, p contract.Period) (contract.RenewQuote, error) {
	ids, err := c.checkRenewArgs(apiRenewRate, ids, p)
	if err != nil {
		return contract.RenewQuote{}, err
	}
	q := contract.RenewQuote{Lines: []contract.QuoteLine{}}
	officialKnown := true
	for chunk := range slices.Chunk(ids, contract.MaxRenewIDs) {
		body := &model.ListRenewRateOnPeriodReq{
			ResourceIds:              chunk,
			PeriodType:               p.HuaweiType(),
			PeriodNum:                int32(p.Num),
			IncludeRelativeResources: ptr(true),
		}
		resp, err := renewCall(ctx, c, apiRenewRate, func() (*model.ListRenewRateOnPeriodResponse, error) {
			return c.bss.ListRenewRateOnPeriod(&model.ListRenewRateOnPeriodRequest{Body: body})
		})
		if err != nil {
			return contract.RenewQuote{}, err
		}
		if err := addChunk(&q, resp, chunk, &officialKnown); err != nil {
			return contract.RenewQuote{}, err
		}
	}
	if !officialKnown {
		q.Official = 0
	}
	q.QuotedAt = time.Now().UTC()
	return q, nil
}

// addChunk adds one ListRenewRateOnPeriod answer for ids to q.
func addChunk(
	q *contract.RenewQuote,
	resp *model.ListRenewRateOnPeriodResponse,
	ids []string,
	officialKnown *bool,
) error {
	currency := deref(resp.Currency)
	switch {
	case currency == "":
		return badResponse(apiRenewRate, "the answer has no currency")
	case q.Currency == "":
		q.Currency = currency
	case q.Currency != currency:
		return badResponse(apiRenewRate, "the answers name two currencies, %s and %s", q.Currency, currency)
	}
	answered := map[string]bool{}
	for _, r := range deref(resp.RenewInquiryResults) {
		id := deref(r.ResourceId)
		a, err := contract.ParseAmount(deref(r.Amount))
		if err != nil || id == "" {
			return badResponse(apiRenewRate, "unreadable price of resource %q: %v", id, err)
		}
		answered[id] = true
		q.Lines = append(q.Lines, contract.QuoteLine{ResourceID: id, Amount: a})
		q.Total += a
	}
	if o := resp.OfficialWebsiteRatingResult; o != nil && o.OfficialWebsiteAmount != nil {
		a, err := contract.ParseAmount(*o.OfficialWebsiteAmount)
		if err != nil {
			return badResponse(apiRenewRate, "unreadable official_website_amount: %v", err)
		}
		q.Official += a
	} else {
		*officialKnown = false
	}
	for _, f := range deref(resp.FailResourceInfos) {
		id := deref(f.ResourceId)
		answered[id] = true
		q.Failures = append(
			q.Failures,
			contract.ResourceFailure{ResourceID: id, Code: deref(f.ErrorCode), Message: deref(f.ErrorMsg)},
		)
	}
	for _, id := range ids {
		if !answered[id] {
			q.Failures = append(q.Failures, contract.ResourceFailure{ResourceID: id,
				Message: "ListRenewRateOnPeriod answered neither a price nor a failure for this resource"})
		}
	}
	return nil
}

// RenewResources places one unpaid renewal order (is_auto_pay 0) for at
// most contract.MaxRenewIDs main resources and the period; Huawei adds
// their attached resources. It answers the order ids and the resources
// Huawei reports it could not renew. Huawei documents a resource it cannot
// renew as a refusal of the whole call (400: CBC.30010036 attached,
// CBC.99003016 gone, CBC.99003100 already in an unpaid order), the answer's
// fail_resource_infos being reserved; both are handled.
//
// An error other than a refusal (a 5xx, a timeout, a closed connection) may
// come after the order was placed: do not call again before looking for it
// with RenewalOrdersSince.
func (c *Client) RenewResources(
	ctx context.Context,
	ids []string,
	p contract.Period,
) (orderIDs []string, failures []contract.ResourceFailure, err error) {
	ids, err = c.checkRenewArgs(apiRenew, ids, p)
	if err != nil {
		return nil, nil, err
	}
	if len(ids) > contract.MaxRenewIDs {
		return nil, nil, badRequest(
			apiRenew,
			"%d resources in one renewal order: at most %d",
			len(ids),
			contract.MaxRenewIDs,
		)
	}
	body := &model.RenewalResourcesReq{
		ResourceIds: ids,
		PeriodType:  p.HuaweiType(),
		PeriodNum:   int32(p.Num),
		IsAutoPay:   ptr(int32(0)),
	}
	resp, err := renewCall(ctx, c, apiRenew, func() (*model.RenewalResourcesResponse, error) {
		return c.bss.RenewalResources(&model.RenewalResourcesRequest{Body: body})
	})
	if err != nil {
		return nil, nil, err
	}
	for _, f := range deref(resp.FailResourceInfos) {
		failures = append(failures, contract.ResourceFailure{
			ResourceID: deref(f.ResourceId),
			Code:       deref(f.ErrorCode),
			Message:    deref(f.ErrorMsg),
		})
	}
	orderIDs = slices.DeleteFunc(slices.Clone(deref(resp.OrderIds)), func(id string) bool { return id == "" })
	if len(orderIDs) == 0 && len(failures) == 0 {
		return nil, nil, badResponse(apiRenew, "the answer has neither an order id nor a failure")
	}
	return orderIDs, failures, nil
}

// RenewalOrdersSince finds the renewal orders (order_type 2) created since
// since (to the second, inclusive) that hold at least one of resourceIDs,
// main or attached: every page of ListCustomerOrders, then each order's
// resources. An order's resources are listed by ListPayPerUseCustomerResources
// with its order_id, as Huawei documents ("如果想查询某条订单下的资源信息,在
// 调用本接口获取订单ID后,请调用“查询客户包年/包月资源列表”接口在请求参数输入订单
// 号进行查询", api_order_00013): ShowCustomerOrderDetails' lines carry no
// resource id (SDK OrderLineItemEntityV2). Huawei's listing may lag behind
// a new order; a caller that finds nothing right after an uncertain
// RenewResources looks again later.
func (c *Client) RenewalOrdersSince(ctx context.Context, since time.Time, resourceIDs []string) ([]Order, error) {
	if c.customerID != "" {
		return nil, partnerRefusal(apiListOrders)
	}
	want := make(map[string]bool, len(resourceIDs))
	for _, id := range resourceIDs {
		want[id] = true
	}
	infos, err := c.listOrders(ctx, &model.ListCustomerOrdersRequest{
		OrderType: ptr(fmt.Sprint(OrderTypeRenew)), CreateTimeBegin: ptr(since.UTC().Format(bssTimeFormat)),
	})
	if err != nil {
		return nil, err
	}
	var out []Order
	for _, info := range infos {
		o, err := fromOrderV2(info)
		if err != nil {
			return nil, err
		}
		if o.ResourceIDs, o.MainResourceIDs, err = c.orderResources(ctx, o.ID); err != nil {
			return nil, err
		}
		if slices.ContainsFunc(o.ResourceIDs, func(id string) bool { return want[id] }) {
			out = append(out, o)
		}
	}
	slices.SortFunc(
		out,
		func(a, b Order) int { return cmp.Or(a.CreateTime.Compare(b.CreateTime), cmp.Compare(a.ID, b.ID)) },
	)
	return out, nil
}

// listOrders pages ListCustomerOrders to the end, de-duplicating by order
// id: a new order can shift the pages while they are read.
func (c *Client) listOrders(
	ctx context.Context,
	req *model.ListCustomerOrdersRequest,
) ([]model.CustomerOrderV2, error) {
	var out []model.CustomerOrderV2
	seen := map[string]bool{}
	for offset := 0; ; {
		r := *req
		r.Limit, r.Offset = ptr(int32(ordersPageSize)), ptr(int32(offset))
		resp, err := renewCall(ctx, c, apiListOrders, func() (*model.ListCustomerOrdersResponse, error) {
			return c.bss.ListCustomerOrders(&r)
		})
		if err != nil {
			return nil, err
		}
		page := deref(resp.OrderInfos)
		for _, o := range page {
			if id := deref(o.OrderId); id != "" && !seen[id] {
				seen[id] = true
				out = append(out, o)
			}
		}
		offset += len(page)
		if len(page) == 0 || (resp.TotalCount != nil && offset >= int(*resp.TotalCount)) {
			return out, nil
		}
	}
}

// orderResources lists the resources of an order (all, and the main ones)
// by ListPayPerUseCustomerResources' order_id ("查询指定订单下的资源").
func (c *Client) orderResources(ctx context.Context, orderID string) (all, mains []string, err error) {
	seen := map[string]bool{}
	for offset := 0; ; {
		body := &model.QueryResourcesReq{OrderId: ptr(orderID), OnlyMainResource: ptr(int32(0)),
			Offset: ptr(int32(offset)), Limit: ptr(int32(MaxPageSize))}
		resp, err := renewCall(ctx, c, apiList, func() (*model.ListPayPerUseCustomerResourcesResponse, error) {
			return c.bss.ListPayPerUseCustomerResources(&model.ListPayPerUseCustomerResourcesRequest{Body: body})
		})
		if err != nil {
			return nil, nil, err
		}
		data := deref(resp.Data)
		for _, r := range data {
			id := deref(r.ResourceId)
			if id == "" || seen[id] {
				continue
			}
			seen[id] = true
			all = append(all, id)
			if deref(r.IsMainResource) == 1 {
				mains = append(mains, id)
			}
		}
		offset += len(data)
		if len(data) == 0 || (resp.TotalCount != nil && offset >= int(*resp.TotalCount)) {
			return all, mains, nil
		}
	}
}

// orderFields are the fields CustomerOrderV2 and CustomerOrderV3 share.
type orderFields struct {
	id, currency                 *string
	status, typ                  *int32
	amount, official             *float64
	createTime, paymentTime, end *string
}

func fromOrderV2(o model.CustomerOrderV2) (Order, error) {
	return orderFields{o.OrderId, o.Currency, o.Status, o.OrderType, o.AmountAfterDiscount, o.OfficialAmount,
		o.CreateTime, o.PaymentTime, nil}.order(apiListOrders)
}

func fromOrderV3(o model.CustomerOrderV3) (Order, error) {
	return orderFields{o.OrderId, o.Currency, o.Status, o.OrderType, o.AmountAfterDiscount, o.OfficialAmount,
		o.CreateTime, o.PaymentTime, o.PendingPaymentEndTime}.order(apiOrderDetails)
}

func (f orderFields) order(api string) (Order, error) {
	o := Order{ID: deref(f.id), Currency: deref(f.currency), Status: int(deref(f.status)), Type: int(deref(f.typ)),
		Amount: contract.AmountFromFloat(deref(f.amount)), Official: contract.AmountFromFloat(deref(f.official))}
	if o.ID == "" || f.status == nil {
		return Order{}, badResponse(api, "an order without an id or a status")
	}
	if deref(f.amount) < 0 || deref(f.official) < 0 {
		return Order{}, badResponse(api, "order %s has a negative amount", o.ID)
	}
	var err error
	if o.CreateTime, err = orderTime(f.createTime); err != nil {
		return Order{}, badResponse(api, "order %s: create_time: %v", o.ID, err)
	}
	if o.PaymentTime, err = orderTime(f.paymentTime); err != nil {
		return Order{}, badResponse(api, "order %s: payment_time: %v", o.ID, err)
	}
	if o.PaymentDeadline, err = orderTime(f.end); err != nil {
		return Order{}, badResponse(api, "order %s: pending_payment_end_time: %v", o.ID, err)
	}
	return o, nil
}

// orderTime reads an order's UTC time ("2019-05-06T08:05:01Z"); absent or
// empty is the zero time.
func orderTime(s *string) (time.Time, error) {
	if s == nil || *s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, *s)
	return t.UTC(), err
}

// Order looks one order up: ShowCustomerOrderDetails for the order itself
// (status, amounts, times, and pending_payment_end_time, which the list
// lacks) and its resources by ListPayPerUseCustomerResources' order_id. An
// order Huawei does not know (400 CBC.30000010, "无效订单(可能是订单不存在)")
// is a KindNotFound error.
func (c *Client) Order(ctx context.Context, orderID string) (Order, error) {
	resp, err := renewCall(ctx, c, apiOrderDetails, func() (*model.ShowCustomerOrderDetailsResponse, error) {
		return c.bss.ShowCustomerOrderDetails(
			&model.ShowCustomerOrderDetailsRequest{OrderId: orderID, Limit: ptr(int32(1))},
		)
	})
	if err != nil {
		var ae *APIError
		if errors.As(err, &ae) && ae.Code == CodeOrderInvalid {
			ae.Kind = KindNotFound
		}
		return Order{}, err
	}
	if resp.OrderInfo == nil {
		return Order{}, badResponse(apiOrderDetails, "the answer about order %s has no order_info", orderID)
	}
	o, err := fromOrderV3(*resp.OrderInfo)
	if err != nil {
		return Order{}, err
	}
	if o.ResourceIDs, o.MainResourceIDs, err = c.orderResources(ctx, o.ID); err != nil {
		return Order{}, err
	}
	return o, nil
}

// PayOrder pays an unpaid order with PayOrders. With discounts it uses a
// discount ListOrderDiscounts offers for the order (the order-adjustment
// discount 609 when offered, which "必须使用", else the first offered); with
// coupons, one coupon ListOrderCouponsByOrderId offers (ready to use, not
// locked by another order; the largest balance). Huawei requires the ids
// with use_coupon/use_discount "YES" (SDK PayCustomerOrderV3Req), so with
// none offered the order is paid without. The coupon types of the two APIs
// differ (CouponInfoV2.coupon_type 1 cash coupon, 2 discount coupon, 4
// cash voucher; PayOrders' 300 discount coupon, 301 cash coupon, 302 cash
// voucher, 303 stored-value card): the mapping is inferred from the names,
// Huawei documents none; a product coupon (3) is not used.
func (c *Client) PayOrder(ctx context.Context, orderID string, coupons, discounts bool) error {
	if c.customerID != "" {
		return partnerRefusal(apiPayOrder)
	}
	body := &model.PayCustomerOrderV3Req{OrderId: orderID, UseCoupon: "NO", UseDiscount: "NO"}
	if discounts {
		d, err := c.orderDiscount(ctx, orderID)
		if err != nil {
			return err
		}
		if d != nil {
			body.UseDiscount, body.DiscountInfos = "YES", &[]model.DiscountSimpleInfoV3{*d}
		}
	}
	if coupons {
		cp, err := c.orderCoupon(ctx, orderID)
		if err != nil {
			return err
		}
		if cp != nil {
			body.UseCoupon, body.CouponInfos = "YES", &[]model.CouponSimpleInfoOrderPayV3{*cp}
		}
	}
	_, err := renewCall(ctx, c, apiPayOrder, func() (*model.PayOrdersResponse, error) {
		return c.bss.PayOrders(&model.PayOrdersRequest{Body: body})
	})
	return err
}

// discountAdjustment is the order-adjustment discount type, which a payment
// must use when offered (DiscountSimpleInfoV3: "如果包含609折扣（订单调价
// 折扣），则必须使用").
const discountAdjustment = 609

func (c *Client) orderDiscount(ctx context.Context, orderID string) (*model.DiscountSimpleInfoV3, error) {
	resp, err := renewCall(ctx, c, apiOrderDiscounts, func() (*model.ListOrderDiscountsResponse, error) {
		return c.bss.ListOrderDiscounts(&model.ListOrderDiscountsRequest{OrderId: orderID})
	})
	if err != nil {
		return nil, err
	}
	offered := slices.DeleteFunc(
		slices.Clone(deref(resp.Discounts)),
		func(d model.DiscountInfoV3) bool { return d.DiscountId == "" },
	)
	if len(offered) == 0 {
		return nil, nil
	}
	pick := offered[0]
	isAdjustment := func(d model.DiscountInfoV3) bool { return d.DiscountType == discountAdjustment }
	if i := slices.IndexFunc(offered, isAdjustment); i >= 0 {
		pick = offered[i]
	}
	return &model.DiscountSimpleInfoV3{Id: pick.DiscountId, Type: pick.DiscountType}, nil
}

// couponPayTypes maps CouponInfoV2.coupon_type to PayOrders' coupon type
// (see PayOrder: inferred, not documented).
var couponPayTypes = map[int32]int32{1: 301, 2: 300, 4: 302}

func (c *Client) orderCoupon(ctx context.Context, orderID string) (*model.CouponSimpleInfoOrderPayV3, error) {
	resp, err := renewCall(ctx, c, apiOrderCoupons, func() (*model.ListOrderCouponsByOrderIdResponse, error) {
		return c.bss.ListOrderCouponsByOrderId(&model.ListOrderCouponsByOrderIdRequest{OrderId: orderID})
	})
	if err != nil {
		return nil, err
	}
	var best *model.CouponInfoV2
	for _, cp := range deref(resp.UserCoupons) {
		_, mapped := couponPayTypes[deref(cp.CouponType)]
		usable := deref(cp.Status) == 2 && deref(cp.CouponId) != "" && // 2: 待使用
			(deref(cp.UsedByOrderId) == "" || deref(cp.UsedByOrderId) == orderID)
		if mapped && usable && (best == nil || deref(cp.Balance) > deref(best.Balance)) {
			best = &cp
		}
	}
	if best == nil {
		return nil, nil
	}
	return &model.CouponSimpleInfoOrderPayV3{Id: *best.CouponId, Type: couponPayTypes[*best.CouponType]}, nil
}

// CancelOrder cancels an unpaid order (CancelCustomerOrder; only an order
// pending payment can be, api_order_00017).
func (c *Client) CancelOrder(ctx context.Context, orderID string) error {
	_, err := renewCall(ctx, c, apiCancelOrder, func() (*model.CancelCustomerOrderResponse, error) {
		return c.bss.CancelCustomerOrder(
			&model.CancelCustomerOrderRequest{Body: &model.CancelCustomerOrderReq{OrderId: orderID}},
		)
	})
	return err
}

// SetAutoRenew turns auto-renew of a resource (and its attached ones) on,
// times renewals (0 unlimited, at most MaxAutoRenewTimes) of the period's
// unit (MONTH or YEAR; Huawei renews by the product's smallest period of
// that unit), or off. Turning it off when it is already off (400
// CBC.99003605) succeeds.
func (c *Client) SetAutoRenew(ctx context.Context, resourceID string, on bool, times int, p contract.Period) error {
	if !on {
		_, err := renewCall(ctx, c, apiAutoRenewCancel, func() (*model.CancelAutoRenewalResourcesResponse, error) {
			return c.bss.CancelAutoRenewalResources(&model.CancelAutoRenewalResourcesRequest{ResourceId: resourceID})
		})
		var ae *APIError
		if errors.As(err, &ae) && ae.Code == CodeAutoRenewOff {
			return nil
		}
		return err
	}
	if c.customerID != "" {
		return partnerRefusal(apiAutoRenew)
	}
	if times < 0 || times > MaxAutoRenewTimes {
		return badRequest(
			apiAutoRenew,
			"auto-renew times %d out of range 0..%d (0: unlimited)",
			times,
			MaxAutoRenewTimes,
		)
	}
	body := &model.AutoRenewalResourcesReq{AutoRenewTimes: ptr(int32(times))}
	switch p.Unit {
	case "m":
		body.PeriodType = ptr(model.GetAutoRenewalResourcesReqPeriodTypeEnum().MONTH)
	case "y":
		body.PeriodType = ptr(model.GetAutoRenewalResourcesReqPeriodTypeEnum().YEAR)
	case "": // Huawei keeps the last order's
	default:
		return badRequest(apiAutoRenew, "period unit %q is not m or y", p.Unit)
	}
	_, err := renewCall(ctx, c, apiAutoRenew, func() (*model.AutoRenewalResourcesResponse, error) {
		return c.bss.AutoRenewalResources(&model.AutoRenewalResourcesRequest{ResourceId: resourceID, Body: body})
	})
	return err
}

// ToOnDemand sets main resources ids (and their attached ones) to change to
// pay-per-use at expiry (UpdatePeriodToOnDemand SET_UP), in calls of at
// most MaxToOnDemandIDs. Huawei answers the resources it did not convert
// (e.g. CodeGraceRetention, in the grace or retention period) in
// error_details of an HTTP 200 answer (api_order_00024): they are returned
// as failures, never dropped.
func (c *Client) ToOnDemand(ctx context.Context, ids []string) ([]contract.ResourceFailure, error) {
	if c.customerID != "" {
		return nil, partnerRefusal(apiToOnDemand)
	}
	ids = uniqueIDs(ids)
	if len(ids) == 0 {
		return nil, badRequest(apiToOnDemand, "no resource id to convert")
	}
	var failures []contract.ResourceFailure
	for chunk := range slices.Chunk(ids, MaxToOnDemandIDs) {
		body := &model.PeriodToOnDemandReq{Operation: "SET_UP", ResourceIds: chunk}
		resp, err := renewCall(ctx, c, apiToOnDemand, func() (*model.UpdatePeriodToOnDemandResponse, error) {
			return c.bss.UpdatePeriodToOnDemand(&model.UpdatePeriodToOnDemandRequest{Body: body})
		})
		if err != nil {
			return failures, err
		}
		for _, d := range deref(resp.ErrorDetails) {
			failures = append(
				failures,
				contract.ResourceFailure{ResourceID: deref(d.Id), Code: deref(d.ErrorCode), Message: deref(d.ErrorMsg)},
			)
		}
	}
	return failures, nil
}
