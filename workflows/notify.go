package workflows

import (
	"cmp"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"expiry-sync/internal/contract"
)

const (
	// NotifyWorkflowName is the registered type of the reminders workflow.
	NotifyWorkflowName = "NotifyExpiring"
	// NotifyTestWorkflowName sends one test message on a route's channels.
	NotifyTestWorkflowName = "NotifyTest"
)

// NotifyInput carries only names and a time: what to send is read from the
// database by the activities.
type NotifyInput struct {
	// Account names the account whose resources to remind, as every
	// command does; AccountID, its domain id, is what runs recorded before
	// names carry. Neither: the worker's default account, else every
	// account of its accounts file (a child run each).
	Account   string `json:"account,omitempty"`
	AccountID string `json:"account_id,omitempty"`
	// AllAccounts reminds every account of the worker, a child run each.
	AllAccounts bool `json:"all_accounts,omitempty"`
	// AsOf: the "now" that thresholds count from; nil means the workflow's
	// start. Set it to catch up a missed day, or in tests.
	AsOf *time.Time `json:"as_of,omitempty"`
	// Routes: only these routes; empty means all.
	Routes []string `json:"routes,omitempty"`
	// IgnoreQuietHours sends at once, even to routes in their quiet hours.
	IgnoreQuietHours bool `json:"ignore_quiet_hours,omitempty"`
	// SyncID: the sync whose success started this run, if one did.
	SyncID string `json:"sync_id,omitempty"`
}

// Route outcomes.
const (
	RouteSent    = "sent"    // every digest reached every channel
	RoutePartial = "partial" // some channels or digests failed
	RouteFailed  = "failed"  // nothing reached any channel
	RouteNothing = "nothing to send"
)

// NotifyResult is the run's result, shown in the Web UI.
type NotifyResult struct {
	Account    string         `json:"account,omitempty"` // its name
	AccountID  string         `json:"account_id"`
	AsOf       time.Time      `json:"as_of"`
	Configured bool           `json:"configured"`
	Routes     []RouteOutcome `json:"routes"`
	Sent       int            `json:"sent"`   // channel deliveries made: every resource accepted
	Failed     int            `json:"failed"` // channel deliveries failed (their resources are reminded again later)
	// Unconfirmed: channel deliveries with a message that got no answer; it
	// may have arrived, it is not sent again, it is not counted as sent.
	Unconfirmed int `json:"unconfirmed,omitempty"`
	// Accounts: a run of every account holds each account's result.
	Accounts []NotifyResult `json:"accounts,omitempty"`
}

// RouteOutcome is what one route sent.
type RouteOutcome struct {
	Route   string                   `json:"route"`
	Status  string                   `json:"status"`
	Digests []contract.DigestOutcome `json:"digests,omitempty"`
	Error   string                   `json:"error,omitempty"`
}

// Retry policies of reminders: database steps as the sync's; sends per
// failure class (contract.Notify*): rate limits wait as long as the platform
// asks (NextRetryDelay), outages back off up to a few minutes for a day,
// refusals and uncertain deliveries are never retried.
var (
	notifyDBRetry = &temporal.RetryPolicy{
		InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 20 * time.Second, MaximumAttempts: 30,
		NonRetryableErrorTypes: []string{
			contract.NotifyConfig,
			contract.ErrTypeNotifyOff,
			contract.ErrTypeInvalidInput,
			contract.ErrTypeDatabaseRejected,
		},
	}
	sendNonRetryable = []string{
		contract.NotifyRejected,
		contract.NotifyUncertain,
		contract.NotifyConfig,
		contract.ErrTypeNotifyOff,
		contract.ErrTypeDatabaseRejected,
	}
)

// sendMaxInterval: chat robots throttle per minute; mail relays that defer
// (4xx) want minutes between tries.
var sendMaxInterval = map[string]time.Duration{contract.ChannelEmail: 10 * time.Minute}

func notifyDBOptions(summary string) workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout: 2 * time.Minute,
		HeartbeatTimeout:    heartbeatTimeout,
		RetryPolicy:         notifyDBRetry,
		Summary:             summary,
	}
}

func sendOptions(ch contract.ChannelRef, summary string) workflow.ActivityOptions {
	maxInterval := 5 * time.Minute
	if d, ok := sendMaxInterval[ch.Type]; ok {
		maxInterval = d
	}
	return workflow.ActivityOptions{
		// A send waits its robot's turn for each of its messages.
		StartToCloseTimeout:    time.Hour,
		ScheduleToCloseTimeout: 24 * time.Hour,
		HeartbeatTimeout:       heartbeatTimeout,
		Summary:                summary,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        2 * time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        maxInterval,
			NonRetryableErrorTypes: sendNonRetryable,
		},
	}
}

// NotifyExpiring sends the renewal reminders of an account that are due:
// it plans from the database, then for each route (all at once, so that a
// failing route never holds up the others) waits out its quiet hours,
// claims its digests and sends each on the route's channels.
func NotifyExpiring(ctx workflow.Context, in NotifyInput) (NotifyResult, error) {
	asOf := workflow.Now(ctx).UTC()
	if in.AsOf != nil {
		asOf = in.AsOf.UTC()
	}
	res := NotifyResult{AsOf: asOf}
	var plan contract.NotifyPlan
	err := workflow.ExecuteActivity(
		workflow.WithActivityOptions(ctx, notifyDBOptions("plan reminders")),
		contract.ActivityNotifyPlan,
		contract.PlanInput{
			Account: in.Account, AccountID: in.AccountID, AllAccounts: in.AllAccounts,
			AfterSync: in.SyncID != "", AsOf: asOf, Routes: in.Routes,
		},
	).Get(ctx, &plan)
	if err != nil {
		return res, err
	}
	if len(plan.Accounts) > 0 {
		return remindEachAccount(ctx, in, asOf, plan.Accounts)
	}
	res.Account, res.AccountID, res.Configured = plan.Account, plan.AccountID, plan.Configured
	name := plan.Account
	if name == "" { // a plan recorded before names
		name = plan.AccountID
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, AttrAccount.ValueSet(name)); err != nil {
		workflow.GetLogger(ctx).Warn("search attributes not updated", "error", err)
	}
	res.Routes = make([]RouteOutcome, len(plan.Routes))
	for i, pr := range plan.Routes {
		res.Routes[i] = RouteOutcome{Route: pr.Route, Status: "waiting"}
	}
	showNotify(ctx, res)
	wg := workflow.NewWaitGroup(ctx)
	for i, pr := range plan.Routes {
		wg.Add(1)
		workflow.Go(ctx, func(ctx workflow.Context) {
			defer wg.Done()
			res.Routes[i] = runRoute(ctx, in, plan.AccountID, pr, asOf, func(status string) {
				res.Routes[i].Status = status
				showNotify(ctx, res)
			})
			showNotify(ctx, res)
		})
	}
	wg.Wait(ctx)
	for _, r := range res.Routes {
		for _, d := range r.Digests {
			for _, s := range d.Sends {
				switch s.Status {
				case contract.SendSent:
					res.Sent++
				case contract.SendUnconfirmed:
					res.Unconfirmed++
				case contract.SendObsolete:
				default:
					res.Failed++
				}
			}
		}
	}
	showNotify(ctx, res)
	return res, nil
}

// remindEachAccount runs the reminders of each account as a child run
// (<this id>-<account>), all at once, and sums their results. A child
// that fails is counted failed; the others go on.
func remindEachAccount(ctx workflow.Context, in NotifyInput, asOf time.Time, accounts []string) (NotifyResult, error) {
	res := NotifyResult{AsOf: asOf, Configured: true}
	parent := workflow.GetInfo(ctx).WorkflowExecution.ID
	futures := make([]workflow.ChildWorkflowFuture, len(accounts))
	for i, name := range accounts {
		child := in
		child.Account, child.AccountID, child.AllAccounts, child.AsOf = name, "", false, &asOf
		cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: parent + "-" + name})
		futures[i] = workflow.ExecuteChildWorkflow(cctx, NotifyWorkflowName, child)
	}
	for i, f := range futures {
		var r NotifyResult
		if err := f.Get(ctx, &r); err != nil {
			r = NotifyResult{Account: accounts[i], AsOf: asOf, Configured: true,
				Routes: []RouteOutcome{{Route: "*", Status: RouteFailed, Error: ErrorText(err)}}}
			res.Failed++
		}
		res.Sent, res.Failed, res.Unconfirmed = res.Sent+r.Sent, res.Failed+r.Failed, res.Unconfirmed+r.Unconfirmed
		res.Accounts = append(res.Accounts, r)
	}
	return res, nil
}

// runRoute sends one route's digests; its failures end up in its outcome.
func runRoute(
	ctx workflow.Context,
	in NotifyInput,
	account string,
	pr contract.PlannedRoute,
	asOf time.Time,
	status func(string),
) RouteOutcome {
	out := RouteOutcome{Route: pr.Route}
	if pr.QuietUntil != nil && !in.IgnoreQuietHours && pr.QuietUntil.After(asOf) {
		wait := pr.QuietUntil.Sub(asOf)
		status("quiet hours until " + pr.QuietUntil.UTC().Format(time.RFC3339))
		if err := workflow.Sleep(ctx, wait); err != nil {
			out.Status, out.Error = RouteFailed, ErrorText(err)
			return out
		}
		asOf = asOf.Add(wait)
	}
	status("claiming")
	var claimed []contract.ClaimedDigest
	err := workflow.ExecuteActivity(
		workflow.WithActivityOptions(ctx, notifyDBOptions("claim digests of route "+pr.Route)),
		contract.ActivityNotifyClaim,
		contract.ClaimInput{AccountID: account, Route: pr.Route, AsOf: asOf},
	).Get(ctx, &claimed)
	if err != nil {
		out.Status, out.Error = RouteFailed, ErrorText(err)
		return out
	}
	for _, d := range claimed {
		status(fmt.Sprintf("sending the %s digest (%d resources)", thresholdName(d.Threshold), d.Resources))
		out.Digests = append(out.Digests, sendDigest(ctx, pr.Route, d))
	}
	out.Status = routeStatus(out.Digests)
	return out
}

// sendDigest sends a digest on all its channels at once, then settles it.
func sendDigest(ctx workflow.Context, route string, d contract.ClaimedDigest) contract.DigestOutcome {
	futures := make([]workflow.Future, len(d.Channels))
	for i, ch := range d.Channels {
		summary := fmt.Sprintf(
			"send %s digest of route %s via %s (%s), %d resources",
			thresholdName(d.Threshold),
			route,
			ch.Name,
			ch.Type,
			d.Resources,
		)
		futures[i] = workflow.ExecuteActivity(
			workflow.WithActivityOptions(ctx, sendOptions(ch, summary)),
			contract.ActivityNotifySend,
			contract.SendInput{DigestID: d.DigestID, Channel: ch.Name},
		)
	}
	var reasons []string
	for i, f := range futures {
		if err := f.Get(ctx, nil); err != nil {
			reasons = append(reasons, d.Channels[i].Name+": "+ErrorText(err))
		}
	}
	var out contract.DigestOutcome
	sctx := ctx
	if ctx.Err() != nil && settlesWhenCanceled(ctx) {
		sctx, _ = workflow.NewDisconnectedContext(ctx) // a canceled run still settles what it claimed
	}
	err := workflow.ExecuteActivity(
		workflow.WithActivityOptions(sctx, notifyDBOptions("settle digest "+d.DigestID)),
		contract.ActivityNotifySettle,
		contract.SettleInput{DigestID: d.DigestID, Reason: "given up: " + strings.Join(reasons, "; ")},
	).Get(ctx, &out)
	if err != nil {
		out = contract.DigestOutcome{DigestID: d.DigestID, Threshold: d.Threshold, Resources: d.Resources}
		for _, ch := range d.Channels {
			out.Sends = append(
				out.Sends,
				contract.SendOutcome{Channel: ch.Name, Type: ch.Type, Status: "unknown", Error: ErrorText(err)},
			)
		}
	}
	return out
}

func routeStatus(digests []contract.DigestOutcome) string {
	sent, other := 0, 0
	for _, d := range digests {
		for _, s := range d.Sends {
			switch s.Status {
			case contract.SendSent, contract.SendObsolete:
				sent++
			default:
				other++
			}
		}
	}
	switch {
	case sent == 0 && other == 0:
		return RouteNothing
	case other == 0:
		return RouteSent
	case sent == 0:
		return RouteFailed
	}
	return RoutePartial
}

func thresholdName(t int) string {
	if t == contract.OverdueThreshold {
		return "overdue"
	}
	return fmt.Sprintf("%d-day", t)
}

// showNotify puts the per-route outcome in the Web UI (current details).
func showNotify(ctx workflow.Context, r NotifyResult) {
	var b strings.Builder
	b.WriteString(fmt.Sprintf(
		"**Renewal reminders** of account %s as of %s\n\n",
		cmp.Or(r.Account, r.AccountID),
		r.AsOf.Format(time.RFC3339),
	))
	if !r.Configured {
		b.WriteString("Reminders are not configured on the worker (EXPIRY_SYNC_NOTIFY_FILE).\n")
		workflow.SetCurrentDetails(ctx, b.String())
		return
	}
	if len(r.Routes) == 0 {
		b.WriteString("Nothing is due.\n")
	}
	b.WriteString("| route | status | digests |\n|---|---|---|\n")
	for _, rt := range r.Routes {
		var ds []string
		for _, d := range rt.Digests {
			var sends []string
			for _, s := range d.Sends {
				sends = append(sends, s.Channel+" "+s.Status)
			}
			ds = append(ds, fmt.Sprintf(
				"%s: %d resources → %s",
				thresholdName(d.Threshold),
				d.Resources,
				strings.Join(sends, ", "),
			))
		}
		detail := strings.Join(ds, "; ")
		if rt.Error != "" {
			detail += " " + rt.Error
		}
		b.WriteString(fmt.Sprintf("| %s | %s | %s |\n", rt.Route, rt.Status, strings.ReplaceAll(detail, "|", "/")))
	}
	workflow.SetCurrentDetails(ctx, b.String())
}

// NotifyTestInput names the route to test.
type NotifyTestInput struct {
	Route string `json:"route"`
}

// NotifyTest sends one test message on each channel of a route.
func NotifyTest(ctx workflow.Context, in NotifyTestInput) ([]contract.SendOutcome, error) {
	opts := workflow.ActivityOptions{
		StartToCloseTimeout: 6 * time.Minute,
		HeartbeatTimeout:    heartbeatTimeout,
		Summary:             "test message on route " + in.Route,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 1},
	}
	var out []contract.SendOutcome
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, opts), contract.ActivityNotifyTestSend,
		contract.TestInput{Route: in.Route}).Get(ctx, &out)
	return out, err
}
