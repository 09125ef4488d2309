package store_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"expiry-sync/internal/store"
)

func TestTagSnapshotsLiveForOneSync(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		log := begin(t, s, "sync-1", "run-a")
		require.NoError(t, s.SaveTagSnapshot(ctx, log.Writer(), []store.SnapshotEntry{
			{ResourceID: "r1", Tags: store.Tags{"owner": "张三", "q": `"quoted"`}},
			{ResourceID: "r2"},
			{ResourceID: "R1", Tags: store.Tags{"case": "sensitive ids"}},
		}))
		require.NoError(t, s.SaveTagSnapshot(ctx, log.Writer(), []store.SnapshotEntry{{ResourceID: "r2", Tags: store.Tags{"env": "prod"}}}),
			"saving a resource again overwrites it")
		otherStart := start("sync-other", "run-o")
		otherStart.AccountID = "another-account"
		other, err := s.BeginSync(ctx, otherStart, nil)
		require.NoError(t, err)
		require.NoError(t, s.SaveTagSnapshot(ctx, other.Writer(), []store.SnapshotEntry{{ResourceID: "r3", Tags: store.Tags{"x": "y"}}}))

		got, err := s.SnapshotTags(ctx, log.Writer().Attempt(), []string{"r1", "r2", "R1", "r3", "missing"})
		require.NoError(t, err)
		assert.Equal(t, map[string]string{
			"r1": `{"owner":"张三","q":"\"quoted\""}`,
			"r2": `{"env":"prod"}`,
			"R1": `{"case":"sensitive ids"}`,
		}, got, "only this sync's snapshot, ids compared exactly, as stored JSON")
		var rows int64
		require.NoError(t, s.DB().Table("staged_tags").Where("sync_id = ?", "sync-1").Count(&rows).Error)
		assert.Equal(t, int64(2), rows, "one staged row per save, not per resource")

		// What is staged after a read is seen by the next read; what a
		// commit wrote is forgotten.
		require.NoError(t, s.SaveTagSnapshot(ctx, log.Writer(), []store.SnapshotEntry{{ResourceID: "r4", Tags: store.Tags{"k": "v"}}}))
		s.ForgetSnapshot(log.Writer().Attempt(), []string{"r1"})
		got, err = s.SnapshotTags(ctx, log.Writer().Attempt(), []string{"r1", "r4"})
		require.NoError(t, err)
		assert.Equal(t, map[string]string{"r4": `{"k":"v"}`}, got, "r1 was committed: forgotten; r4 staged since: read")

		finish(t, s, log)
		got, err = s.SnapshotTags(ctx, log.Writer().Attempt(), []string{"r1", "r2"})
		require.NoError(t, err)
		assert.Empty(t, got, "a finished sync drops its snapshot")
		got, err = s.SnapshotTags(ctx, other.Writer().Attempt(), []string{"r3"})
		require.NoError(t, err)
		assert.Len(t, got, 1, "other syncs keep theirs")
	})
}

// Invariant: whatever the worker's memory budget, every staged tag is
// found, the later of two stagings wins, and a sync's staging goes with it.
// Within the budget tags are staged one row per read; beyond it, one row
// per resource.
func TestStagedTagsBeyondTheMemoryBudgetGoToOneRowPerResource(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		log := begin(t, s, "sync-1", "run-a")
		first := []store.SnapshotEntry{{ResourceID: "r1", Tags: store.Tags{"a": "1"}}, {ResourceID: "r2"}}
		s.SetTagMemory(200) // holds the first save (2 entries of ~80 bytes), not the second
		require.NoError(t, s.SaveTagSnapshot(ctx, log.Writer(), first))
		require.NoError(t, s.SaveTagSnapshot(ctx, log.Writer(), []store.SnapshotEntry{{ResourceID: "r3", Tags: store.Tags{"c": "3"}}, {ResourceID: "r4"}}))
		s.SetTagMemory(0)
		require.NoError(t, s.SaveTagSnapshot(ctx, log.Writer(), []store.SnapshotEntry{{ResourceID: "r5", Tags: store.Tags{"e": "5"}}}))

		count := func(table string) int64 {
			var n int64
			require.NoError(t, s.DB().Table(table).Where("sync_id = ?", "sync-1").Count(&n).Error)
			return n
		}
		assert.Equal(t, int64(1), count("staged_tags"), "the first save fits the budget: one row")
		assert.Equal(t, int64(3), count("tag_snapshots"), "the others do not: a row per resource")

		got, err := s.SnapshotTags(ctx, log.Writer().Attempt(), []string{"r1", "r2", "r3", "r4", "r5", "r6"})
		require.NoError(t, err)
		assert.Equal(t, map[string]string{"r1": `{"a":"1"}`, "r2": `{}`, "r3": `{"c":"3"}`, "r4": `{}`, "r5": `{"e":"5"}`}, got)

		finish(t, s, log)
		assert.Zero(t, count("staged_tags"))
		assert.Zero(t, count("tag_snapshots"))
		got, err = s.SnapshotTags(ctx, log.Writer().Attempt(), []string{"r1", "r3"})
		require.NoError(t, err)
		assert.Empty(t, got, "a finished sync's staged tags are gone, from memory too")
	})
}
