package e2e

import (
	"context"
	"flag"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"expiry-sync/internal/contract"
	"expiry-sync/internal/inventory"
	"expiry-sync/internal/store"
	"expiry-sync/internal/testkit/hwsim"
	"expiry-sync/internal/testkit/testenv"
	"expiry-sync/workflows"
)

var (
	modelSequences = flag.Int("model.sequences", 200, "random sequences the model-based test runs")
	modelSeed      = flag.Uint64("model.seed", 1, "seed of the first sequence (sequence i uses seed+i)")
	modelOps       = flag.Int("model.ops", 7, "operations per sequence")
)

// TestInventoryModel runs random sequences of syncs (in every tag mode),
// failures at random points, resumes, cancels, terminations racing a
// resume, two syncs at once, a takeover tried during a long commit,
// changes in the cloud (renewals, releases, purchases with many attached
// resources, tag edits, a lost TMS permission) and passing days, against a
// Huawei whose answers vary the way the docs leave open: every listing
// order (ties of expire times reordered on each call among them), short
// look-up answers, unreadable records in listings and in look-ups, ids
// that cannot be used, over-long values, tag answers without tags, empty
// pages before total_count, look-ups refused. Half the sequences run on
// MariaDB, half on SQLite.
//
// Every expectation comes from the model's own record (which syncs it
// started, in which order they began, which completed) and the simulator's
// truth, never from the product's tables, which are what is checked:
//
//   - after every completed sync, the newest of its account, the active
//     rows in its window are exactly the resources BSS lists there (same
//     expire time and status), except those the cloud changed while the
//     sync ran and those BSS cannot show readably; a resource it did not
//     store is allowed only when the sync says its listing is short;
//   - at all times, a row is inactive only if BSS no longer lists the
//     resource or lists it closed;
//   - tags read OK are the cloud's, and tags once known are never lost;
//   - a sync that a newer completed sync superseded cannot be resumed;
//   - of two syncs of the account, one writes at a time.
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

// model is the test's own record of the cloud and of the syncs it ran.
type model struct {
	t     *testing.T
	s     *stack
	rng   *rand.Rand
	seed  uint64
	ops   []string // what ran, for the failure message
	mysql bool
	cloud cloudModel
	syncs []*modelSync
	// attempts counts the attempts that began (took the account), in the
	// order they began; newest is the number of the newest that completed.
	attempts, newest int
	pastTags         map[string][]map[string]string // tags a resource had before an edit
	knownTags        map[string]bool                // resources whose tags a sync stored
}

// modelSync is one sync the model started.
type modelSync struct {
	id      string
	attempt int // the number of its latest attempt that began (0: none)
	done    bool
}

// cloudModel is how the simulated Huawei answers, standing between syncs.
type cloudModel struct {
	order     string
	lookupMax int  // records per look-up answer (0: as asked)
	denied    bool // TMS refuses the account's tag reads
	// Listed unreadably, or under an id no sync may use: quarantined.
	malformed, noID, odd []string
	// Unreadable in look-ups by id only.
	lookupNoID, lookupMalformed []string
	long, tagsMissing           []string
}

func (c cloudModel) knobs() hwsim.Knobs {
	return hwsim.Knobs{ListOrder: c.order, LookupMaxRecords: c.lookupMax, TMSPermissionDenied: c.denied,
		MalformedResourceIDs: c.malformed, NoIDResourceIDs: c.noID, OddIDResourceIDs: c.odd,
		LookupNoIDResourceIDs: c.lookupNoID, LookupMalformedResourceIDs: c.lookupMalformed,
		LongFieldResourceIDs: c.long, TagsFieldMissingResourceIDs: c.tagsMissing}
}

// unlisted are the resources a listing cannot take: no row can be expected.
func (c cloudModel) unlisted() map[string]bool {
	return setOf(c.malformed, c.noID, c.odd)
}

// unprovable are the resources a look-up by id cannot judge: they may
// stay as they were.
func (c cloudModel) unprovable() map[string]bool {
	return setOf(c.malformed, c.noID, c.odd, c.lookupNoID, c.lookupMalformed)
}

func setOf(lists ...[]string) map[string]bool {
	out := map[string]bool{}
	for _, l := range lists {
		for _, id := range l {
			out[id] = true
		}
	}
	return out
}

func newModel(t *testing.T, seed uint64) *model {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	m := &model{t: t, rng: rng, seed: seed, mysql: seed%2 == 0, pastTags: map[string][]map[string]string{}, knownTags: map[string]bool{}}
	m.cloud.order = []string{hwsim.ListOrderIndex, hwsim.ListOrderExpire, hwsim.ListOrderID, hwsim.ListOrderExpireShuffled}[rng.IntN(4)]
	if rng.IntN(3) == 0 {
		m.cloud.lookupMax = 1 + rng.IntN(6)
	}
	dbURL := testenv.SQLiteURL
	if m.mysql {
		dbURL = testenv.MySQLURL
	}
	m.s = newStack(t, stackOptions{resources: 10 + rng.IntN(20), seed: int64(seed), dbURL: dbURL, parallel: true, knobs: m.cloud.knobs()})
	now := time.Now().UTC()
	// Most resources around the window, some in it, some about to enter it.
	m.s.sim.AddResourcesExpiring(20+rng.IntN(40), now.AddDate(0, 0, -modelLookbackDays-5), now.AddDate(0, 0, modelExpireDays+5))
	if seed%3 == 0 {
		// Servers bought with many disks: their records share an expire time.
		m.s.sim.AddResourcesWithChildren(1+rng.IntN(3), 20+rng.IntN(6), now.AddDate(0, 0, -modelLookbackDays), now.AddDate(0, 0, modelExpireDays))
	}
	m.ops = append(m.ops, fmt.Sprintf("mysql=%v order=%s lookup_max=%d", m.mysql, m.cloud.order, m.cloud.lookupMax))
	return m
}

func (m *model) run(ops int) {
	defer func() {
		if m.t.Failed() {
			m.t.Logf("operations: %v", m.ops)
		}
	}()
	for range ops {
		switch n := m.rng.IntN(20); {
		case n < 6:
			m.sync(m.fault())
		case n < 8:
			m.resume()
		case n < 9:
			m.twoAtOnce()
		case n < 10:
			m.longCommit()
		case n < 11:
			m.stopAndResumeAtOnce()
		case n < 17:
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
	faultEmptyPage
	faultLookupRefused
	numFaults
)

func (m *model) fault() int {
	if m.rng.IntN(3) == 0 {
		return faultNone
	}
	return m.rng.IntN(numFaults)
}

func (m *model) input() workflows.SyncInput {
	return workflows.SyncInput{
		ExpireDays: modelExpireDays, LookbackDays: modelLookbackDays,
		PageSize: 3 + m.rng.IntN(8), BatchSize: 2 + m.rng.IntN(6), TagConcurrency: 1 + m.rng.IntN(4), TagsPerActivity: 1 + m.rng.IntN(5),
		TagMode: workflows.TagModes[m.rng.IntN(len(workflows.TagModes))],
	}
}

func (m *model) newSync() *modelSync {
	ms := &modelSync{id: fmt.Sprintf("model-%d-%d-%d", m.seed, time.Now().UnixNano()%1e9, len(m.syncs))}
	m.syncs = append(m.syncs, ms)
	return ms
}

// faultKnobs are the cloud's standing behaviour with a fault on top.
func (m *model) faultKnobs(in workflows.SyncInput, fault int) hwsim.Knobs {
	k := m.cloud.knobs()
	now := time.Now().UTC()
	switch fault {
	case faultChurn:
		k.Churn = &hwsim.Churn{AfterRequests: 1 + m.rng.IntN(3), Begin: now.AddDate(0, 0, -modelLookbackDays), End: now.AddDate(0, 0, modelExpireDays),
			Renew: m.rng.IntN(3), Remove: m.rng.IntN(3), Add: m.rng.IntN(3)}
	case faultListing:
		k.ListFailFromOffset = new(in.PageSize * (1 + m.rng.IntN(3)))
	case faultTerminate, faultCancel:
		k.Latency = 15 * time.Millisecond // slow enough to stop it mid-way
	case faultEmptyPage:
		// BSS answers nothing, whatever total_count says, from an offset on.
		from := in.PageSize * (1 + m.rng.IntN(2))
		for o := from; o < from+in.PageSize; o++ {
			k.EmptyPageOffsets = append(k.EmptyPageOffsets, o)
		}
	case faultLookupRefused:
		k.LookupRefused = []string{hwsim.CodeBSSParam, hwsim.CodeBSSDenied}[m.rng.IntN(2)]
	}
	return k
}

func (m *model) setKnobs(k hwsim.Knobs) { require.NoError(m.t, m.s.sim.SetKnobs(k)) }

// slowCloud answers every call after latency (slow enough to act on a sync
// mid-way) until the returned restore.
func (m *model) slowCloud(latency time.Duration) (restore func()) {
	k := m.cloud.knobs()
	k.Latency = latency
	m.setKnobs(k)
	return func() { m.setKnobs(m.cloud.knobs()) }
}

func (m *model) sync(fault int) {
	in := m.input()
	ms := m.newSync()
	m.ops = append(m.ops, fmt.Sprintf("sync %s fault=%d page=%d mode=%s", ms.id, fault, in.PageSize, in.TagMode))
	m.setKnobs(m.faultKnobs(in, fault))
	defer m.setKnobs(m.cloud.knobs())
	m.runAttempt(ms, in, fault)
}

func (m *model) resume() {
	var open []*modelSync
	for _, s := range m.syncs {
		if s.attempt > 0 && !s.done {
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
	m.runAttempt(ms, in, faultNone)
}

// start starts (or resumes) ms's workflow.
func (m *model) start(ctx context.Context, ms *modelSync, in workflows.SyncInput) client.WorkflowRun {
	run, err := m.s.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: ms.id, TaskQueue: m.s.cfg.Temporal.TaskQueue,
		WorkflowExecutionErrorWhenAlreadyStarted: true}, workflows.WorkflowName, in)
	require.NoError(m.t, err)
	return run
}

// runAttempt starts (or resumes) a sync, applies the fault, waits for its
// end and checks what must hold then.
func (m *model) runAttempt(ms *modelSync, in workflows.SyncInput, fault int) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	superseded := in.Resume && m.newest > ms.attempt
	run := m.start(ctx, ms, in)
	if fault == faultTerminate || fault == faultCancel {
		m.stopMidway(ctx, ms.id, fault)
	}
	var summary contract.Summary
	err := run.Get(ctx, &summary)
	began := m.noteBegan(ms, run.GetRunID())
	switch {
	case superseded:
		require.Error(m.t, err, "resuming a superseded sync is refused")
		assert.Contains(m.t, workflows.ErrorText(err), "superseded by")
		assert.False(m.t, began, "a refused resume takes nothing")
	case err == nil:
		m.completed(ms, summary, fault)
	case fault == faultNone:
		m.t.Errorf("sync %s without a fault failed: %v", ms.id, err)
	}
}

// noteBegan records, from the run's history, whether its attempt began
// (BeginSync completed: it took the account and a new generation).
func (m *model) noteBegan(ms *modelSync, runID string) bool {
	if _, ok := m.begunAt(ms.id, runID); !ok {
		return false
	}
	m.attempts++
	ms.attempt = m.attempts
	return true
}

// begunAt is when the run's BeginSync completed, if it did.
func (m *model) begunAt(id, runID string) (time.Time, bool) {
	scheduled := map[int64]bool{}
	for _, ev := range m.s.history(id, runID).Events {
		if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil && a.GetActivityType().GetName() == contract.ActivityBeginSync {
			scheduled[ev.GetEventId()] = true
		}
		if a := ev.GetActivityTaskCompletedEventAttributes(); a != nil && scheduled[a.GetScheduledEventId()] {
			return ev.GetEventTime().AsTime(), true
		}
	}
	return time.Time{}, false
}

// completed records a completed attempt, the newest of its account by the
// model's count, and checks the inventory against the cloud.
func (m *model) completed(ms *modelSync, summary contract.Summary, fault int) {
	ms.done = true
	require.Positive(m.t, ms.attempt, "a completed sync began")
	if ms.attempt < m.newest {
		m.t.Errorf("%s completed attempt %d after attempt %d had: an older attempt spoke last", ms.id, ms.attempt, m.newest)
	}
	m.newest = ms.attempt
	m.checkCompleted(summary, fault)
}

// stopMidway terminates or cancels the sync once it has listed a page or
// two (or lets it finish, if it is faster).
func (m *model) stopMidway(ctx context.Context, id string, fault int) {
	m.waitListing(ctx, id)
	if fault == faultTerminate {
		_ = m.s.client.TerminateWorkflow(ctx, id, "", "model: terminated mid-way")
	} else {
		_ = m.s.client.CancelWorkflow(ctx, id, "")
	}
}

// waitListing waits until the sync has listed two pages, or ended.
func (m *model) waitListing(ctx context.Context, id string) {
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if !m.running(ctx, id) {
			return
		}
		if v, err := m.s.client.QueryWorkflow(ctx, id, "", workflows.ProgressQuery); err == nil {
			var p workflows.Progress
			if v.Get(&p) == nil && p.PagesListed >= 2 {
				return
			}
		}
	}
}

func (m *model) running(ctx context.Context, id string) bool {
	d, err := m.s.client.DescribeWorkflow(ctx, id, "")
	return err == nil && d.Status == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
}

// twoAtOnce starts two syncs of the account at the same instant: one
// takes it and the other is refused, or (should one end before the other
// begins) they run one after the other; never both at once.
func (m *model) twoAtOnce() {
	in := m.input()
	a, b := m.newSync(), m.newSync()
	m.ops = append(m.ops, fmt.Sprintf("two at once %s %s page=%d mode=%s", a.id, b.id, in.PageSize, in.TagMode))
	defer m.slowCloud(10 * time.Millisecond)()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	type outcome struct {
		run     client.WorkflowRun
		err     error
		summary contract.Summary
	}
	outs := make([]outcome, 2)
	var wg sync.WaitGroup
	for i, ms := range []*modelSync{a, b} {
		wg.Go(func() {
			outs[i].run = m.start(ctx, ms, in)
			outs[i].err = outs[i].run.Get(ctx, &outs[i].summary)
		})
	}
	wg.Wait()
	beganA, okA := m.begunAt(a.id, outs[0].run.GetRunID())
	beganB, okB := m.begunAt(b.id, outs[1].run.GetRunID())
	switch {
	case okA && okB:
		// Both began: the later one only once the first had ended.
		first, second, firstBegan, secondBegan := 0, 1, beganA, beganB
		if beganB.Before(beganA) {
			first, second, firstBegan, secondBegan = 1, 0, beganB, beganA
		}
		ended := m.closedAt(outs[first].run)
		assert.False(m.t, secondBegan.Before(ended), "the second sync began at %s while the first, begun at %s, ran until %s", secondBegan, firstBegan, ended)
		for _, i := range []int{first, second} {
			ms := []*modelSync{a, b}[i]
			m.attempts++
			ms.attempt = m.attempts
			if assert.NoError(m.t, outs[i].err) {
				m.completed(ms, outs[i].summary, faultNone)
			}
		}
	case okA || okB:
		won, lost := 0, 1
		if okB {
			won, lost = 1, 0
		}
		winner := []*modelSync{a, b}[won]
		require.Error(m.t, outs[lost].err)
		assert.Contains(m.t, workflows.ErrorText(outs[lost].err), "is already being synced by "+winner.id)
		m.attempts++
		winner.attempt = m.attempts
		if assert.NoError(m.t, outs[won].err) {
			m.completed(winner, outs[won].summary, faultNone)
		}
	default:
		m.t.Errorf("neither of two syncs began: %v, %v", outs[0].err, outs[1].err)
	}
}

// closedAt is when a run ended.
func (m *model) closedAt(run client.WorkflowRun) time.Time {
	events := m.s.history(run.GetID(), run.GetRunID()).Events
	return events[len(events)-1].GetEventTime().AsTime()
}

// longCommit holds, while a sync runs, the lock its commits hold on the
// account (on MariaDB, a share lock on its fence row, as a long commit
// does) and tries another sync meanwhile: the live sync keeps its
// account (the contender is refused) and completes once the lock goes.
func (m *model) longCommit() {
	if !m.mysql {
		m.sync(faultNone) // SQLite has one writer: nothing holds a lock beside it
		return
	}
	in := m.input()
	holder := m.newSync()
	m.ops = append(m.ops, fmt.Sprintf("long commit %s page=%d mode=%s", holder.id, in.PageSize, in.TagMode))
	defer m.slowCloud(20 * time.Millisecond)()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	run := m.start(ctx, holder, in)
	m.waitListing(ctx, holder.id)

	tx := m.s.store.DB().Begin()
	require.NoError(m.t, tx.Error)
	var fenced string
	require.NoError(m.t, tx.Raw("SELECT lease_sync_id FROM sync_accounts WHERE cloud_provider = ? AND account_id = ? LOCK IN SHARE MODE",
		inventory.CloudProvider, m.s.cfg.Huawei.DomainID).Scan(&fenced).Error)
	if m.running(ctx, holder.id) {
		time.Sleep(time.Second) // its commits go on; its end waits for the lock
		contender := m.newSync()
		crun := m.start(ctx, contender, m.input())
		err := crun.Get(ctx, nil)
		if assert.Error(m.t, err, "a live sync is never taken over") {
			assert.Contains(m.t, workflows.ErrorText(err), "is already being synced by "+holder.id)
		}
		_, began := m.begunAt(contender.id, crun.GetRunID())
		assert.False(m.t, began)
	}
	tx.Rollback()
	var summary contract.Summary
	err := run.Get(ctx, &summary)
	if m.noteBegan(holder, run.GetRunID()) && assert.NoError(m.t, err, "the holder completes") {
		m.completed(holder, summary, faultNone)
	}
}

// stopAndResumeAtOnce cancels a sync and terminates it right after (its
// end may still be in flight), then resumes it at once: the new attempt
// takes the account from the closed one, and what the stopped attempt
// still does (its end, a late write) changes nothing of the new one's.
func (m *model) stopAndResumeAtOnce() {
	in := m.input()
	ms := m.newSync()
	m.ops = append(m.ops, fmt.Sprintf("cancel, terminate and resume %s page=%d mode=%s", ms.id, in.PageSize, in.TagMode))
	restore := m.slowCloud(15 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	run := m.start(ctx, ms, in)
	m.waitListing(ctx, ms.id)
	_ = m.s.client.CancelWorkflow(ctx, ms.id, "")
	time.Sleep(time.Duration(m.rng.IntN(30)) * time.Millisecond)
	_ = m.s.client.TerminateWorkflow(ctx, ms.id, "", "model: terminated while it ends")
	var summary contract.Summary
	err := run.Get(ctx, &summary)
	restore()
	m.noteBegan(ms, run.GetRunID())
	if err == nil {
		m.completed(ms, summary, faultNone) // it was faster
		return
	}
	if ms.attempt == 0 {
		return // stopped before it began: nothing to resume
	}
	in = m.input()
	in.Resume = true
	m.runAttempt(ms, in, faultNone)
}

// checkCompleted checks the newest completed sync: its window holds what
// BSS lists, and nothing but.
func (m *model) checkCompleted(summary contract.Summary, fault int) {
	t := m.t
	if m.cloud.denied {
		assert.Equal(t, contract.StatusPartial, summary.Status, "a sync that could not read tags is never a success")
		assert.NotEmpty(t, summary.Notes.Degraded)
	}
	changed := map[string]bool{}
	if fault == faultChurn {
		c := m.s.sim.ChurnResult()
		for _, id := range slices.Concat(c.Renewed, c.Removed, c.Added) {
			changed[id] = true
		}
	}
	unlisted, unprovable, long := m.cloud.unlisted(), m.cloud.unprovable(), setOf(m.cloud.long)
	truth := map[string]hwsim.Resource{}
	for _, r := range m.s.sim.Truth(summary.WindowBegin, summary.WindowEnd, workflows.DefaultStatuses) {
		truth[r.ResourceID] = r
	}
	rows := m.s.rows()
	var missing []string
	for id, r := range truth {
		if changed[id] {
			continue
		}
		if unlisted[id] {
			assert.Equal(t, contract.StatusPartial, summary.Status, "%s is listed unreadably: the sync says so", id)
			continue
		}
		row, ok := rows[id]
		if !ok {
			missing = append(missing, id)
			continue
		}
		if !assert.True(t, row.IsActive, "%s is in the window but inactive", id) {
			continue
		}
		assert.True(t, r.ExpireTime.Equal(row.ExpireTime), "%s expires %s, stored %s", id, r.ExpireTime, row.ExpireTime)
		assert.Equal(t, new(int(r.Status)), row.Status, "%s status", id)
		if long[id] {
			assert.NotEmpty(t, row.CutFields, "%s was listed with over-long values: stored cut, and flagged", id)
		}
	}
	if len(missing) > 0 {
		// A listing BSS cut short, or one it cannot prove (a tie it may
		// reorder, holding records without ids, or changing while it is
		// read), may miss resources: then the sync says so.
		t.Logf("%v are in the window but not stored; the sync says: %s %v", missing, summary.Status, summary.Notes)
		assert.Equal(t, contract.StatusPartial, summary.Status, "%v are in the window but not stored: never a success", missing)
		assert.Contains(t, strings.Join(summary.Notes.Degraded, " "), "may be missing from the inventory", "%v are in the window but not stored", missing)
		if fault != faultEmptyPage && fault != faultChurn {
			assert.NotEmpty(t, m.cloud.unlisted(), "%v are in the window but not stored: only an empty page, a change while listing or unreadable records may leave the listing unproved", missing)
		}
	}
	for id, row := range rows {
		inWindow := !row.ExpireTime.Before(summary.WindowBegin) && !row.ExpireTime.After(summary.WindowEnd)
		if row.IsActive && inWindow && !changed[id] && !unprovable[id] && fault != faultLookupRefused {
			_, ok := truth[id]
			assert.True(t, ok, "%s is stored active in the window, but BSS does not list it there", id)
		}
	}
	for id, row := range rows {
		m.checkTags(id, row)
	}
}

// checkTags: tags read OK are tags the resource had (its current ones,
// if they never changed); tags once known are never lost.
func (m *model) checkTags(id string, row store.ExpiringResource) {
	r, live := m.s.sim.Lookup(id)
	if !live {
		return
	}
	had := append(slices.Clone(m.pastTags[id]), r.Tags)
	wasOne := slices.ContainsFunc(had, func(tags map[string]string) bool { return maps.Equal(tagsAsStored(tags), row.Tags) })
	switch {
	case row.TagStatus == string(inventory.TagsOK) && len(had) == 1:
		assert.Equal(m.t, tagsAsStored(r.Tags), row.Tags, "%s tags", id)
	case row.TagStatus == string(inventory.TagsOK):
		assert.True(m.t, wasOne, "%s tags %v were never its tags (%v)", id, row.Tags, had)
	case m.knownTags[id]:
		assert.NotNil(m.t, row.Tags, "%s: its known tags are kept when a read fails (%s)", id, row.TagStatus)
		assert.True(m.t, wasOne, "%s kept tags %v it never had (%v)", id, row.Tags, had)
	}
	if row.Tags != nil {
		m.knownTags[id] = true
	}
}

// tagsAsStored is how tags are stored: {} for none.
func tagsAsStored(tags map[string]string) store.Tags {
	if tags == nil {
		return store.Tags{}
	}
	return store.Tags(maps.Clone(tags))
}

// checkInactive: a row is inactive only when BSS no longer lists the
// resource (under the id it was stored with) or lists it closed.
func (m *model) checkInactive() {
	odd := setOf(m.cloud.odd)
	for id, row := range m.s.rows() {
		if row.IsActive || odd[id] {
			continue
		}
		if r, live := m.s.sim.Lookup(id); live && r.Status != hwsim.StatusClosed {
			m.t.Errorf("%s is inactive, but BSS lists it with status %d (expires %s)", id, r.Status, r.ExpireTime)
		}
	}
}

// changeCloud renews, releases, closes, freezes or buys resources, edits
// tags, takes away (or gives back) the TMS permission, or changes how BSS
// answers about some resources.
func (m *model) changeCloud() {
	now := time.Now().UTC()
	some := m.pick(1 + m.rng.IntN(4))
	switch m.rng.IntN(13) {
	case 0:
		m.s.sim.Renew(some, time.Duration(30+m.rng.IntN(400))*24*time.Hour)
		m.ops = append(m.ops, fmt.Sprintf("renew %v", some))
	case 1:
		m.s.sim.RemoveResources(some...)
		m.ops = append(m.ops, fmt.Sprintf("release %v", some))
	case 2:
		m.s.sim.SetStatus(some, hwsim.StatusClosed)
		m.ops = append(m.ops, fmt.Sprintf("close %v", some))
	case 3:
		m.s.sim.SetStatus(some, hwsim.StatusFrozen)
		m.ops = append(m.ops, fmt.Sprintf("freeze %v", some))
	case 4:
		added := m.s.sim.AddResourcesExpiring(1+m.rng.IntN(5), now.AddDate(0, 0, -modelLookbackDays), now.AddDate(0, 0, modelExpireDays+3))
		m.ops = append(m.ops, fmt.Sprintf("add %v", added))
	case 5:
		added := m.s.sim.AddResourcesWithChildren(1, 20+m.rng.IntN(6), now.AddDate(0, 0, -modelLookbackDays), now.AddDate(0, 0, modelExpireDays))
		m.ops = append(m.ops, fmt.Sprintf("add with 20+ attached %v", added))
	case 6:
		tags := map[string]string{"owner": fmt.Sprintf("team-%d", m.rng.IntN(5))}
		if m.rng.IntN(3) == 0 {
			tags = nil
		}
		for _, id := range some {
			if r, ok := m.s.sim.Lookup(id); ok {
				m.pastTags[id] = append(m.pastTags[id], r.Tags)
			}
		}
		m.s.sim.SetTags(some, tags)
		m.ops = append(m.ops, fmt.Sprintf("tags %v on %v", tags, some))
	case 7:
		m.cloud.denied = !m.cloud.denied
		m.ops = append(m.ops, fmt.Sprintf("tms permission denied=%v", m.cloud.denied))
	case 8:
		lists := []*[]string{&m.cloud.malformed, &m.cloud.noID, &m.cloud.odd}
		i := m.rng.IntN(len(lists))
		*lists[i] = append(*lists[i], some[0])
		m.ops = append(m.ops, fmt.Sprintf("listed unreadably (%s) %s", []string{"malformed", "no id", "odd id"}[i], some[0]))
	case 9:
		lists := []*[]string{&m.cloud.lookupNoID, &m.cloud.lookupMalformed, &m.cloud.tagsMissing}
		i := m.rng.IntN(len(lists))
		*lists[i] = append(*lists[i], some...)
		m.ops = append(m.ops, fmt.Sprintf("answered unreadably (%s) %v", []string{"look-up without id", "look-up malformed", "tags without tags"}[i], some))
	case 10:
		m.cloud.long = append(m.cloud.long, some...)
		m.ops = append(m.ops, fmt.Sprintf("over-long values %v", some))
	case 11:
		// Quirks end; a renamed (odd) id stays what BSS calls it.
		m.cloud.malformed, m.cloud.noID, m.cloud.lookupNoID, m.cloud.lookupMalformed, m.cloud.tagsMissing = nil, nil, nil, nil, nil
		m.ops = append(m.ops, "records readable again")
	default:
		m.cloud.lookupMax = m.rng.IntN(4)
		m.ops = append(m.ops, fmt.Sprintf("look-up answers of %d records", m.cloud.lookupMax))
	}
	m.setKnobs(m.cloud.knobs())
}

// pick is up to n live resources, at random.
func (m *model) pick(n int) []string {
	ids := m.liveIDs()
	m.rng.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
	return ids[:min(len(ids), n)]
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
