package e2e

// Issue 8's scenarios, each once a defect of the inventory, on the real
// stack; each test names the invariant it holds to.

import (
	"context"
	"fmt"
	"slices"
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
	"expiry-sync/workflows"
)

// runSync starts a sync (or a resume, with in.Resume) through the client
// and waits for its end.
func (s *stack) runSync(id string, in workflows.SyncInput) (contract.Summary, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	run, err := s.startSync(ctx, id, in)
	require.NoError(s.t, err)
	var summary contract.Summary
	err = run.Get(ctx, &summary)
	return summary, err
}

func (s *stack) startSync(ctx context.Context, id string, in workflows.SyncInput) (client.WorkflowRun, error) {
	if in.ExpireDays == 0 {
		in.ExpireDays, in.LookbackDays = 400, 40
	}
	return s.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: s.cfg.Temporal.TaskQueue,
		WorkflowExecutionErrorWhenAlreadyStarted: true}, workflows.WorkflowName, in)
}

func (s *stack) syncID(name string) string {
	return fmt.Sprintf("%s-%s-%d", name, s.cfg.Huawei.DomainID[24:], time.Now().UnixNano()%1e9)
}

// assertWindowIsTruth: the active rows in the sync's window are exactly the
// resources BSS lists there now, with their expire time and status; and no
// row is inactive while BSS still lists it, closed aside.
func (s *stack) assertWindowIsTruth(syncID string, skip map[string]bool) {
	t := s.t
	t.Helper()
	log := s.syncLog(syncID)
	want := s.expected(log)
	rows := s.rows()
	for id, w := range want {
		if skip[id] {
			continue
		}
		r, ok := rows[id]
		if !assert.True(t, ok, "%s is in the window but not stored", id) {
			continue
		}
		assert.True(t, r.IsActive, "%s is in the window but inactive", id)
		assert.True(t, w.ExpireTime.Equal(r.ExpireTime), "%s expires %s, stored %s", id, w.ExpireTime, r.ExpireTime)
		assert.Equal(t, new(int(w.Status)), r.Status, id)
	}
	for id, r := range rows {
		inWindow := !r.ExpireTime.Before(log.WindowBegin) && !r.ExpireTime.After(log.WindowEnd)
		if _, ok := want[id]; r.IsActive && inWindow && !ok && !skip[id] {
			t.Errorf("%s is stored active in the window, but BSS does not list it there", id)
		}
		if live, ok := s.sim.Lookup(id); !r.IsActive && ok && live.Status != hwsim.StatusClosed {
			t.Errorf("%s is inactive, but BSS lists it with status %d (not closed)", id, live.Status)
		}
	}
}

// Invariant: only the newest completed sync of an account may declare
// anything gone; a sync a newer one superseded is not resumed.
// Before: resuming the old failed sync marked hundreds of live resources
// inactive (it deactivated every row it had not written itself).
func TestResumingASupersededSyncIsRefusedAndChangesNothing(t *testing.T) {
	s := newStack(t, stackOptions{resources: 1500, seed: 81, knobs: hwsim.Knobs{ListFailFromOffset: new(500)}})
	old := s.syncID("old")
	_, err := s.runSync(old, workflows.SyncInput{PageSize: 200})
	require.Error(t, err, "a permanent listing error at offset 500 fails the sync")
	assert.Contains(t, workflows.ErrorText(err), "CBC.0100")
	assert.Positive(t, s.syncLog(old).RowsWritten, "it committed the pages before offset 500")

	require.NoError(t, s.sim.SetKnobs(hwsim.Knobs{}))
	newer := s.syncID("new")
	summary, err := s.runSync(newer, workflows.SyncInput{})
	require.NoError(t, err)
	assert.Equal(t, contract.StatusSuccess, summary.Status)
	s.assertWindowIsTruth(newer, nil)
	before := s.rows()

	code, out, errOut := s.starter("resume", old, "--wait")
	assert.NotEqual(t, 0, code, "stdout:\n%s", out)
	assert.Contains(t, errOut, "superseded by "+newer)
	assert.Contains(t, errOut, "start a new sync")
	assert.Equal(t, before, s.rows(), "the refused resume changed no row")
	s.assertWindowIsTruth(newer, nil)
}

// Invariant: a resource that stays in the window for the whole sync is
// stored and active at its end, even when others leave or enter the window
// while the sync pages through it, whatever order BSS lists in.
// Before: resources sliding across a page boundary were skipped, then
// marked inactive; an empty page before total_count ended the listing.
func TestAListingThatShiftsMidSyncLosesNothing(t *testing.T) {
	// Per-resource tags list page after page; bulk tags list ahead, staged,
	// and check the overlap when they commit.
	for _, c := range []struct{ order, mode string }{
		{hwsim.ListOrderIndex, workflows.TagModePerResource}, {hwsim.ListOrderExpire, workflows.TagModePerResource}, {hwsim.ListOrderID, workflows.TagModePerResource},
		{hwsim.ListOrderIndex, workflows.TagModeBulk}, {hwsim.ListOrderExpire, workflows.TagModeBulk}, {hwsim.ListOrderID, workflows.TagModeBulk},
	} {
		order := c.order
		t.Run(order+"/"+c.mode, func(t *testing.T) {
			s := newStack(t, stackOptions{resources: 1200, seed: 82, knobs: hwsim.Knobs{ListOrder: order}})
			now := time.Now().UTC()
			begin, end := now.AddDate(0, 0, -40), now.AddDate(0, 0, 400)
			// The account's first sync, with an empty inventory: nothing to
			// re-check, so the listing alone must find every resource.
			require.NoError(t, s.sim.SetKnobs(hwsim.Knobs{ListOrder: order,
				Churn: &hwsim.Churn{AfterRequests: 2, Begin: begin, End: end, Remove: 150, Renew: 20, Add: 10}}))
			first := s.syncID("shift")
			summary, err := s.runSync(first, workflows.SyncInput{PageSize: 100, TagMode: c.mode})
			require.NoError(t, err)
			churn := s.sim.ChurnResult()
			require.True(t, churn.Applied)
			changed := map[string]bool{}
			for _, id := range slices.Concat(churn.Renewed, churn.Removed, churn.Added) {
				changed[id] = true
			}
			s.assertWindowIsTruth(first, changed)
			p := s.progressOf(first)
			t.Logf("%s order: %d pages, %d listed again after the listing shifted; summary %+v", order, p.PagesListed, p.ListingShifts, summary.Status)
			if order == hwsim.ListOrderIndex {
				assert.Positive(t, p.ListingShifts, "resources left before the sync's offset: the next page no longer overlapped")
			}

			// The next sync sees the churned resources as they are now.
			require.NoError(t, s.sim.SetKnobs(hwsim.Knobs{ListOrder: order}))
			second := s.syncID("after")
			_, err = s.runSync(second, workflows.SyncInput{PageSize: 100, TagMode: c.mode})
			require.NoError(t, err)
			s.assertWindowIsTruth(second, nil)
			for _, id := range churn.Removed {
				assert.False(t, s.rows()[id].IsActive, "%s was released: inactive", id)
			}
		})
	}
}

// progressOf reads a closed sync's last progress (its result has none).
func (s *stack) progressOf(id string) workflows.Progress {
	v, err := s.client.QueryWorkflow(context.Background(), id, "", workflows.ProgressQuery)
	require.NoError(s.t, err)
	var p workflows.Progress
	require.NoError(s.t, v.Get(&p))
	return p
}

// Invariant: a failed tag read keeps the last known tags; an account-wide
// TMS permission loss makes the sync partial, naming the IAM action, and
// loses no stored tag.
// Before: a 403 wrote tags = NULL over every owner tag, and the sync said
// partial only because of per-resource errors.
func TestLosingTheTMSPermissionKeepsEveryTag(t *testing.T) {
	s := newStack(t, stackOptions{resources: 400, seed: 83})
	first := s.syncID("tags")
	_, err := s.runSync(first, workflows.SyncInput{TagMode: workflows.TagModePerResource})
	require.NoError(t, err)
	known := map[string]store.Tags{}
	for id, r := range s.rows() {
		if r.Tags != nil {
			known[id] = r.Tags
		}
	}
	require.Greater(t, len(known), 100)

	require.NoError(t, s.sim.SetKnobs(hwsim.Knobs{TMSPermissionDenied: true}))
	for _, mode := range []string{workflows.TagModePerResource, workflows.TagModeBulk} {
		id := s.syncID("denied-" + mode)
		summary, err := s.runSync(id, workflows.SyncInput{TagMode: mode})
		require.NoError(t, err, "a sync that cannot read tags still syncs expiry")
		assert.Equal(t, contract.StatusPartial, summary.Status, mode)
		require.NotEmpty(t, summary.Notes.Degraded, mode)
		assert.Contains(t, summary.Notes.Degraded[0], "tms:resourceTags:list", "the message names the IAM action")
		if mode == workflows.TagModeBulk {
			require.NotEmpty(t, summary.Notes.Fallbacks)
			assert.Contains(t, summary.Notes.Fallbacks[0], "tms:resources:list")
		}
		rows := s.rows()
		for rid, tags := range known {
			assert.Equal(t, tags, rows[rid].Tags, "%s keeps its tags (%s)", rid, mode)
			assert.Equal(t, string(inventory.TagsError), rows[rid].TagStatus)
			assert.Contains(t, rows[rid].TagError, "tms:resourceTags:list")
			require.NotNil(t, rows[rid].TagsReadAt)
		}
		s.assertWindowIsTruth(id, nil)
		log := s.syncLog(id)
		assert.Contains(t, *log.Notes, "tms:resourceTags:list", "the sync log says why it is partial")
	}

	require.NoError(t, s.sim.SetKnobs(hwsim.Knobs{}))
	last := s.syncID("restored")
	summary, err := s.runSync(last, workflows.SyncInput{TagMode: workflows.TagModePerResource})
	require.NoError(t, err)
	assert.Equal(t, contract.StatusSuccess, summary.Status)
	assertRows(t, s, s.expected(s.syncLog(last)), last)
}

// Invariant: at each sync, what the database holds as active but the
// listing did not see (left the window, or fell behind it unrenewed) is
// re-checked by id: renewed ones get their new expire time, closed or
// released ones become inactive with their last BSS status, and what is
// really overdue stays.
// Before: once behind the window, an unrenewed resource stayed active (and
// "overdue") forever, even after Huawei released it.
func TestResourcesBehindTheWindowAreRechecked(t *testing.T) {
	s := newStack(t, stackOptions{resources: 300, seed: 84})
	in := workflows.SyncInput{ExpireDays: 30, LookbackDays: 10}
	first := s.syncID("before")
	_, err := s.runSync(first, in)
	require.NoError(t, err)
	stored := s.rows()
	require.Greater(t, len(stored), 20)

	// 25 days pass: expire times come 25 days nearer. Of those now behind
	// the window (more than 10 days overdue), a quarter are released, a
	// quarter closed, a quarter renewed for a year, the rest stay expired.
	var ids []string
	for id := range stored {
		ids = append(ids, id)
	}
	s.sim.Renew(ids, -25*24*time.Hour)
	var behind []string
	cut := time.Now().UTC().AddDate(0, 0, -10)
	for _, id := range ids {
		if r, ok := s.sim.Lookup(id); ok && r.ExpireTime.Before(cut) {
			behind = append(behind, id)
		}
	}
	slices.Sort(behind)
	require.GreaterOrEqual(t, len(behind), 8, "enough resources fell behind the window")
	q := len(behind) / 4
	released, closed, renewed, overdue := behind[:q], behind[q:2*q], behind[2*q:3*q], behind[3*q:]
	s.sim.RemoveResources(released...)
	s.sim.SetStatus(closed, hwsim.StatusClosed)
	s.sim.Renew(renewed, 365*24*time.Hour)
	s.sim.SetStatus(overdue, hwsim.StatusExpired)

	second := s.syncID("after")
	summary, err := s.runSync(second, in)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, summary.RecheckedResources, len(behind))
	rows := s.rows()
	for _, id := range released {
		assert.False(t, rows[id].IsActive, "released %s is inactive", id)
		assert.Equal(t, stored[id].Status, rows[id].Status, "it keeps its last BSS status")
	}
	for _, id := range closed {
		assert.False(t, rows[id].IsActive, "closed %s is inactive", id)
		assert.Equal(t, new(hwsim.StatusClosed), rows[id].Status)
	}
	for _, id := range renewed {
		live, _ := s.sim.Lookup(id)
		assert.True(t, rows[id].IsActive, "renewed %s stays active", id)
		assert.True(t, live.ExpireTime.Equal(rows[id].ExpireTime), "renewed %s gets its new expire time", id)
	}
	for _, id := range overdue {
		assert.True(t, rows[id].IsActive, "%s is really overdue", id)
		assert.Equal(t, new(hwsim.StatusExpired), rows[id].Status)
	}
	s.assertWindowIsTruth(second, nil)
	assert.Equal(t, len(released)+len(closed), summary.DeactivatedResources)
}

// Invariant: one writer per account. Two syncs of an account never write
// at once whatever their start times; a live sync keeps its account however
// long it goes without committing, and however long one of its commits
// holds the account's row (its lease renewals do not queue behind it); a
// terminated sync stops blocking it at once, so a schedule's
// terminate-other works.
// Before: same-second starts were decided by a timestamp tie-break; a sync
// 15 minutes in its tag phase looked dead; a terminated one blocked its
// account for 15 minutes; a commit longer than the lease let a contender in.
func TestOneWriterWhateverTheStartTimes(t *testing.T) {
	s := newStack(t, stackOptions{resources: 800, seed: 85})
	ctx := context.Background()

	// Starts at the same instant, each sync slow enough (several seconds)
	// that they overlap: exactly one gets the account.
	require.NoError(t, s.sim.SetKnobs(hwsim.Knobs{Latency: 50 * time.Millisecond}))
	a, b := s.syncID("twin-a"), s.syncID("twin-b")
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i, id := range []string{a, b} {
		wg.Go(func() {
			run, err := s.startSync(ctx, id, workflows.SyncInput{TagMode: workflows.TagModePerResource})
			if err == nil {
				err = run.Get(ctx, nil)
			}
			errs[i] = err
		})
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		if err == nil {
			won++
		} else {
			assert.Contains(t, workflows.ErrorText(err), "is already being synced by")
		}
	}
	assert.Equal(t, 1, won, "exactly one of two simultaneous syncs runs: %v", errs)

	// A sync whose tag phase lasts longer than the lease's TTL still holds
	// its account: the lease is renewed (several times per TTL), not
	// inferred from commits.
	saved := store.LeaseTTL
	store.LeaseTTL = 2 * time.Second
	t.Cleanup(func() { store.LeaseTTL = saved })
	require.Less(t, store.RenewEvery(), store.LeaseTTL/2, "renewals come several times per TTL")
	require.NoError(t, s.sim.SetKnobs(hwsim.Knobs{Latency: 200 * time.Millisecond}))
	slow := s.syncID("slow")
	slowRun, err := s.startSync(ctx, slow, workflows.SyncInput{PageSize: 500, TagMode: workflows.TagModePerResource, TagConcurrency: 1, TagsPerActivity: 100})
	require.NoError(t, err)
	eventually(t, "the slow sync holds the account", 30*time.Second, func() bool {
		acct, err := s.store.Account(ctx, s.cfg.Huawei.DomainID)
		return err == nil && acct.LeaseSyncID == slow
	})

	// Meanwhile one of its commits holds the account's row (share-locked,
	// as a commit does) for longer than the lease's TTL.
	commit := s.store.DB().Begin()
	require.NoError(t, commit.Error)
	var holder string
	require.NoError(t, commit.Raw("SELECT lease_sync_id FROM sync_accounts WHERE account_id = ? LOCK IN SHARE MODE", s.cfg.Huawei.DomainID).Scan(&holder).Error)
	require.Equal(t, slow, holder)
	before, err := s.store.LeaseClock(ctx, s.cfg.Huawei.DomainID)
	require.NoError(t, err)
	time.Sleep(3 * store.LeaseTTL)
	after, err := s.store.LeaseClock(ctx, s.cfg.Huawei.DomainID)
	require.NoError(t, err)
	assert.Greater(t, after.ExpiresMs, before.ExpiresMs, "renewals went on during the long commit")
	assert.Zero(t, s.syncLog(slow).RowsWritten, "still in its tag phase")
	_, err = s.runSync(s.syncID("intruder"), workflows.SyncInput{})
	require.Error(t, err)
	assert.Contains(t, workflows.ErrorText(err), "is already being synced by "+slow)
	commit.Rollback()

	// Terminated, it stops blocking the account at once.
	require.NoError(t, s.client.TerminateWorkflow(ctx, slow, "", "e2e: terminate-other"))
	require.Error(t, slowRun.Get(ctx, nil))
	require.NoError(t, s.sim.SetKnobs(hwsim.Knobs{}))
	began := time.Now()
	next := s.syncID("next")
	summary, err := s.runSync(next, workflows.SyncInput{})
	require.NoError(t, err, "the next sync takes over the terminated one's account")
	t.Logf("took over and synced in %s", time.Since(began).Round(time.Millisecond))
	assert.Equal(t, contract.StatusSuccess, summary.Status)
	abandoned := s.syncLog(slow)
	assert.Equal(t, contract.StatusFailed, abandoned.Status)
	assert.Contains(t, *abandoned.ErrorMessage, "abandoned")
	var left int64
	require.NoError(t, s.store.DB().Table("staged_tags").Where("sync_id = ?", slow).Count(&left).Error)
	assert.Zero(t, left, "the terminated sync's staged tags are swept")
	s.assertWindowIsTruth(next, nil)
}

const enumsTerminateOther = enumspb.SCHEDULE_OVERLAP_POLICY_TERMINATE_OTHER

// A schedule whose overlap policy is terminate-other replaces a running
// sync at once, instead of waiting for its lease to expire.
func TestScheduleTerminateOtherReplacesTheRunningSync(t *testing.T) {
	s := newStack(t, stackOptions{resources: 600, seed: 86, knobs: hwsim.Knobs{Latency: 100 * time.Millisecond}})
	ctx := context.Background()
	id := s.syncID("sched")
	h, err := s.client.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID:      id,
		Spec:    client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: 24 * time.Hour}}},
		Overlap: enumsTerminateOther,
		Action: &client.ScheduleWorkflowAction{ID: id, Workflow: workflows.WorkflowName, TaskQueue: s.cfg.Temporal.TaskQueue,
			Args: []any{workflows.SyncInput{ExpireDays: 400, LookbackDays: 40, TagMode: workflows.TagModePerResource, TagConcurrency: 1}}},
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = h.Delete(context.Background()) })

	require.NoError(t, h.Trigger(ctx, client.ScheduleTriggerOptions{Overlap: enumsTerminateOther}))
	var first store.SyncAccount
	eventually(t, "the first scheduled sync holds the account", 30*time.Second, func() bool {
		acct, err := s.store.Account(ctx, s.cfg.Huawei.DomainID)
		first = acct
		return err == nil && acct.LeaseSyncID != ""
	})
	require.NoError(t, s.sim.SetKnobs(hwsim.Knobs{}))
	require.NoError(t, h.Trigger(ctx, client.ScheduleTriggerOptions{Overlap: enumsTerminateOther}))
	// The replacement may run under the same workflow id (schedules name
	// runs by the second): then it is a new attempt, with a new generation.
	var done store.SyncAccount
	eventually(t, "the replacing sync completes", 2*time.Minute, func() bool {
		acct, err := s.store.Account(ctx, s.cfg.Huawei.DomainID)
		done = acct
		return err == nil && acct.CompletedGeneration > first.LastGeneration
	})
	d, err := h.Describe(ctx)
	require.NoError(t, err)
	require.Len(t, d.Info.RecentActions, 2)
	firstRun := d.Info.RecentActions[0].StartWorkflowResult
	desc, err := s.client.DescribeWorkflow(ctx, firstRun.WorkflowID, firstRun.FirstExecutionRunID)
	require.NoError(t, err)
	assert.Equal(t, "Terminated", desc.Status.String(), "terminate-other ended the first run")
	log := s.syncLog(done.CompletedSyncID)
	assert.Contains(t, []string{contract.StatusSuccess, contract.StatusPartial}, log.Status)
	s.assertWindowIsTruth(done.CompletedSyncID, nil)
}

// A malformed BSS record is quarantined: counted, named in the sync log,
// skipped; the sync ends partial instead of failing at the same offset
// forever.
func TestAMalformedRecordIsQuarantined(t *testing.T) {
	s := newStack(t, stackOptions{resources: 300, seed: 87})
	var bad, noID string
	for r := range s.sim.All() {
		if r.Status == hwsim.StatusInUse && bad == "" {
			bad = r.ResourceID
		} else if r.Status == hwsim.StatusInUse && noID == "" {
			noID = r.ResourceID
		}
	}
	require.NoError(t, s.sim.SetKnobs(hwsim.Knobs{MalformedResourceIDs: []string{bad}, NoIDResourceIDs: []string{noID}}))
	id := s.syncID("quarantine")
	summary, err := s.runSync(id, workflows.SyncInput{})
	require.NoError(t, err)
	assert.Equal(t, contract.StatusPartial, summary.Status)
	assert.Equal(t, 2, summary.QuarantinedRecords)
	notes := s.syncLog(id).GetNotes()
	assert.Equal(t, 2, notes.QuarantinedCount)
	assert.Contains(t, fmt.Sprint(notes.Quarantined), bad, "the sync log names the record")
	rows := s.rows()
	assert.NotContains(t, rows, bad, "no half resource is stored")
	skip := map[string]bool{bad: true, noID: true}
	s.assertWindowIsTruth(id, skip)

	require.NoError(t, s.sim.SetKnobs(hwsim.Knobs{}))
	next := s.syncID("healed")
	summary, err = s.runSync(next, workflows.SyncInput{})
	require.NoError(t, err)
	assert.Equal(t, contract.StatusSuccess, summary.Status)
	s.assertWindowIsTruth(next, nil)
}
