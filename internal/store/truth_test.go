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
		assert.Equal(t, store.StatusFailed, abandoned.Status, "the dead sync's log is closed by the one that took over")
		assert.Contains(t, *abandoned.ErrorMessage, "abandoned")

		require.NoError(t, s.EndSync(ctx, old.Writer(), store.StatusFailed, "late", 0))
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

// Invariant: a crashed sync stops blocking its account within the lease's
// TTL, measured on the database's clock (no worker clock is read).
func TestAnUnrenewedLeaseExpires(t *testing.T) {
	saved := store.LeaseTTL
	store.LeaseTTL = 1500 * time.Millisecond
	t.Cleanup(func() { store.LeaseTTL = saved })
	forEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		held := begin(t, s, "sync-1", "run-a")
		_, err := s.BeginSync(ctx, start("sync-2", "run-b"), alive)
		require.Error(t, err)
		require.NoError(t, s.RenewLease(ctx, held.Writer()), "the holder renews")
		require.Eventually(t, func() bool {
			_, err := s.BeginSync(ctx, start("sync-2", "run-b"), alive)
			return err == nil
		}, 10*time.Second, 200*time.Millisecond, "once renewals stop, the lease expires")
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
		require.NoError(t, s.EndSync(ctx, older.Writer(), store.StatusFailed, "listing failed at offset 500", 0))

		newer := begin(t, s, "sync-newer", "run-b")
		assert.Greater(t, newer.Generation, older.Generation)
		r := row("r1", t0, map[string]string{"owner": "new"})
		r.Name = "name from the newer listing"
		_, err := s.CommitBatch(ctx, batch(newer, 1, r))
		require.NoError(t, err)
		require.NoError(t, s.EndSync(ctx, newer.Writer(), store.StatusFailed, "batch 2 rejected", 0))

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
		require.NoError(t, s.EndSync(ctx, resumed.Writer(), store.StatusFailed, "again", 0))

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
		require.NoError(t, s.EndSync(ctx, recent.Writer(), store.StatusFailed, "x", 0))
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
		require.NoError(t, s.EndSync(ctx, first.Writer(), store.StatusFailed, "x", 0))

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

// Staging rows live only while their sync runs: whatever way a sync ends,
// they go, and the next sync of any account sweeps orphans.
func TestStagingRowsNeverOutliveTheirSync(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		failed := begin(t, s, "sync-failed", "run-a")
		require.NoError(t, s.SaveTagSnapshot(ctx, failed.Writer(), []store.SnapshotEntry{{ResourceID: "r1"}}))
		require.NoError(t, s.EndSync(ctx, failed.Writer(), store.StatusFailed, "x", 0))
		got, err := s.SnapshotTags(ctx, "sync-failed", []string{"r1"})
		require.NoError(t, err)
		assert.Empty(t, got, "a failed sync drops its snapshot")

		terminated := begin(t, s, "sync-terminated", "run-b")
		require.NoError(t, s.SaveTagSnapshot(ctx, terminated.Writer(), []store.SnapshotEntry{{ResourceID: "r2"}}))
		// never closed: terminated workflows run no cleanup; and a row whose
		// sync left no log at all
		orphanStart := start("sync-with-no-log", "run-o")
		orphanStart.AccountID = "another-account"
		orphan, err := s.BeginSync(ctx, orphanStart, nil)
		require.NoError(t, err)
		require.NoError(t, s.SaveTagSnapshot(ctx, orphan.Writer(), []store.SnapshotEntry{{ResourceID: "r3"}}))
		require.NoError(t, s.DB().Exec("DELETE FROM resource_sync_logs WHERE sync_id = 'sync-with-no-log'").Error)

		_, err = s.BeginSync(ctx, start("sync-next", "run-c"), dead)
		require.NoError(t, err)
		var lost *store.LeaseLostError
		require.ErrorAs(t, s.SaveTagSnapshot(ctx, terminated.Writer(), []store.SnapshotEntry{{ResourceID: "r4"}}), &lost,
			"a taken-over sync's late activity stages nothing")
		for _, id := range []string{"sync-terminated", "sync-with-no-log"} {
			got, err := s.SnapshotTags(ctx, id, []string{"r2", "r3"})
			require.NoError(t, err)
			assert.Empty(t, got, "%s's orphan snapshot is swept", id)
		}
	})
}
