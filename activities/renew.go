package activities

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"expiry-sync/internal/config"
	"expiry-sync/internal/contract"
	"expiry-sync/internal/huawei"
	"expiry-sync/internal/inventory"
	"expiry-sync/internal/store"
)

// Renewer holds the renewal activities (workflows.RenewResources): the
// only code that spends money. Mode is the worker's EXPIRY_SYNC_RENEW.
type Renewer struct {
	Store      *store.Store
	Accounts   map[string]*Account
	Mode       string
	PolicyFile string // EXPIRY_SYNC_RENEW_POLICY_FILE, read anew by every request
}

// orderSettleWindow: how long an order an earlier attempt may have placed
// is looked for before the request stops as uncertain (the docs do not
// say how soon ListCustomerOrders shows a new order). A variable for tests.
var orderSettleWindow = 10 * time.Minute

const (
	// orderLookupMargin widens the look-up for the request's own orders
	// before its start: Huawei's clock and ours may differ by this much.
	orderLookupMargin = 10 * time.Minute
	// expiryTolerance: a new expiry counts as moved by the period when it
	// is within this of old + period (month ends, time zones).
	expiryTolerance = 48 * time.Hour
)

func (r *Renewer) account(name string) (*Account, error) { return lookupAccount(r.Accounts, name) }

// refused is a request that cannot be made as asked: not retried.
func renewRefused(format string, args ...any) error {
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf(format, args...), contract.ErrTypeRenewRefused, nil)
}

// RenewOpen looks the request's resources up by id, checks them against
// Huawei's rules and the account's policy, and sets its deadline.
func (r *Renewer) RenewOpen(ctx context.Context, in contract.RenewInput) (contract.RenewOpened, error) {
	acc, err := r.renewAccount(in.Account)
	if err != nil {
		return contract.RenewOpened{}, err
	}
	policies, err := config.LoadRenewPolicies(r.PolicyFile)
	if err != nil {
		return contract.RenewOpened{}, temporal.NewNonRetryableApplicationError(
			err.Error(),
			contract.ErrTypeInvalidInput,
			nil,
		)
	}
	policy := policies.For(acc.Name)
	if in.Kind == contract.RenewKindRenew && len(policy.Periods) > 0 &&
		!slices.Contains(policy.Periods, in.Period.String()) {
		return contract.RenewOpened{}, renewRefused(
			"period %s is not allowed for account %s by the renewal policy: allowed %s",
			in.Period,
			acc.Name,
			strings.Join(policy.Periods, ", "),
		)
	}
	found, err := mainResources(ctx, acc, in.ResourceIDs)
	if err != nil {
		return contract.RenewOpened{}, err
	}
	now := time.Now().UTC()
	out := contract.RenewOpened{Policy: policy, OpenedAt: now}
	earliest := time.Time{}
	for _, res := range found {
		out.Resources = append(
			out.Resources,
			contract.RenewResource{ID: res.ResourceID, Name: res.Name, Service: res.ServiceTypeCode,
				Region: res.RegionCode, ExpireTime: res.ExpireTime, Status: derefInt(res.Status)},
		)
		if earliest.IsZero() || res.ExpireTime.Before(earliest) {
			earliest = res.ExpireTime
		}
	}
	// The policy's deadline before the earliest expiry, but never less than
	// a day to decide: an expired resource in its grace period can renew.
	out.Deadline = earliest.Add(-policy.DeadlineBefore)
	if floor := now.Add(24 * time.Hour); out.Deadline.Before(floor) {
		out.Deadline = floor
	}
	return out, nil
}

// mainResources looks the ids up in BSS (whatever their expiry) and keeps
// them in the order asked; an unknown, attached or closed one refuses the
// request, naming what to ask instead.
func mainResources(ctx context.Context, acc *Account, ids []string) ([]inventory.Resource, error) {
	if dup := duplicate(ids); dup != "" {
		return nil, renewRefused("resource %s is named twice", dup)
	}
	byID := map[string]inventory.Resource{}
	for chunk := range slices.Chunk(ids, huawei.MaxIDsPerQuery) {
		for offset := 0; ; {
			page, err := acc.Huawei.ListPage(
				ctx,
				huawei.ListQuery{ResourceIDs: chunk, Offset: offset, Limit: huawei.MaxPageSize},
			)
			if err != nil {
				return nil, huaweiError(err)
			}
			for _, res := range page.Resources {
				byID[res.ResourceID] = res
			}
			offset += page.Received
			if page.Received == 0 || offset >= page.TotalCount {
				break
			}
		}
	}
	out := make([]inventory.Resource, 0, len(ids))
	for _, id := range ids {
		res, ok := byID[id]
		switch {
		case !ok:
			return nil, renewRefused(
				"resource %s is not a yearly/monthly resource of account %s: BSS does not know it",
				id,
				acc.Name,
			)
		case !res.IsMainResource && res.ParentResourceID != "":
			return nil, renewRefused(
				"resource %s is attached to %s: renew its main resource %s (attached resources renew with it)",
				id,
				res.ParentResourceID,
				res.ParentResourceID,
			)
		case !res.IsMainResource:
			return nil, renewRefused(
				"resource %s is not a main resource: Huawei renews main resources only (with their attached ones)",
				id,
			)
		case res.Status != nil && *res.Status == inventory.StatusClosed:
			return nil, renewRefused("resource %s is released or closed: it cannot be renewed", id)
		}
		out = append(out, res)
	}
	return out, nil
}

func duplicate(ids []string) string {
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			return id
		}
		seen[id] = true
	}
	return ""
}

func derefInt(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}

// partnerRefused: Huawei's renewal APIs take the customer's own
// credentials only, never a partner's on the customer's behalf.
func partnerRefused(acc *Account) error {
	if !acc.Partner {
		return nil
	}
	return temporal.NewNonRetryableApplicationError(
		fmt.Sprintf(
			"account %s is reached through a partner's credentials (customer_id): Huawei's renewal "+
				"APIs accept only the customer's own; renew it in the partner center or with the "+
				"customer's keys",
			acc.Name,
		),
		contract.ErrTypePartner,
		nil,
	)
}

// actingAccount is the account a step that changes something at Huawei
// acts on: nil, and no error, when the worker's mode is off (a dry run).
func (r *Renewer) actingAccount(name string) (*Account, error) {
	if r.Mode == contract.RenewModeOff {
		return nil, nil
	}
	return r.renewAccount(name)
}

// renewAccount is the account a request renews through: refused up front
// when it is reached through a partner's credentials.
func (r *Renewer) renewAccount(name string) (*Account, error) {
	acc, err := r.account(name)
	if err != nil {
		return nil, err
	}
	return acc, partnerRefused(acc)
}

// RenewQuote prices the renewal (ListRenewRateOnPeriod, 10 ids a call).
func (r *Renewer) RenewQuote(ctx context.Context, in contract.QuoteInput) (contract.RenewQuote, error) {
	acc, err := r.renewAccount(in.Account)
	if err != nil {
		return contract.RenewQuote{}, err
	}
	if !in.LookedUp {
		if _, err := mainResources(ctx, acc, in.ResourceIDs); err != nil {
			return contract.RenewQuote{}, err
		}
	}
	q, err := acc.Huawei.QuoteRenewal(ctx, in.ResourceIDs, in.Period)
	if err != nil {
		return contract.RenewQuote{}, huaweiError(err)
	}
	return q, nil
}

// RenewRecord writes one event of a request and its state after it.
func (r *Renewer) RenewRecord(ctx context.Context, ev contract.RenewEvent) error {
	acc, err := r.account(ev.State.Account)
	if err != nil {
		return err
	}
	err = r.Store.RecordRenewal(ctx, acc.DomainID, ev)
	var conflict *store.RenewalConflict
	if errors.As(err, &conflict) {
		return renewRefused("%s", conflict.Error())
	}
	if err != nil {
		return databaseError("recording renewal request "+ev.RequestID, err)
	}
	return nil
}

// RenewOrder places the request's renewal orders, 10 resources a call,
// unless the worker's mode is off. Before each call, on every attempt, it
// looks for an order the request already placed and adopts it: Huawei's
// API has no idempotency token, and a worker can die between its answer
// and this activity's result.
func (r *Renewer) RenewOrder(ctx context.Context, in contract.RenewOrderInput) (contract.RenewOrderResult, error) {
	out := contract.RenewOrderResult{Mode: r.Mode}
	acc, err := r.actingAccount(in.Account)
	if acc == nil || err != nil {
		return out, err
	}
	standing, err := r.ownOrders(ctx, acc, in)
	if err != nil {
		return out, err
	}
	for chunk := range slices.Chunk(slices.Sorted(slices.Values(in.ResourceIDs)), contract.MaxRenewIDs) {
		activity.RecordHeartbeat(ctx, out.Orders)
		orders, failures, err := r.orderChunk(ctx, acc, in, chunk, standing)
		if err != nil {
			return out, err
		}
		out.Orders = append(out.Orders, orders...)
		out.Failures = append(out.Failures, failures...)
	}
	return out, nil
}

// ownOrders are the renewal orders created since the request that name
// its resources and no other request claimed.
func (r *Renewer) ownOrders(ctx context.Context, acc *Account, in contract.RenewOrderInput) ([]huawei.Order, error) {
	found, err := acc.Huawei.RenewalOrdersSince(ctx, in.Since.Add(-orderLookupMargin), in.ResourceIDs)
	if err != nil {
		return nil, huaweiError(err)
	}
	ids := make([]string, len(found))
	for i, o := range found {
		ids[i] = o.ID
	}
	owners, err := r.Store.OrderOwners(ctx, ids)
	if err != nil {
		return nil, databaseError("reading renewal orders", err)
	}
	return slices.DeleteFunc(found, func(o huawei.Order) bool {
		owner, claimed := owners[o.ID]
		return claimed && owner != in.RequestID
	}), nil
}

// orderChunk adopts the standing orders that name the chunk's resources,
// or places one; an attempt that may have ordered without its order
// showing is waited for, then refused for good (never ordered twice).
func (r *Renewer) orderChunk(
	ctx context.Context,
	acc *Account,
	in contract.RenewOrderInput,
	chunk []string,
	standing []huawei.Order,
) ([]contract.OrderRef, []contract.ResourceFailure, error) {
	if adopted := covering(standing, chunk); len(adopted) > 0 {
		return r.claim(ctx, acc, in.RequestID, chunk, adopted, true)
	}
	earlier, found, err := r.Store.StartOrderAttempt(ctx, in.RequestID, chunk)
	if err != nil {
		return nil, nil, databaseError("recording the order attempt", err)
	}
	if found {
		if time.Since(earlier) < orderSettleWindow {
			return nil, nil, temporal.NewApplicationError(
				fmt.Sprintf(
					"an earlier attempt (%s) may have ordered %s and its order does not show in "+
						"ListCustomerOrders yet: looking again",
					earlier.UTC().Format(time.RFC3339),
					strings.Join(chunk, ", "),
				),
				"OrderPending",
			)
		}
		return nil, nil, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf(
				"an order for %s may have been placed at %s (the worker stopped before recording Huawei's "+
					"answer) and ListCustomerOrders has not shown it for %s: not ordering again; look in "+
					"Huawei's console (Billing Center > Orders) and request again if no order stands",
				strings.Join(
					chunk,
					", ",
				),
				earlier.UTC().Format(time.RFC3339),
				orderSettleWindow,
			),
			contract.ErrTypeOrderUncertain,
			nil,
		)
	}
	orderIDs, failures, err := acc.Huawei.RenewResources(ctx, chunk, in.Period)
	if err != nil {
		var ae *huawei.APIError
		if errors.As(err, &ae) && !ae.Kind.Retryable() {
			// Refused: no order stands, a later request may call again.
			if endErr := r.Store.EndOrderAttempt(ctx, in.RequestID, chunk); endErr != nil {
				return nil, nil, databaseError("forgetting the refused order attempt", endErr)
			}
		}
		return nil, nil, huaweiError(err)
	}
	failed := map[string]bool{}
	for _, f := range failures {
		failed[f.ResourceID] = true
	}
	ordered := slices.DeleteFunc(slices.Clone(chunk), func(id string) bool { return failed[id] })
	placed := make([]huawei.Order, len(orderIDs))
	for i, id := range orderIDs {
		placed[i] = huawei.Order{ID: id, ResourceIDs: ordered}
	}
	refs, _, err := r.claim(ctx, acc, in.RequestID, chunk, placed, false)
	return refs, failures, err
}

// covering are the orders naming any of the chunk's resources.
func covering(orders []huawei.Order, chunk []string) []huawei.Order {
	var out []huawei.Order
	for _, o := range orders {
		if slices.ContainsFunc(o.ResourceIDs, func(id string) bool { return slices.Contains(chunk, id) }) {
			out = append(out, o)
		}
	}
	return out
}

// claim records the orders as the request's. Resources of the chunk no
// adopted order names are reported: Huawei refused them then, and its
// answer saying so was lost.
func (r *Renewer) claim(
	ctx context.Context,
	acc *Account,
	requestID string,
	chunk []string,
	orders []huawei.Order,
	adopted bool,
) ([]contract.OrderRef, []contract.ResourceFailure, error) {
	var refs []contract.OrderRef
	named := map[string]bool{}
	for _, o := range orders {
		ids := slices.DeleteFunc(
			slices.Clone(o.ResourceIDs),
			func(id string) bool { return !slices.Contains(chunk, id) },
		)
		if err := r.Store.ClaimOrder(ctx, requestID, acc.DomainID, o.ID, ids); err != nil {
			return nil, nil, databaseError("recording order "+o.ID, err)
		}
		for _, id := range ids {
			named[id] = true
		}
		refs = append(
			refs,
			contract.OrderRef{
				OrderID:     o.ID,
				ResourceIDs: ids,
				Amount:      o.Amount,
				Adopted:     adopted,
				Paid:        o.Status == huawei.OrderCompleted,
			},
		)
	}
	var missing []contract.ResourceFailure
	if adopted {
		for _, id := range chunk {
			if !named[id] {
				missing = append(
					missing,
					contract.ResourceFailure{
						ResourceID: id,
						Message:    "not in the order this request placed (Huawei refused it; its answer was lost)",
					},
				)
			}
		}
	}
	return refs, missing, nil
}

// RenewPay pays the request's own unpaid orders once, within the limit
// (the smaller of the policy's max_amount and the approved total).
func (r *Renewer) RenewPay(ctx context.Context, in contract.RenewPayInput) (contract.RenewPayResult, error) {
	out := contract.RenewPayResult{Orders: slices.Clone(in.Orders)}
	if r.Mode != contract.RenewModePay {
		out.Skipped = fmt.Sprintf("this worker's EXPIRY_SYNC_RENEW is %s, not pay", r.Mode)
		return out, nil
	}
	if in.MaxAmount <= 0 {
		out.Skipped = "the renewal policy sets no max_amount: the tool pays nothing; pay the order in Huawei's console"
		return out, nil
	}
	acc, err := r.account(in.Account)
	if err != nil {
		return out, err
	}
	if err := r.ownedBy(ctx, in.RequestID, in.Orders); err != nil {
		return out, err
	}
	var unpaid []int
	var total contract.Amount
	for i, ref := range out.Orders {
		o, err := acc.Huawei.Order(ctx, ref.OrderID)
		if err != nil {
			return out, huaweiError(err)
		}
		out.Orders[i].Amount = o.Amount
		switch o.Status {
		case huawei.OrderCompleted:
			out.Orders[i].Paid = true // paid by an earlier attempt, or a person
		case huawei.OrderPendingPayment:
			unpaid = append(unpaid, i)
			total += o.Amount
		}
	}
	if total > in.MaxAmount {
		out.Skipped = fmt.Sprintf(
			"the orders total %s, above the limit %s (the smaller of the policy's max_amount and the "+
				"approved total): pay them in Huawei's console",
			total,
			in.MaxAmount,
		)
		return out, nil
	}
	for _, i := range unpaid {
		activity.RecordHeartbeat(ctx, i)
		if err := acc.Huawei.PayOrder(ctx, out.Orders[i].OrderID, in.Coupons, in.Discounts); err != nil {
			return out, huaweiError(err)
		}
		out.Orders[i].Paid = true
	}
	return out, nil
}

// ownedBy refuses to touch an order no record gives to this request.
func (r *Renewer) ownedBy(ctx context.Context, requestID string, orders []contract.OrderRef) error {
	ids := make([]string, len(orders))
	for i, o := range orders {
		ids[i] = o.OrderID
	}
	owners, err := r.Store.OrderOwners(ctx, ids)
	if err != nil {
		return databaseError("reading renewal orders", err)
	}
	for _, id := range ids {
		if owners[id] != requestID {
			return temporal.NewNonRetryableApplicationError(
				fmt.Sprintf("order %s is not recorded as request %s's: not paying it", id, requestID),
				contract.ErrTypeRenewRefused,
				nil,
			)
		}
	}
	return nil
}

// RenewWatch looks once for the new expiry and the orders' payment.
func (r *Renewer) RenewWatch(ctx context.Context, in contract.RenewWatchInput) (contract.RenewWatchResult, error) {
	var out contract.RenewWatchResult
	acc, err := r.account(in.Account)
	if err != nil {
		return out, err
	}
	ids := make([]string, len(in.Resources))
	for i, res := range in.Resources {
		ids[i] = res.ID
	}
	if len(ids) > 0 {
		now, err := mainResources(ctx, acc, ids)
		if err != nil {
			return out, err
		}
		for i, res := range in.Resources {
			if !now[i].ExpireTime.Before(in.Period.AddTo(res.ExpireTime).Add(-expiryTolerance)) {
				if out.NewExpiry == nil {
					out.NewExpiry = map[string]time.Time{}
				}
				out.NewExpiry[res.ID] = now[i].ExpireTime
			}
		}
	}
	out.OrdersPaid = true
	for _, ref := range in.Orders {
		o, err := acc.Huawei.Order(ctx, ref.OrderID)
		if err != nil {
			return out, huaweiError(err)
		}
		switch o.Status {
		case huawei.OrderCompleted:
		case huawei.OrderCanceled:
			out.OrdersGone = append(out.OrdersGone, ref.OrderID)
			out.OrdersPaid = false
		default:
			out.OrdersPaid = false
		}
	}
	return out, nil
}

// RenewApply turns auto-renew on or off, or sets conversion to
// pay-per-use at expiry, unless the worker's mode is off. Each is
// idempotent at Huawei, so a retry repeats it harmlessly.
func (r *Renewer) RenewApply(ctx context.Context, in contract.RenewApplyInput) (contract.RenewApplyResult, error) {
	out := contract.RenewApplyResult{Mode: r.Mode}
	acc, err := r.actingAccount(in.Account)
	if acc == nil || err != nil {
		return out, err
	}
	if in.Kind == contract.RenewKindToOnDemand {
		failures, err := acc.Huawei.ToOnDemand(ctx, in.ResourceIDs)
		if err != nil {
			return out, huaweiError(err)
		}
		return appliedExcept(out, in.ResourceIDs, failures), nil
	}
	var failures []contract.ResourceFailure
	for _, id := range in.ResourceIDs {
		err := acc.Huawei.SetAutoRenew(ctx, id, in.Kind == contract.RenewKindAutoRenewOn, in.Times, in.Period)
		var ae *huawei.APIError
		switch {
		case errors.As(err, &ae) && !ae.Kind.Retryable():
			failures = append(failures, contract.ResourceFailure{ResourceID: id, Code: ae.Code, Message: ae.Message})
		case err != nil:
			return out, huaweiError(err)
		}
	}
	return appliedExcept(out, in.ResourceIDs, failures), nil
}

func appliedExcept(
	out contract.RenewApplyResult,
	ids []string,
	failures []contract.ResourceFailure,
) contract.RenewApplyResult {
	out.Failures = failures
	for _, id := range ids {
		if !slices.ContainsFunc(failures, func(f contract.ResourceFailure) bool { return f.ResourceID == id }) {
			out.Applied = append(out.Applied, id)
		}
	}
	return out
}
