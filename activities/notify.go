package activities

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"expiry-sync/internal/contract"
	"expiry-sync/internal/metrics"
	"expiry-sync/internal/notify"
	"expiry-sync/internal/store"
)

// Notifier holds the renewal reminders' activities: everything they read
// comes from the database and the routes file, so that only ids, names and
// counts cross the workflow's history. Secrets are read when a send needs
// them and never leave the activity.
type Notifier struct {
	Store *store.Store
	// Accounts: the worker's accounts, by name (the accounts file's, or
	// "default"), each to its Huawei domain id, which keys the rows.
	Accounts map[string]string
	// ConfigFile is the routes file; "" turns reminders off.
	ConfigFile string
	// RunRunning tells whether a reminders run still runs (Temporal), so
	// that the digests of a run that ended without settling them (it was
	// terminated) are settled by the next run; nil: only after sweepAfter.
	RunRunning store.HolderRunning
	Metrics    *metrics.Recorder // nil: no metrics
}

// sweepAfter: a digest left unsettled this long is settled whatever
// Temporal says (its sends give up after a day).
const sweepAfter = 26 * time.Hour

func (n *Notifier) config() (*notify.Config, error) {
	if n.ConfigFile == "" {
		return nil, temporal.NewNonRetryableApplicationError(
			"reminders are not configured: set "+notify.ConfigEnv+" on the worker",
			contract.ErrTypeNotifyOff,
			nil,
		)
	}
	c, err := notify.Load(n.ConfigFile)
	if err != nil {
		return nil, temporal.NewNonRetryableApplicationError(err.Error(), string(notify.ClassConfig), nil)
	}
	return c, nil
}

// account resolves the account an input names: by name; else by domain
// id (inputs recorded before names); else the default account. ok is false
// when the input names none and the worker has no default account: every
// account is then reminded, each on its own.
func (n *Notifier) account(name, domainID string) (contract.NotifyAccount, bool, error) {
	switch {
	case name != "":
		if id, found := n.Accounts[name]; found {
			return contract.NotifyAccount{Name: name, DomainID: id}, true, nil
		}
		return contract.NotifyAccount{}, false, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf(
				"account %q is not served by this worker: allowed %s",
				name,
				strings.Join(n.accountNames(), ", "),
			),
			contract.ErrTypeInvalidInput,
			nil,
		)
	case domainID != "":
		for nm, id := range n.Accounts {
			if id == domainID {
				return contract.NotifyAccount{Name: nm, DomainID: id}, true, nil
			}
		}
		return contract.NotifyAccount{Name: domainID, DomainID: domainID}, true, nil
	}
	if id, found := n.Accounts[contract.DefaultAccount]; found {
		return contract.NotifyAccount{Name: contract.DefaultAccount, DomainID: id}, true, nil
	}
	return contract.NotifyAccount{}, false, nil
}

func (n *Notifier) accountNames() []string {
	names := make([]string, 0, len(n.Accounts))
	for nm := range n.Accounts {
		names = append(names, nm)
	}
	slices.Sort(names)
	return names
}

// accountName is the name of a domain id (itself when none is known).
func (n *Notifier) accountName(domainID string) string {
	for nm, id := range n.Accounts {
		if id == domainID {
			return nm
		}
	}
	return domainID
}

// contract.NotifyPlan works out what each route has to send at AsOf, without
// recording anything.
func (n *Notifier) NotifyPlan(ctx context.Context, in contract.PlanInput) (contract.NotifyPlan, error) {
	defer keepAlive(ctx, nil)()
	var plan contract.NotifyPlan
	if in.AllAccounts {
		plan.Configured, plan.Accounts = n.ConfigFile != "", n.accountNames()
		return plan, nil
	}
	acc, ok, err := n.account(in.Account, in.AccountID)
	if err != nil {
		return plan, err
	}
	plan.Account, plan.AccountID = acc.Name, acc.DomainID
	if n.ConfigFile == "" {
		return plan, nil
	}
	if !ok { // no account named, no default: each account on its own
		plan.Configured, plan.Accounts = true, n.accountNames()
		return plan, nil
	}
	cfg, err := n.config()
	if err != nil {
		return plan, err
	}
	for _, r := range in.Routes {
		if cfg.Route(r) == nil {
			return plan, temporal.NewNonRetryableApplicationError(
				fmt.Sprintf("route %q is not in the routes file: allowed %s", r, strings.Join(cfg.RouteNames(), ", ")),
				contract.ErrTypeInvalidInput,
				nil,
			)
		}
	}
	plan.Configured = true
	if in.AfterSync && !cfg.SendsAfterSync() {
		plan.Skipped = "the routes file says after_sync: false: reminders go out on their schedule only"
		return plan, nil
	}
	// What runs that ended without settling still hold is released first,
	// or it would not be planned at all.
	if err := n.sweep(ctx, cfg, plan.AccountID); err != nil {
		return plan, err
	}
	pending, err := n.pending(ctx, cfg, plan.AccountID, in.AsOf, in.Routes)
	if err != nil {
		return plan, err
	}
	if len(in.Routes) == 0 { // every route: the account's whole due
		n.Metrics.NotifyDueUndelivered(n.accountName(plan.AccountID), undelivered(pending, in.AsOf))
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
		last.Thresholds = append(
			last.Thresholds,
			contract.PlannedThreshold{Threshold: p.Threshold, Resources: len(p.Items)},
		)
	}
	return n.planOwed(ctx, cfg, plan, in)
}

// planOwed adds the routes with nothing new due that owe a message on a
// webhook or e-mail (adoptOwed sends them).
func (n *Notifier) planOwed(
	ctx context.Context,
	cfg *notify.Config,
	plan contract.NotifyPlan,
	in contract.PlanInput,
) (contract.NotifyPlan, error) {
	for _, name := range cfg.RouteNames() {
		if (len(in.Routes) > 0 && !slices.Contains(in.Routes, name)) ||
			slices.ContainsFunc(plan.Routes, func(p contract.PlannedRoute) bool { return p.Route == name }) {
			continue
		}
		owed, err := n.Store.OwedDigests(ctx, plan.AccountID, name, "")
		if err != nil {
			return plan, databaseError("reading the messages owed", err)
		}
		if len(owed) > 0 {
			pr := contract.PlannedRoute{Route: name}
			if until := cfg.Route(name).QuietHours.Until(in.AsOf); !until.IsZero() {
				pr.QuietUntil = &until
			}
			plan.Routes = append(plan.Routes, pr)
		}
	}
	return plan, nil
}

// pending reads the candidates and what was sent, and plans.
func (n *Notifier) pending(
	ctx context.Context,
	cfg *notify.Config,
	account string,
	asOf time.Time,
	routes []string,
) ([]notify.Pending, error) {
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
	h := sha256.Sum256([]byte(fmt.Sprintf(
		"%s\x00%s\x00%s\x00%d",
		info.WorkflowExecution.ID,
		info.WorkflowExecution.RunID,
		route,
		threshold,
	)))
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
		return nil, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("route %q is no longer in the routes file", in.Route),
			string(notify.ClassConfig),
			nil,
		)
	}
	account := in.AccountID
	if err := n.sweep(ctx, cfg, account); err != nil {
		return nil, err
	}
	out, err := n.adoptOwed(ctx, cfg, account, route.Name)
	if err != nil {
		return nil, err
	}
	var done []int
	for _, t := range route.Thresholds { // an earlier attempt's claims
		d, sends, err := n.Store.GetDigest(ctx, digestID(ctx, route.Name, t))
		if err == nil {
			var names []string
			for _, snd := range sends {
				names = append(names, snd.Channel)
			}
			out = append(out, contract.ClaimedDigest{
				DigestID:  d.ID,
				Threshold: t,
				Resources: d.Resources,
				Channels:  channelRefs(cfg, names),
			})
			done = append(done, t)
		}
	}
	pending, err := n.pending(ctx, cfg, account, in.AsOf, []string{route.Name})
	if err != nil {
		return nil, err
	}
	info := activity.GetInfo(ctx)
	for _, p := range pending {
		if slices.Contains(done, p.Threshold) {
			continue
		}
		c := store.DigestClaim{
			Digest: store.NotificationDigest{
				ID:            digestID(ctx, route.Name, p.Threshold),
				AccountID:     account,
				Route:         route.Name,
				ThresholdDays: p.Threshold,
				Language:      route.Language,
				AsOf:          in.AsOf,
				WorkflowID:    info.WorkflowExecution.ID,
				RunID:         info.WorkflowExecution.RunID,
			},
			Items: p.Claims(),
		}
		for _, name := range route.Channels {
			ch := cfg.Channels[name]
			c.Sends = append(
				c.Sends,
				store.NotificationSend{Channel: name, ChannelType: ch.Type, Recipient: ch.Recipient()},
			)
		}
		claimed, channels, err := n.Store.ClaimDigest(ctx, c)
		if err != nil {
			return nil, databaseError("recording the digest", err)
		}
		if claimed > 0 {
			out = append(out, contract.ClaimedDigest{
				DigestID:  c.Digest.ID,
				Threshold: p.Threshold,
				Resources: claimed,
				Channels:  channelRefs(cfg, channels),
			})
		}
	}
	slices.SortFunc(out, func(a, b contract.ClaimedDigest) int { return a.Threshold - b.Threshold })
	return out, nil
}

// adoptOwed takes over the route's messages owed on webhooks and e-mail:
// those of settled digests whose answer never came (a run canceled or
// terminated mid-send). They are sent again under their digest, so with
// the same id: at least once, and a receiver can drop the duplicate.
func (n *Notifier) adoptOwed(
	ctx context.Context,
	cfg *notify.Config,
	account, route string,
) ([]contract.ClaimedDigest, error) {
	self := activity.GetInfo(ctx).WorkflowExecution
	owed, err := n.Store.OwedDigests(ctx, account, route, self.RunID)
	if err != nil {
		return nil, databaseError("reading the messages owed", err)
	}
	var out []contract.ClaimedDigest
	for _, d := range owed {
		channels, err := n.Store.AdoptOwed(ctx, d.ID, self.ID, self.RunID)
		if err != nil {
			return nil, databaseError("adopting digest "+d.ID, err)
		}
		if len(channels) > 0 {
			out = append(out, contract.ClaimedDigest{
				DigestID:  d.ID,
				Threshold: d.ThresholdDays,
				Resources: d.Resources,
				Channels:  channelRefs(cfg, channels),
			})
		}
	}
	return out, nil
}

// resendChannels are the channels sent at least once: a message whose
// answer was lost is sent again with its id, never given up as
// unconfirmed.
func resendChannels(cfg *notify.Config) []string {
	var out []string
	for _, name := range cfg.ChannelNames() {
		if !cfg.Channels[name].AtMostOnce() {
			out = append(out, name)
		}
	}
	return out
}

func channelRefs(cfg *notify.Config, names []string) []contract.ChannelRef {
	out := make([]contract.ChannelRef, len(names))
	for i, name := range names {
		out[i] = contract.ChannelRef{Name: name}
		if ch := cfg.Channels[name]; ch != nil {
			out[i].Type = ch.Type
		}
	}
	return out
}

// sweep settles the digests of the account's runs that ended without
// settling them (a terminated run), so that what they claimed and never
// sent is released. A run Temporal says still runs keeps its digests,
// unless they are older than sweepAfter.
func (n *Notifier) sweep(ctx context.Context, cfg *notify.Config, account string) error {
	self := activity.GetInfo(ctx).WorkflowExecution
	stale, err := n.Store.UnsettledDigests(ctx, account, time.Now(), 100)
	if err != nil {
		return databaseError("reading unsettled digests", err)
	}
	for _, d := range stale {
		if d.WorkflowID == self.ID && d.RunID == self.RunID {
			continue
		}
		if time.Since(d.CreatedAt) < sweepAfter {
			if n.RunRunning == nil {
				continue
			}
			if running, err := n.RunRunning(ctx, d.WorkflowID); err != nil || running {
				continue // unknown or running: left for later
			}
		}
		res, err := n.Store.SettleDigest(ctx, d.ID, "its run ended before sending it", resendChannels(cfg))
		if err != nil {
			return databaseError("settling digest "+d.ID, err)
		}
		n.countUnconfirmed(cfg, res)
	}
	return nil
}

// deliveryID names one message of a digest on one channel, the same on
// every attempt (the webhook-id header, the mail's Message-ID).
func deliveryID(digestID, channel string, part int) string {
	h := sha256.Sum256([]byte(channel))
	return fmt.Sprintf("%s-%s-%d", digestID, hex.EncodeToString(h[:4]), part)
}

// NotifySend sends a digest on one channel, as the messages the
// channel's limits split it into, each paced by the robot's documented
// rate. A resource is marked sent only once the platform accepted a
// message naming it. Each message is marked "sending" before its request
// goes out: an attempt that finds one still "sending" follows a worker
// that died mid-send. On a chat robot it is then unconfirmed and never
// sent again (at most once); a webhook or a mail is sent again with the
// same id (at least once, the receiver drops the duplicate). A failure
// known not to have reached the platform puts the message back to pending
// and is retried per its class.
func (n *Notifier) NotifySend(ctx context.Context, in contract.SendInput) (contract.SendOutcome, error) {
	defer keepAlive(ctx, nil)()
	out := contract.SendOutcome{Channel: in.Channel}
	cfg, err := n.config()
	if err != nil {
		return out, err
	}
	ch := cfg.Channels[in.Channel]
	if ch == nil {
		return out, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("channel %q is no longer in the routes file", in.Channel),
			string(notify.ClassConfig),
			nil,
		)
	}
	out.Type, out.Recipient = ch.Type, ch.Recipient()
	d, _, err := n.Store.GetDigest(ctx, in.DigestID)
	if err != nil {
		return out, databaseError("reading digest "+in.DigestID, err)
	}
	found, err := n.Store.BeginSend(ctx, in.DigestID, in.Channel)
	if err != nil {
		return out, databaseError("starting the send", err)
	}
	if found != contract.SendPending && found != contract.SendSending {
		out.Status = found // settled
		return out, nil
	}
	s := &send{n: n, cfg: cfg, ch: ch, digest: d, in: in}
	if err := s.run(ctx); err != nil {
		return out, err
	}
	out.Status, out.Parts, out.PartsSent, out.Unconfirmed, err = s.finish(ctx, "")
	return out, err
}

// send is one attempt of a digest's send on a channel.
type send struct {
	n      *Notifier
	cfg    *notify.Config
	ch     *notify.Channel
	digest store.NotificationDigest
	in     contract.SendInput
}

// run splits what is not split yet, then sends every message still owed.
func (s *send) run(ctx context.Context) error {
	items, err := s.n.Store.SendItems(ctx, s.digest, s.in.Channel)
	if err != nil {
		return databaseError("reading the resources of digest "+s.in.DigestID, err)
	}
	if err := s.split(ctx, items); err != nil {
		return err
	}
	if items, err = s.n.Store.SendItems(ctx, s.digest, s.in.Channel); err != nil {
		return databaseError("reading the resources of digest "+s.in.DigestID, err)
	}
	parts := map[int][]store.SendItem{}
	var order []int
	for _, it := range items {
		if it.Part > 0 && (it.Status == contract.SendPending || it.Status == contract.SendSending) {
			if parts[it.Part] == nil {
				order = append(order, it.Part)
			}
			parts[it.Part] = append(parts[it.Part], it)
		}
	}
	slices.Sort(order)
	for _, p := range order {
		if err := s.sendPart(ctx, p, parts[p], len(order)+countSent(items)); err != nil {
			return err
		}
	}
	return nil
}

func countSent(items []store.SendItem) int {
	parts := map[int]bool{}
	for _, it := range items {
		if it.Status != contract.SendPending && it.Status != contract.SendSending {
			parts[it.Part] = true
		}
	}
	return len(parts)
}

// split numbers the messages of the resources not split yet; those no
// longer due are marked obsolete.
func (s *send) split(ctx context.Context, items []store.SendItem) error {
	last := 0
	var due []store.SendItem
	var obsolete []string
	for _, it := range items {
		last = max(last, it.Part)
		switch {
		case it.Part > 0 || it.Status != contract.SendPending:
		case it.Resource == nil:
			obsolete = append(obsolete, it.ResourceID)
		default:
			due = append(due, it)
		}
	}
	if len(due) == 0 && len(obsolete) == 0 {
		return nil
	}
	var ids [][]string
	if len(due) > 0 {
		for _, part := range s.ch.Parts(s.digestOf(due)) {
			var p []string
			for _, it := range part.Items {
				p = append(p, it.ResourceID)
			}
			ids = append(ids, p)
		}
	}
	if err := s.n.Store.SplitSend(ctx, s.in.DigestID, s.in.Channel, last+1, ids, obsolete); err != nil {
		return databaseError("splitting the digest into messages", err)
	}
	return nil
}

// digestOf is the digest naming items.
func (s *send) digestOf(items []store.SendItem) notify.Digest {
	d := s.digest
	dg := notify.Digest{
		Account:   s.n.accountName(d.AccountID),
		Route:     d.Route,
		Threshold: d.ThresholdDays,
		Language:  d.Language,
		AsOf:      d.AsOf,
	}
	for _, it := range items {
		dg.Items = append(dg.Items, notify.NewItem(*it.Resource, s.cfg.Owner(it.Resource.Tags), d.AsOf))
	}
	return dg
}

// sendPart sends one message: its resources go pending → sending before
// the request and sending → sent (or back, or on) after its answer.
func (s *send) sendPart(ctx context.Context, part int, items []store.SendItem, parts int) error {
	if items[0].Status == contract.SendSending { // a worker died while it was on its way
		if s.ch.AtMostOnce() {
			moved, err := s.move(ctx, part, contract.SendSending, contract.SendUnconfirmed)
			if moved > 0 {
				s.n.Metrics.NotifySend(s.ch.Type, metrics.NotifyUnconfirmed)
			}
			return err
		}
	} else if moved, err := s.move(ctx, part, contract.SendPending, contract.SendSending); err != nil || moved == 0 {
		return err // 0: another attempt took it
	}
	var due []store.SendItem
	var gone []string
	for _, it := range items {
		if it.Resource == nil {
			gone = append(gone, it.ResourceID)
		} else {
			due = append(due, it)
		}
	}
	if len(gone) > 0 { // renewed or released since the split
		if err := s.n.Store.MarkObsolete(ctx, s.in.DigestID, s.in.Channel, gone); err != nil {
			return databaseError("marking renewed resources", err)
		}
	}
	if len(due) == 0 {
		_, err := s.move(ctx, part, contract.SendSending, contract.SendObsolete)
		return err
	}
	if err := s.pace(ctx); err != nil {
		_, _ = s.move(ctx, part, contract.SendSending, contract.SendPending)
		return err
	}
	dg := s.digestOf(due)
	dg.Part, dg.Parts = part, parts
	sendErr := s.ch.Send(ctx, notify.Message{ID: deliveryID(s.in.DigestID, s.in.Channel, part), Digest: dg})
	return s.settlePart(ctx, part, sendErr)
}

// settlePart records a message's answer.
func (s *send) settlePart(ctx context.Context, part int, sendErr error) error {
	if sendErr == nil {
		s.n.Metrics.NotifySend(s.ch.Type, metrics.NotifySent)
		_, err := s.move(ctx, part, contract.SendSending, contract.SendSent)
		return err
	}
	se, v := s.judge(ctx, sendErr)
	switch v {
	case verdictThrottled, verdictRetry:
		return s.fail(ctx, part, contract.SendPending, se)
	case verdictUnconfirmed:
		_, err := s.move(ctx, part, contract.SendSending, contract.SendUnconfirmed)
		if err == nil {
			err = s.endSend(ctx, contract.SendSending, se.Msg)
		}
		return err // the next message goes on
	case verdictResend:
		return s.fail(
			ctx,
			part,
			contract.SendSending,
			&notify.SendError{Class: notify.ClassUnavailable, Msg: se.Msg + "; sent again with the same id"},
		)
	}
	return s.fail(ctx, part, contract.SendFailed, se)
}

// sendVerdict is what a failed send leads to, for reminders and notices
// alike.
type sendVerdict int

const (
	verdictThrottled   sendVerdict = iota // too many: wait out the platform's block
	verdictRetry                          // retryable: again after a backoff
	verdictResend                         // uncertain, at least once: again, with the same id
	verdictUnconfirmed                    // uncertain, at most once (a chat robot): never again
	verdictFailed                         // permanent
)

// judge classifies a send's error (an untyped one is uncertain), counts
// it, and pauses the robot on a rate limit.
func (s *send) judge(ctx context.Context, sendErr error) (*notify.SendError, sendVerdict) {
	var se *notify.SendError
	if !errors.As(sendErr, &se) {
		se = &notify.SendError{Class: notify.ClassUncertain, Msg: sendErr.Error()}
	}
	verdict, outcome := verdictFailed, metrics.NotifyFailed
	switch {
	case se.Class == notify.ClassRateLimited:
		verdict, outcome = verdictThrottled, metrics.NotifyThrottled
	case se.Retryable():
		verdict, outcome = verdictRetry, metrics.NotifyRetried
	case se.Class == notify.ClassUncertain && s.ch.AtMostOnce():
		verdict, outcome = verdictUnconfirmed, metrics.NotifyUnconfirmed
	case se.Class == notify.ClassUncertain:
		verdict, outcome = verdictResend, metrics.NotifyRetried
	}
	s.n.Metrics.NotifySend(s.ch.Type, outcome)
	if verdict == verdictThrottled {
		s.throttled(ctx, se.RetryAfter)
	}
	return se, verdict
}

// fail moves a message's resources to status and ends the attempt with
// the send's error, typed by its class for the retry policy.
func (s *send) fail(ctx context.Context, part int, status string, se *notify.SendError) error {
	if status != contract.SendSending {
		if _, err := s.move(ctx, part, contract.SendSending, status); err != nil {
			return err
		}
	}
	if err := s.endSend(ctx, contract.SendPending, se.Msg); err != nil {
		return err
	}
	return temporal.NewApplicationErrorWithOptions(se.Msg, string(se.Class), temporal.ApplicationErrorOptions{
		NonRetryable: !se.Retryable(), NextRetryDelay: se.RetryAfter,
	})
}

func (s *send) move(ctx context.Context, part int, from, to string) (int64, error) {
	moved, err := s.n.Store.MovePart(ctx, s.in.DigestID, s.in.Channel, part, from, to)
	if err != nil {
		return 0, databaseError("recording the send", err)
	}
	return moved, nil
}

// endSend records where the send stands; a settle that came first wins.
func (s *send) endSend(ctx context.Context, status, msg string) error {
	if _, err := s.n.Store.EndSend(ctx, s.in.DigestID, s.in.Channel, status, msg); err != nil {
		return databaseError("recording the send", err)
	}
	return nil
}

// finish records the send's status from its resources'.
func (s *send) finish(ctx context.Context, msg string) (status string, parts, sent, unconfirmed int, err error) {
	sum, err := s.n.Store.FinishSend(
		ctx,
		s.in.DigestID,
		s.in.Channel,
		msg,
		"a message got no answer: it may have arrived, so it is not sent again",
	)
	if err != nil {
		return "", 0, 0, 0, databaseError("recording the send", err)
	}
	return sum.Status, sum.Parts, sum.PartsSent, sum.Unconfirmed, nil
}

// robot is the rate limiter of the robot behind the channel, shared by
// every channel, account and worker that sends to it (rate_buckets); nil
// for a channel its platform does not pace.
func (s *send) robot() (*store.RateLimiter, error) {
	p := s.ch.Pace()
	if p.PerSecond == 0 {
		return nil, nil
	}
	key, err := s.ch.RobotKey()
	if err != nil {
		return nil, err
	}
	return store.NewRateLimiter(s.n.Store, key, map[string]float64{s.ch.Type: p.PerSecond}), nil
}

// pace waits for the robot's turn.
func (s *send) pace(ctx context.Context) error {
	l, err := s.robot()
	if l == nil || err != nil {
		return err
	}
	if err := l.Wait(ctx, s.ch.Type); err != nil {
		return databaseError("waiting for the robot's turn", err)
	}
	return nil
}

// throttled holds every sender to this robot back for the platform's
// block (or what it asked for).
func (s *send) throttled(ctx context.Context, d time.Duration) {
	if l, err := s.robot(); l != nil && err == nil {
		l.Pause(ctx, s.ch.Type, max(d, time.Second))
		s.n.Metrics.NotifyThrottled(s.ch.Type)
	}
}

// NotifySettle closes a digest: a message whose answer never came is
// unconfirmed, what was not sent or was refused is released for a later
// run. It runs even when the run was canceled (on a disconnected context).
func (n *Notifier) NotifySettle(ctx context.Context, in contract.SettleInput) (contract.DigestOutcome, error) {
	defer keepAlive(ctx, nil)()
	reason := in.Reason
	if reason == "" {
		reason = "given up"
	}
	cfg, cfgErr := n.config()
	var resend []string
	if cfgErr == nil {
		resend = resendChannels(cfg)
	}
	res, err := n.Store.SettleDigest(ctx, in.DigestID, reason, resend)
	if err != nil {
		return contract.DigestOutcome{}, databaseError("settling digest "+in.DigestID, err)
	}
	sends, released := res.Sends, res.Released
	d, _, err := n.Store.GetDigest(ctx, in.DigestID)
	if err != nil {
		return contract.DigestOutcome{}, databaseError("reading digest "+in.DigestID, err)
	}
	out := contract.DigestOutcome{
		DigestID:      d.ID,
		Threshold:     d.ThresholdDays,
		Resources:     d.Resources,
		Released:      released > 0,
		ReleasedItems: released,
	}
	for _, s := range sends {
		out.Sends = append(out.Sends, contract.SendOutcome{
			Channel:     s.Channel,
			Type:        s.ChannelType,
			Recipient:   s.Recipient,
			Status:      s.Status,
			Attempts:    s.Attempts,
			Error:       s.ErrorMessage,
			Parts:       s.Parts,
			PartsSent:   s.PartsSent,
			Unconfirmed: s.Unconfirmed,
		})
	}
	if cfgErr != nil { // the settle is done; only its metrics need the routes file
		activity.GetLogger(ctx).Warn("metrics: the settle's unconfirmed and undelivered reminders not counted",
			"error", cfgErr)
		return out, nil
	}
	n.countUnconfirmed(cfg, res)
	n.observeUndelivered(ctx, cfg, d.AccountID, d.AsOf)
	return out, nil
}

// countUnconfirmed counts the messages a settle gave up as unconfirmed.
func (n *Notifier) countUnconfirmed(cfg *notify.Config, res store.SettleResult) {
	for channel, parts := range res.Unconfirmed {
		if ch := cfg.Channels[channel]; ch != nil {
			for range parts {
				n.Metrics.NotifySend(ch.Type, metrics.NotifyUnconfirmed)
			}
		}
	}
}

// undelivered counts the reminders (a resource, threshold and channel)
// of pending, what no channel accepted or holds, leaving out the routes
// in their quiet hours at asOf: those wait, they are not late.
func undelivered(pending []notify.Pending, asOf time.Time) int {
	total := 0
	for _, p := range pending {
		if !p.Route.QuietHours.Until(asOf).IsZero() {
			continue
		}
		for _, it := range p.Items {
			total += len(it.Channels)
		}
	}
	return total
}

// observeUndelivered sets the account's due-undelivered gauge as a
// settle left it: what released, or never claimed, is still owed as of
// the run's instant. Metrics only: a failure is logged, never returned.
func (n *Notifier) observeUndelivered(ctx context.Context, cfg *notify.Config, account string, asOf time.Time) {
	if n.Metrics == nil {
		return
	}
	pending, err := n.pending(ctx, cfg, account, asOf, nil)
	if err != nil {
		activity.GetLogger(ctx).Warn("metrics: reminders due and undelivered not counted", "error", err)
		return
	}
	n.Metrics.NotifyDueUndelivered(n.accountName(account), undelivered(pending, asOf))
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
		return nil, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf(
				"route %q is not in the routes file: allowed %s",
				in.Route,
				strings.Join(cfg.RouteNames(), ", "),
			),
			contract.ErrTypeInvalidInput,
			nil,
		)
	}
	info := activity.GetInfo(ctx)
	var out []contract.SendOutcome
	for _, name := range route.Channels {
		ch := cfg.Channels[name]
		d := notify.Digest{
			Account:  strings.Join(n.accountNames(), ", "),
			Route:    route.Name,
			Language: route.Language,
			AsOf:     time.Now().UTC(),
			Test:     true,
		}
		o := contract.SendOutcome{
			Channel:   name,
			Type:      ch.Type,
			Recipient: ch.Recipient(),
			Status:    contract.SendSent,
			Attempts:  1,
		}
		msg := notify.Message{ID: deliveryID("test-"+info.WorkflowExecution.RunID, name, 1), Digest: d}
		if err := ch.Send(ctx, msg); err != nil {
			o.Status, o.Error = contract.SendFailed, err.Error()
		}
		out = append(out, o)
	}
	return out, nil
}
