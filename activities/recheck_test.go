package activities_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"expiry-sync/internal/config"
	"expiry-sync/internal/contract"
	"expiry-sync/internal/huawei"
	"expiry-sync/internal/inventory"
	"expiry-sync/internal/store"
	"expiry-sync/internal/testkit/hwsim"
)

// These tests run RecheckUnseen against the simulator and judge it by the
// rows FinishSync leaves: a first sync stores every resource, the cloud
// changes, a second sync re-checks them all (its listing saw none) and
// finishes. BSS's truth afterwards is the simulator's: a resource is gone
// when it is no longer listed (released) or is closed (status 3); every
// other resource must stay active.

// recheckUntil is past every expire time the tests make: every stored row
// is re-checked.
var recheckUntil = time.Now().AddDate(10, 0, 0)

// lookupRequest is what one BSS query by resource_ids asked.
type lookupRequest struct {
	IDs      []string `json:"resource_ids"`
	MainOnly *int32   `json:"only_main_resource"`
	Offset   *int32   `json:"offset"`
}

// lookupSpy records the BSS queries by resource_ids the account's client
// sends, on their way to the simulator.
type lookupSpy struct {
	mu   sync.Mutex
	reqs []lookupRequest
}

func (s *lookupSpy) requests() []lookupRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.reqs)
}

// askedAlone says whether some look-up asked for id and nothing else.
func (s *lookupSpy) askedAlone(id string) bool {
	return slices.ContainsFunc(s.requests(), func(q lookupRequest) bool { return len(q.IDs) == 1 && q.IDs[0] == id })
}

// spyLookups points the fixture account's client at a proxy of the
// simulator that records every look-up by id.
func spyLookups(t *testing.T, f *fixture) *lookupSpy {
	t.Helper()
	spy := &lookupSpy{}
	sim := f.sim.Handler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/v2/orders/suscriptions/resources/query" {
			body, err := io.ReadAll(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			var q lookupRequest
			if json.Unmarshal(body, &q) == nil && len(q.IDs) > 0 {
				spy.mu.Lock()
				spy.reqs = append(spy.reqs, q)
				spy.mu.Unlock()
			}
		}
		sim.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	hw, err := huawei.New(config.Huawei{AccessKey: ak, SecretKey: config.Secret(sk), DomainID: domain,
		BSSEndpoint: srv.URL, TMSEndpoint: srv.URL, HTTPTimeout: 2 * time.Second})
	require.NoError(t, err)
	f.acts.Accounts[contract.DefaultAccount].Huawei = hw
	return spy
}

// seedSync is a first, completed sync that stored every resource the
// simulator lists (every status, attached ones too); it returns them by id.
func seedSync(t *testing.T, f *fixture) map[string]inventory.Resource {
	t.Helper()
	ctx := context.Background()
	hw := f.acts.Accounts[contract.DefaultAccount].Huawei
	log := f.lease(t, "seed")
	seeded := map[string]inventory.Resource{}
	for offset, batch := 0, 1; ; batch++ {
		page, err := hw.ListPage(ctx, huawei.ListQuery{Offset: offset, Limit: huawei.MaxPageSize})
		require.NoError(t, err)
		require.Empty(t, page.Quarantined)
		rows := make([]inventory.Row, 0, len(page.Resources))
		for _, r := range page.Resources {
			seeded[r.ResourceID] = r
			rows = append(rows, inventory.Row{Resource: r, Tags: inventory.TagResult{ResourceID: r.ResourceID, Status: inventory.TagsUnsupported}})
		}
		offset += page.Received
		_, err = f.acts.Store.CommitBatch(ctx, store.BatchCommit{Writer: log.Writer(), Batch: batch, NextOffset: offset,
			Rows: rows, SyncedAt: time.Now(), ChunkRows: 100})
		require.NoError(t, err)
		if page.Received == 0 || offset >= page.TotalCount {
			break
		}
	}
	_, err := f.acts.Store.FinishSync(ctx, store.SyncFinish{Writer: log.Writer()})
	require.NoError(t, err)
	require.Len(t, seeded, f.sim.Len(), "the seed stored every resource")
	active := 0
	for _, row := range storedRows(t, f) {
		if row.IsActive {
			active++
		}
	}
	require.Equal(t, len(seeded), active, "every seeded row starts active")
	return seeded
}

// recheckRun is the second sync: its re-check, then FinishSync.
type recheckRun struct {
	log   store.SyncLog
	res   contract.RecheckResult
	calls int64 // BSS list requests the simulator received during the re-check
}

// recheckAndFinish runs RecheckUnseen as a second sync whose listing saw
// nothing, then finishes that sync. The activity must not fail.
func recheckAndFinish(t *testing.T, f *fixture, statuses []int) recheckRun {
	t.Helper()
	ctx := context.Background()
	run := recheckRun{log: f.lease(t, "sync-2")}
	before := f.sim.Stats().APIs[hwsim.APIBSSList].Requests
	v, err := f.env.ExecuteActivity(f.acts.RecheckUnseen, contract.RecheckInput{SyncID: "sync-2",
		Generation: run.log.Generation, LeaseToken: run.log.LeaseToken, Until: recheckUntil, Statuses: statuses, SyncedAt: time.Now()})
	require.NoError(t, err, "RecheckUnseen fails the sync")
	require.NoError(t, v.Get(&run.res))
	run.calls = f.sim.Stats().APIs[hwsim.APIBSSList].Requests - before
	t.Logf("re-check: %+v; %d BSS requests", run.res, run.calls)
	_, err = f.acts.Store.FinishSync(ctx, store.SyncFinish{Writer: run.log.Writer()})
	require.NoError(t, err)
	return run
}

// storedRows are the account's rows by resource id.
func storedRows(t *testing.T, f *fixture) map[string]store.ExpiringResource {
	t.Helper()
	var all []store.ExpiringResource
	require.NoError(t, f.acts.Store.DB().Where("account_id = ?", domain).Find(&all).Error)
	out := make(map[string]store.ExpiringResource, len(all))
	for _, r := range all {
		out[r.ResourceID] = r
	}
	return out
}

// goneInBSS says whether BSS gives its positive word that a resource is
// gone: no longer listed (released) or closed.
func goneInBSS(f *fixture, id string) bool {
	r, ok := f.sim.Lookup(id)
	return !ok || r.Status == hwsim.StatusClosed
}

// assertVerdicts checks every seeded row against BSS's truth: exactly the
// released and closed resources are inactive, a closed one with status 3,
// a released one with the status it had; every other row is active and,
// unless it was left unknown, carries BSS's current status and expire
// time. It returns how many rows are inactive.
func assertVerdicts(t *testing.T, f *fixture, seeded map[string]inventory.Resource, unknown []string) int {
	t.Helper()
	rows := storedRows(t, f)
	require.Len(t, rows, len(seeded))
	inactive := 0
	for id, was := range seeded {
		row, ok := rows[id]
		require.True(t, ok, "row %s", id)
		r, listed := f.sim.Lookup(id)
		switch {
		case !listed:
			inactive++
			assert.False(t, row.IsActive, "%s was released: its row must be inactive", id)
			assert.Equal(t, was.Status, row.Status, "%s was released: its row keeps its last known status", id)
		case r.Status == hwsim.StatusClosed:
			inactive++
			assert.False(t, row.IsActive, "%s is closed: its row must be inactive", id)
			if assert.NotNil(t, row.Status, id) {
				assert.Equal(t, hwsim.StatusClosed, *row.Status, "%s is closed: its row keeps BSS's status 3", id)
			}
		default:
			assert.True(t, row.IsActive, "%s is listed with status %d: nothing proved it gone", id, r.Status)
			if slices.Contains(unknown, id) {
				continue
			}
			if assert.NotNil(t, row.Status, id) {
				assert.Equal(t, int(r.Status), *row.Status, "%s: BSS's current status", id)
			}
			assert.True(t, r.ExpireTime.Equal(row.ExpireTime), "%s: expire time %s, BSS says %s", id, row.ExpireTime, r.ExpireTime)
		}
	}
	return inactive
}

// inUse are the seeded resources in use (status 2), in id order.
func inUse(seeded map[string]inventory.Resource) []string {
	var ids []string
	for id, r := range seeded {
		if r.Status != nil && *r.Status == hwsim.StatusInUse {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

// cloudChange is what changeCloud did to resources that were in use.
type cloudChange struct {
	released, closed, frozen, expired []string
	renewed                           []string // some in use, some expired: all back in use, expiring later
	untouched                         []string // still in use, unchanged
}

// changeCloud releases, closes, freezes, expires and renews in-use
// resources spread over the id order (and so over the look-up batches).
func changeCloud(t *testing.T, f *fixture, seeded map[string]inventory.Resource) cloudChange {
	t.Helper()
	var c cloudChange
	for i, id := range inUse(seeded) {
		switch i % 10 {
		case 0:
			c.released = append(c.released, id)
		case 2:
			c.closed = append(c.closed, id)
		case 4:
			c.frozen = append(c.frozen, id)
		case 6:
			c.expired = append(c.expired, id)
		case 8:
			c.renewed = append(c.renewed, id)
		default:
			c.untouched = append(c.untouched, id)
		}
	}
	require.NotEmpty(t, c.released)
	require.Equal(t, len(c.released), f.sim.RemoveResources(c.released...))
	require.Equal(t, len(c.closed), f.sim.SetStatus(c.closed, hwsim.StatusClosed))
	require.Equal(t, len(c.frozen), f.sim.SetStatus(c.frozen, hwsim.StatusFrozen))
	require.Equal(t, len(c.expired), f.sim.SetStatus(c.expired, hwsim.StatusExpired))
	// Half the expired ones are renewed: a renewal puts them back in use.
	for i := 0; i < len(c.expired); i += 2 {
		c.renewed = append(c.renewed, c.expired[i])
	}
	require.Equal(t, len(c.renewed), f.sim.Renew(c.renewed, 400*24*time.Hour))
	return c
}

// expectGone counts the seeded resources BSS now says are gone.
func expectGone(f *fixture, seeded map[string]inventory.Resource) int {
	n := 0
	for id := range seeded {
		if goneInBSS(f, id) {
			n++
		}
	}
	return n
}

// Invariant 1: nothing is inactive without BSS's positive word on that very
// resource.
func TestRecheckDeactivatesExactlyTheReleasedAndClosed(t *testing.T) {
	f := newFixture(t, sk)
	seeded := seedSync(t, f)
	c := changeCloud(t, f, seeded)
	gone := expectGone(f, seeded)
	require.Greater(t, gone, len(c.released), "some rows are closed too")

	run := recheckAndFinish(t, f, []int{2, 4, 5})

	assert.Equal(t, gone, assertVerdicts(t, f, seeded, nil))
	rows := storedRows(t, f)
	for _, id := range c.released {
		assert.False(t, rows[id].IsActive, "released %s", id)
	}
	for _, id := range c.closed {
		assert.False(t, rows[id].IsActive, "closed %s", id)
	}
	for _, id := range c.frozen {
		assert.True(t, rows[id].IsActive, "frozen %s", id)
		assert.Equal(t, hwsim.StatusFrozen, *rows[id].Status, "frozen %s", id)
	}
	for _, id := range c.renewed {
		r, _ := f.sim.Lookup(id)
		assert.True(t, rows[id].IsActive, "renewed %s", id)
		assert.Equal(t, hwsim.StatusInUse, *rows[id].Status, "renewed %s", id)
		assert.True(t, r.ExpireTime.Equal(rows[id].ExpireTime), "renewed %s: its row has the new expire time", id)
		assert.True(t, rows[id].ExpireTime.After(seeded[id].ExpireTime), "renewed %s", id)
	}
	for _, id := range c.untouched {
		assert.True(t, rows[id].IsActive, "in use %s", id)
	}
	assert.Equal(t, gone, run.res.Gone)
	assert.Equal(t, len(seeded)-gone, run.res.Found)
	assert.Zero(t, run.res.Quarantined)
	assert.Empty(t, run.res.Unknown)
	assert.Empty(t, run.res.Refused)
	assert.Equal(t, int64(run.res.Calls), run.calls, "every BSS call is counted")
	log, err := f.acts.Store.GetSyncLog(context.Background(), "sync-2")
	require.NoError(t, err)
	assert.Equal(t, gone, log.DeactivatedResources)
}

// Invariant 2: the same verdicts when BSS answers a look-up in fewer
// records than its total_count: the activity pages, and asks an id absent
// from an answer read in several calls on its own before calling it gone.
func TestRecheckShortLookupAnswersGiveTheSameVerdicts(t *testing.T) {
	for _, tc := range []struct {
		name  string
		knobs hwsim.Knobs
	}{
		{"7 records an answer", hwsim.Knobs{LookupMaxRecords: 7}},
		// One record an answer: 50 ids take more calls than a look-up may
		// make, so the answer stops short of its total_count.
		{"1 record an answer", hwsim.Knobs{LookupMaxRecords: 1}},
		// Ties in the undocumented order come in a new order on every
		// call: pages may skip or repeat records.
		{"7 records, shuffled order", hwsim.Knobs{LookupMaxRecords: 7, ListOrder: hwsim.ListOrderExpireShuffled}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, sk)
			spy := spyLookups(t, f)
			seeded := seedSync(t, f)
			c := changeCloud(t, f, seeded)
			gone := expectGone(f, seeded)
			require.NoError(t, f.sim.SetKnobs(tc.knobs))

			run := recheckAndFinish(t, f, []int{2, 4, 5})

			assert.Equal(t, gone, assertVerdicts(t, f, seeded, nil))
			assert.Equal(t, gone, run.res.Gone)
			assert.Zero(t, run.res.Quarantined, "every doubt was settled by asking the id alone")
			assert.Empty(t, run.res.Unknown)
			assert.Equal(t, int64(run.res.Calls), run.calls)
			assert.True(t, slices.ContainsFunc(spy.requests(), func(q lookupRequest) bool { return q.Offset != nil && *q.Offset > 0 }),
				"the look-up paged by offset")
			for _, id := range c.released {
				assert.True(t, spy.askedAlone(id), "released %s was absent from an answer read in several calls: it is gone only once asked alone", id)
			}
		})
	}
}

// Invariant 3: main resources with many attached ones. The look-up asks
// for main resources only, so each 50 ids take one call, and nothing live
// is marked inactive.
func TestRecheckMainResourcesWithManyAttachedOnes(t *testing.T) {
	f := newFixture(t, sk)
	spy := spyLookups(t, f)
	servers := f.sim.AddResourcesWithChildren(60, 25, time.Now().AddDate(0, 0, 1), time.Now().AddDate(0, 0, 20))
	require.Len(t, servers, 60)
	seeded := seedSync(t, f)
	require.Len(t, seeded, 200+60*26)

	// Three servers released alone (their volumes stay listed), two with
	// their volumes.
	released := slices.Clone(servers[:5])
	for r := range f.sim.All() {
		if r.ParentResourceID == servers[3] || r.ParentResourceID == servers[4] {
			released = append(released, r.ResourceID)
		}
	}
	require.Len(t, released, 5+2*25)
	require.Equal(t, len(released), f.sim.RemoveResources(released...))
	gone := expectGone(f, seeded)

	run := recheckAndFinish(t, f, []int{2, 4, 5})

	assert.Equal(t, gone, assertVerdicts(t, f, seeded, nil), "nothing live is inactive, every released one is")
	rows := storedRows(t, f)
	for _, id := range released {
		assert.False(t, rows[id].IsActive, "released %s", id)
	}
	for _, id := range servers[5:] {
		assert.True(t, rows[id].IsActive, "server %s", id)
	}
	assert.Equal(t, gone, run.res.Gone)
	assert.Zero(t, run.res.Quarantined)

	reqs := spy.requests()
	require.NotEmpty(t, reqs)
	for _, q := range reqs {
		if assert.NotNil(t, q.MainOnly, "look-up of %d ids without only_main_resource", len(q.IDs)) {
			assert.Equal(t, int32(1), *q.MainOnly, "look-up of %d ids", len(q.IDs))
		}
	}
	batches := (len(seeded) + huawei.MaxIDsPerQuery - 1) / huawei.MaxIDsPerQuery
	assert.Equal(t, batches, run.res.Calls, "each 50 ids are answered whole in one call")
	assert.Equal(t, int64(batches), run.calls)
}

// Invariant 4: an asked id whose record comes back unreadable is unknown,
// never gone; released ones in the same run are still deactivated.
func TestRecheckUnreadableRecordIsUnknownNotGone(t *testing.T) {
	for _, tc := range []struct {
		name  string
		knobs func(ids []string) hwsim.Knobs
	}{
		{"no resource_id", func(ids []string) hwsim.Knobs { return hwsim.Knobs{LookupNoIDResourceIDs: ids} }},
		{"unreadable expire_time", func(ids []string) hwsim.Knobs { return hwsim.Knobs{LookupMalformedResourceIDs: ids} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, sk)
			seeded := seedSync(t, f)
			c := changeCloud(t, f, seeded)
			gone := expectGone(f, seeded)
			u := c.untouched
			unreadable := []string{u[0], u[len(u)/2], u[len(u)-1]}
			require.NoError(t, f.sim.SetKnobs(tc.knobs(unreadable)))

			run := recheckAndFinish(t, f, []int{2, 4, 5})

			assert.Equal(t, gone, assertVerdicts(t, f, seeded, unreadable))
			rows := storedRows(t, f)
			for _, id := range unreadable {
				assert.True(t, rows[id].IsActive, "%s came back unreadable: unknown, not gone", id)
				assert.Equal(t, "seed", rows[id].LastSyncID, "%s is left as it was", id)
			}
			for _, id := range c.released {
				assert.False(t, rows[id].IsActive, "released %s", id)
			}
			assert.Equal(t, len(unreadable), run.res.Quarantined)
			assert.NotEmpty(t, run.res.Unknown)
			assert.Subset(t, unreadable, run.res.Unknown)
			assert.Equal(t, gone, run.res.Gone)
			assert.Equal(t, len(seeded)-gone-len(unreadable), run.res.Found)
		})
	}
}

// Invariant 5: gone never depends on the sync's status filter: a sync
// listing expired resources does not make those in use gone.
func TestRecheckGoneIgnoresTheSyncStatuses(t *testing.T) {
	f := newFixture(t, sk)
	seeded := seedSync(t, f)
	c := changeCloud(t, f, seeded)
	gone := expectGone(f, seeded)

	run := recheckAndFinish(t, f, []int{hwsim.StatusExpired})

	assert.Equal(t, gone, assertVerdicts(t, f, seeded, nil))
	rows := storedRows(t, f)
	for _, ids := range [][]string{c.untouched, c.renewed, c.frozen} {
		for _, id := range ids {
			assert.True(t, rows[id].IsActive, "%s (status %d) is not gone because the sync lists expired ones", id, *rows[id].Status)
		}
	}
	assert.Equal(t, gone, run.res.Gone)
}

// Invariant 6: a look-up BSS refuses for good ends the re-check without
// failing the sync, says why and what the look-up needs, and proves nothing.
func TestRecheckRefusedLookupFailsNothingAndProvesNothing(t *testing.T) {
	for _, tc := range []struct {
		name   string
		knobs  hwsim.Knobs
		reason string
	}{
		{"400 CBC.0100", hwsim.Knobs{LookupRefused: hwsim.CodeBSSParam}, "CBC.0100"},
		{"403 CBC.0151", hwsim.Knobs{LookupRefused: hwsim.CodeBSSDenied}, "CBC.0151"},
		{"resource_ids ignored", hwsim.Knobs{LookupIgnoresIDs: true}, "did not apply the resource_ids filter"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, sk)
			seeded := seedSync(t, f)
			changeCloud(t, f, seeded)
			require.Positive(t, expectGone(f, seeded))
			require.NoError(t, f.sim.SetKnobs(tc.knobs))

			run := recheckAndFinish(t, f, []int{2, 4, 5})

			assert.Contains(t, run.res.Refused, tc.reason, "the result says why")
			assert.Contains(t, run.res.Refused, "only_main_resource=1", "the result says what the look-up is")
			assert.Contains(t, run.res.Refused, "bss:order:view", "the result says what the look-up needs")
			assert.Zero(t, run.res.Gone)
			for id, row := range storedRows(t, f) {
				assert.True(t, row.IsActive, "%s: nothing proved it gone", id)
				assert.Equal(t, "seed", row.LastSyncID, "%s is left as it was", id)
			}
			log, err := f.acts.Store.GetSyncLog(context.Background(), "sync-2")
			require.NoError(t, err)
			assert.Zero(t, log.DeactivatedResources)
		})
	}
}

// Invariant 7: a closed resource's row keeps BSS's status 3; a released
// one, which BSS no longer lists, keeps the last status it had.
func TestRecheckClosedRowKeepsStatus3(t *testing.T) {
	f := newFixture(t, sk)
	seeded := seedSync(t, f)
	ids := inUse(seeded)
	closed := []string{ids[1], ids[len(ids)/2], ids[len(ids)-2]}
	released := []string{ids[3], ids[len(ids)-4]}
	require.Equal(t, len(closed), f.sim.SetStatus(closed, hwsim.StatusClosed))
	require.Equal(t, len(released), f.sim.RemoveResources(released...))

	recheckAndFinish(t, f, []int{2, 4, 5})

	rows := storedRows(t, f)
	for _, id := range closed {
		assert.False(t, rows[id].IsActive, "closed %s", id)
		if assert.NotNil(t, rows[id].Status, id) {
			assert.Equal(t, hwsim.StatusClosed, *rows[id].Status, "closed %s: BSS's status 3, not the 2 it was stored with", id)
		}
	}
	for _, id := range released {
		assert.False(t, rows[id].IsActive, "released %s", id)
		if assert.NotNil(t, rows[id].Status, id) {
			assert.Equal(t, hwsim.StatusInUse, *rows[id].Status, "released %s keeps its last known status", id)
		}
	}
}
