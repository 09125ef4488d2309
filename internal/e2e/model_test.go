package e2e

import (
	"context"
	"expiry-sync/internal/contract"
	"flag"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"expiry-sync/internal/hwsim"
	"expiry-sync/internal/inventory"
	"expiry-sync/internal/store"
	"expiry-sync/internal/testenv"
	"expiry-sync/workflows"
)

var (
	modelSequences = flag.Int("model.sequences", 200, "random sequences the model-based test runs")
	modelSeed      = flag.Uint64("model.seed", 1, "seed of the first sequence (sequence i uses seed+i)")
	modelOps       = flag.Int("model.ops", 7, "operations per sequence")
)

// TestInventoryModel runs random sequences of syncs (in every tag mode),
// failures at random points, resumes, cancels, terminations, listing
// changes mid-sync, changes in the cloud and passing days against the
// simulator, and checks the inventory's invariants against the simulator's
// truth:
//
//   - after every completed sync that is the newest of its account, the
//     active rows in its window are exactly the resources BSS lists there
//     (same expire time and status), except those the cloud changed while
//     the sync ran, and known tags equal the cloud's;
//   - at all times, a row is inactive only if BSS no longer lists the
//     resource with a status the sync keeps (released or closed): nothing
//     is wrongly inactive, inside the window or out of it;
//   - tags once known are never lost;
//   - a sync that a newer completed sync superseded cannot be resumed.
//
// go test ./internal/e2e -run TestInventoryModel -model.sequences=2000
// runs more; -model.seed picks other ones.
func TestInventoryModel(t *testing.T) {
	for i := range *modelSequences {
		seed := *modelSeed + uint64(i)
		t.Run(fmt.Sprintf("seed-%d", seed), func(t *testing.T) {
			t.Parallel()
			newModel(t, seed).run(*modelOps)
		})
	}
}

const (
	modelExpireDays   = 30
	modelLookbackDays = 10
)

type model struct {
	t         *testing.T
	s         *stack
	rng       *rand.Rand
	syncs     []*modelSync
	knownTags map[string]bool // resources whose tags some sync stored
	denied    bool            // TMS refuses the account's tag reads
	ops       []string        // what ran, for the failure message
	seed      uint64
}

type modelSync struct {
	id     string
	state  string // completed, failed, canceled, terminated, refused
	resume bool   // may be resumed
}

func newModel(t *testing.T, seed uint64) *model {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	dbURL := testenv.SQLiteURL
	if seed%4 == 0 {
		dbURL = testenv.MySQLURL
	}
	s := newStack(t, stackOptions{resources: 10 + rng.IntN(20), seed: int64(seed), dbURL: dbURL, parallel: true,
		knobs: hwsim.Knobs{ListOrder: []string{hwsim.ListOrderIndex, hwsim.ListOrderExpire, hwsim.ListOrderID}[rng.IntN(3)]}})
	now := time.Now().UTC()
	// Most resources around the window, some in it, some about to enter it.
	s.sim.AddResourcesExpiring(20+rng.IntN(40), now.AddDate(0, 0, -modelLookbackDays-5), now.AddDate(0, 0, modelExpireDays+5))
	return &model{t: t, s: s, rng: rng, knownTags: map[string]bool{}, seed: seed}
}

func (m *model) run(ops int) {
	defer func() {
		if m.t.Failed() {
			m.t.Logf("operations: %v", m.ops)
		}
	}()
	for range ops {
		switch n := m.rng.IntN(10); {
		case n < 4:
			m.sync(m.rng.IntN(5))
		case n < 5:
			m.resume()
		case n < 8:
			m.changeCloud()
		default:
			m.passDays(1 + m.rng.IntN(5))
		}
		m.checkInactive()
		if m.t.Failed() {
			return
		}
	}
	m.sync(faultNone) // end on a completed sync: everything must then hold
}

// Faults a sync may meet.
const (
	faultNone = iota
	faultChurn
	faultListing
	faultTerminate
	faultCancel
)

func (m *model) input() workflows.SyncInput {
	return workflows.SyncInput{
		ExpireDays: modelExpireDays, LookbackDays: modelLookbackDays,
		PageSize: 3 + m.rng.IntN(8), BatchSize: 2 + m.rng.IntN(6), TagConcurrency: 1 + m.rng.IntN(4), TagsPerActivity: 1 + m.rng.IntN(5),
		TagMode: workflows.TagModes[m.rng.IntN(len(workflows.TagModes))],
	}
}

func (m *model) sync(fault int) {
	in := m.input()
	id := fmt.Sprintf("model-%d-%d-%d", m.seed, time.Now().UnixNano()%1e9, len(m.syncs))
	m.ops = append(m.ops, fmt.Sprintf("sync %s fault=%d page=%d mode=%s", id, fault, in.PageSize, in.TagMode))
	knobs := m.s.sim.Knobs()
	switch fault {
	case faultChurn:
		now := time.Now().UTC()
		knobs.Churn = &hwsim.Churn{AfterRequests: 1 + m.rng.IntN(3), Begin: now.AddDate(0, 0, -modelLookbackDays), End: now.AddDate(0, 0, modelExpireDays),
			Renew: m.rng.IntN(3), Remove: m.rng.IntN(3), Add: m.rng.IntN(3)}
	case faultListing:
		knobs.ListFailFromOffset = new(in.PageSize * (1 + m.rng.IntN(3)))
	case faultTerminate, faultCancel:
		knobs.Latency = 15 * time.Millisecond // slow enough to stop it mid-way
	}
	require.NoError(m.t, m.s.sim.SetKnobs(knobs))
	defer m.resetKnobs()
	m.syncs = append(m.syncs, &modelSync{id: id})
	m.runSync(m.syncs[len(m.syncs)-1], in, fault)
}

// resetKnobs takes back the faults, keeping the cloud's standing behaviour
// (its list order, a denied TMS permission).
func (m *model) resetKnobs() {
	k := m.s.sim.Knobs()
	require.NoError(m.t, m.s.sim.SetKnobs(hwsim.Knobs{ListOrder: k.ListOrder, TMSPermissionDenied: m.denied}))
}

func (m *model) resume() {
	var open []*modelSync
	for _, s := range m.syncs {
		if s.resume {
			open = append(open, s)
		}
	}
	if len(open) == 0 {
		return
	}
	ms := open[m.rng.IntN(len(open))]
	m.ops = append(m.ops, "resume "+ms.id)
	in := m.input()
	in.Resume = true
	m.runSync(ms, in, faultNone)
}

// runSync starts (or resumes) a sync, applies the fault, waits for its end
// and checks what must hold then.
func (m *model) runSync(ms *modelSync, in workflows.SyncInput, fault int) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	superseded := m.superseded(ms)
	run, err := m.s.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: ms.id, TaskQueue: m.s.cfg.Temporal.TaskQueue,
		WorkflowExecutionErrorWhenAlreadyStarted: true}, workflows.WorkflowName, in)
	require.NoError(m.t, err)
	if fault == faultTerminate || fault == faultCancel {
		m.stopMidway(ctx, ms.id, fault)
	}
	var summary contract.Summary
	err = run.Get(ctx, &summary)
	switch {
	case superseded:
		require.Error(m.t, err, "resuming a superseded sync is refused")
		assert.Contains(m.t, workflows.ErrorText(err), "superseded by")
		ms.state, ms.resume = "refused", false
	case err == nil:
		ms.state, ms.resume = "completed", false
		m.checkCompleted(ms, summary, fault == faultChurn)
	default:
		_, opened := m.s.store.GetSyncLog(ctx, ms.id)
		ms.state, ms.resume = m.stateOf(err, fault), opened == nil // stopped before it opened its log: nothing to resume
		if fault == faultNone {
			m.t.Errorf("sync %s without a fault failed: %v", ms.id, err)
		}
	}
}

// superseded: a newer sync of the account completed since ms began.
func (m *model) superseded(ms *modelSync) bool {
	log, err := m.s.store.GetSyncLog(context.Background(), ms.id)
	if err != nil {
		return false // never opened: a new sync
	}
	acct, err := m.s.store.Account(context.Background(), m.s.cfg.Huawei.DomainID)
	require.NoError(m.t, err)
	return acct.CompletedGeneration > log.Generation
}

func (m *model) stateOf(err error, fault int) string {
	switch fault {
	case faultTerminate:
		return "terminated"
	case faultCancel:
		return "canceled"
	}
	return "failed: " + workflows.ErrorText(err)
}

// stopMidway terminates or cancels the sync once it has committed a batch
// (or lets it finish, if it is faster).
func (m *model) stopMidway(ctx context.Context, id string, fault int) {
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		log, err := m.s.store.GetSyncLog(ctx, id)
		if err == nil && (log.RowsWritten > 0 || log.Status != store.StatusRunning) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if fault == faultTerminate {
		_ = m.s.client.TerminateWorkflow(ctx, id, "", "model: terminated mid-way")
	} else {
		_ = m.s.client.CancelWorkflow(ctx, id, "")
	}
}

// checkCompleted checks a completed sync: when it is the newest completed
// one of the account, the window holds exactly what BSS lists.
func (m *model) checkCompleted(ms *modelSync, summary contract.Summary, churned bool) {
	t := m.t
	ctx := context.Background()
	log, err := m.s.store.GetSyncLog(ctx, ms.id)
	require.NoError(t, err)
	acct, err := m.s.store.Account(ctx, m.s.cfg.Huawei.DomainID)
	require.NoError(t, err)
	if acct.CompletedGeneration != log.Generation {
		return // an older sync resumed after a newer failed one: it need not be the truth
	}
	if m.denied {
		assert.Equal(t, store.StatusPartial, summary.Status, "a sync that could not read tags is never a success")
		assert.NotEmpty(t, summary.Notes.Degraded)
	}
	changed := map[string]bool{}
	if churned {
		changed = m.changedDuringSync()
	}
	truth := map[string]hwsim.Resource{}
	for _, r := range m.s.sim.Truth(log.WindowBegin, log.WindowEnd, workflows.DefaultStatuses) {
		truth[r.ResourceID] = r
	}
	rows := m.s.rows()
	for id, r := range truth {
		if changed[id] {
			continue
		}
		row, ok := rows[id]
		if !assert.True(t, ok, "%s is in the window but not stored", id) || !assert.True(t, row.IsActive, "%s is in the window but inactive", id) {
			continue
		}
		assert.True(t, r.ExpireTime.Equal(row.ExpireTime), "%s expires %s, stored %s", id, r.ExpireTime, row.ExpireTime)
		assert.Equal(t, new(int(r.Status)), row.Status, "%s status", id)
		m.checkTags(id, r, row)
	}
	for id, row := range rows {
		inWindow := !row.ExpireTime.Before(log.WindowBegin) && !row.ExpireTime.After(log.WindowEnd)
		if row.IsActive && inWindow && !changed[id] {
			_, ok := truth[id]
			assert.True(t, ok, "%s is stored active in the window, but BSS does not list it there", id)
		}
		if row.Tags != nil {
			m.knownTags[id] = true
		}
	}
}

// checkTags: tags read OK equal the cloud's; tags once known are kept.
func (m *model) checkTags(id string, r hwsim.Resource, row store.ExpiringResource) {
	want := store.Tags(maps.Clone(r.Tags))
	if want == nil {
		want = store.Tags{}
	}
	switch {
	case row.TagStatus == string(inventory.TagsOK):
		assert.Equal(m.t, want, row.Tags, "%s tags", id)
	case m.knownTags[id]:
		assert.Equal(m.t, want, row.Tags, "%s: its known tags are kept when a read fails (%s)", id, row.TagStatus)
	}
}

// changedDuringSync: resources the mid-sync churn touched (whether they
// end up listed depends on when the churn hit each page).
func (m *model) changedDuringSync() map[string]bool {
	out := map[string]bool{}
	c := m.s.sim.ChurnResult()
	for _, id := range slices.Concat(c.Renewed, c.Removed, c.Added) {
		out[id] = true
	}
	return out
}

// checkInactive: a row is inactive only when BSS no longer lists the
// resource with a status the sync keeps.
func (m *model) checkInactive() {
	for id, row := range m.s.rows() {
		if row.IsActive {
			continue
		}
		r, live := m.s.sim.Lookup(id)
		if live && slices.Contains(workflows.DefaultStatuses, int(r.Status)) {
			m.t.Errorf("%s is inactive, but BSS lists it with status %d (expires %s)", id, r.Status, r.ExpireTime)
		}
	}
}

// changeCloud renews, releases, closes, freezes, adds resources, or takes
// away (or gives back) the account's TMS permission.
func (m *model) changeCloud() {
	now := time.Now().UTC()
	ids := m.liveIDs()
	pick := func() []string {
		m.rng.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
		return ids[:min(len(ids), 1+m.rng.IntN(4))]
	}
	switch m.rng.IntN(7) {
	case 0:
		some := pick()
		m.s.sim.Renew(some, time.Duration(30+m.rng.IntN(400))*24*time.Hour)
		m.ops = append(m.ops, fmt.Sprintf("renew %v", some))
	case 1:
		some := pick()
		m.s.sim.RemoveResources(some...)
		m.ops = append(m.ops, fmt.Sprintf("release %v", some))
	case 2:
		some := pick()
		m.s.sim.SetStatus(some, hwsim.StatusClosed)
		m.ops = append(m.ops, fmt.Sprintf("close %v", some))
	case 3:
		some := pick()
		m.s.sim.SetStatus(some, hwsim.StatusFrozen)
		m.ops = append(m.ops, fmt.Sprintf("freeze %v", some))
	case 4, 5:
		added := m.s.sim.AddResourcesExpiring(1+m.rng.IntN(5), now.AddDate(0, 0, -modelLookbackDays), now.AddDate(0, 0, modelExpireDays+3))
		m.ops = append(m.ops, fmt.Sprintf("add %v", added))
	default:
		m.denied = !m.denied
		m.resetKnobs()
		m.ops = append(m.ops, fmt.Sprintf("tms permission denied=%v", m.denied))
	}
}

// passDays moves the cloud d days on: every expire time comes d days
// nearer (the sync's window is computed from the clock), a resource past
// its expire time is expired (5), and one 15 days past it is released.
func (m *model) passDays(d int) {
	m.ops = append(m.ops, fmt.Sprintf("pass %d days", d))
	ids := m.liveIDs()
	m.s.sim.Renew(ids, -time.Duration(d)*24*time.Hour)
	now := time.Now().UTC()
	var expired, released []string
	for _, id := range ids {
		r, ok := m.s.sim.Lookup(id)
		switch {
		case !ok:
		case r.ExpireTime.Before(now.AddDate(0, 0, -15)):
			released = append(released, id)
		case r.ExpireTime.Before(now) && r.Status == hwsim.StatusInUse:
			expired = append(expired, id)
		}
	}
	m.s.sim.SetStatus(expired, hwsim.StatusExpired)
	m.s.sim.RemoveResources(released...)
}

func (m *model) liveIDs() []string {
	var ids []string
	for r := range m.s.sim.All() {
		ids = append(ids, r.ResourceID)
	}
	return ids
}
