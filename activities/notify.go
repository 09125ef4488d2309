package activities

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"expiry-sync/internal/contract"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"expiry-sync/internal/notify"
	"expiry-sync/internal/store"
)

// Notifier holds the renewal reminders' activities: everything they read
// comes from the database and the routes file, so that only ids, names and
// counts cross the workflow's history. Secrets are read when a send needs
// them and never leave the activity.
type Notifier struct {
	Store     *store.Store
	AccountID string // the worker's account, when an input names none
	// ConfigFile is the routes file; "" turns reminders off.
	ConfigFile string
}

func (n *Notifier) config() (*notify.Config, error) {
	if n.ConfigFile == "" {
		return nil, temporal.NewNonRetryableApplicationError("reminders are not configured: set "+notify.ConfigEnv+" on the worker", contract.ErrTypeNotifyOff, nil)
	}
	c, err := notify.Load(n.ConfigFile)
	if err != nil {
		return nil, temporal.NewNonRetryableApplicationError(err.Error(), string(notify.ClassConfig), nil)
	}
	return c, nil
}

func (n *Notifier) account(id string) string {
	if id == "" {
		return n.AccountID
	}
	return id
}

// contract.NotifyPlan works out what each route has to send at AsOf, without
// recording anything.
func (n *Notifier) NotifyPlan(ctx context.Context, in contract.PlanInput) (contract.NotifyPlan, error) {
	defer keepAlive(ctx, nil)()
	plan := contract.NotifyPlan{AccountID: n.account(in.AccountID)}
	if n.ConfigFile == "" {
		return plan, nil
	}
	cfg, err := n.config()
	if err != nil {
		return plan, err
	}
	for _, r := range in.Routes {
		if cfg.Route(r) == nil {
			return plan, temporal.NewNonRetryableApplicationError(fmt.Sprintf("route %q is not in the routes file: allowed %s", r, strings.Join(cfg.RouteNames(), ", ")), contract.ErrTypeInvalidInput, nil)
		}
	}
	plan.Configured = true
	if in.AfterSync && !cfg.SendsAfterSync() {
		plan.Skipped = "the routes file says after_sync: false: reminders go out on their schedule only"
		return plan, nil
	}
	pending, err := n.pending(ctx, cfg, plan.AccountID, in.AsOf, in.Routes)
	if err != nil {
		return plan, err
	}
	for _, p := range pending {
		if len(plan.Routes) == 0 || plan.Routes[len(plan.Routes)-1].Route != p.Route.Name {
			pr := contract.PlannedRoute{Route: p.Route.Name}
			if until := p.Route.QuietHours.Until(in.AsOf); !until.IsZero() {
				pr.QuietUntil = &until
			}
			plan.Routes = append(plan.Routes, pr)
		}
		last := &plan.Routes[len(plan.Routes)-1]
		last.Thresholds = append(last.Thresholds, contract.PlannedThreshold{Threshold: p.Threshold, Resources: len(p.Items)})
	}
	return plan, nil
}

// pending reads the candidates and what was sent, and plans.
func (n *Notifier) pending(ctx context.Context, cfg *notify.Config, account string, asOf time.Time, routes []string) ([]notify.Pending, error) {
	rows, err := n.Store.NotifyCandidates(ctx, account, cfg.Horizon(asOf))
	if err != nil {
		return nil, databaseError("reading the resources to remind", err)
	}
	if len(rows) == 0 {
		return nil, nil
	}
	notified, err := n.Store.NotifiedKeys(ctx, account, rows[0].ExpireTime)
	if err != nil {
		return nil, databaseError("reading the reminders sent", err)
	}
	return cfg.Plan(rows, notified, asOf, routes), nil
}

// digestID is the same on every attempt of the claim of one workflow run,
// so that a retried claim finds its first digest instead of making another.
func digestID(ctx context.Context, route string, threshold int) string {
	info := activity.GetInfo(ctx)
	h := sha256.Sum256([]byte(fmt.Sprintf("%s\x00%s\x00%s\x00%d", info.WorkflowExecution.ID, info.WorkflowExecution.RunID, route, threshold)))
	return hex.EncodeToString(h[:16])
}

// NotifyClaim records the digests a route has to send at AsOf (one per
// threshold), with their resources and pending sends, each in one
// transaction. Resources another digest already carries for the threshold
// are left out: two runs at once never send a resource twice.
func (n *Notifier) NotifyClaim(ctx context.Context, in contract.ClaimInput) ([]contract.ClaimedDigest, error) {
	defer keepAlive(ctx, nil)()
	cfg, err := n.config()
	if err != nil {
		return nil, err
	}
	route := cfg.Route(in.Route)
	if route == nil {
		return nil, temporal.NewNonRetryableApplicationError(fmt.Sprintf("route %q is no longer in the routes file", in.Route), string(notify.ClassConfig), nil)
	}
	account := n.account(in.AccountID)
	var out []contract.ClaimedDigest
	var done []int
	for _, t := range route.Thresholds { // an earlier attempt's claims
		d, _, err := n.Store.GetDigest(ctx, digestID(ctx, route.Name, t))
		if err == nil {
			out = append(out, contract.ClaimedDigest{DigestID: d.ID, Threshold: t, Resources: d.Resources, Channels: channelRefs(cfg, route)})
			done = append(done, t)
		}
	}
	pending, err := n.pending(ctx, cfg, account, in.AsOf, []string{route.Name})
	if err != nil {
		return nil, err
	}
	for _, p := range pending {
		if slices.Contains(done, p.Threshold) {
			continue
		}
		c := store.DigestClaim{
			Digest: store.NotificationDigest{ID: digestID(ctx, route.Name, p.Threshold), AccountID: account, Route: route.Name,
				ThresholdDays: p.Threshold, Language: route.Language, AsOf: in.AsOf, WorkflowID: activity.GetInfo(ctx).WorkflowExecution.ID},
			Resources: p.Keys(),
		}
		for _, name := range route.Channels {
			ch := cfg.Channels[name]
			c.Sends = append(c.Sends, store.NotificationSend{Channel: name, ChannelType: ch.Type, Recipient: ch.Recipient()})
		}
		claimed, err := n.Store.ClaimDigest(ctx, c)
		if err != nil {
			return nil, databaseError("recording the digest", err)
		}
		if claimed > 0 {
			out = append(out, contract.ClaimedDigest{DigestID: c.Digest.ID, Threshold: p.Threshold, Resources: claimed, Channels: channelRefs(cfg, route)})
		}
	}
	slices.SortFunc(out, func(a, b contract.ClaimedDigest) int { return a.Threshold - b.Threshold })
	return out, nil
}

func channelRefs(cfg *notify.Config, r *notify.Route) []contract.ChannelRef {
	out := make([]contract.ChannelRef, len(r.Channels))
	for i, name := range r.Channels {
		out[i] = contract.ChannelRef{Name: name, Type: cfg.Channels[name].Type}
	}
	return out
}

// deliveryID names one digest's delivery on one channel, the same on every
// attempt (the webhook-id header, the mail's Message-ID).
func deliveryID(digestID, channel string) string {
	h := sha256.Sum256([]byte(channel))
	return digestID + "-" + hex.EncodeToString(h[:4])
}

// NotifySend sends a digest on one channel at most once. The digest is
// built here from the database. The send is marked "sending" before the
// request goes out: an attempt that finds it still "sending" follows a
// worker that died mid-send, and marks it unconfirmed instead of sending
// again. A failure known not to have reached the platform is put back to
// pending and retried per its class.
func (n *Notifier) NotifySend(ctx context.Context, in contract.SendInput) (contract.SendOutcome, error) {
	defer keepAlive(ctx, nil)()
	out := contract.SendOutcome{Channel: in.Channel}
	cfg, err := n.config()
	if err != nil {
		return out, err
	}
	ch := cfg.Channels[in.Channel]
	if ch == nil {
		return out, temporal.NewNonRetryableApplicationError(fmt.Sprintf("channel %q is no longer in the routes file", in.Channel), string(notify.ClassConfig), nil)
	}
	out.Type, out.Recipient = ch.Type, ch.Recipient()
	d, _, err := n.Store.GetDigest(ctx, in.DigestID)
	if err != nil {
		return out, databaseError("reading digest "+in.DigestID, err)
	}
	rows, err := n.Store.DigestResources(ctx, d)
	if err != nil {
		return out, databaseError("reading the resources of digest "+in.DigestID, err)
	}
	found, err := n.Store.BeginSend(ctx, in.DigestID, in.Channel)
	if err != nil {
		return out, databaseError("starting the send", err)
	}
	switch found {
	case store.SendPending:
	case store.SendSending:
		msg := "a worker stopped while this message was being sent: it may have arrived, so it is not sent again"
		return out, n.endSend(ctx, in, store.SendUnconfirmed, &notify.SendError{Class: notify.ClassUncertain, Msg: msg})
	case store.SendSent, store.SendObsolete:
		out.Status = found
		return out, nil
	default:
		return out, temporal.NewNonRetryableApplicationError("the send already ended: "+found, string(notify.ClassRejected), nil)
	}
	if len(rows) == 0 {
		out.Status = store.SendObsolete
		return out, n.endSend(ctx, in, store.SendObsolete, nil)
	}
	dg := notify.Digest{Account: d.AccountID, Route: d.Route, Threshold: d.ThresholdDays, Language: d.Language, AsOf: d.AsOf}
	for _, r := range rows {
		dg.Items = append(dg.Items, notify.NewItem(r, cfg.Owner(r.Tags), d.AsOf))
	}
	sendErr := ch.Send(ctx, notify.Message{ID: deliveryID(d.ID, in.Channel), Digest: dg})
	if sendErr == nil {
		out.Status = store.SendSent
		return out, n.endSend(ctx, in, store.SendSent, nil)
	}
	var se *notify.SendError
	if !errors.As(sendErr, &se) {
		se = &notify.SendError{Class: notify.ClassUncertain, Msg: sendErr.Error()}
	}
	switch {
	case se.Retryable():
		return out, n.endSend(ctx, in, store.SendPending, se)
	case se.Class == notify.ClassUncertain:
		return out, n.endSend(ctx, in, store.SendUnconfirmed, se)
	}
	return out, n.endSend(ctx, in, store.SendFailed, se)
}

// endSend records a send's status and turns a send error into the
// activity's error, typed by its class for the retry policy.
func (n *Notifier) endSend(ctx context.Context, in contract.SendInput, status string, se *notify.SendError) error {
	msg := ""
	if se != nil {
		msg = se.Msg
	}
	if err := n.Store.EndSend(ctx, in.DigestID, in.Channel, status, msg); err != nil {
		return databaseError("recording the send", err)
	}
	if se == nil {
		return nil
	}
	return temporal.NewApplicationErrorWithOptions(se.Msg, string(se.Class), temporal.ApplicationErrorOptions{
		NonRetryable: !se.Retryable(), NextRetryDelay: se.RetryAfter,
	})
}

// NotifySettle closes a digest: sends still pending were given up, and a
// digest no channel delivered releases its resources for a later run.
func (n *Notifier) NotifySettle(ctx context.Context, in contract.SettleInput) (contract.DigestOutcome, error) {
	defer keepAlive(ctx, nil)()
	reason := in.Reason
	if reason == "" {
		reason = "given up"
	}
	sends, released, err := n.Store.SettleDigest(ctx, in.DigestID, reason)
	if err != nil {
		return contract.DigestOutcome{}, databaseError("settling digest "+in.DigestID, err)
	}
	d, _, err := n.Store.GetDigest(ctx, in.DigestID)
	if err != nil {
		return contract.DigestOutcome{}, databaseError("reading digest "+in.DigestID, err)
	}
	out := contract.DigestOutcome{DigestID: d.ID, Threshold: d.ThresholdDays, Resources: d.Resources, Released: released}
	for _, s := range sends {
		out.Sends = append(out.Sends, contract.SendOutcome{Channel: s.Channel, Type: s.ChannelType, Recipient: s.Recipient, Status: s.Status, Attempts: s.Attempts, Error: s.ErrorMessage})
	}
	return out, nil
}

// NotifyTestSend sends one test message on each channel of a route, once,
// and says how each went. Nothing is recorded.
func (n *Notifier) NotifyTestSend(ctx context.Context, in contract.TestInput) ([]contract.SendOutcome, error) {
	defer keepAlive(ctx, nil)()
	cfg, err := n.config()
	if err != nil {
		return nil, err
	}
	route := cfg.Route(in.Route)
	if route == nil {
		return nil, temporal.NewNonRetryableApplicationError(fmt.Sprintf("route %q is not in the routes file: allowed %s", in.Route, strings.Join(cfg.RouteNames(), ", ")), contract.ErrTypeInvalidInput, nil)
	}
	info := activity.GetInfo(ctx)
	var out []contract.SendOutcome
	for _, name := range route.Channels {
		ch := cfg.Channels[name]
		d := notify.Digest{Account: n.AccountID, Route: route.Name, Language: route.Language, AsOf: time.Now().UTC(), Test: true}
		o := contract.SendOutcome{Channel: name, Type: ch.Type, Recipient: ch.Recipient(), Status: store.SendSent, Attempts: 1}
		if err := ch.Send(ctx, notify.Message{ID: deliveryID("test-"+info.WorkflowExecution.RunID, name), Digest: d}); err != nil {
			o.Status, o.Error = store.SendFailed, err.Error()
		}
		out = append(out, o)
	}
	return out, nil
}
