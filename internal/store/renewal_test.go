package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"expiry-sync/internal/contract"
	"expiry-sync/internal/store"
)

const renewAccountName = "prod"

// renewState is a request's state as its workflow would record it.
func renewState(id, state string, closed bool, resources ...string) contract.RenewState {
	return contract.RenewState{RequestID: id, Account: renewAccountName, Kind: contract.RenewKindRenew, State: state, Closed: closed,
		ResourceIDs: resources, Period: contract.Period{Unit: "y", Num: 1}, Requester: "alice@ops", Reason: "keep prod up",
		CreatedAt: t0, UpdatedAt: t0}
}

func record(s *store.Store, seq int, kind string, st contract.RenewState) error {
	st.UpdatedAt = t0.Add(time.Duration(seq) * time.Minute)
	return s.RecordRenewal(context.Background(), account, contract.RenewEvent{RequestID: st.RequestID, Seq: seq,
		At: st.UpdatedAt, Kind: kind, Actor: "workflow", Detail: kind + " at step " + fmt.Sprint(seq), State: st})
}

// claims reads renewal_claims whole: resource id → request id.
func claims(t *testing.T, s *store.Store) map[string]string {
	t.Helper()
	var rows []struct{ ResourceID, RequestID string }
	require.NoError(t, s.DB().Table("renewal_claims").Select("resource_id, request_id").Scan(&rows).Error)
	out := map[string]string{}
	for _, r := range rows {
		out[r.ResourceID] = r.RequestID
	}
	return out
}

// Invariant: one event is written once; the request's state is its
// newest event's, whatever order the records arrive in; its claims live
// from its opening to its close.
func TestRecordRenewalKeepsTheNewestState(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		pending := renewState("renew-prod-1", contract.RenewPending, false, "r2", "r1")
		pending.Quote = &contract.RenewQuote{Currency: "CNY", Total: 1234_560000, Lines: []contract.QuoteLine{{ResourceID: "r1", Amount: 1234_560000}}}
		require.NoError(t, record(s, 1, "opened", pending))
		require.NoError(t, record(s, 1, "opened", pending), "a retried record is a no-op")
		assert.Equal(t, map[string]string{"r1": "renew-prod-1", "r2": "renew-prod-1"}, claims(t, s))

		approved := pending
		approved.State, approved.Approved = contract.RenewApproved, 1234_560000
		approved.Approvals = []contract.Approval{{Approver: "bob", At: t0, Total: 1234_560000}}
		require.NoError(t, record(s, 3, "approved", approved))
		late := pending
		late.Message = "a retry of step 2, recorded after step 3"
		require.NoError(t, record(s, 2, "quoted", late), "a late event is recorded")

		st, events, err := s.Renewal(ctx, "renew-prod-1")
		require.NoError(t, err)
		assert.Equal(t, contract.RenewApproved, st.State, "a late retry never rolls the state back")
		assert.Empty(t, st.Message)
		assert.Equal(t, contract.Amount(1234_560000), st.Approved)
		require.Len(t, st.Approvals, 1)
		assert.Equal(t, "bob", st.Approvals[0].Approver)
		require.Len(t, events, 3)
		for i, e := range events {
			assert.Equal(t, i+1, e.Seq, "in seq order")
		}
		assert.Equal(t, "quoted", events[1].Kind)
		assert.Equal(t, contract.RenewPending, events[1].State.State)
		assert.Equal(t, "quoted at step 2", events[1].Detail)
		assert.Equal(t, t0.Add(2*time.Minute), events[1].At)

		var row struct {
			AccountID, AccountName, Period, Currency string
			QuotedTotal, ApprovedTotal               int64
			Seq                                      int
		}
		require.NoError(t, s.DB().Table("renewal_requests").Where("request_id = ?", "renew-prod-1").Take(&row).Error)
		assert.Equal(t, account, row.AccountID)
		assert.Equal(t, renewAccountName, row.AccountName)
		assert.Equal(t, "1y", row.Period)
		assert.Equal(t, "CNY", row.Currency)
		assert.Equal(t, int64(1234_560000), row.QuotedTotal)
		assert.Equal(t, int64(1234_560000), row.ApprovedTotal)
		assert.Equal(t, 3, row.Seq)

		done := approved
		done.State, done.Closed, done.NewExpiry = contract.RenewDone, true, map[string]time.Time{"r1": t0.AddDate(1, 0, 0)}
		require.NoError(t, record(s, 4, "renewed", done))
		assert.Empty(t, claims(t, s), "a closed request releases its resources")
		require.NoError(t, record(s, 3, "approved", approved), "a retry of the approval")
		assert.Empty(t, claims(t, s), "an older event never claims again")
		st, _, err = s.Renewal(ctx, "renew-prod-1")
		require.NoError(t, err)
		assert.Equal(t, contract.RenewDone, st.State)
		assert.True(t, st.Closed)

		require.NoError(t, record(s, 1, "opened", renewState("renew-prod-2", contract.RenewPending, false, "r1")), "r1 is free again")
		assert.Equal(t, map[string]string{"r1": "renew-prod-2"}, claims(t, s))

		_, _, err = s.Renewal(ctx, "nope")
		assert.ErrorIs(t, err, store.ErrRenewalNotFound)
		assert.True(t, store.IsPermanent(err))
	})
}

func TestRenewalConflictWritesNothing(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		require.NoError(t, record(s, 1, "opened", renewState("renew-a", contract.RenewPending, false, "r1", "r2")))
		err := record(s, 1, "opened", renewState("renew-b", contract.RenewPending, false, "r3", "r2"))
		var conflict *store.RenewalConflict
		require.ErrorAs(t, err, &conflict)
		assert.Equal(t, store.RenewalConflict{ResourceID: "r2", RequestID: "renew-a"}, *conflict)
		assert.Contains(t, err.Error(), "r2")
		assert.Contains(t, err.Error(), "renew-a")
		assert.Contains(t, err.Error(), "must end first")
		assert.True(t, store.IsPermanent(err), "a conflict repeats on retry")
		assert.True(t, store.IsPermanent(fmt.Errorf("recording: %w", err)))

		_, _, err = s.Renewal(ctx, "renew-b")
		assert.ErrorIs(t, err, store.ErrRenewalNotFound, "nothing of the refused request was written")
		assert.Equal(t, map[string]string{"r1": "renew-a", "r2": "renew-a"}, claims(t, s), "not even the claim on the free r3")
		var events int64
		require.NoError(t, s.DB().Table("renewal_events").Where("request_id = ?", "renew-b").Count(&events).Error)
		assert.Zero(t, events)

		refused := renewState("renew-b", contract.RenewFailed, true, "r3", "r2")
		refused.Message = "r2 is in renew-a"
		require.NoError(t, record(s, 1, "refused", refused), "a request closed from its first record claims nothing")
		assert.Equal(t, map[string]string{"r1": "renew-a", "r2": "renew-a"}, claims(t, s))
		st, _, err := s.Renewal(ctx, "renew-b")
		require.NoError(t, err)
		assert.Equal(t, contract.RenewFailed, st.State)

		for _, bad := range []contract.RenewEvent{{Seq: 1}, {RequestID: "x", Seq: 0, State: contract.RenewState{RequestID: "x"}},
			{RequestID: "x", Seq: 1, State: contract.RenewState{RequestID: "y"}}} {
			err := s.RecordRenewal(ctx, account, bad)
			require.Error(t, err)
			assert.True(t, store.IsPermanent(err), "%v", err)
		}
	})
}

func TestRenewalsFilter(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		a := renewState("renew-a", contract.RenewPending, false, "r1")
		b := renewState("renew-b", contract.RenewOrdered, false, "r2", "r3")
		c := renewState("renew-c", contract.RenewRejected, true, "r1")
		c.Account = "staging"
		require.NoError(t, record(s, 1, "opened", a))
		require.NoError(t, record(s, 3, "ordered", b))
		require.NoError(t, record(s, 2, "rejected", c))
		ids := func(f store.RenewalFilter) []string {
			list, err := s.Renewals(ctx, f)
			require.NoError(t, err)
			var out []string
			for _, st := range list {
				out = append(out, st.RequestID)
			}
			return out
		}
		assert.Equal(t, []string{"renew-b", "renew-c", "renew-a"}, ids(store.RenewalFilter{}), "newest updated first")
		assert.Equal(t, []string{"renew-b", "renew-a"}, ids(store.RenewalFilter{Account: renewAccountName}))
		assert.Equal(t, []string{"renew-b"}, ids(store.RenewalFilter{State: contract.RenewOrdered}))
		assert.Equal(t, []string{"renew-b", "renew-a"}, ids(store.RenewalFilter{State: store.RenewalsOpen}))
		assert.Equal(t, []string{"renew-c", "renew-a"}, ids(store.RenewalFilter{ResourceID: "r1"}))
		assert.Equal(t, []string{"renew-b"}, ids(store.RenewalFilter{Limit: 1}))
		assert.Empty(t, ids(store.RenewalFilter{Account: "nobody"}))
	})
}

// renewModel is what the claims must be: the open requests and their
// resources, kept by the test alone.
type renewModel struct {
	open  map[string][]string // open request → its resources
	seq   map[string]int      // request → its newest recorded event
	state map[string]contract.RenewState
}

func (m *renewModel) holder(resource string) string {
	for id, rs := range m.open {
		if slices.Contains(rs, resource) {
			return id
		}
	}
	return ""
}

// Invariant (property): whatever the interleaving of openings, closes,
// retries and late records of requests over a few resources, no two open
// requests ever hold one resource; the database's claims are exactly the
// model's; a retried record with an older seq never changes a state.
func TestRenewalClaimsPropertyRandomInterleavings(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		rng := rand.New(rand.NewPCG(23, 17))
		resources := []string{"r1", "r2", "r3", "r4"}
		m := &renewModel{open: map[string][]string{}, seq: map[string]int{}, state: map[string]contract.RenewState{}}
		next := 0
		for step := range 150 {
			switch op := rng.IntN(10); {
			case op < 4: // a new request over 1-3 resources
				next++
				id := fmt.Sprintf("renew-%03d", next)
				var rs []string
				for _, r := range resources {
					if rng.IntN(3) == 0 {
						rs = append(rs, r)
					}
				}
				if len(rs) == 0 {
					rs = []string{resources[rng.IntN(len(resources))]}
				}
				st := renewState(id, contract.RenewPending, false, rs...)
				err := record(s, 1, "opened", st)
				var want string
				for _, r := range rs {
					if h := m.holder(r); h != "" && want == "" {
						want = h
					}
				}
				if want == "" {
					require.NoError(t, err, "step %d: %s over free %v", step, id, rs)
					m.open[id], m.seq[id], m.state[id] = rs, 1, st
				} else {
					var conflict *store.RenewalConflict
					require.ErrorAs(t, err, &conflict, "step %d: %s over %v", step, id, rs)
					assert.Contains(t, rs, conflict.ResourceID)
					assert.Equal(t, m.holder(conflict.ResourceID), conflict.RequestID, "the conflict names the holder")
					_, _, err := s.Renewal(ctx, id)
					require.ErrorIs(t, err, store.ErrRenewalNotFound)
				}
			case op < 6: // an open request moves on, or ends
				id := pick(rng, m.open)
				if id == "" {
					continue
				}
				st := m.state[id]
				seq := m.seq[id] + 1 + rng.IntN(2) // a step may be recorded later
				if rng.IntN(2) == 0 {
					st.State = []string{contract.RenewApproved, contract.RenewOrdered, contract.RenewPaid}[rng.IntN(3)]
				} else {
					st.State, st.Closed = []string{contract.RenewDone, contract.RenewRejected, contract.RenewExpired, contract.RenewFailed}[rng.IntN(4)], true
				}
				require.NoError(t, record(s, seq, st.State, st))
				m.seq[id], m.state[id] = seq, st
				if st.Closed {
					delete(m.open, id)
				}
			default: // a retry, or a late record of an older step, of any request
				id := pick(rng, m.state)
				if id == "" {
					continue
				}
				old := m.state[id]
				old.State, old.Closed, old.Message = contract.RenewPending, false, "late"
				require.NoError(t, record(s, 1+rng.IntN(m.seq[id]), "late", old))
			}
			// The database's view against the model's, after every step.
			want := map[string]string{}
			for id, rs := range m.open {
				for _, r := range rs {
					_, dup := want[r]
					require.False(t, dup, "the model itself holds %s twice", r)
					want[r] = id
				}
			}
			require.Equal(t, want, claims(t, s), "step %d", step)
			open, err := s.Renewals(ctx, store.RenewalFilter{State: store.RenewalsOpen, Limit: 1000})
			require.NoError(t, err)
			held := map[string]string{}
			for _, st := range open {
				require.Contains(t, m.open, st.RequestID, "step %d: %s is open in the database only", step, st.RequestID)
				for _, r := range st.ResourceIDs {
					require.Empty(t, held[r], "step %d: %s is in open requests %s and %s", step, r, held[r], st.RequestID)
					held[r] = st.RequestID
				}
			}
			require.Len(t, open, len(m.open), "step %d", step)
			for id, want := range m.state {
				got, _, err := s.Renewal(ctx, id)
				require.NoError(t, err)
				require.Equal(t, want.State, got.State, "step %d: %s", step, id)
				require.Equal(t, want.Closed, got.Closed, "step %d: %s", step, id)
				require.Empty(t, got.Message, "step %d: %s took a late record's state", step, id)
			}
		}
	})
}

func pick[V any](rng *rand.Rand, m map[string]V) string {
	if len(m) == 0 {
		return ""
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys[rng.IntN(len(keys))]
}

// Many requests opened at once over the same resources, from separate
// connections: the database lets at most one hold each resource; the
// others are refused as conflicts, or fail retryably (a deadlock) and are
// refused when retried.
func TestRenewalClaimsConcurrentOpenings(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *store.Store) {
		resources := []string{"r1", "r2", "r3"}
		var wg sync.WaitGroup
		errs := make([]error, 24)
		sets := make([][]string, len(errs))
		for i := range errs {
			sets[i] = []string{resources[i%3], resources[(i+1+i/3)%3]}
			wg.Go(func() {
				st := renewState(fmt.Sprintf("renew-%02d", i), contract.RenewPending, false, sets[i]...)
				for try := 0; try < 20; try++ {
					errs[i] = record(s, 1, "opened", st)
					if errs[i] == nil || store.IsPermanent(errs[i]) {
						return
					}
					time.Sleep(time.Duration(rand.IntN(20)) * time.Millisecond)
				}
			})
		}
		wg.Wait()
		held := map[string]string{}
		for i, err := range errs {
			var conflict *store.RenewalConflict
			if err != nil {
				require.ErrorAs(t, err, &conflict, "request %d", i)
				continue
			}
			id := fmt.Sprintf("renew-%02d", i)
			for _, r := range sets[i] {
				require.Contains(t, []string{"", id}, held[r], "%s opened in two requests", r)
				held[r] = id
			}
		}
		assert.NotEmpty(t, held)
		assert.Equal(t, held, claims(t, s))
	})
}

func TestLapseStopsRemindersForThatExpiryOnly(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		first := begin(t, s, "sync-1", "run-a")
		_, err := s.CommitBatch(ctx, batch(first, 1, row("r1", t0.AddDate(0, 0, 3), nil), row("r2", t0.AddDate(0, 0, 4), nil), row("r3", t0.AddDate(0, 0, 5), nil)))
		require.NoError(t, err)
		finish(t, s, first)
		ids := func() []string {
			rows, err := s.NotifyCandidates(ctx, account, t0.AddDate(0, 0, 30))
			require.NoError(t, err)
			var out []string
			for _, r := range rows {
				out = append(out, r.ResourceID)
			}
			return out
		}
		assert.Equal(t, []string{"r1", "r2", "r3"}, ids())

		_, err = s.RecordLapse(ctx, account, renewAccountName, "nope", "no longer needed", "alice", t0)
		require.ErrorIs(t, err, store.ErrUnknownResource)
		assert.Contains(t, err.Error(), "nope")
		assert.Contains(t, err.Error(), renewAccountName)
		assert.True(t, store.IsPermanent(err))

		l, err := s.RecordLapse(ctx, account, renewAccountName, "r1", "test server, let it go", "alice", t0)
		require.NoError(t, err)
		assert.Equal(t, store.Lapse{AccountID: account, AccountName: renewAccountName, ResourceID: "r1", ExpireTime: t0.AddDate(0, 0, 3),
			Reason: "test server, let it go", DecidedBy: "alice", DecidedAt: t0}, l)
		l, err = s.RecordLapse(ctx, account, renewAccountName, "r1", "decided again", "bob", t0.Add(time.Hour))
		require.NoError(t, err, "deciding again replaces the decision")
		assert.Equal(t, "bob", l.DecidedBy)
		assert.Equal(t, []string{"r2", "r3"}, ids(), "no reminder for the expiry let lapse")

		d, err := s.Decisions(ctx, account, []string{"r1", "r2"})
		require.NoError(t, err)
		require.Contains(t, d, "r1")
		require.NotNil(t, d["r1"].Lapse)
		assert.Equal(t, "decided again", d["r1"].Lapse.Reason)
		assert.NotContains(t, d, "r2")

		// r1 is renewed after all: its new expiry is reminded.
		second := begin(t, s, "sync-2", "run-b")
		_, err = s.CommitBatch(ctx, batch(second, 1, row("r1", t0.AddDate(0, 0, 20), nil)))
		require.NoError(t, err)
		assert.Equal(t, []string{"r2", "r3", "r1"}, ids(), "a new expiry starts the reminders again")
		d, err = s.Decisions(ctx, account, []string{"r1"})
		require.NoError(t, err)
		assert.NotContains(t, d, "r1", "the decision was for the old expiry")

		_, err = s.RecordLapse(ctx, "other-account", "other", "r2", "x", "alice", t0)
		require.ErrorIs(t, err, store.ErrUnknownResource, "a resource of another account")
	})
}

func TestDecisionsNameTheLatestRequest(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		log := begin(t, s, "sync-1", "run-a")
		_, err := s.CommitBatch(ctx, batch(log, 1, row("r1", t0.AddDate(0, 0, 3), nil), row("r2", t0.AddDate(0, 0, 4), nil),
			row("r3", t0.AddDate(0, 0, 5), nil), row("r4", t0.AddDate(0, 0, 6), nil)))
		require.NoError(t, err)

		old := renewState("renew-old", contract.RenewRejected, true, "r1")
		old.CreatedAt = t0.Add(-48 * time.Hour)
		require.NoError(t, record(s, 2, "rejected", old))
		require.NoError(t, record(s, 1, "opened", renewState("renew-new", contract.RenewPending, false, "r1", "r2")))
		done := renewState("renew-done", contract.RenewDone, true, "r3")
		done.NewExpiry = map[string]time.Time{"r3": t0.AddDate(1, 0, 5)}
		require.NoError(t, record(s, 5, "renewed", done))
		other := renewState("renew-other", contract.RenewPending, false, "r4")
		require.NoError(t, s.RecordRenewal(ctx, "other-account", contract.RenewEvent{RequestID: other.RequestID, Seq: 1, State: other}))

		d, err := s.Decisions(ctx, account, []string{"r1", "r2", "r3", "r4", "r1"})
		require.NoError(t, err)
		assert.Equal(t, store.Decision{ResourceID: "r1", RequestID: "renew-new", Kind: contract.RenewKindRenew, State: contract.RenewPending}, d["r1"])
		assert.True(t, d["r1"].Open())
		assert.Equal(t, "renew-new", d["r2"].RequestID)
		assert.Equal(t, store.Decision{ResourceID: "r3", RequestID: "renew-done", Kind: contract.RenewKindRenew, State: contract.RenewDone,
			NewExpiry: t0.AddDate(1, 0, 5), Closed: true}, d["r3"])
		assert.False(t, d["r3"].Open())
		assert.NotContains(t, d, "r4", "another account's request")

		rows, err := s.NotifyCandidates(ctx, account, t0.AddDate(0, 0, 30))
		require.NoError(t, err)
		require.Len(t, rows, 4)
		require.NotNil(t, rows[0].Decision, "candidates carry their decisions")
		assert.Equal(t, "renew-new", rows[0].Decision.RequestID)
		assert.Nil(t, rows[3].Decision)
	})
}

// A reminder claimed before the lapse decision is not sent: the item is
// no longer due (obsolete); one in an open request carries it.
func TestSendItemsDropLapsedAndCarryRequests(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		log := begin(t, s, "sync-1", "run-a")
		_, err := s.CommitBatch(ctx, batch(log, 1, row("a", notifyExp, nil), row("b", notifyExp, nil), row("c", notifyExp, nil)))
		require.NoError(t, err)
		c := store.DigestClaim{Digest: store.NotificationDigest{ID: "d1", AccountID: account, Route: "r", ThresholdDays: 30, Language: "en", AsOf: t0, WorkflowID: "wf"},
			Sends: []store.NotificationSend{{Channel: "hook", ChannelType: "webhook"}}}
		for _, id := range []string{"a", "b", "c"} {
			c.Items = append(c.Items, store.ClaimItem{Key: store.NotifyKey{ResourceID: id, ExpireTime: notifyExp, ThresholdDays: 30}, Channels: []string{"hook"}})
		}
		_, _, err = s.ClaimDigest(ctx, c)
		require.NoError(t, err)
		_, err = s.RecordLapse(ctx, account, renewAccountName, "a", "decommissioned", "alice", t0)
		require.NoError(t, err)
		require.NoError(t, record(s, 1, "opened", renewState("renew-b", contract.RenewPending, false, "b")))

		d, _, err := s.GetDigest(ctx, "d1")
		require.NoError(t, err)
		items, err := s.SendItems(ctx, d, "hook")
		require.NoError(t, err)
		require.Len(t, items, 3)
		got := map[string]*store.ExpiringResource{}
		for _, it := range items {
			got[it.ResourceID] = it.Resource
		}
		assert.Nil(t, got["a"], "let lapse: no longer due")
		require.NotNil(t, got["b"])
		require.NotNil(t, got["b"].Decision)
		assert.Equal(t, "renew-b", got["b"].Decision.RequestID)
		require.NotNil(t, got["c"])
		assert.Nil(t, got["c"].Decision)
	})
}

// The read paths work on a database an older worker migrated (before
// renewals): no decisions, no error.
func TestDecisionsOnAnOlderSchema(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		log := begin(t, s, "sync-1", "run-a")
		_, err := s.CommitBatch(ctx, batch(log, 1, row("a", notifyExp, nil)))
		require.NoError(t, err)
		for _, table := range []string{"lapse_decisions", "renewal_events", "renewal_claims", "renewal_resources", "renewal_requests"} {
			require.NoError(t, s.DB().Exec("DROP TABLE "+table).Error)
		}
		fresh := s // it has not looked for the renewal tables yet
		rows, err := fresh.NotifyCandidates(ctx, account, notifyExp)
		require.NoError(t, err)
		require.Len(t, rows, 1)
		assert.Nil(t, rows[0].Decision)
		require.NoError(t, fresh.AttachDecisions(ctx, rows))
		_, _, err = fresh.Renewal(ctx, "x")
		assert.ErrorIs(t, err, store.ErrNoTables)
	})
}
