package contract

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Renewals (issue 23): a request to renew, turn auto-renew on or off, or
// convert to pay-per-use at expiry. Each request is one RenewResources
// workflow; nothing is done at Huawei before a person's approval is in its
// history.

// Activity names of activities.Renewer.
const (
	ActivityRenewOpen   = "RenewOpen"
	ActivityRenewQuote  = "RenewQuote"
	ActivityRenewRecord = "RenewRecord"
	ActivityRenewOrder  = "RenewOrder"
	ActivityRenewPay    = "RenewPay"
	ActivityRenewWatch  = "RenewWatch"
	ActivityRenewApply  = "RenewApply"
	ActivityRenewNotify = "RenewNotify"
)

// Kinds of request.
const (
	RenewKindRenew        = "renew"
	RenewKindAutoRenewOn  = "autorenew-on"
	RenewKindAutoRenewOff = "autorenew-off"
	RenewKindToOnDemand   = "to-on-demand" // convert to pay-per-use at expiry (UpdatePeriodToOnDemand SET_UP)
)

// States of a request, in renewal_requests.state and the ExpirySyncRenewState
// search attribute.
const (
	RenewPending  = "pending"  // quoted, waiting for approval
	RenewApproved = "approved" // approved; nothing ordered yet (or a dry run: mode off)
	RenewOrdered  = "ordered"  // an unpaid order is placed
	RenewPaid     = "paid"     // the order is paid; the new expiry is not seen yet
	RenewDone     = "done"     // the new expiry is seen (auto-renew: the setting is applied)
	RenewRejected = "rejected"
	RenewExpired  = "expired" // its deadline passed without approval, or its order lapsed unpaid
	RenewFailed   = "failed"
)

// What an open request waits for (RenewState.WaitsOn).
const (
	WaitsApproval = "approval"   // a person's yes (or no)
	WaitsPayment  = "payment"    // an unpaid order, for people to pay
	WaitsExpiry   = "new-expiry" // paid: Huawei to move the expiry
)

// RenewStates lists every state, in the order a request moves through them.
var RenewStates = []string{
	RenewPending,
	RenewApproved,
	RenewOrdered,
	RenewPaid,
	RenewDone,
	RenewRejected,
	RenewExpired,
	RenewFailed,
}

// RenewOpenStates are the states of a request that may still order or apply.
var RenewOpenStates = []string{RenewPending, RenewApproved, RenewOrdered, RenewPaid}

// Worker modes (EXPIRY_SYNC_RENEW).
const (
	RenewModeOff   = "off"   // everything up to the order, then stop: a dry run
	RenewModeOrder = "order" // unpaid orders, paid by people
	RenewModePay   = "pay"   // orders paid within the policy's max_amount
)

// RenewModes lists the modes.
var RenewModes = []string{RenewModeOff, RenewModeOrder, RenewModePay}

// Update, signal and query names of a RenewResources workflow. The signals
// carry the same input as the updates so that the Web UI's "Send a Signal"
// can approve; a signal that the validator would refuse is recorded and
// ignored.
const (
	RenewApproveName = "approve"
	RenewRejectName  = "reject"
	RenewStateQuery  = "state"
)

// Errors of renewals.
const (
	// ErrTypeRenewRefused: the request cannot be made (attached resource,
	// partner account, period not allowed, resource already in an open
	// request).
	ErrTypeRenewRefused = "RenewRefused"
	// ErrTypeOrderUncertain: an order may have been placed and cannot be
	// found: the request stops rather than risk a second order.
	ErrTypeOrderUncertain = "OrderUncertain"
	// ErrTypePartner: a partner's credentials cannot use the renewal APIs.
	ErrTypePartner = "PartnerCannotRenew"
)

// MaxRenewIDs is how many main resources one renewal call takes (Huawei's
// RenewalResourcesReq and ListRenewRateOnPeriodReq: at most 10).
const MaxRenewIDs = 10

// Period is a renewal period: 1-11 months or 1-3 years.
type Period struct {
	Unit string `json:"unit"` // "m" or "y"
	Num  int    `json:"num"`
}

var periodPattern = regexp.MustCompile(`^([0-9]{1,2})([my])$`)

// AllowedPeriods says what a period may be.
const AllowedPeriods = "1m..11m or 1y..3y"

// ParsePeriod reads "3m" or "1y".
func ParsePeriod(s string) (Period, error) {
	m := periodPattern.FindStringSubmatch(strings.ToLower(strings.TrimSpace(s)))
	if m == nil {
		return Period{}, fmt.Errorf("period %q is not allowed: %s", s, AllowedPeriods)
	}
	n, _ := strconv.Atoi(m[1])
	p := Period{Unit: m[2], Num: n}
	if err := p.Check(); err != nil {
		return Period{}, err
	}
	return p, nil
}

// Check says what is wrong with a period, if anything.
func (p Period) Check() error {
	switch {
	case p.Unit == "m" && p.Num >= 1 && p.Num <= 11, p.Unit == "y" && p.Num >= 1 && p.Num <= 3:
		return nil
	}
	return fmt.Errorf("period %q is not allowed: %s", p.String(), AllowedPeriods)
}

func (p Period) String() string { return fmt.Sprintf("%d%s", p.Num, p.Unit) }

// HuaweiType is BSS's period_type: 2 month, 3 year.
func (p Period) HuaweiType() int32 {
	if p.Unit == "y" {
		return 3
	}
	return 2
}

// AddTo is t moved by the period.
func (p Period) AddTo(t time.Time) time.Time {
	if p.Unit == "y" {
		return t.AddDate(p.Num, 0, 0)
	}
	return t.AddDate(0, p.Num, 0)
}

// Amount is money in millionths of the currency's unit: Huawei answers
// amounts as decimal strings in yuan (or dollars); integers compare exactly.
type Amount int64

// amountPattern: Huawei's amounts, e.g. "1234.56" or "0.000001".
var amountPattern = regexp.MustCompile(`^([0-9]{1,12})(?:\.([0-9]{1,6}))?$`)

// ParseAmount reads a non-negative decimal string of at most 6 decimals.
func ParseAmount(s string) (Amount, error) {
	m := amountPattern.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, fmt.Errorf("amount %q is not a non-negative decimal with at most 6 decimals", s)
	}
	units, _ := strconv.ParseInt(m[1], 10, 64)
	frac := m[2] + strings.Repeat("0", 6-len(m[2]))
	micros, _ := strconv.ParseInt(frac, 10, 64)
	if units > (math.MaxInt64-micros)/1e6 {
		return 0, fmt.Errorf("amount %q is too large", s)
	}
	return Amount(units*1e6 + micros), nil
}

// AmountFromFloat reads an amount the SDK answers as a float (order lists).
func AmountFromFloat(f float64) Amount { return Amount(math.Round(f * 1e6)) }

// String writes the amount with two decimals, or more when it has them.
func (a Amount) String() string {
	units, micros := int64(a)/1e6, int64(a)%1e6
	frac := strings.TrimRight(fmt.Sprintf("%06d", micros), "0")
	for len(frac) < 2 {
		frac += "0"
	}
	return fmt.Sprintf("%d.%s", units, frac)
}

// MarshalJSON writes the amount as a decimal string, as Huawei does.
func (a Amount) MarshalJSON() ([]byte, error) { return []byte(`"` + a.String() + `"`), nil }

// UnmarshalJSON reads a decimal string.
func (a *Amount) UnmarshalJSON(b []byte) error {
	s, err := strconv.Unquote(string(b))
	if err != nil {
		return fmt.Errorf("amount %s is not a decimal string", b)
	}
	*a, err = ParseAmount(s)
	return err
}

// RenewPolicy is an account's renewal policy (EXPIRY_SYNC_RENEW_POLICY_FILE),
// copied into the request's history when it opens: the request is judged by
// the policy it was made under.
type RenewPolicy struct {
	// Approvers may approve or reject; empty: anyone but, with FourEyes,
	// the requester.
	Approvers []string `json:"approvers,omitempty"`
	// FourEyes: the requester cannot approve their own request.
	FourEyes bool `json:"four_eyes"`
	// SecondApprovalAbove: a total above it needs two different approvers
	// (0: one is enough).
	SecondApprovalAbove Amount `json:"second_approval_above,omitempty"`
	// MaxAmount: the most a request may cost; above it nothing is paid by
	// the tool (and no approval is accepted). 0: pay mode pays nothing.
	MaxAmount Amount `json:"max_amount,omitempty"`
	// Periods allowed; empty: every period Huawei allows.
	Periods []string `json:"periods,omitempty"`
	// DeadlineBefore: a request not approved this long before the earliest
	// expiry ends as expired.
	DeadlineBefore time.Duration `json:"deadline_before"`
	// UseCoupons / UseDiscounts let PayOrders apply them (off by default).
	UseCoupons   bool `json:"use_coupons,omitempty"`
	UseDiscounts bool `json:"use_discounts,omitempty"`
}

// DefaultRenewDeadlineBefore: a request expires 3 days before the earliest
// expiry when nobody approved it.
const DefaultRenewDeadlineBefore = 72 * time.Hour

// ApprovalsNeeded is how many different approvers a total needs.
func (p RenewPolicy) ApprovalsNeeded(total Amount) int {
	if p.SecondApprovalAbove > 0 && total > p.SecondApprovalAbove {
		return 2
	}
	return 1
}

// RenewInput starts a RenewResources workflow. Nothing here is secret.
type RenewInput struct {
	RequestID   string     `json:"request_id"` // the workflow id
	Account     string     `json:"account"`
	Kind        string     `json:"kind"`
	ResourceIDs []string   `json:"resource_ids"`
	Period      Period     `json:"period,omitzero"`    // renew only
	Times       int        `json:"times,omitempty"`    // autorenew-on: 0 unlimited, else 1..99
	Requester   string     `json:"requester"`          // user@host, or --requester
	Reason      string     `json:"reason,omitempty"`   // free text
	Deadline    *time.Time `json:"deadline,omitempty"` // nil: the policy's DeadlineBefore the earliest expiry
	// WatchEvery: how often the new expiry (order mode: the order's
	// payment) is looked for; 0: DefaultRenewWatchEvery.
	WatchEvery time.Duration `json:"watch_every,omitempty"`
}

// Watching a renewal: every hour by default, for the life of an unpaid
// order (Huawei cancels it after about 7 days).
const (
	DefaultRenewWatchEvery = time.Hour
	RenewOrderLife         = 8 * 24 * time.Hour
)

// RenewResource is one resource of a request as BSS looked it up by id.
type RenewResource struct {
	ID         string    `json:"id"`
	Name       string    `json:"name,omitempty"`
	Service    string    `json:"service,omitempty"`
	Region     string    `json:"region,omitempty"`
	ExpireTime time.Time `json:"expire_time"`
	Status     int       `json:"status,omitempty"`
}

// RenewOpened is what RenewOpen found and recorded.
type RenewOpened struct {
	Policy    RenewPolicy     `json:"policy"`
	Resources []RenewResource `json:"resources"`
	Deadline  time.Time       `json:"deadline"`
	OpenedAt  time.Time       `json:"opened_at"` // orders created since (minus a margin) may be this request's
}

// ResourceFailure is Huawei's fail_resource_infos entry.
type ResourceFailure struct {
	ResourceID string `json:"resource_id"`
	Code       string `json:"error_code"`
	Message    string `json:"error_msg"`
}

// QuoteLine is one main resource's renewal amount (attached resources included).
type QuoteLine struct {
	ResourceID string `json:"resource_id"`
	Amount     Amount `json:"amount"`
}

// RenewQuote is ListRenewRateOnPeriod's answer for a request.
type RenewQuote struct {
	Currency string            `json:"currency"`
	Lines    []QuoteLine       `json:"lines"`
	Total    Amount            `json:"total"`
	Official Amount            `json:"official_total,omitempty"` // the list price
	Failures []ResourceFailure `json:"failures,omitempty"`
	QuotedAt time.Time         `json:"quoted_at"`
}

// QuoteInput asks for a quote.
type QuoteInput struct {
	Account     string   `json:"account"`
	ResourceIDs []string `json:"resource_ids"`
	Period      Period   `json:"period"`
	// LookedUp: the request looked its resources up when it opened, so the
	// quote need not (a standalone quote looks them up, to name the main
	// resource of an attached one).
	LookedUp bool `json:"looked_up,omitempty"`
}

// ApproveInput is an approval's (or a rejection's) payload.
type ApproveInput struct {
	Approver string `json:"approver"`
	Comment  string `json:"comment,omitempty"`
}

// Approval is an approval on the record.
type Approval struct {
	Approver string    `json:"approver"`
	Comment  string    `json:"comment,omitempty"`
	At       time.Time `json:"at"`
	Total    Amount    `json:"total"` // the quote's total it approved
}

// OrderRef is one renewal order at Huawei.
type OrderRef struct {
	OrderID     string   `json:"order_id"`
	ResourceIDs []string `json:"resource_ids,omitempty"`
	Amount      Amount   `json:"amount,omitempty"`
	Adopted     bool     `json:"adopted,omitempty"` // found by the look-up, not from RenewalResources's answer
	Paid        bool     `json:"paid,omitempty"`
}

// RenewOrderInput places (or adopts) the request's orders.
type RenewOrderInput struct {
	RequestID   string    `json:"request_id"`
	Account     string    `json:"account"`
	ResourceIDs []string  `json:"resource_ids"`
	Period      Period    `json:"period"`
	Since       time.Time `json:"since"`
}

// RenewOrderResult is what the order step did.
type RenewOrderResult struct {
	Mode     string            `json:"mode"`
	Orders   []OrderRef        `json:"orders,omitempty"`
	Failures []ResourceFailure `json:"failures,omitempty"`
}

// RenewPayInput pays the request's orders.
type RenewPayInput struct {
	RequestID string     `json:"request_id"`
	Account   string     `json:"account"`
	Orders    []OrderRef `json:"orders"`
	MaxAmount Amount     `json:"max_amount"`
	Coupons   bool       `json:"coupons,omitempty"`
	Discounts bool       `json:"discounts,omitempty"`
}

// RenewPayResult says which orders are paid and why others are not.
type RenewPayResult struct {
	Orders  []OrderRef `json:"orders"`
	Skipped string     `json:"skipped,omitempty"` // why nothing was paid
}

// RenewWatchInput looks the resources up for their new expiry.
type RenewWatchInput struct {
	Account   string          `json:"account"`
	Resources []RenewResource `json:"resources"`
	Period    Period          `json:"period"`
	Orders    []OrderRef      `json:"orders"`
}

// RenewWatchResult is one look.
type RenewWatchResult struct {
	NewExpiry map[string]time.Time `json:"new_expiry,omitempty"` // resources whose expiry moved by the period
	// OrdersPaid: every order is paid (order mode: someone paid it).
	OrdersPaid bool `json:"orders_paid,omitempty"`
	// OrdersGone: an order was canceled or lapsed unpaid.
	OrdersGone []string `json:"orders_gone,omitempty"`
}

// RenewApplyInput applies an auto-renew or to-on-demand request.
type RenewApplyInput struct {
	RequestID   string   `json:"request_id"`
	Account     string   `json:"account"`
	Kind        string   `json:"kind"`
	ResourceIDs []string `json:"resource_ids"`
	Period      Period   `json:"period,omitzero"`
	Times       int      `json:"times,omitempty"`
}

// RenewApplyResult is what was applied.
type RenewApplyResult struct {
	Mode     string            `json:"mode"`
	Applied  []string          `json:"applied,omitempty"`
	Failures []ResourceFailure `json:"failures,omitempty"`
}

// RenewEvent is one entry of renewal_events, written by RenewRecord with the
// request's state after it. Seq is the workflow's count of events: a retried
// record is written once.
type RenewEvent struct {
	RequestID string    `json:"request_id"`
	Seq       int       `json:"seq"`
	At        time.Time `json:"at"`
	// Kind: opened, waiting, approved, refused, price-rose, rejected,
	// ordered, paid, done, expired, failed, notified, ...
	Kind   string     `json:"kind"`
	Actor  string     `json:"actor,omitempty"`
	Detail string     `json:"detail,omitempty"` // a sentence, or Huawei's answer
	State  RenewState `json:"state"`
}

// RenewState is a request as its workflow knows it: the "state" query's
// answer and what renewal_requests records.
type RenewState struct {
	RequestID   string               `json:"request_id"`
	Account     string               `json:"account"`
	Kind        string               `json:"kind"`
	State       string               `json:"state"`
	ResourceIDs []string             `json:"resource_ids"`
	Period      Period               `json:"period,omitzero"`
	Times       int                  `json:"times,omitempty"`
	Requester   string               `json:"requester"`
	Reason      string               `json:"reason,omitempty"`
	Resources   []RenewResource      `json:"resources,omitempty"`
	Deadline    time.Time            `json:"deadline,omitzero"`
	Quote       *RenewQuote          `json:"quote,omitempty"`
	Approved    Amount               `json:"approved_total,omitempty"` // the ceiling: the total last approved
	Approvals   []Approval           `json:"approvals,omitempty"`
	Needed      int                  `json:"approvals_needed,omitempty"`
	Orders      []OrderRef           `json:"orders,omitempty"`
	Failures    []ResourceFailure    `json:"failures,omitempty"`
	NewExpiry   map[string]time.Time `json:"new_expiry,omitempty"`
	Mode        string               `json:"mode,omitempty"`
	DryRun      bool                 `json:"dry_run,omitempty"`
	Message     string               `json:"message,omitempty"` // why it ended, or what it waits for
	// WaitsOn is what an open request waits for (WaitsApproval,
	// WaitsPayment, WaitsExpiry); "" while the worker acts, and once closed.
	WaitsOn string `json:"waits_on,omitempty"`
	// Closed: the workflow has ended (a dry run ends approved); its
	// resources may be in another request.
	Closed    bool      `json:"closed,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// AllResourceIDs are the ids the request names, then those it looked up
// that it does not name (an attached resource's main, say).
func (s RenewState) AllResourceIDs() []string {
	ids := slices.Clone(s.ResourceIDs)
	for _, r := range s.Resources {
		if !slices.Contains(ids, r.ID) {
			ids = append(ids, r.ID)
		}
	}
	return ids
}

// RenewRequestID is the request's workflow id: one per account, kind,
// resources, period and UTC day, so a request repeated the same day is the
// same request (the starter starts it with USE_EXISTING).
func RenewRequestID(in RenewInput, at time.Time) string {
	ids := slices.Clone(in.ResourceIDs)
	slices.Sort(ids)
	h := sha256.Sum256(
		[]byte(
			strings.Join(
				[]string{in.Kind, in.Period.String(), strconv.Itoa(in.Times), strings.Join(slices.Compact(ids), ",")},
				"|",
			),
		),
	)
	return fmt.Sprintf("renew-%s-%s-%s", in.Account, hex.EncodeToString(h[:5]), at.UTC().Format("20060102"))
}
