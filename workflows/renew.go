package workflows

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"expiry-sync/internal/contract"
)

// Registered names of the renewal workflows (docs/renewals.md).
const (
	RenewWorkflowName      = "RenewResources"
	RenewQuoteWorkflowName = "RenewQuote"
)

// The rules a request lives by, stated once:
//  1. nothing is ordered or applied before the approvals the policy asks
//     for are in this history and recorded in the database;
//  2. the approved total is the ceiling: a higher quote asks again;
//  3. one order step per request, on a context that cancellation does not
//     interrupt; the activity adopts any order the request already placed;
//  4. a request whose deadline passes, that is rejected or canceled before
//     its order, orders nothing.

// RenewQuote prices a renewal without ordering anything (starter renew quote).
func RenewQuote(ctx workflow.Context, in contract.QuoteInput) (contract.RenewQuote, error) {
	if err := in.Period.Check(); err != nil {
		return contract.RenewQuote{}, temporal.NewNonRetryableApplicationError(
			err.Error(),
			contract.ErrTypeInvalidInput,
			nil,
		)
	}
	var q contract.RenewQuote
	err := act(ctx, renewHuaweiOptions("quote the renewal"), contract.ActivityRenewQuote, in, &q)
	return q, err
}

// RenewResources is one request: open, quote, wait for approval, then
// order (and pay) or apply, and watch for the new expiry.
func RenewResources(ctx workflow.Context, in contract.RenewInput) (contract.RenewState, error) {
	r := newRenewal(ctx, in)
	// An approval or rejection in flight answers its caller before the
	// request ends (no commands: replays as before).
	defer func() { _ = workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }) }()
	if err := r.register(ctx); err != nil {
		return r.st, err
	}
	if err := checkRenewInput(in); err != nil {
		return r.st, temporal.NewNonRetryableApplicationError(err.Error(), contract.ErrTypeInvalidInput, nil)
	}
	if err := r.open(ctx); err != nil {
		return r.st, err
	}
	err := r.awaitApproval(ctx)
	switch {
	case err == nil && in.Kind == contract.RenewKindRenew:
		err = r.renew(ctx)
	case err == nil:
		err = r.apply(ctx)
	case errors.Is(err, errEnded):
		err = nil
	}
	if r.st.Closed {
		r.tell(ctx)
	}
	return r.st, err
}

// renewal is the request's state, shared by the main loop and the handlers.
type renewal struct {
	in     contract.RenewInput
	st     contract.RenewState
	policy contract.RenewPolicy
	seq    int
	// recording counts records in flight from handlers; recordErr is the
	// first that failed. The main loop orders nothing until both are clear.
	recording int
	recordErr error
	rejected  bool
	attrState string // the ExpirySyncRenewState last upserted
}

func newRenewal(ctx workflow.Context, in contract.RenewInput) *renewal {
	now := workflow.Now(ctx)
	return &renewal{in: in, st: contract.RenewState{
		RequestID: workflow.GetInfo(ctx).WorkflowExecution.ID, Account: in.Account, Kind: in.Kind,
		ResourceIDs: in.ResourceIDs, Period: in.Period, Times: in.Times, Requester: in.Requester, Reason: in.Reason,
		CreatedAt: now, UpdatedAt: now,
	}}
}

func checkRenewInput(in contract.RenewInput) error {
	var problems []string
	if !slices.Contains(
		[]string{
			contract.RenewKindRenew,
			contract.RenewKindAutoRenewOn,
			contract.RenewKindAutoRenewOff,
			contract.RenewKindToOnDemand,
		},
		in.Kind,
	) {
		problems = append(
			problems,
			fmt.Sprintf("kind %q is not one of renew, autorenew-on, autorenew-off, to-on-demand", in.Kind),
		)
	}
	if len(in.ResourceIDs) == 0 {
		problems = append(problems, "no resource ids: name at least one main resource")
	}
	if in.Kind == contract.RenewKindRenew {
		if err := in.Period.Check(); err != nil {
			problems = append(problems, err.Error())
		}
	}
	if in.Times < 0 || in.Times > 99 {
		problems = append(problems, fmt.Sprintf("times %d is out of range: allowed 0 (unlimited) .. 99", in.Times))
	}
	if strings.TrimSpace(in.Requester) == "" {
		problems = append(problems, "no requester: a request names who made it")
	}
	if in.WatchEvery != 0 && in.WatchEvery < time.Second {
		problems = append(
			problems,
			fmt.Sprintf("watch_every %s is too short: allowed 0 (hourly) or at least 1s", in.WatchEvery),
		)
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

// register installs the query, the approve/reject updates (validated before
// anything is written) and their signal twins.
func (r *renewal) register(ctx workflow.Context) error {
	state := func() (contract.RenewState, error) { return r.st, nil }
	if err := workflow.SetQueryHandler(ctx, contract.RenewStateQuery, state); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, contract.RenewApproveName,
		func(ctx workflow.Context, a contract.ApproveInput) (contract.RenewState, error) {
			return r.approve(ctx, a)
		},
		workflow.UpdateHandlerOptions{
			Validator: func(_ workflow.Context, a contract.ApproveInput) error { return r.checkApproval(a) },
		},
	); err != nil {
		return err
	}
	return workflow.SetUpdateHandlerWithOptions(
		ctx,
		contract.RenewRejectName,
		func(ctx workflow.Context, a contract.ApproveInput) (contract.RenewState, error) {
			return r.reject(ctx, a)
		},
		workflow.UpdateHandlerOptions{
			Validator: func(_ workflow.Context, a contract.ApproveInput) error { return r.checkRejection(a) },
		},
	)
}

// listenForSignals applies approve/reject signals (the Web UI's "Send a
// Signal") by the updates' rules: one the rules refuse is recorded, and
// changes nothing.
func (r *renewal) listenForSignals(ctx workflow.Context) {
	for _, name := range []string{contract.RenewApproveName, contract.RenewRejectName} {
		ch := workflow.GetSignalChannel(ctx, name)
		workflow.Go(ctx, func(ctx workflow.Context) {
			// Held until the request waits: one sent while it is quoted
			// is judged then, not refused for being early.
			_ = workflow.Await(ctx, func() bool { return r.st.State != "" })
			for {
				var a contract.ApproveInput
				if !ch.Receive(ctx, &a) {
					return
				}
				r.signal(ctx, name, a)
			}
		})
	}
}

func (r *renewal) signal(ctx workflow.Context, name string, a contract.ApproveInput) {
	check, apply := r.checkApproval, r.approve
	if name == contract.RenewRejectName {
		check, apply = r.checkRejection, r.reject
	}
	if err := check(a); err != nil {
		r.track(ctx, "refused", a.Approver, fmt.Sprintf("%s signal refused: %v", name, err))
		return
	}
	_, _ = apply(ctx, a)
}

// checkApproval is the approve update's validator: who may approve, four
// eyes, one approval per approver, and only while the request waits.
func (r *renewal) checkApproval(a contract.ApproveInput) error {
	who := strings.TrimSpace(a.Approver)
	switch {
	case r.st.State != contract.RenewPending:
		return fmt.Errorf("request %s is %s, not waiting for approval", r.st.RequestID, r.describeState())
	case who == "":
		return errors.New("an approval names its approver (--approver, default user@host)")
	case len(r.policy.Approvers) > 0 && !slices.Contains(r.policy.Approvers, who):
		return fmt.Errorf(
			"%s may not approve renewals of account %s: the policy's approvers are %s",
			who,
			r.st.Account,
			strings.Join(r.policy.Approvers, ", "),
		)
	case r.policy.FourEyes && who == r.st.Requester:
		return fmt.Errorf(
			"four eyes: %s requested %s and cannot approve it; another approver must",
			who,
			r.st.RequestID,
		)
	}
	for _, ap := range r.st.Approvals {
		if ap.Approver == who {
			return fmt.Errorf(
				"%s already approved %s; it needs %d different approvers",
				who,
				r.st.RequestID,
				r.st.Needed,
			)
		}
	}
	return nil
}

// checkRejection: an approver, or the requester withdrawing, while it waits.
func (r *renewal) checkRejection(a contract.ApproveInput) error {
	who := strings.TrimSpace(a.Approver)
	switch {
	case r.st.State != contract.RenewPending:
		return fmt.Errorf(
			"request %s is %s: only a request waiting for approval can be rejected",
			r.st.RequestID,
			r.describeState(),
		)
	case who == "":
		return errors.New("a rejection names who rejects (--approver, default user@host)")
	case len(r.policy.Approvers) > 0 && !slices.Contains(r.policy.Approvers, who) && who != r.st.Requester:
		return fmt.Errorf(
			"%s may not reject renewals of account %s: the policy's approvers (or the requester) may",
			who,
			r.st.Account,
		)
	}
	return nil
}

func (r *renewal) describeState() string {
	if r.st.State == "" {
		return "still being opened"
	}
	return r.st.State
}

func (r *renewal) approve(ctx workflow.Context, a contract.ApproveInput) (contract.RenewState, error) {
	ap := contract.Approval{
		Approver: strings.TrimSpace(a.Approver),
		Comment:  a.Comment,
		At:       workflow.Now(ctx),
		Total:    r.total(),
	}
	r.st.Approvals = append(r.st.Approvals, ap)
	if len(r.st.Approvals) >= r.st.Needed {
		r.st.WaitsOn = "" // the worker acts next
	}
	r.track(
		ctx,
		"approved",
		ap.Approver,
		fmt.Sprintf("approval %d of %d, for %s", len(r.st.Approvals), r.st.Needed, r.money(ap.Total)),
	)
	return r.st, r.recordErr
}

func (r *renewal) reject(ctx workflow.Context, a contract.ApproveInput) (contract.RenewState, error) {
	r.rejected = true
	r.st.State, r.st.Closed = contract.RenewRejected, true
	r.st.Message = "rejected by " + strings.TrimSpace(a.Approver) + ": nothing was ordered"
	if a.Comment != "" {
		r.st.Message += " (" + a.Comment + ")"
	}
	r.track(ctx, "rejected", a.Approver, a.Comment)
	return r.st, r.recordErr
}

// track records from a handler; the main loop waits for it.
func (r *renewal) track(ctx workflow.Context, kind, actor, detail string) {
	r.recording++
	defer func() { r.recording-- }()
	if err := r.record(ctx, kind, actor, detail); err != nil && r.recordErr == nil {
		r.recordErr = err
	}
}

func (r *renewal) total() contract.Amount {
	if r.st.Quote == nil {
		return 0
	}
	return r.st.Quote.Total
}

func (r *renewal) money(a contract.Amount) string {
	if r.st.Quote == nil {
		return "no charge now"
	}
	return a.String() + " " + r.st.Quote.Currency
}

// record writes one event with the state after it (and the search
// attribute when the state changed). Its activity retries through database
// outages; a record that fails for good fails what waits on it.
func (r *renewal) record(ctx workflow.Context, kind, actor, detail string) error {
	r.seq++
	now := workflow.Now(ctx)
	r.st.UpdatedAt = now
	if r.st.State != r.attrState {
		r.attrState = r.st.State
		if err := workflow.UpsertTypedSearchAttributes(ctx, AttrRenewState.ValueSet(r.st.State)); err != nil {
			return err
		}
	}
	// Counted once per event: the SDK does not count again on replay.
	workflow.GetMetricsHandler(ctx).
		WithTags(map[string]string{"account": r.st.Account, "kind": r.st.Kind, "event": kind}).
		Counter(RenewEventsMetric).
		Inc(1)
	ev := contract.RenewEvent{
		RequestID: r.st.RequestID,
		Seq:       r.seq,
		At:        now,
		Kind:      kind,
		Actor:     actor,
		Detail:    detail,
		State:     r.st,
	}
	opts := dbOptions("record: " + kind)
	opts.RetryPolicy = renewRecordRetry
	return act(ctx, opts, contract.ActivityRenewRecord, ev, nil)
}

// RenewEventsMetric counts a request's events (Prometheus:
// expiry_sync_renewal_events_total{account,kind,event}).
const RenewEventsMetric = "expiry_sync_renewal_events"

// renewRecordRetry: the database's retries; a resource already in another
// open request refuses the first record for good.
var renewRecordRetry = &temporal.RetryPolicy{
	InitialInterval:        dbRetry.InitialInterval,
	BackoffCoefficient:     dbRetry.BackoffCoefficient,
	MaximumInterval:        dbRetry.MaximumInterval,
	MaximumAttempts:        dbRetry.MaximumAttempts,
	NonRetryableErrorTypes: append(slices.Clone(dbRetry.NonRetryableErrorTypes), contract.ErrTypeRenewRefused),
}

// open looks the resources up, takes the account's policy and records the
// request, claiming its resources.
func (r *renewal) open(ctx workflow.Context) error {
	var opened contract.RenewOpened
	opts := renewHuaweiOptions("look the resources up")
	if err := act(ctx, opts, contract.ActivityRenewOpen, r.in, &opened); err != nil {
		return err
	}
	r.policy = opened.Policy
	r.st.Resources, r.st.Deadline = opened.Resources, opened.Deadline
	if r.in.Deadline != nil {
		r.st.Deadline = *r.in.Deadline
	}
	r.st.Needed = 1
	if err := r.record(ctx, "opened", r.in.Requester, r.in.Reason); err != nil {
		return err
	}
	r.listenForSignals(ctx)
	return nil
}

// errEnded: the request ended before acting (rejected, expired, failed),
// recorded: the workflow completes with its state.
var errEnded = errors.New("request ended")

// awaitApproval quotes (renewals), then waits for the approvals, a
// rejection or the deadline; after approval a renewal is quoted again and
// a higher total asks again. errEnded: the request ended without approval.
func (r *renewal) awaitApproval(ctx workflow.Context) error {
	if r.in.Kind == contract.RenewKindRenew {
		if err := r.quote(ctx); err != nil {
			return r.endBefore(ctx, contract.RenewFailed, "the quote failed: "+errorMessage(err))
		}
	}
	for {
		if r.st.Quote != nil && len(r.st.Quote.Lines) == 0 {
			return r.endBefore(
				ctx,
				contract.RenewFailed,
				"Huawei priced none of the resources: "+failuresText(r.st.Quote.Failures),
			)
		}
		r.st.State, r.st.WaitsOn = contract.RenewPending, contract.WaitsApproval
		r.st.Needed = r.policy.ApprovalsNeeded(r.total())
		waiting := fmt.Sprintf("waiting for %d approval(s) of %s until %s",
			r.st.Needed, r.money(r.total()), r.st.Deadline.UTC().Format(time.RFC3339))
		if err := r.record(ctx, "waiting", "", waiting); err != nil {
			return err
		}
		if err := r.waitForDecision(ctx); err != nil {
			return err
		}
		r.st.State, r.st.Approved, r.st.Message, r.st.WaitsOn = contract.RenewApproved, r.total(), "", ""
		if err := r.settleHandlers(ctx); err != nil {
			return err
		}
		if err := r.record(ctx, "approved", "", fmt.Sprintf("approved for %s", r.money(r.st.Approved))); err != nil {
			return err
		}
		if r.in.Kind != contract.RenewKindRenew {
			return nil
		}
		if rose, err := r.requote(ctx); err != nil || !rose {
			return err
		}
	}
}

// waitForDecision returns once approved enough; errEnded once rejected or
// past the deadline (recorded); the cancellation when canceled (recorded).
func (r *renewal) waitForDecision(ctx workflow.Context) error {
	wait := r.st.Deadline.Sub(workflow.Now(ctx))
	decided := func() bool { return r.rejected || len(r.st.Approvals) >= r.st.Needed }
	ok, err := workflow.AwaitWithTimeout(ctx, max(wait, 0), decided)
	switch {
	case err != nil: // canceled
		dctx, _ := workflow.NewDisconnectedContext(ctx)
		_ = r.end(dctx, contract.RenewRejected, "canceled in Temporal before approval: nothing was ordered")
		return err
	case r.rejected:
		if err := r.settleHandlers(ctx); err != nil {
			return err
		}
		return errEnded
	case !ok:
		return r.endBefore(
			ctx,
			contract.RenewExpired,
			fmt.Sprintf(
				"nobody approved it before its deadline %s: nothing was ordered",
				r.st.Deadline.UTC().Format(time.RFC3339),
			),
		)
	}
	return nil
}

// settleHandlers waits for the handlers' records: an approval is on the
// record before anything acts on it.
func (r *renewal) settleHandlers(ctx workflow.Context) error {
	if err := workflow.Await(ctx, func() bool { return r.recording == 0 }); err != nil {
		return err
	}
	return r.recordErr
}

func (r *renewal) quote(ctx workflow.Context) error {
	in := contract.QuoteInput{Account: r.in.Account, ResourceIDs: r.in.ResourceIDs, Period: r.in.Period, LookedUp: true}
	var q contract.RenewQuote
	if err := act(ctx, renewHuaweiOptions("quote the renewal"), contract.ActivityRenewQuote, in, &q); err != nil {
		return err
	}
	r.st.Quote = &q
	return nil
}

// requote prices again just before ordering: true when the total rose
// above the approved one, so the approvals are void and asked again.
func (r *renewal) requote(ctx workflow.Context) (bool, error) {
	approved := r.st.Approved
	if err := r.quote(ctx); err != nil {
		return false, r.endBefore(
			ctx,
			contract.RenewFailed,
			"the quote before ordering failed: "+errorMessage(err)+": nothing was ordered",
		)
	}
	if r.total() <= approved {
		return false, nil
	}
	r.st.Approvals, r.st.Approved = nil, 0
	r.st.Message = fmt.Sprintf(
		"the price rose from %s to %s since it was approved: approve again",
		approved.String(),
		r.money(r.total()),
	)
	return true, r.record(ctx, "price-rose", "", r.st.Message)
}

// endBefore ends the request before it acted: errEnded once recorded.
func (r *renewal) endBefore(ctx workflow.Context, state, message string) error {
	if err := r.end(ctx, state, message); err != nil {
		return err
	}
	return errEnded
}

// end closes the request in a final state.
func (r *renewal) end(ctx workflow.Context, state, message string) error {
	r.st.State, r.st.Message, r.st.Closed, r.st.WaitsOn = state, message, true, ""
	return r.record(ctx, state, "", message)
}

// renew orders, pays where the worker may, then watches for the new expiry.
func (r *renewal) renew(ctx workflow.Context) error {
	// Cancellation must not cut the order step in two: it runs to its end.
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	var res contract.RenewOrderResult
	in := contract.RenewOrderInput{
		RequestID:   r.st.RequestID,
		Account:     r.in.Account,
		ResourceIDs: r.pricedIDs(),
		Period:      r.in.Period,
		Since:       r.st.CreatedAt,
	}
	if err := act(dctx, renewOrderOptions(), contract.ActivityRenewOrder, in, &res); err != nil {
		return r.end(dctx, contract.RenewFailed, errorMessage(err))
	}
	r.st.Mode, r.st.Orders = res.Mode, res.Orders
	r.st.Failures = append(r.st.Failures, res.Failures...)
	if res.Mode == contract.RenewModeOff {
		r.st.DryRun = true
		return r.end(
			dctx,
			contract.RenewApproved,
			"renewals are off on this worker (EXPIRY_SYNC_RENEW=off): a dry run, nothing was ordered",
		)
	}
	if len(res.Orders) == 0 {
		return r.end(dctx, contract.RenewFailed, "Huawei ordered none of the resources: "+failuresText(res.Failures))
	}
	r.st.State, r.st.Message, r.st.WaitsOn = contract.RenewOrdered, orderedMessage(res), contract.WaitsPayment
	if res.Mode == contract.RenewModePay {
		r.st.WaitsOn = "" // the worker pays next
	}
	if err := r.record(dctx, "ordered", "", orderIDs(res.Orders)); err != nil {
		workflow.GetLogger(ctx).Error("recording the order failed; watching it anyway", "error", err)
	}
	if res.Mode == contract.RenewModePay {
		r.pay(dctx)
	}
	if r.st.WaitsOn == contract.WaitsPayment {
		r.tell(ctx)
	}
	return r.watch(ctx)
}

// pricedIDs are the resources the last quote priced (others cannot renew).
func (r *renewal) pricedIDs() []string {
	ids := make([]string, 0, len(r.st.Quote.Lines))
	for _, l := range r.st.Quote.Lines {
		ids = append(ids, l.ResourceID)
	}
	return ids
}

func (r *renewal) pay(ctx workflow.Context) {
	in := contract.RenewPayInput{
		RequestID: r.st.RequestID,
		Account:   r.in.Account,
		Orders:    r.st.Orders,
		MaxAmount: min(r.policy.MaxAmount, r.st.Approved),
		Coupons:   r.policy.UseCoupons,
		Discounts: r.policy.UseDiscounts,
	}
	var res contract.RenewPayResult
	if err := act(ctx, renewHuaweiOptions("pay the renewal order"), contract.ActivityRenewPay, in, &res); err != nil {
		r.st.Message, r.st.WaitsOn = "ordered, but paying failed: "+errorMessage(
			err,
		)+": pay the order in Huawei's console", contract.WaitsPayment
		_ = r.record(ctx, "pay-failed", "", r.st.Message)
		return
	}
	r.st.Orders = res.Orders
	if res.Skipped != "" {
		r.st.Message, r.st.WaitsOn = "ordered, not paid: "+res.Skipped, contract.WaitsPayment
		_ = r.record(ctx, "not-paid", "", r.st.Message)
		return
	}
	r.markPaid()
	_ = r.record(ctx, "paid", "", orderIDs(res.Orders))
}

// watch looks for the new expiry (and, unpaid, the order's payment) with a
// growing interval up to WatchEvery, for the life of an unpaid order.
func (r *renewal) watch(ctx workflow.Context) error {
	every := cmp.Or(r.in.WatchEvery, contract.DefaultRenewWatchEvery) // checkRenewInput refused below 1s
	wait := min(2*time.Second, every)
	until := workflow.Now(ctx).Add(contract.RenewOrderLife)
	in := contract.RenewWatchInput{Account: r.in.Account, Period: r.in.Period}
	for workflow.Now(ctx).Before(until) {
		if err := workflow.Sleep(ctx, wait); err != nil {
			dctx, _ := workflow.NewDisconnectedContext(ctx)
			return r.end(
				dctx,
				contract.RenewFailed,
				"canceled while watching the order "+orderIDs(r.st.Orders)+": it stands at Huawei; see the console",
			)
		}
		wait = min(2*wait, every)
		if workflow.GetInfo(ctx).GetCurrentHistoryLength() > 5000 {
			wait = max(wait, contract.DefaultRenewWatchEvery) // keep the history far below its limits
		}
		in.Resources, in.Orders = r.unrenewed(), r.st.Orders
		var w contract.RenewWatchResult
		opts := renewHuaweiOptions("look for the new expiry")
		if err := act(ctx, opts, contract.ActivityRenewWatch, in, &w); err != nil {
			continue // looked again at the next turn
		}
		if done, err := r.observe(ctx, w); done || err != nil {
			return err
		}
	}
	return r.end(
		ctx,
		contract.RenewFailed,
		fmt.Sprintf(
			"the new expiry was not seen within %s of the order %s: see Huawei's console",
			contract.RenewOrderLife,
			orderIDs(r.st.Orders),
		),
	)
}

// observe takes one look's answer; true once the request has ended.
func (r *renewal) observe(ctx workflow.Context, w contract.RenewWatchResult) (bool, error) {
	if len(w.NewExpiry) > 0 {
		if r.st.NewExpiry == nil {
			r.st.NewExpiry = map[string]time.Time{}
		}
		maps.Copy(r.st.NewExpiry, w.NewExpiry) //workflowcheck:ignore copying into a map needs no order
	}
	if len(r.unrenewed()) == 0 {
		for i := range r.st.Orders {
			r.st.Orders[i].Paid = true
		}
		return true, r.end(ctx, contract.RenewDone, "renewed: "+expiryText(r.st.NewExpiry))
	}
	if len(w.OrdersGone) > 0 {
		return true, r.end(
			ctx,
			contract.RenewExpired,
			"order "+strings.Join(w.OrdersGone, ", ")+" was canceled or lapsed unpaid",
		)
	}
	if w.OrdersPaid && r.st.State == contract.RenewOrdered {
		for i := range r.st.Orders {
			r.st.Orders[i].Paid = true
		}
		r.markPaid()
		return false, r.record(ctx, "paid", "", "paid outside the tool: "+orderIDs(r.st.Orders))
	}
	return false, nil
}

// markPaid: the orders are paid; Huawei is to move the expiry.
func (r *renewal) markPaid() {
	r.st.State, r.st.WaitsOn = contract.RenewPaid, contract.WaitsExpiry
	r.st.Message = "paid; watching for the new expiry"
}

// unrenewed are the ordered resources whose new expiry is not seen yet.
func (r *renewal) unrenewed() []contract.RenewResource {
	ordered := map[string]bool{}
	for _, o := range r.st.Orders {
		for _, id := range o.ResourceIDs {
			ordered[id] = true
		}
	}
	var out []contract.RenewResource
	for _, res := range r.st.Resources {
		if _, seen := r.st.NewExpiry[res.ID]; ordered[res.ID] && !seen {
			out = append(out, res)
		}
	}
	return out
}

// apply turns auto-renew on or off, or sets conversion to pay-per-use.
func (r *renewal) apply(ctx workflow.Context) error {
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	in := contract.RenewApplyInput{
		RequestID:   r.st.RequestID,
		Account:     r.in.Account,
		Kind:        r.in.Kind,
		ResourceIDs: r.in.ResourceIDs,
		Period:      r.in.Period,
		Times:       r.in.Times,
	}
	var res contract.RenewApplyResult
	if err := act(dctx, renewHuaweiOptions(r.in.Kind), contract.ActivityRenewApply, in, &res); err != nil {
		return r.end(dctx, contract.RenewFailed, errorMessage(err))
	}
	r.st.Mode = res.Mode
	r.st.Failures = append(r.st.Failures, res.Failures...)
	switch {
	case res.Mode == contract.RenewModeOff:
		r.st.DryRun = true
		return r.end(
			dctx,
			contract.RenewApproved,
			"renewals are off on this worker (EXPIRY_SYNC_RENEW=off): a dry run, nothing was changed",
		)
	case len(res.Applied) == 0:
		return r.end(
			dctx,
			contract.RenewFailed,
			"Huawei applied it to none of the resources: "+failuresText(res.Failures),
		)
	case len(res.Failures) > 0:
		return r.end(
			dctx,
			contract.RenewDone,
			fmt.Sprintf(
				"%s applied to %s; refused for %s",
				r.in.Kind,
				strings.Join(res.Applied, ", "),
				failuresText(res.Failures),
			),
		)
	}
	return r.end(dctx, contract.RenewDone, r.in.Kind+" applied to "+strings.Join(res.Applied, ", "))
}

// tell sends the routes' channels the request's state once per resting
// point (an unpaid order, the end), and records how each channel took it.
// At most once: a chat robot has no idempotency key, so an attempt that
// did not answer is recorded, not sent again.
func (r *renewal) tell(ctx workflow.Context) {
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	if !tellsChannels(dctx) {
		return
	}
	opts := workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Minute,
		HeartbeatTimeout:    heartbeatTimeout,
		Summary:             "tell the routes' channels",
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 1},
	}
	var outs []contract.SendOutcome
	err := act(dctx, opts, contract.ActivityRenewNotify, r.st, &outs)
	if err == nil && len(outs) == 0 {
		return // no routes file, or no channel for these resources
	}
	_ = r.record(dctx, "notified", "", noticeText(outs, err))
}

// noticeText says how each channel took a notice.
func noticeText(outs []contract.SendOutcome, err error) string {
	if err != nil {
		return "the notice's sending did not answer, not sent again: " + errorMessage(err)
	}
	parts := make([]string, len(outs))
	for i, o := range outs {
		parts[i] = o.Channel + " " + o.Status
		if o.Error != "" {
			parts[i] += " (" + o.Error + ")"
		}
	}
	return strings.Join(parts, "; ")
}

// act runs one activity with opts and waits for its result in out.
func act(ctx workflow.Context, opts workflow.ActivityOptions, activity string, in, out any) error {
	return workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, opts), activity, in).Get(ctx, out)
}

func renewHuaweiOptions(summary string) workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout: 5 * time.Minute,
		HeartbeatTimeout:    heartbeatTimeout,
		RetryPolicy:         renewHuaweiRetry,
		Summary:             summary,
	}
}

var renewHuaweiRetry = &temporal.RetryPolicy{
	InitialInterval:    time.Second,
	BackoffCoefficient: 2,
	MaximumInterval:    time.Minute,
	MaximumAttempts:    10,
	NonRetryableErrorTypes: append(
		slices.Clone(huaweiNonRetryable),
		contract.ErrTypeRenewRefused,
		contract.ErrTypePartner,
	),
}

// renewOrderOptions: the order step retries (each try first looks for the
// order an earlier one placed) but stops for good when an order may stand
// that it cannot find.
func renewOrderOptions() workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout: 5 * time.Minute,
		HeartbeatTimeout:    heartbeatTimeout,
		Summary:             "place or adopt the renewal order",
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    5 * time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    time.Minute,
			MaximumAttempts:    20,
			NonRetryableErrorTypes: append(
				slices.Clone(renewHuaweiRetry.NonRetryableErrorTypes),
				contract.ErrTypeOrderUncertain,
			),
		},
	}
}

func errorMessage(err error) string {
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		return app.Message()
	}
	return err.Error()
}

func failuresText(fs []contract.ResourceFailure) string {
	if len(fs) == 0 {
		return "no reason given"
	}
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = fmt.Sprintf("%s: %s %s", f.ResourceID, f.Code, f.Message)
	}
	return strings.Join(parts, "; ")
}

func orderIDs(orders []contract.OrderRef) string {
	ids := make([]string, len(orders))
	for i, o := range orders {
		ids[i] = o.OrderID
	}
	return strings.Join(ids, ", ")
}

func orderedMessage(res contract.RenewOrderResult) string {
	msg := "ordered " + orderIDs(res.Orders)
	if res.Mode == contract.RenewModeOrder {
		msg += ": unpaid; pay it in Huawei's console (this worker's EXPIRY_SYNC_RENEW=order)"
	}
	if len(res.Failures) > 0 {
		msg += "; refused for " + failuresText(res.Failures)
	}
	return msg
}

func expiryText(m map[string]time.Time) string {
	ids := slices.Sorted(maps.Keys(m)) //workflowcheck:ignore sorted
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = id + " until " + m[id].UTC().Format(time.DateOnly)
	}
	return strings.Join(parts, ", ")
}
