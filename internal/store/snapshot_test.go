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

		got, err := s.SnapshotTags(ctx, "sync-1", []string{"r1", "r2", "R1", "r3", "missing"})
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
		s.ForgetSnapshot("sync-1", []string{"r1"})
		got, err = s.SnapshotTags(ctx, "sync-1", []string{"r1", "r4"})
		require.NoError(t, err)
		assert.Equal(t, map[string]string{"r4": `{"k":"v"}`}, got, "r1 was committed: forgotten; r4 staged since: read")

		finish(t, s, log)
		got, err = s.SnapshotTags(ctx, "sync-1", []string{"r1", "r2"})
		require.NoError(t, err)
		assert.Empty(t, got, "a finished sync drops its snapshot")
		got, err = s.SnapshotTags(ctx, "sync-other", []string{"r3"})
		require.NoError(t, err)
		assert.Len(t, got, 1, "other syncs keep theirs")
	})
}
