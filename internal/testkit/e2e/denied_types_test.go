package e2e

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"expiry-sync/internal/contract"
	"expiry-sync/internal/inventory"
	"expiry-sync/internal/store"
	"expiry-sync/internal/testkit/hwsim"
	"expiry-sync/workflows"
)

// Invariant: a TMS refusal covers the resource type it was met on, since
// a tag read also needs the owning service's permission (TMS User
// Permissions page): the sync keeps reading the other types, keeps the
// refused type's stored tags, and ends partial naming the type and the
// permission Huawei's answer names.
// Before: the first 403 was taken as account-wide: no tag of any type was
// read for the rest of the sync.
func TestRefusingOneTMSTypeKeepsItsTagsAndReadsTheOthers(t *testing.T) {
	s := newStack(t, stackOptions{resources: 400, seed: 86})
	first := s.syncID("tags")
	_, err := s.runSync(first, workflows.SyncInput{TagMode: workflows.TagModePerResource})
	require.NoError(t, err)
	ecs, others := map[string]store.Tags{}, []string{}
	for id, r := range s.rows() {
		live, ok := s.sim.Lookup(id)
		switch {
		case !ok || !r.IsActive || r.TagStatus != string(inventory.TagsOK):
		case live.TMSResourceType == "ecs" && len(r.Tags) > 0:
			ecs[id] = r.Tags
		case live.TMSResourceType != "" && live.TMSResourceType != "ecs":
			others = append(others, id)
		}
	}
	require.Greater(t, len(ecs), 20)
	require.Greater(t, len(others), 20)

	require.NoError(t, s.sim.SetKnobs(hwsim.Knobs{TMSDeniedTypes: []string{"ecs"}}))
	for i, mode := range []string{workflows.TagModePerResource, workflows.TagModeBulk} {
		// Owners retag every resource: only the types TMS still reads may show it.
		fresh := map[string]string{"owner": fmt.Sprintf("retagged-%d", i)}
		s.sim.SetTags(others, fresh)
		s.sim.SetTags(slices.Collect(maps.Keys(ecs)), fresh)
		refusedBefore := s.sim.Stats().APIs[hwsim.APITMSShow].Forbidden

		id := s.syncID("ecs-denied-" + mode)
		summary, err := s.runSync(id, workflows.SyncInput{TagMode: mode})
		require.NoError(t, err, "a refused type fails nothing (%s)", mode)
		assert.Equal(t, contract.StatusPartial, summary.Status, mode)
		notes := strings.Join(summary.Notes.Degraded, "\n")
		assert.Contains(t, notes, "TMS type ecs", "the message names the type (%s)", mode)
		assert.Contains(t, notes, "ecs:cloudServers:showServerTags", "and the permission the answer names (%s)", mode)
		assert.Contains(t, *s.syncLog(id).Notes, "ecs:cloudServers:showServerTags", "the sync log says why it is partial")

		rows := s.rows()
		for rid, tags := range ecs {
			assert.Equal(t, tags, rows[rid].Tags, "%s keeps its stored tags (%s)", rid, mode)
			assert.Equal(t, string(inventory.TagsError), rows[rid].TagStatus, rid)
			assert.Contains(t, rows[rid].TagError, "TMS type ecs", rid)
		}
		for _, rid := range others {
			assert.Equal(t, store.Tags(fresh), rows[rid].Tags, "%s of another type is read (%s)", rid, mode)
			assert.Equal(t, string(inventory.TagsOK), rows[rid].TagStatus, rid)
		}
		refused := s.sim.Stats().APIs[hwsim.APITMSShow].Forbidden - refusedBefore
		assert.LessOrEqual(t, refused, int64(workflows.DefaultTagConcurrency), "a known refusal is not asked again (%s)", mode)
		s.assertWindowIsTruth(id, nil)
	}
}
