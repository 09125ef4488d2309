package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"expiry-sync/internal/contract"
	"expiry-sync/internal/inventory"
	"expiry-sync/internal/store"
)

// alive and dead answer "does the lease holder's workflow still run?".
func alive(context.Context, string) (bool, error) { return true, nil }
func dead(context.Context, string) (bool, error)  { return false, nil }

// Invariant: one writer per account. While a live sync holds the account,
// no other sync opens; a sync known to be closed is taken over at once, and
// from then on its writes are refused (fencing), whatever it still runs.
func TestOneWriterPerAccount(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		old := begin(t, s, "sync-old", "run-a")

		_, err := s.BeginSync(ctx, start("sync-new", "run-b"), alive)
		var busy *store.AlreadyRunningError
		require.ErrorAs(t, err, &busy, "a live holder keeps the account")
		assert.Equal(t, "sync-old", busy.Other)
		_, err = s.GetSyncLog(ctx, "sync-new")
		assert.ErrorIs(t, err, store.ErrNotFound, "a refused sync leaves no log behind")

		taker, err := s.BeginSync(ctx, start("sync-new", "run-b"), dead)
		require.NoError(t, err, "a closed holder (terminated) is taken over at once")
		assert.Greater(t, taker.LeaseToken, old.LeaseToken)

		_, err = s.CommitBatch(ctx, batch(old, 1, row("r1", t0, nil)))
		var lost *store.LeaseLostError
		require.ErrorAs(t, err, &lost, "the old sync's late write is fenced off")
		assert.Equal(t, "sync-new", lost.Holder)
		require.ErrorAs(t, s.RenewLease(ctx, old.Writer()), &lost)
		require.ErrorAs(t, s.ApplyRecheck(ctx, store.Recheck{Writer: old.Writer()}), &lost)
		_, err = s.FinishSync(ctx, store.SyncFinish{Writer: old.Writer()})
		require.ErrorIs(t, err, store.ErrNotRunning, "its log was closed as abandoned: it cannot complete")
		assert.Empty(t, rowsOf(t, s), "nothing the old sync sent was written")

		abandoned, err := s.GetSyncLog(ctx, "sync-old")
		require.NoError(t, err)
		assert.Equal(t, contract.StatusFailed, abandoned.Status, "the dead sync's log is closed by the one that took over")
		assert.Contains(t, *abandoned.ErrorMessage, "abandoned")

		assert.False(t, end(t, s, old, contract.StatusFailed, "late"), "a fenced-off sync records nothing")
		acct, err := s.Account(ctx, account)
		require.NoError(t, err)
		assert.Equal(t, "sync-new", acct.LeaseSyncID, "a fenced-off sync cannot free the account it lost")
	})
}

// Invariant: one writer per account, whatever the start times: syncs that
// begin at the same instant on several connections get the account once.
func TestSimultaneousStartsGetTheAccountOnce(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *store.Store) {
		const n = 8
		var wg sync.WaitGroup
		errs := make([]error, n)
		gate := make(chan struct{})
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-gate
				_, errs[i] = s.BeginSync(context.Background(), start(fmt.Sprintf("sync-%d", i), "run"), alive)
			}()
		}
		close(gate)
		wg.Wait()
		won := 0
		for _, err := range errs {
			var busy *store.AlreadyRunningError
			switch {
			case err == nil:
				won++
			case errors.As(err, &busy):
			default:
				t.Errorf("unexpected error: %v", err)
			}
		}
		assert.Equal(t, 1, won, "exactly one of %d simultaneous syncs holds the account", n)
	})
}

// Invariant: a live sync is never taken over. A contender takes an expired
// lease only once Temporal says the holder is closed (or does not know it);
// Temporal saying it runs keeps the account with it however late its
// renewals. Without Temporal to ask, the lease's expiry decides, on the
// database's clock (no worker clock is read).
func TestALiveSyncIsNeverTakenOver(t *testing.T) {
	saved := store.LeaseTTL
	store.LeaseTTL = 1500 * time.Millisecond
	t.Cleanup(func() { store.LeaseTTL = saved })
	forEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		held := begin(t, s, "sync-1", "run-a")
		_, err := s.BeginSync(ctx, start("sync-2", "run-b"), nil)
		var busy *store.AlreadyRunningError
		require.ErrorAs(t, err, &busy, "an unexpired lease, nobody to ask: the holder keeps it")
		require.NoError(t, s.RenewLease(ctx, held.Writer()), "the holder renews")
		clock, err := s.LeaseClock(ctx, account)
		require.NoError(t, err)
		time.Sleep(time.Until(time.UnixMilli(clock.ExpiresMs)) + 500*time.Millisecond)

		_, err = s.BeginSync(ctx, start("sync-2", "run-b"), alive)
		require.ErrorAs(t, err, &busy, "expired, but Temporal says the holder runs: it keeps the account")
		require.NoError(t, s.RenewLease(ctx, held.Writer()), "and its late renewal still holds")

		time.Sleep(store.LeaseTTL + 500*time.Millisecond)
		taker, err := s.BeginSync(ctx, start("sync-2", "run-b"), nil)
		require.NoError(t, err, "expired, nobody to ask: the expiry decides")
		var lost *store.LeaseLostError
		require.ErrorAs(t, s.RenewLease(ctx, held.Writer()), &lost)
		assert.Equal(t, "sync-2", lost.Holder)

		_, err = s.BeginSync(ctx, start("sync-3", "run-c"), dead)
		require.NoError(t, err, "unexpired, but Temporal says the holder is closed: taken over at once")
		require.ErrorAs(t, s.RenewLease(ctx, taker.Writer()), &lost)
	})
}

// Invariant: only the newest completed sync of an account speaks last. Each
// attempt takes a new generation (its listing is the newest); a write of an
// older generation never overwrites a newer one's row; a sync that a newer
// completed sync superseded cannot be resumed, nor one whose window is too
// old.
func TestGenerationsOrderTheSyncs(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		older := begin(t, s, "sync-older", "run-a")
		require.True(t, end(t, s, older, contract.StatusFailed, "listing failed at offset 500"))

		newer := begin(t, s, "sync-newer", "run-b")
		assert.Greater(t, newer.Generation, older.Generation)
		r := row("r1", t0, map[string]string{"owner": "new"})
		r.Name = "name from the newer listing"
		_, err := s.CommitBatch(ctx, batch(newer, 1, r))
		require.NoError(t, err)
		require.True(t, end(t, s, newer, contract.StatusFailed, "batch 2 rejected"))

		// The newer sync failed: the older one may be resumed, and its new
		// attempt lists the cloud as it is now, so it is the newest writer.
		resumed := begin(t, s, "sync-older", "run-c")
		assert.Greater(t, resumed.Generation, newer.Generation)

		// Defence in depth: a write carrying an older generation (a
		// listing made before the row's) never overwrites the row.
		stale := row("r1", t0.AddDate(0, 0, -3), map[string]string{"owner": "old"})
		stale.Name = "name from an older listing"
		olderListing := resumed.Writer()
		olderListing.Generation = newer.Generation - 1
		_, err = s.CommitBatch(ctx, store.BatchCommit{Writer: olderListing, Batch: 1, Rows: []inventory.Row{stale, row("r2", t0, nil)}, SyncedAt: t0})
		require.NoError(t, err)
		rows := rowsOf(t, s)
		assert.Equal(t, "name from the newer listing", rows["r1"].ResourceName)
		assert.Equal(t, store.Tags{"owner": "new"}, rows["r1"].Tags)
		assert.Equal(t, newer.Generation, rows["r1"].SyncGeneration)
		assert.Equal(t, olderListing.Generation, rows["r2"].SyncGeneration)
		require.True(t, end(t, s, resumed, contract.StatusFailed, "again"))

		// Once the newer sync completes (in a new attempt), the older one is superseded.
		newerAgain := begin(t, s, "sync-newer", "run-d")
		finish(t, s, newerAgain)
		_, err = s.BeginSync(ctx, start("sync-older", "run-e"), nil)
		var superseded *store.SupersededError
		require.ErrorAs(t, err, &superseded)
		assert.Equal(t, "sync-newer", superseded.By)
		assert.Contains(t, err.Error(), "superseded by sync-newer at ")
		assert.Contains(t, err.Error(), "start a new sync")

		// A failed sync whose window is older than MaxResumeAge is not resumed.
		recent := begin(t, s, "sync-recent", "run-f")
		require.True(t, end(t, s, recent, contract.StatusFailed, "x"))
		late := start("sync-recent", "run-g")
		late.Now = window.WindowEnd.AddDate(0, 0, -window.ExpireDays).Add(store.MaxResumeAge + time.Minute)
		_, err = s.BeginSync(ctx, late, nil)
		var tooOld *store.TooOldError
		require.ErrorAs(t, err, &tooOld)
		late.Now = late.Now.Add(-2 * time.Minute)
		_, err = s.BeginSync(ctx, late, nil)
		require.NoError(t, err, "within MaxResumeAge a resume goes on")
	})
}

// A new attempt writes the rows an earlier one wrote with BSS's current
// fields, but does not read their tags again: "kept" keeps them.
func TestKeptTagsStayAsTheyAre(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		first := begin(t, s, "sync-1", "run-a")
		denied := row("r2", t0, nil)
		denied.Tags = inventory.TagResult{ResourceID: "r2", Status: inventory.TagsError, Error: "refused"}
		_, err := s.CommitBatch(ctx, batch(first, 1, row("r1", t0, map[string]string{"owner": "张三"}), denied))
		require.NoError(t, err)
		require.True(t, end(t, s, first, contract.StatusFailed, "x"))

		again := begin(t, s, "sync-1", "run-b")
		renewed, still := row("r1", t0.AddDate(0, 1, 0), nil), row("r2", t0, nil)
		renewed.Tags = inventory.TagResult{ResourceID: "r1", Status: inventory.TagsKept}
		still.Tags = inventory.TagResult{ResourceID: "r2", Status: inventory.TagsKept}
		_, err = s.CommitBatch(ctx, batch(again, 2, renewed, still))
		require.NoError(t, err)
		rows := rowsOf(t, s)
		assert.Equal(t, t0.AddDate(0, 1, 0), rows["r1"].ExpireTime.UTC(), "BSS fields are written again")
		assert.Equal(t, store.Tags{"owner": "张三"}, rows["r1"].Tags)
		assert.Equal(t, string(inventory.TagsOK), rows["r1"].TagStatus)
		assert.Equal(t, string(inventory.TagsError), rows["r2"].TagStatus)
		assert.Equal(t, "refused", rows["r2"].TagError)
		assert.Equal(t, again.Generation, rows["r1"].SyncGeneration)
	})
}

// Invariant: a failed tag read keeps the last known tags, with the time they
// were read; tags are NULL only when they were never known.
func TestAFailedTagReadKeepsTheKnownTags(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		first := begin(t, s, "sync-1", "run-a")
		_, err := s.CommitBatch(ctx, batch(first, 1, row("r1", t0, map[string]string{"owner": "张三"}), row("r2", t0, map[string]string{"team": "db"})))
		require.NoError(t, err)
		finish(t, s, first)

		second := begin(t, s, "sync-2", "run-b")
		denied, vanished := row("r1", t0, nil), row("r2", t0, nil)
		denied.Tags = inventory.TagResult{ResourceID: "r1", Status: inventory.TagsError, Error: "TMS 403 TMS.0004: tms:resourceTags:list denied"}
		vanished.Tags = inventory.TagResult{ResourceID: "r2", Status: inventory.TagsNotFound}
		b := batch(second, 1, denied, vanished)
		b.SyncedAt = t0.Add(24 * time.Hour)
		_, err = s.CommitBatch(ctx, b)
		require.NoError(t, err)

		rows := rowsOf(t, s)
		assert.Equal(t, store.Tags{"owner": "张三"}, rows["r1"].Tags, "a refused read keeps the owner tag")
		assert.Equal(t, string(inventory.TagsError), rows["r1"].TagStatus)
		assert.Contains(t, rows["r1"].TagError, "tms:resourceTags:list")
		assert.Equal(t, t0, rows["r1"].TagsReadAt.UTC(), "tags_read_at says when they were last read")
		assert.Equal(t, t0.Add(24*time.Hour), rows["r1"].LastSyncedAt.UTC())
		assert.Equal(t, store.Tags{"team": "db"}, rows["r2"].Tags)
		assert.Equal(t, string(inventory.TagsNotFound), rows["r2"].TagStatus)
	})
}

// Unknown BSS fields stay unknown: NULL, not 0 (which is a real policy).
func TestUnknownStatusAndPolicyAreNull(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *store.Store) {
		log := begin(t, s, "sync-1", "run-a")
		r := row("r1", t0, nil)
		r.Status, r.ExpirePolicy = nil, nil
		grace := row("r2", t0, nil)
		grace.ExpirePolicy = new(0)
		_, err := s.CommitBatch(context.Background(), batch(log, 1, r, grace))
		require.NoError(t, err)
		rows := rowsOf(t, s)
		assert.Nil(t, rows["r1"].Status)
		assert.Nil(t, rows["r1"].ExpirePolicy)
		assert.Equal(t, new(0), rows["r2"].ExpirePolicy)
	})
}

// Staging rows live only while their attempt runs: whatever way a sync
// ends, they go; the next attempt of the account (a new sync, or a resume
// of the same one) sweeps what a terminated attempt left, in the
// transaction that gives it the account, and never reads it; another
// account's staging is not its business.
func TestStagingRowsNeverOutliveTheirAttempt(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		failed := begin(t, s, "sync-failed", "run-a")
		require.NoError(t, s.SaveTagSnapshot(ctx, failed.Writer(), []store.SnapshotEntry{{ResourceID: "r1"}}))
		require.True(t, end(t, s, failed, contract.StatusFailed, "x"))
		got, err := s.SnapshotTags(ctx, failed.Writer().Attempt(), []string{"r1"})
		require.NoError(t, err)
		assert.Empty(t, got, "a failed sync drops its snapshot")

		// Never closed: a terminated workflow runs no cleanup.
		terminated := begin(t, s, "sync-terminated", "run-b")
		require.NoError(t, s.SaveTagSnapshot(ctx, terminated.Writer(), []store.SnapshotEntry{{ResourceID: "r2"}}))
		require.NoError(t, s.StagePage(ctx, terminated.Writer(), 1, []inventory.Resource{row("r2", t0, nil).Resource}))
		elsewhereStart := start("sync-elsewhere", "run-o")
		elsewhereStart.AccountID = "another-account"
		elsewhere, err := s.BeginSync(ctx, elsewhereStart, nil)
		require.NoError(t, err)
		require.NoError(t, s.SaveTagSnapshot(ctx, elsewhere.Writer(), []store.SnapshotEntry{{ResourceID: "r3"}}))

		// The terminated sync is resumed: its new attempt neither sees nor
		// keeps the old attempt's staging.
		resumeStart := start("sync-terminated", "run-c")
		resumeStart.Resume = true
		resumed, err := s.BeginSync(ctx, resumeStart, dead)
		require.NoError(t, err)
		assert.Greater(t, resumed.Generation, terminated.Generation)
		got, err = s.SnapshotTags(ctx, resumed.Writer().Attempt(), []string{"r2"})
		require.NoError(t, err)
		assert.Empty(t, got, "a resumed attempt never reads the tags its predecessor staged")
		for _, table := range []string{"staged_tags", "staged_pages"} {
			var left int64
			require.NoError(t, s.DB().Table(table).Where("sync_id = ?", "sync-terminated").Count(&left).Error)
			assert.Zero(t, left, "%s of the terminated attempt is swept when its resume begins", table)
		}
		var lost *store.LeaseLostError
		require.ErrorAs(t, s.SaveTagSnapshot(ctx, terminated.Writer(), []store.SnapshotEntry{{ResourceID: "r4"}}), &lost,
			"the stopped attempt's late activity stages nothing")
		require.ErrorAs(t, s.StagePage(ctx, terminated.Writer(), 2, nil), &lost, "nor a page")

		got, err = s.SnapshotTags(ctx, elsewhere.Writer().Attempt(), []string{"r3"})
		require.NoError(t, err)
		assert.Len(t, got, 1, "another account's staging is left alone")
	})
}
