package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"expiry-sync/internal/contract"
	"expiry-sync/internal/inventory"
	"expiry-sync/internal/store"
)

// Invariant: the holder's lease renewal never queues behind its own long
// commit, and the end of a refused contender does not either. A commit
// share-locks the account's fence row for as long as it writes; the
// renewal touches only the lease's clock row. (SQLite has one
// writer: there a renewal waits for any write, and only Temporal's word
// that the holder runs keeps the account with it; see
// TestALiveSyncIsNeverTakenOver.)
func TestRenewalNeverWaitsForTheHoldersCommit(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *store.Store) {
		if s.Dialect() != "mysql" {
			t.Skip("SQLite has one writer: a renewal waits for every write")
		}
		ctx := context.Background()
		held := begin(t, s, "sync-long-commit", "run-a")
		before, err := s.LeaseClock(ctx, account)
		require.NoError(t, err)

		// A commit in flight: the fence row share-locked, as CommitBatch
		// holds it while it writes its rows.
		commit := s.DB().Begin()
		require.NoError(t, commit.Error)
		t.Cleanup(func() { commit.Rollback() })
		var holder string
		require.NoError(t, commit.Raw("SELECT lease_sync_id FROM sync_accounts WHERE account_id = ? LOCK IN SHARE MODE", account).Scan(&holder).Error)
		require.Equal(t, held.SyncID, holder)

		time.Sleep(5 * time.Millisecond)
		renewCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		require.NoError(t, s.RenewLease(renewCtx, held.Writer()), "the renewal does not wait for the commit")
		after, err := s.LeaseClock(ctx, account)
		require.NoError(t, err)
		assert.Greater(t, after.ExpiresMs, before.ExpiresMs, "the lease was extended while the commit ran")

		// Nor does the end of a sync that was refused the account wait for it.
		refused := store.Writer{SyncID: "sync-refused", AccountID: account}
		ended, err := s.EndSync(renewCtx, refused, contract.StatusFailed, "already being synced", 0)
		require.NoError(t, err)
		assert.False(t, ended)
	})
}

// Invariant: every write is fenced, the end of an attempt included. A late
// EndSync of an attempt that was stopped and resumed (the same sync, a new
// attempt holding the account) neither fails nor closes or wipes the new
// attempt.
func TestALateEndNeverClosesTheResumedAttempt(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		first := begin(t, s, "sync-raced", "run-a")
		resumeStart := start("sync-raced", "run-b")
		resumeStart.Resume = true
		resumed, err := s.BeginSync(ctx, resumeStart, dead)
		require.NoError(t, err, "the stopped attempt is resumed at once (Temporal says it is closed)")
		require.NoError(t, s.SaveTagSnapshot(ctx, resumed.Writer(), []store.SnapshotEntry{{ResourceID: "r1", Tags: store.Tags{"k": "v"}}}))

		assert.False(t, end(t, s, first, contract.StatusCanceled, "the old attempt's late end"), "nothing recorded")
		log, err := s.GetSyncLog(ctx, "sync-raced")
		require.NoError(t, err)
		assert.Equal(t, contract.StatusRunning, log.Status, "the resumed attempt still runs")
		assert.Equal(t, resumed.Generation, log.Generation)
		got, err := s.SnapshotTags(ctx, resumed.Writer().Attempt(), []string{"r1"})
		require.NoError(t, err)
		assert.Len(t, got, 1, "its staging is intact")
		acct, err := s.Account(ctx, account)
		require.NoError(t, err)
		assert.Equal(t, resumed.LeaseToken, acct.LeaseToken, "and it keeps the account")
		require.NoError(t, s.RenewLease(ctx, resumed.Writer()))
	})
}

// Invariant: one attempt's leftovers never feed another. A gone-verdict
// the stopped attempt staged is not acted on by the attempt that resumes
// the sync: only what this attempt proved deactivates.
func TestAGoneVerdictBelongsToItsAttempt(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		seed := begin(t, s, "sync-seed", "run-0")
		_, err := s.CommitBatch(ctx, batch(seed, 1, row("r1", t0, nil), row("r2", t0, nil)))
		require.NoError(t, err)
		finish(t, s, seed)

		first := begin(t, s, "sync-verdicts", "run-a")
		require.NoError(t, s.ApplyRecheck(ctx, store.Recheck{Writer: first.Writer(), SyncedAt: t0,
			Gone: []store.GoneResource{{ResourceID: "r1"}}}))
		resumeStart := start("sync-verdicts", "run-b")
		resumeStart.Resume = true
		resumed, err := s.BeginSync(ctx, resumeStart, dead)
		require.NoError(t, err)
		require.NoError(t, s.ApplyRecheck(ctx, store.Recheck{Writer: resumed.Writer(), SyncedAt: t0,
			Gone: []store.GoneResource{{ResourceID: "r2", Status: new(inventory.StatusClosed)}}}))
		done := finish(t, s, resumed)
		assert.Equal(t, 1, done.DeactivatedResources)
		rows := rowsOf(t, s)
		assert.True(t, rows["r1"].IsActive, "the stopped attempt's verdict is not this attempt's proof")
		assert.False(t, rows["r2"].IsActive)
	})
}

// Invariant: one bad record never fails an account. A value longer than its
// column is stored cut, on a character boundary, and the row names the
// field; MySQL in strict mode (which refuses it whole, error 1406) and
// SQLite (which would keep it whole) store the same. The sync is partial.
func TestOverlongValuesAreStoredCutAlike(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		log := begin(t, s, "sync-long", "run-a")
		long := row("r-long", t0, map[string]string{"owner": "ops"})
		long.Name = strings.Repeat("服务器", 300) // 900 characters, 2,700 bytes
		long.RegionCode = strings.Repeat("r", 80)
		long.ProjectID = strings.Repeat("p", 80)
		long.ResourceSpecCode = strings.Repeat("s", 200)
		long.EffectiveTime = time.Date(500, 1, 1, 0, 0, 0, 0, time.UTC)
		_, err := s.CommitBatch(ctx, batch(log, 1, long, row("r-fine", t0, nil)))
		require.NoError(t, err, "the batch is written")
		rows := rowsOf(t, s)
		got := rows["r-long"]
		assert.Equal(t, strings.Repeat("服务器", 300)[:len("服务器")*170+len("服务")], got.ResourceName, "512 characters kept")
		assert.Len(t, got.RegionCode, 64)
		assert.Len(t, got.ProjectID, 64)
		assert.Len(t, got.ResourceSpecCode, 128)
		assert.Nil(t, got.EffectiveTime, "a time no column holds is dropped")
		assert.Equal(t, "resource_name,region_code,project_id,resource_spec_code,effective_time", got.CutFields)
		assert.Equal(t, store.Tags{"owner": "ops"}, got.Tags)
		assert.Empty(t, rows["r-fine"].CutFields)

		done := finish(t, s, log)
		assert.Equal(t, contract.StatusPartial, done.Status)
		assert.Contains(t, *done.Notes, "1 resources had values longer than their columns")
	})
}

// Invariant: a listing is complete, or the sync says it is not. FinishSync
// compares the distinct resources the attempt's listing wrote with BSS's
// total_count: a shortfall beyond the churn the listing saw makes the sync
// partial, naming it; so does a doubt (a stretch of the listing no overlap
// could prove), whatever the count.
func TestAListingShortOfItsTotalIsPartial(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		cases := []struct {
			name    string
			listing contract.ListingCheck
			partial bool
		}{
			{"complete", contract.ListingCheck{Counted: true, LastTotal: 3, MinTotal: 3, MaxTotal: 3}, false},
			{"three missing", contract.ListingCheck{Counted: true, LastTotal: 6, MinTotal: 6, MaxTotal: 6}, true},
			{"within the churn", contract.ListingCheck{Counted: true, LastTotal: 5, MinTotal: 3, MaxTotal: 5}, false},
			{"beyond the churn", contract.ListingCheck{Counted: true, LastTotal: 6, MinTotal: 5, MaxTotal: 6}, true},
			{"quarantined count", contract.ListingCheck{Counted: true, LastTotal: 5, MinTotal: 5, MaxTotal: 5, Quarantined: 2}, false},
			{"a doubt and one missing", contract.ListingCheck{Counted: true, LastTotal: 5, MinTotal: 4, MaxTotal: 5, Doubts: []string{"a tie fills a page"}}, true},
			{"a doubt, the count even", contract.ListingCheck{Counted: true, LastTotal: 3, MinTotal: 3, MaxTotal: 3, Doubts: []string{"a tie fills a page"}}, true},
			{"no total_count", contract.ListingCheck{}, false},
		}
		for i, c := range cases {
			log := begin(t, s, "sync-count-"+c.name, "run")
			_, err := s.CommitBatch(ctx, batch(log, 1, row("a", t0, nil), row("b", t0, nil), row("c", t0, nil)))
			require.NoError(t, err)
			done, err := s.FinishSync(ctx, store.SyncFinish{Writer: log.Writer(), Listing: &c.listing})
			require.NoError(t, err)
			assert.Equal(t, 3, done.ListedResources, c.name)
			if c.partial {
				assert.Equal(t, contract.StatusPartial, done.Status, c.name)
				require.NotNil(t, done.Notes, c.name)
				assert.Contains(t, *done.Notes, "may be missing from the inventory", c.name)
			} else {
				assert.Equal(t, contract.StatusSuccess, done.Status, "%d %s: %v", i, c.name, done.Notes)
			}
		}
	})
}

// Invariant: the listing's count is of distinct resources. A resource a
// later page listed again (the listing repeated it: a shift, a reordered
// tie) is one row, counted once, or the count would hide one it missed.
func TestARepeatedResourceIsCountedOnce(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		log := begin(t, s, "sync-repeats", "run")
		_, err := s.CommitBatch(ctx, store.BatchCommit{Writer: log.Writer(), Batch: 1, SyncedAt: t0, SkipWritten: true,
			Rows: []inventory.Row{row("a", t0, nil), row("b", t0, nil), row("c", t0, nil)}})
		require.NoError(t, err)
		_, err = s.CommitBatch(ctx, store.BatchCommit{Writer: log.Writer(), Batch: 2, SyncedAt: t0, SkipWritten: true,
			Rows: []inventory.Row{row("c", t0, nil), row("d", t0, nil)}})
		require.NoError(t, err)
		done, err := s.FinishSync(ctx, store.SyncFinish{Writer: log.Writer(),
			Listing: &contract.ListingCheck{Counted: true, LastTotal: 5, MinTotal: 5, MaxTotal: 5}})
		require.NoError(t, err)
		assert.Equal(t, 4, done.ListedResources, "c once")
		assert.Equal(t, contract.StatusPartial, done.Status, "one of the five BSS counts was never listed")
	})
}

// Invariant: one writer. Every write of a sync share-locks the account's
// fence row for its whole transaction, and a takeover locks it
// exclusively: the takeover waits until the writes in flight end, and every
// later write sees the new holder. (SQLite has one writer.)
func TestATakeoverWaitsForTheWritesInFlight(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *store.Store) {
		if s.Dialect() != "mysql" {
			t.Skip("SQLite has one writer")
		}
		ctx := context.Background()
		old := begin(t, s, "sync-writing", "run-a")
		write := s.DB().Begin() // a write in flight, fenced as every write is
		require.NoError(t, write.Error)
		t.Cleanup(func() { write.Rollback() })
		require.NoError(t, store.FenceShared(s, write, old.Writer()))

		took := make(chan error, 1)
		go func() {
			_, err := s.BeginSync(ctx, start("sync-taker", "run-b"), dead)
			took <- err
		}()
		select {
		case err := <-took:
			t.Fatalf("the takeover did not wait for the write in flight (%v)", err)
		case <-time.After(time.Second):
		}
		require.NoError(t, write.Commit().Error)
		require.NoError(t, <-took, "once the write ends, the takeover proceeds")
		_, err := s.CommitBatch(ctx, batch(old, 1, row("late", t0, nil)))
		var lost *store.LeaseLostError
		require.ErrorAs(t, err, &lost, "and every later write of the old holder is refused")
	})
}
