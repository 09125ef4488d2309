package activities

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"

	"expiry-sync/internal/contract"
	"expiry-sync/internal/metrics"
	"expiry-sync/internal/notify"
	"expiry-sync/internal/store"
)

// Telling a renewal notice: a few attempts within the activity, never a
// long wait (the workflow records the outcomes; it does not retry them).
const (
	// renewNotifyAttempts: attempts of one channel's message, when its
	// failure may heal (rate limited, unavailable, a webhook's or mail's
	// lost answer: sent again with the same id).
	renewNotifyAttempts = 3
	// renewNotifyWaitMax: the longest wait before another attempt; a
	// platform asking for longer gets the failure.
	renewNotifyWaitMax = 30 * time.Second
	// renewNotifyPaceMax: the longest wait for the robot's turn (its pace,
	// or a platform's block after a throttle).
	renewNotifyPaceMax = 2 * time.Minute
)

// RenewNotify tells a renewal request at a resting point (ordered and
// unpaid, or closed) to the channels of the routes whose owners own its
// resources: the owner tag of each resource, as the inventory stores it,
// picks its route as the reminders do (Config.Owner, Config.RouteFor; an
// unowned resource, or one the inventory does not hold, goes to the
// default route). Each channel gets one message, once even when several
// of those routes name it, in the language and time zone of the first of
// them in the routes file, its id the same for the same request, state
// and channel (a webhook's webhook-id, a mail's Message-ID), so that a
// retried activity sends the same id again. One outcome per channel; a
// channel's failure is in its outcome, not the activity's. No routes file
// configured: nothing to tell (nil). A routes file that cannot be read
// fails the activity for good (NotifyConfig).
func (n *Notifier) RenewNotify(ctx context.Context, st contract.RenewState) ([]contract.SendOutcome, error) {
	defer keepAlive(ctx, nil)()
	if n.ConfigFile == "" {
		return nil, nil
	}
	cfg, err := n.config()
	if err != nil {
		return nil, err
	}
	ids := st.AllResourceIDs()
	owners, err := n.renewalOwners(ctx, cfg, st.Account, ids)
	if err != nil {
		return nil, err
	}
	// Each resource to its route, each channel of those routes once: with
	// the first route naming it and the resources of all of them.
	byRoute := map[string][]string{}
	for _, id := range ids {
		r := cfg.RouteFor(owners[id])
		byRoute[r.Name] = append(byRoute[r.Name], id)
	}
	type target struct {
		route *notify.Route
		ids   []string
	}
	var order []string
	targets := map[string]*target{}
	for _, r := range cfg.Routes {
		if len(byRoute[r.Name]) == 0 {
			continue
		}
		for _, name := range r.Channels {
			t := targets[name]
			if t == nil {
				t = &target{route: r}
				targets[name] = t
				order = append(order, name)
			}
			for _, id := range byRoute[r.Name] {
				if !slices.Contains(t.ids, id) {
					t.ids = append(t.ids, id)
				}
			}
		}
	}
	asOf := st.UpdatedAt
	if asOf.IsZero() {
		asOf = time.Now()
	}
	key := renewalNoticeKey(st)
	out := make([]contract.SendOutcome, 0, len(order))
	for _, name := range order {
		t := targets[name]
		notice := &notify.RenewalNotice{RenewState: st, Owners: owners, RouteResources: t.ids}
		d := notify.Digest{
			Account:  st.Account,
			Route:    t.route.Name,
			Language: t.route.Language,
			AsOf:     asOf.UTC(),
			Renewal:  notice,
		}
		o := n.tellChannel(ctx, cfg, cfg.Channels[name], notify.Message{ID: deliveryID(key, name, 1), Digest: d})
		if err := ctx.Err(); err != nil {
			return out, err // canceled or timed out: the workflow decides
		}
		out = append(out, o)
	}
	return out, nil
}

// renewalOwners reads the owner of each resource from its stored tags
// (the account's rows); a resource not stored has none.
func (n *Notifier) renewalOwners(
	ctx context.Context,
	cfg *notify.Config,
	account string,
	ids []string,
) (map[string]string, error) {
	owners := map[string]string{}
	domainID, ok := n.Accounts[account]
	if !ok {
		id, err := n.Store.AccountDomainID(ctx, account)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return owners, nil // nothing stored: every resource unowned
		case err != nil:
			return nil, databaseError("finding the account of the renewal", err)
		}
		domainID = id
	}
	tags, err := n.Store.ResourceTags(ctx, domainID, ids)
	if err != nil {
		return nil, databaseError("reading the tags of the renewal's resources", err)
	}
	for id, t := range tags {
		if o := cfg.Owner(t); o != "" {
			owners[id] = o
		}
	}
	return owners, nil
}

// renewalNoticeKey names the notice of a request in a state: the same on
// every attempt, another for its next resting point.
func renewalNoticeKey(st contract.RenewState) string {
	h := sha256.Sum256([]byte(st.RequestID + "\x00" + st.State))
	return "renewal-" + hex.EncodeToString(h[:12])
}

// tellChannel sends one notice on one channel, paced by the robot's
// documented rate as reminders are, and says how it went. Its error text
// holds no secret (SendError never does).
func (n *Notifier) tellChannel(
	ctx context.Context,
	cfg *notify.Config,
	ch *notify.Channel,
	m notify.Message,
) contract.SendOutcome {
	o := contract.SendOutcome{Channel: ch.Name, Type: ch.Type, Recipient: ch.Recipient(), Parts: 1}
	s := &send{n: n, cfg: cfg, ch: ch}
	backoff := 2 * time.Second
	for attempt := 1; ; attempt++ {
		o.Attempts = attempt
		if err := n.renewalPace(ctx, s); err != nil {
			o.Status, o.Error = contract.SendFailed, err.Error()
			return o
		}
		err := ch.Send(ctx, m)
		if err == nil {
			n.Metrics.NotifySend(ch.Type, metrics.NotifySent)
			o.Status, o.PartsSent = contract.SendSent, 1
			return o
		}
		se, v := s.judge(ctx, err)
		wait, sleep := backoff, true // retried, or resent with the same id
		switch v {
		case verdictThrottled:
			// A paced robot's next turn waits the block out.
			wait, sleep = se.RetryAfter, ch.Pace().PerSecond == 0
		case verdictUnconfirmed:
			o.Status, o.Error = contract.SendUnconfirmed, se.Msg
			return o
		case verdictFailed:
			o.Status, o.Error = contract.SendFailed, se.Msg
			return o
		}
		if attempt >= renewNotifyAttempts || wait > renewNotifyWaitMax {
			o.Status, o.Error = contract.SendFailed, fmt.Sprintf("%s (after %d attempt(s))", se.Msg, attempt)
			return o
		}
		backoff *= 2
		if !sleep {
			continue
		}
		select {
		case <-ctx.Done():
			o.Status, o.Error = contract.SendFailed, se.Msg
			return o
		case <-time.After(wait):
		}
	}
}

// renewalPace waits for the robot's turn, at most renewNotifyPaceMax.
func (n *Notifier) renewalPace(ctx context.Context, s *send) error {
	pctx, cancel := context.WithTimeout(ctx, renewNotifyPaceMax)
	defer cancel()
	err := s.pace(pctx)
	if err != nil && ctx.Err() == nil && pctx.Err() != nil {
		return fmt.Errorf(
			"channel %s (%s): the robot's pace (or its platform's block) holds it for more than %s: not sent",
			s.ch.Name,
			s.ch.Type,
			renewNotifyPaceMax,
		)
	}
	return err
}
