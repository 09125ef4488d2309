package activities_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"expiry-sync/internal/contract"
	"expiry-sync/internal/huawei"
	"expiry-sync/internal/store"
	"expiry-sync/internal/testkit/hwsim"
)

// snapshotPair is one project and type of the fixture, and its resources.
func (f *fixture) snapshotPair(t *testing.T) (contract.SnapshotTagsInput, []string) {
	t.Helper()
	targets := f.taggable(1)
	require.NotEmpty(t, targets)
	var ids []string
	for _, r := range f.sim.Resources() {
		if r.ProjectID == targets[0].ProjectID && r.TMSResourceType == "ecs" {
			ids = append(ids, r.ResourceID)
		}
	}
	log := f.lease(t, "sync-snap")
	return contract.SnapshotTagsInput{SyncID: "sync-snap", ProjectID: targets[0].ProjectID, TMSType: "ecs", Generation: log.Generation, LeaseToken: log.LeaseToken}, ids
}

func TestSnapshotTagsStagesEveryResourceUnderEachEmptyFilterBehaviour(t *testing.T) {
	for _, mode := range []string{hwsim.BulkAll, hwsim.BulkTaggedOnly, hwsim.BulkRefused} {
		t.Run(mode, func(t *testing.T) {
			f := newFixture(t, sk)
			require.NoError(t, f.sim.SetKnobs(hwsim.Knobs{BulkEmptyFilter: mode}))
			in, ids := f.snapshotPair(t)
			val, err := f.env.ExecuteActivity(f.acts.SnapshotTags, in)
			require.NoError(t, err)
			var res contract.SnapshotTagsResult
			require.NoError(t, val.Get(&res))
			assert.Empty(t, res.Unsupported)
			assert.Equal(t, len(ids), res.Resources)
			staged, err := f.acts.Store.SnapshotTags(context.Background(), store.Attempt{SyncID: in.SyncID, Generation: in.Generation}, ids)
			require.NoError(t, err)
			assert.Len(t, staged, len(ids), "every resource staged, untagged ones with {}")
			for _, id := range ids {
				r, _ := f.sim.Lookup(id)
				if len(r.Tags) > 0 {
					assert.Equal(t, store.Tags(r.Tags), parseTags(t, staged[id]), id)
				}
			}
		})
	}
}

func TestSnapshotTagsFallsBackInsteadOfFailing(t *testing.T) {
	for name, knobs := range map[string]hwsim.Knobs{
		"endpoint missing":     {BulkEmptyFilter: hwsim.BulkMissing},
		"type refused":         {UnservedTMSTypes: []string{"ecs"}},
		"keyed filter refused": {BulkEmptyFilter: hwsim.BulkRefused, BulkMaxLimit: 5},
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, sk)
			require.NoError(t, f.sim.SetKnobs(knobs))
			in, _ := f.snapshotPair(t)
			val, err := f.env.ExecuteActivity(f.acts.SnapshotTags, in)
			require.NoError(t, err, "a bulk refusal is a fallback, never a failed sync")
			var res contract.SnapshotTagsResult
			require.NoError(t, val.Get(&res))
			assert.NotEmpty(t, res.Unsupported)
		})
	}
}

func TestSnapshotTagsPermissionAndThrottlingAreErrors(t *testing.T) {
	f := newFixture(t, sk)
	in, _ := f.snapshotPair(t)
	require.NoError(t, f.sim.SetKnobs(hwsim.Knobs{TMSPermissionDenied: true}))
	_, err := f.env.ExecuteActivity(f.acts.SnapshotTags, in)
	app := appError(t, err)
	assert.Equal(t, string(huawei.KindForbidden), app.Type())
	assert.True(t, app.NonRetryable())
	assert.Contains(t, app.Error(), "tms:resources:list")

	require.NoError(t, f.sim.SetKnobs(hwsim.Knobs{TMSThrottle403Ratio: 1}))
	_, err = f.env.ExecuteActivity(f.acts.SnapshotTags, in)
	app = appError(t, err)
	assert.Equal(t, string(huawei.KindThrottled), app.Type())
	assert.False(t, app.NonRetryable())
}
