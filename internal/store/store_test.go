package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"expiry-sync/internal/contract"
	"expiry-sync/internal/inventory"
	"expiry-sync/internal/store"
	"expiry-sync/internal/testkit/testenv"
)

const account = "0123456789abcdef0123456789abcdef"

var (
	t0     = time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC)
	window = store.SyncStart{AccountID: account, ExpireDays: 30, WindowBegin: t0.AddDate(0, 0, -15), WindowEnd: t0.AddDate(0, 0, 30)}
)

func forEachDB(t *testing.T, fn func(t *testing.T, s *store.Store)) {
	for _, db := range testenv.Databases() {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			s, err := store.Open(ctx, db.URL(t))
			require.NoError(t, err)
			t.Cleanup(func() { _ = s.Close() })
			require.NoError(t, s.Migrate(ctx))
			require.NoError(t, s.Migrate(ctx), "migrating twice is a no-op")
			fn(t, s)
		})
	}
}

func start(id, run string) store.SyncStart {
	st := window
	st.SyncID, st.RunID = id, run
	return st
}

// begin opens (or resumes) a sync and returns its log.
func begin(t *testing.T, s *store.Store, id, run string) store.SyncLog {
	t.Helper()
	log, err := s.BeginSync(context.Background(), start(id, run), nil)
	require.NoError(t, err)
	return log
}

// batch is a BatchCommit of the sync of log.
func batch(log store.SyncLog, n int, rows ...inventory.Row) store.BatchCommit {
	return store.BatchCommit{Writer: log.Writer(), Batch: n, Rows: rows, SyncedAt: t0}
}

// end closes an attempt as failed or canceled, and says whether it did
// (false: the attempt no longer held its account, nothing changed).
func end(t *testing.T, s *store.Store, log store.SyncLog, status, reason string) bool {
	t.Helper()
	ended, err := s.EndSync(context.Background(), log.Writer(), status, reason, 0)
	require.NoError(t, err)
	return ended
}

func finish(t *testing.T, s *store.Store, log store.SyncLog) store.SyncLog {
	t.Helper()
	done, err := s.FinishSync(context.Background(), store.SyncFinish{Writer: log.Writer()})
	require.NoError(t, err)
	return done
}

func row(id string, expire time.Time, tags map[string]string) inventory.Row {
	return inventory.Row{
		Resource: inventory.Resource{ResourceID: id, Name: "ecs-" + id, RegionCode: "cn-north-4", ProjectID: "p1",
			ServiceTypeCode: "hws.service.type.ec2", ResourceTypeCode: "hws.resource.type.vm", IsMainResource: true,
			Status: new(2), ExpireTime: expire, EffectiveTime: expire.AddDate(-1, 0, 0), ExpirePolicy: new(3)},
		Tags: inventory.TagResult{ResourceID: id, Status: inventory.TagsOK, Tags: tags},
	}
}

func rowsOf(t *testing.T, s *store.Store) map[string]store.ExpiringResource {
	var all []store.ExpiringResource
	require.NoError(t, s.DB().Find(&all).Error)
	m := map[string]store.ExpiringResource{}
	for _, r := range all {
		_, dup := m[r.ResourceID]
		require.False(t, dup, "resource %s stored twice", r.ResourceID)
		m[r.ResourceID] = r
	}
	return m
}

func TestBeginSyncLifecycle(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		log := begin(t, s, "sync-1", "run-a")
		assert.Equal(t, contract.StatusRunning, log.Status)
		assert.Equal(t, 1, log.Attempts)
		assert.Equal(t, int64(1), log.Generation, "the account's first sync takes generation 1")
		assert.True(t, window.WindowBegin.Equal(log.WindowBegin))

		again := begin(t, s, "sync-1", "run-a")
		assert.Equal(t, 1, again.Attempts, "a retried call of the same run is not a new attempt")
		assert.Equal(t, log.LeaseToken, again.LeaseToken)

		b := batch(log, 1, row("r1", t0, nil))
		b.NextOffset, b.Anchor = 500, []string{"r1"}
		ok, err := s.CommitBatch(ctx, b)
		require.NoError(t, err)
		require.True(t, ok)
		require.True(t, end(t, s, log, contract.StatusFailed, "database rejected batch 2"))
		failed, err := s.GetSyncLog(ctx, "sync-1")
		require.NoError(t, err)
		assert.Equal(t, contract.StatusFailed, failed.Status)
		require.NotNil(t, failed.ErrorMessage)
		assert.Equal(t, "database rejected batch 2", *failed.ErrorMessage)

		resumed := begin(t, s, "sync-1", "run-b")
		assert.Equal(t, contract.StatusRunning, resumed.Status)
		assert.Equal(t, 2, resumed.Attempts)
		assert.Equal(t, 1, resumed.LastCommittedBatch, "batches go on numbering after the checkpoint")
		assert.Equal(t, 0, resumed.NextOffset, "a new attempt lists again from the start: the cloud may have changed")
		assert.Nil(t, resumed.Anchor())
		assert.Greater(t, resumed.Generation, log.Generation, "its listing is newer than anything written so far")
		assert.Greater(t, resumed.LeaseToken, log.LeaseToken, "each attempt holds the lease with a new token")
		assert.Nil(t, resumed.ErrorMessage)

		finish(t, s, resumed)
		_, err = s.BeginSync(ctx, start("sync-1", "run-c"), nil)
		assert.ErrorIs(t, err, store.ErrFinished)

		_, err = s.GetSyncLog(ctx, "nope")
		assert.ErrorIs(t, err, store.ErrNotFound)
	})
}

func TestCommitBatchIsIdempotentAndOrdered(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		log := begin(t, s, "sync-1", "run-a")
		b1 := batch(log, 1, row("r1", t0, map[string]string{"env": "prod"}), row("r2", t0, nil))
		b1.NextRow = 2
		ok, err := s.CommitBatch(ctx, b1)
		require.NoError(t, err)
		assert.True(t, ok)

		b1.Rows[0].Name = "renamed" // a re-run of a committed batch must not write
		ok, err = s.CommitBatch(ctx, b1)
		require.NoError(t, err)
		assert.False(t, ok)
		assert.Equal(t, "ecs-r1", rowsOf(t, s)["r1"].ResourceName)

		_, err = s.CommitBatch(ctx, batch(log, 3))
		assert.ErrorIs(t, err, store.ErrOutOfOrder)

		b2 := batch(log, 2, row("r3", t0, nil))
		b2.NextOffset = 500
		ok, err = s.CommitBatch(ctx, b2)
		require.NoError(t, err)
		assert.True(t, ok)

		log, err = s.GetSyncLog(ctx, "sync-1")
		require.NoError(t, err)
		assert.Equal(t, 2, log.LastCommittedBatch)
		assert.Equal(t, 2, log.BatchesCommitted)
		assert.Equal(t, 3, log.RowsWritten)
		assert.Equal(t, 500, log.NextOffset)
		rows := rowsOf(t, s)
		assert.Len(t, rows, 3)
		assert.Equal(t, store.Tags{"env": "prod"}, rows["r1"].Tags)
		assert.Equal(t, store.Tags{}, rows["r2"].Tags, "tags read as none are {}, not NULL")
	})
}

func TestTagsRoundTripExactly(t *testing.T) {
	tags := map[string]string{
		`quote"key`:          `say "hi" and 'bye'`,
		`back\slash`:         `C:\path\to\%d %s 100%`,
		"团队":                 "运维部 🚀",
		"emoji🎉":             "",
		"long":               strings.Repeat("数", 85) + strings.Repeat("x", 0),
		"max255":             strings.Repeat("v", 255),
		"html<&>":            "<b>&amp;</b>",
		"sql'; DROP TABLE x": "1' OR '1'='1",
	}
	forEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		log := begin(t, s, "sync-1", "run-a")
		unknown := row("r-unknown", t0, nil)
		unknown.Tags = inventory.TagResult{ResourceID: "r-unknown", Status: inventory.TagsError, Error: "TMS 403 forbidden"}
		_, err := s.CommitBatch(ctx, batch(log, 1, row("r1", t0, tags), unknown))
		require.NoError(t, err)
		rows := rowsOf(t, s)
		assert.Equal(t, store.Tags(tags), rows["r1"].Tags)
		assert.Nil(t, rows["r-unknown"].Tags, "tags never read are NULL")
		assert.Nil(t, rows["r-unknown"].TagsReadAt)
		require.NotNil(t, rows["r1"].TagsReadAt)
		assert.Equal(t, t0, rows["r1"].TagsReadAt.UTC())
		assert.Equal(t, "TMS 403 forbidden", rows["r-unknown"].TagError)
	})
}

func TestFinishSyncCountsTheWindowAndDeactivatesOnlyWhatBSSSaidIsGone(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		first := begin(t, s, "sync-1", "run-a")
		far := t0.AddDate(0, 0, 200) // outside a 30-day window
		_, err := s.CommitBatch(ctx, batch(first, 1, row("kept", t0, nil), row("gone", t0.AddDate(0, 0, 1), nil),
			row("unseen", t0.AddDate(0, 0, 2), nil), row("far", far, nil)))
		require.NoError(t, err)
		finish(t, s, first)

		second := begin(t, s, "sync-2", "run-b")
		assert.Equal(t, int64(2), second.Generation)
		vanished := row("vanished", t0, nil)
		vanished.Tags = inventory.TagResult{Status: inventory.TagsNotFound}
		denied := row("denied", t0, nil)
		denied.Tags = inventory.TagResult{Status: inventory.TagsError, Error: "403"}
		rds := row("rds", t0, nil)
		rds.Tags = inventory.TagResult{Status: inventory.TagsUnsupported}
		b := batch(second, 1, row("kept", t0, nil), vanished, denied, rds)
		b.SyncedAt = t0.Add(time.Hour)
		_, err = s.CommitBatch(ctx, b)
		require.NoError(t, err)
		candidates, err := s.RecheckCandidates(ctx, second.Writer(), second.WindowEnd, "", 50)
		require.NoError(t, err)
		assert.Equal(t, []string{"gone", "unseen"}, candidates, "the active rows this sync did not write, expiring by the window's end")
		require.NoError(t, s.ApplyRecheck(ctx, store.Recheck{Writer: second.Writer(), SyncedAt: t0.Add(time.Hour),
			Gone: []store.GoneResource{{ResourceID: "gone", Status: new(3)}}}))

		log := finish(t, s, second)
		assert.Equal(t, contract.StatusPartial, log.Status, "a tag error makes the sync partial")
		assert.Equal(t, 4, log.TotalResources)
		assert.Equal(t, 1, log.TaggedResources)
		assert.Equal(t, 1, log.UntaggedResources)
		assert.Equal(t, 1, log.VanishedResources)
		assert.Equal(t, 1, log.TagErrorResources)
		assert.Equal(t, 1, log.DeactivatedResources)
		assert.Equal(t, 1, log.RecheckedResources)
		require.NotNil(t, log.FinishedAt)

		rows := rowsOf(t, s)
		assert.True(t, rows["kept"].IsActive)
		assert.False(t, rows["gone"].IsActive, "BSS said closed: inactive")
		assert.Equal(t, new(3), rows["gone"].Status, "with the last status BSS gave")
		assert.True(t, rows["unseen"].IsActive, "unseen but never said gone: untouched")
		assert.True(t, rows["far"].IsActive, "outside this sync's window: untouched")
		assert.Equal(t, t0, rows["kept"].FirstSeenAt.UTC(), "first_seen_at keeps the first sync's time")
		assert.Equal(t, t0.Add(time.Hour), rows["kept"].LastSyncedAt.UTC())
		assert.Equal(t, "sync-2", rows["kept"].LastSyncID)

		again, err := s.FinishSync(ctx, store.SyncFinish{Writer: second.Writer()})
		require.NoError(t, err)
		assert.Equal(t, 1, again.DeactivatedResources, "finishing twice changes nothing")
		acct, err := s.Account(ctx, account)
		require.NoError(t, err)
		assert.Equal(t, int64(2), acct.CompletedGeneration)
		assert.Equal(t, "sync-2", acct.CompletedSyncID)
		assert.Empty(t, acct.LeaseSyncID, "a finished sync frees its account")
	})
}

func TestEndSyncKeepsCheckpoint(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		log := begin(t, s, "sync-1", "run-a")
		require.True(t, end(t, s, log, contract.StatusCanceled, "canceled by the user"))
		_, err := s.CommitBatch(ctx, batch(log, 1))
		require.Error(t, err, "a canceled sync takes no more batches")
		assert.False(t, errors.Is(err, store.ErrOutOfOrder))
		acct, err := s.Account(ctx, account)
		require.NoError(t, err)
		assert.Empty(t, acct.LeaseSyncID, "an ended sync frees its account")
	})
}

func TestOpenRefusesBadURLs(t *testing.T) {
	for _, bad := range []string{"postgres://u:secret@h/db", "mysql://root:secret@/", "sqlite://", "::::"} {
		_, err := store.Open(context.Background(), bad)
		require.Error(t, err, bad)
		assert.NotContains(t, err.Error(), "secret", "a password never reaches an error")
		assert.Contains(t, err.Error(), "DATABASE_URL")
	}
}
