package e2e

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"expiry-sync/internal/store"
	"expiry-sync/internal/testkit/hwsim"
	"expiry-sync/workflows"
)

// The reminders model: random sequences of reminder runs (clean, or with a
// fault: a robot throttle, a refusal, the worker killed before or while a
// request is on its way, the run canceled or terminated), renewals,
// releases and new resources in the cloud (each followed by a sync), and
// time moving on, on four channels: two chat robots (DingTalk, Slack: at
// most once), a webhook and e-mail (at least once). Each receiver checks
// what its platform checks (signature, size, rate limit). The model keeps its own truth: the
// simulator's resources, the as-of of each run, and what the receivers
// accepted. After every step:
//
//   - a chat robot is never told the same reminder twice (a resource, its
//     expire time, a threshold);
//   - a webhook or a mailbox gets a reminder again only with the same id
//     (webhook-id, Message-ID);
//   - every message names only resources due at its threshold at some
//     run's as-of, in the cloud at the time (never a renewed resource's old
//     expiry once synced, never a released one);
//   - no robot was sent to faster than its platform allows;
//
// and after every clean run, every resource due then was named on the
// webhook and by mail, and on each robot unless a run was interrupted
// while it may have been on its way (a kill that the run reported
// unconfirmed, a cancel, a termination): at most once means such a
// message may be lost, never sent twice.

// modelThresholds are the routes file's thresholds (0: overdue).
var modelThresholds = []int{30, 7, 1, 0}

type reminderKey struct {
	id        string
	expire    time.Time
	threshold int
}

type modelFault int

const (
	runClean modelFault = iota
	runThrottled
	runRefused
	runWorkerKilled
	runWorkerKilledMidSend
	runCanceled
	runTerminated
)

var faultNames = []string{"clean", "a robot throttles", "a channel refuses", "worker killed", "worker killed mid-send", "run canceled", "run terminated"}

// modelChannel is one channel of the route and the receiver behind it.
type modelChannel struct {
	name       string
	atMostOnce bool
	inbox      interface{ messages() []received }
	http       *receiver // nil: the mail relay
}

// reminderModel is the test's own truth.
type reminderModel struct {
	t        *testing.T
	s        *stack
	rng      *rand.Rand
	channels []modelChannel
	worker   *workerProcess

	base    time.Time                  // as-of of offset 0
	offset  time.Duration              // how far the as-of has moved on
	cloud   map[string]hwsim.Resource  // in the inventory's window at the last sync
	edge    map[string]bool            // within an hour of a window's edge: not checked
	everDue map[reminderKey]bool       // due at some run's as-of
	mayLose map[reminderKey]bool       // may have been on its way to a robot when a run was interrupted
	told    map[string][][]reminderKey // per channel, the reminders each accepted message named, read when it arrived
	step    int
	// forceHold: interrupt while a request to this channel is on its way,
	// the message lost with its sender when forceLose; forcedHeld tells it
	// happened.
	forceHold  *modelChannel
	forceLose  bool
	forcedHeld bool
}

func modelSeeds(t *testing.T) []uint64 {
	if v := os.Getenv("EXPIRY_SYNC_NOTIFY_MODEL_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		require.NoError(t, err, "EXPIRY_SYNC_NOTIFY_MODEL_SEED=%q: a number", v)
		return []uint64{n}
	}
	return []uint64{7, 23}
}

func TestRemindersModel(t *testing.T) {
	for _, seed := range modelSeeds(t) {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) { runReminderModel(t, seed, 14) })
	}
}

func runReminderModel(t *testing.T, seed uint64, steps int) {
	m := newReminderModel(t, seed)
	for m.step = 1; m.step <= steps; m.step++ {
		switch p := m.rng.IntN(10); {
		case p < 6:
			m.run(modelFault(m.rng.IntN(len(faultNames))))
		case p < 8:
			m.add()
		case p < 9:
			m.renew()
		default:
			m.release()
		}
	}
	m.run(runClean) // whatever came before, a clean run delivers what is owed
}

// TestEachInterruptionOnEachKindOfChannel drives the model through the
// interruptions the random sequences reach only by chance: the worker
// killed, the run canceled or terminated, while a request to a chat robot
// or the webhook is on its way, the message then lost with its sender or
// taken by the platform all the same. After each, a clean run; the model's
// invariants hold throughout (a robot told once, a webhook only again with
// the same id, every due resource delivered but what a robot may have
// lost).
func TestEachInterruptionOnEachKindOfChannel(t *testing.T) {
	m := newReminderModel(t, 5)
	for _, c := range []struct {
		fault   modelFault
		channel string
		lose    bool
	}{
		{runWorkerKilledMidSend, "robot", false}, {runWorkerKilledMidSend, "robot", true},
		{runWorkerKilledMidSend, "hook", false}, {runWorkerKilledMidSend, "hook", true},
		{runCanceled, "hook", true}, {runCanceled, "slack", false},
		{runTerminated, "hook", true}, {runTerminated, "robot", false},
	} {
		for _, ch := range m.channels {
			if ch.name == c.channel {
				m.forceHold, m.forceLose = &ch, c.lose
			}
		}
		m.step++
		m.add()
		m.step++
		m.forcedHeld = false
		m.run(c.fault)
		require.True(t, m.forcedHeld, "step %d: %s while a request to %s was on its way", m.step, faultNames[c.fault], c.channel)
		m.forceHold = nil
		m.step++
		m.run(runClean)
	}
}

func newReminderModel(t *testing.T, seed uint64) *reminderModel {
	hookSecret, robotSecret := "whsec_"+base64Of("model-"+randomToken()), "SEC"+randomToken()
	hook, robot, slack := newReceiver(t, "webhook", hookSecret), newReceiver(t, "dingtalk", robotSecret), newReceiver(t, "slack", "")
	relay := newMailServer(t)
	t.Setenv("T_HOOK_SECRET", hookSecret)
	t.Setenv("T_ROBOT_SECRET", robotSecret)
	t.Setenv("T_SMTP_PASSWORD", relay.password)
	writeRoutes(t, fmt.Sprintf(`
after_sync: false # the model starts every run
default_route: ops
language: en
thresholds: [30, 7, 1, overdue]
channels:
  hook: {type: webhook, url: %q, secret: "env:T_HOOK_SECRET"}
  robot: {type: dingtalk, url: %q, secret: "env:T_ROBOT_SECRET", max_items: 500, rate_limit_wait: 2s}
  slack: {type: slack, url: %q}
  mail: {type: email, smtp: {host: 127.0.0.1, port: %s, tls: starttls, username: %s, password: "env:T_SMTP_PASSWORD", from: "expiry-sync <noreply@example.com>", to: ["ops@example.com"], ca_file: %s}}
routes:
  - {name: ops, channels: [hook, robot, slack, mail]}
`, hook.url(), robot.url(), slack.url(), strings.Split(relay.addr, ":")[1], relay.user, relay.caFile))
	s := newStack(t, stackOptions{resources: 150, seed: int64(seed), workerProcess: true})
	m := &reminderModel{t: t, s: s, rng: rand.New(rand.NewPCG(seed, 1)), worker: s.startWorkerProcess(),
		channels: []modelChannel{
			{name: "hook", inbox: hook, http: hook}, {name: "robot", atMostOnce: true, inbox: robot, http: robot},
			{name: "slack", atMostOnce: true, inbox: slack, http: slack}, {name: "mail", inbox: relay},
		},
		base: time.Now().UTC().Truncate(time.Second), edge: map[string]bool{}, everDue: map[reminderKey]bool{}, mayLose: map[reminderKey]bool{}, told: map[string][][]reminderKey{}}
	m.sync()
	return m
}

// pick chooses one of the channels behind an HTTP receiver, chat robots
// only when robots is set.
func (m *reminderModel) pick(robots bool) modelChannel {
	var out []modelChannel
	for _, c := range m.channels {
		if c.http != nil && (!robots || c.atMostOnce) {
			out = append(out, c)
		}
	}
	return out[m.rng.IntN(len(out))]
}

// sync runs a sync and takes the cloud's truth in its window.
func (m *reminderModel) sync() {
	id := m.s.syncID("model-sync")
	_, err := m.s.runSync(id, workflows.SyncInput{ExpireDays: 40, LookbackDays: 20})
	require.NoError(m.t, err)
	log := m.s.syncLog(id)
	m.cloud = map[string]hwsim.Resource{}
	for rid, r := range m.s.expected(log) {
		m.cloud[rid] = r
		if r.ExpireTime.Sub(log.WindowBegin).Abs() < time.Hour || r.ExpireTime.Sub(log.WindowEnd).Abs() < time.Hour {
			m.edge[rid] = true
		}
	}
}

// due is what the model says is due at asOf, per resource: the tightest
// threshold it has reached.
func (m *reminderModel) due(asOf time.Time) map[string]reminderKey {
	out := map[string]reminderKey{}
	for rid, r := range m.cloud {
		if r.ExpirePolicy == 3 || m.edge[rid] {
			continue
		}
		if th := dueThreshold(r.ExpireTime, asOf, modelThresholds); th >= 0 {
			out[rid] = reminderKey{rid, r.ExpireTime, th}
		}
	}
	return out
}

// add buys a few resources expiring within 30 days of the as-of, then
// syncs: the next run has something new to send on every channel.
func (m *reminderModel) add() {
	from := m.asOf().Add(time.Hour)
	for range 5 { // some are not reminded (they renew automatically, or are closed)
		ids := m.s.sim.AddResourcesExpiring(1+m.rng.IntN(3), from, from.Add(29*24*time.Hour))
		m.t.Logf("step %d: add %v", m.step, ids)
		m.sync()
		due := m.due(m.asOf())
		if slices.ContainsFunc(ids, func(id string) bool { _, ok := due[id]; return ok }) {
			return
		}
	}
}

// renew renews a few due resources by 15 to 25 days, then syncs.
func (m *reminderModel) renew() {
	ids := m.someDue(1 + m.rng.IntN(3))
	by := time.Duration(15+m.rng.IntN(11)) * 24 * time.Hour
	m.t.Logf("step %d: renew %v by %v", m.step, ids, by)
	m.s.sim.Renew(ids, by)
	m.sync()
}

// release releases a few due resources, then syncs.
func (m *reminderModel) release() {
	ids := m.someDue(1 + m.rng.IntN(2))
	m.t.Logf("step %d: release %v", m.step, ids)
	m.s.sim.RemoveResources(ids...)
	m.sync()
}

func (m *reminderModel) someDue(n int) []string {
	var ids []string
	for rid := range m.due(m.asOf()) {
		ids = append(ids, rid)
	}
	slices.Sort(ids)
	m.rng.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
	return ids[:min(n, len(ids))]
}

func (m *reminderModel) asOf() time.Time { return m.base.Add(m.offset) }

// run moves time on by up to two days (at most 9 in all: the window
// reaches 40 days ahead, the loosest threshold 30) and runs the reminders
// with the fault, then checks.
func (m *reminderModel) run(f modelFault) {
	m.offset = min(m.offset+time.Duration(m.rng.IntN(49))*time.Hour, 9*24*time.Hour)
	asOf := m.asOf()
	due := m.due(asOf)
	for _, k := range due {
		m.everDue[k] = true
	}
	m.t.Logf("step %d: run at +%v (%d due), %s", m.step, m.offset, len(due), faultNames[f])

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	m.script(f)
	id := fmt.Sprintf("notify-model-%d-%s", m.step, m.s.cfg.Huawei.DomainID)
	run, err := m.s.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: m.s.cfg.Temporal.TaskQueue}, workflows.NotifyWorkflowName,
		workflows.NotifyInput{AccountID: m.s.cfg.Huawei.DomainID, AsOf: &asOf, IgnoreQuietHours: true})
	require.NoError(m.t, err)
	done := make(chan error, 1)
	var res workflows.NotifyResult
	go func() { done <- run.Get(ctx, &res) }()

	interrupted := m.interrupt(ctx, f, id, done)
	err = <-done
	for _, c := range m.channels {
		if c.http != nil {
			c.http.setScript(nil)
		}
	}
	m.quiet(f)
	switch {
	case f == runCanceled || f == runTerminated:
		// the run may have ended any way; what it had on its way may be lost on a robot
	default:
		require.NoError(m.t, err, "step %d", m.step)
	}
	if interrupted && (f == runCanceled || f == runTerminated || res.Unconfirmed > 0) {
		for _, k := range due {
			m.mayLose[k] = true
		}
	}
	if f != runCanceled && f != runTerminated && res.Unconfirmed > 0 && !interrupted {
		m.t.Errorf("step %d: %d unconfirmed sends without an interruption", m.step, res.Unconfirmed)
	}
	m.check(asOf, due, f == runClean)
}

// script makes a receiver answer its next request with a fault, as its
// platform does.
func (m *reminderModel) script(f modelFault) {
	if f != runThrottled && f != runRefused {
		return
	}
	c := m.pick(f == runThrottled)
	answers := map[string]func(w http.ResponseWriter){
		"throttle dingtalk": func(w http.ResponseWriter) {
			_, _ = io.WriteString(w, `{"errcode":130101,"errmsg":"send too fast, exceed 20 times per minute"}`)
		},
		"throttle slack": func(w http.ResponseWriter) {
			w.Header().Set("Retry-After", "1")
			http.Error(w, "rate_limited", http.StatusTooManyRequests)
		},
		"refuse dingtalk": func(w http.ResponseWriter) { _, _ = io.WriteString(w, `{"errcode":310000,"errmsg":"sign not match"}`) },
		"refuse slack":    func(w http.ResponseWriter) { http.Error(w, "channel_not_found", http.StatusNotFound) },
		"refuse webhook":  func(w http.ResponseWriter) { http.Error(w, "bad request", http.StatusBadRequest) },
	}
	answer := answers[map[modelFault]string{runThrottled: "throttle ", runRefused: "refuse "}[f]+c.http.kind]
	first := c.http.requestCount() + 1
	m.t.Logf("step %d: %s answers its next request with a fault", m.step, c.name)
	c.http.setScript(func(n int, w http.ResponseWriter) bool {
		if n == first {
			answer(w)
		}
		return n == first
	})
}

// interrupt kills the worker, or cancels or terminates the run, either at
// a random moment or while a request is on its way to a receiver; it
// reports whether it did before the run ended.
func (m *reminderModel) interrupt(ctx context.Context, f modelFault, id string, done chan error) bool {
	if f < runWorkerKilled {
		return false
	}
	act := func() {
		switch f {
		case runCanceled: // an error: it ended just before
			_ = m.s.client.CancelWorkflow(ctx, id, "")
		case runTerminated:
			_ = m.s.client.TerminateWorkflow(ctx, id, "", "model: terminated")
		default:
			m.worker.kill()
			m.worker = m.s.startWorkerProcess()
		}
	}
	if m.forceHold == nil && (f == runWorkerKilled || m.rng.IntN(4) == 0) { // at a random moment
		select {
		case <-time.After(time.Duration(200+m.rng.IntN(2500)) * time.Millisecond):
			act()
			return true
		case err := <-done:
			done <- err
			return false
		}
	}
	r := m.pick(false).http
	// Half the time the message is lost with its sender: the platform
	// never got all of it.
	lose := m.rng.IntN(2) == 0
	if m.forceHold != nil {
		r, lose = m.forceHold.http, m.forceLose
	}
	held, gone, release := r.holdNext(lose)
	defer release()
	select {
	case <-held:
		act()
		hungUp := false
		if lose {
			select { // a canceled or terminated send hangs up at its next heartbeat
			case <-gone():
				hungUp = true
			case <-time.After(30 * time.Second):
			}
		}
		m.t.Logf("step %d: %s: a request to %s was on its way (its sender hung up first: %v)", m.step, faultNames[f], r.kind, hungUp)
		m.forcedHeld = m.forceHold != nil && hungUp == lose
		return true
	case err := <-done:
		done <- err
		return false
	}
}

// quiet waits until no request has arrived for a while: after a cancel or
// a termination, a send activity learns of it only at its next heartbeat
// (the SDK sends them at most every 80% of the 15 s timeout).
func (m *reminderModel) quiet(f modelFault) {
	wait := 3 * time.Second
	if f == runCanceled || f == runTerminated {
		wait = 15 * time.Second
	}
	last, since := -1, time.Now()
	for time.Since(since) < wait {
		n := 0
		for _, c := range m.channels {
			n += len(c.inbox.messages())
			if c.http != nil {
				n += c.http.requestCount()
			}
		}
		if n != last {
			last, since = n, time.Now()
		}
		time.Sleep(200 * time.Millisecond)
	}
}

var (
	withinDays = regexp.MustCompile(`expire within (\d+) day`)
	overdue    = regexp.MustCompile(`have expired`)
)

// keysOf lists the reminders a message names, by the model's truth of the
// resources' expire times.
func (m *reminderModel) keysOf(msg received) []reminderKey {
	th := -1
	if g := withinDays.FindStringSubmatch(msg.Title); g != nil {
		th, _ = strconv.Atoi(g[1])
	} else if overdue.MatchString(msg.Title) {
		th = 0
	}
	require.GreaterOrEqual(m.t, th, 0, "a reminder's title names its threshold: %q", msg.Title)
	var out []reminderKey
	for _, r := range m.s.sim.Resources() {
		if strings.Contains(msg.Text, r.ResourceID) {
			out = append(out, reminderKey{r.ResourceID, r.ExpireTime, th})
		}
	}
	for rid := range m.everDueIDs() {
		if _, inCloud := m.s.sim.Lookup(rid); !inCloud && strings.Contains(msg.Text, rid) {
			out = append(out, reminderKey{rid, time.Time{}, th}) // released: due nowhere
		}
	}
	return out
}

func (m *reminderModel) everDueIDs() map[string]bool {
	out := map[string]bool{}
	for k := range m.everDue {
		out[k.id] = true
	}
	return out
}

// check holds the model's invariants against what the receivers accepted.
func (m *reminderModel) check(asOf time.Time, due map[string]reminderKey, clean bool) {
	t := m.t
	for _, c := range m.channels {
		msgs := c.inbox.messages()
		for _, msg := range msgs[len(m.told[c.name]):] {
			keys := m.keysOf(msg)
			for _, k := range keys {
				if !m.everDue[k] && !m.edge[k.id] {
					r, inCloud := m.cloud[k.id]
					t.Errorf("step %d: %s was told %s (threshold %d, expiring %v), never due so: renewed, released or not due (in the window: %v, %+v)", m.step, c.name, k.id, k.threshold, k.expire, inCloud, r)
				}
			}
			m.told[c.name] = append(m.told[c.name], keys)
		}
		told := map[reminderKey]map[string]int{} // by message id
		for i, keys := range m.told[c.name] {
			for _, k := range keys {
				if told[k] == nil {
					told[k] = map[string]int{}
				}
				told[k][msgs[i].ID]++
			}
		}
		for k, ids := range told {
			n := 0
			for _, c := range ids {
				n += c
			}
			switch {
			case c.atMostOnce && n > 1:
				t.Errorf("step %d: robot %s was told %s (threshold %d) %d times", m.step, c.name, k.id, k.threshold, n)
			case !c.atMostOnce && len(ids) > 1:
				t.Errorf("step %d: %s got %s (threshold %d) under %d ids", m.step, c.name, k.id, k.threshold, len(ids))
			}
		}
		if c.http != nil {
			require.Zero(t, c.http.throttles(), "%s was sent to faster than its platform allows", c.name)
		}
		if !clean {
			continue
		}
		for _, k := range due {
			switch {
			case len(told[k]) > 0:
			case !c.atMostOnce:
				t.Errorf("step %d (clean run at %v): %s due at threshold %d never reached %s", m.step, asOf, k.id, k.threshold, c.name)
			case !m.mayLose[k]:
				t.Errorf("step %d (clean run at %v): %s due at threshold %d never reached robot %s, and no run was interrupted while it was due", m.step, asOf, k.id, k.threshold, c.name)
			}
		}
	}
	if t.Failed() {
		m.dump()
		t.FailNow()
	}
}

// dump logs the product's reminder tables, to explain a failure.
func (m *reminderModel) dump() {
	var digests []store.NotificationDigest
	m.s.store.DB().Order("created_at").Find(&digests)
	for _, d := range digests {
		m.t.Logf("digest %s run %s threshold %d resources %d settled %v", d.ID, d.WorkflowID, d.ThresholdDays, d.Resources, d.SettledAt)
	}
	var sends []store.NotificationSend
	m.s.store.DB().Find(&sends)
	for _, snd := range sends {
		m.t.Logf("send %s %s: %s (%s)", snd.DigestID, snd.Channel, snd.Status, snd.ErrorMessage)
	}
	var rows []store.Notification
	m.s.store.DB().Find(&rows)
	count := map[string]int{}
	for _, r := range rows {
		count[r.DigestID+" "+r.Channel+" "+r.Status]++
	}
	m.t.Logf("notifications by digest, channel and status: %v", count)
}
