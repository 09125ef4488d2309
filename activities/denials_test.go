package activities_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"expiry-sync/internal/contract"
	"expiry-sync/internal/inventory"
	"expiry-sync/internal/testkit/hwsim"
)

// A 403 on one TMS type refuses that type alone (tag reads also need the
// owning service's permission): its resources are errors that keep their
// stored tags, after one call; the other types are read. Given the refused
// scope, a later group asks nothing of it.
func TestATypeRefusalKeepsReadingTheOtherTypes(t *testing.T) {
	f := newFixture(t, sk)
	require.NoError(t, f.sim.SetKnobs(hwsim.Knobs{TMSDeniedTypes: []string{"ecs"}}))
	targets := f.taggable(60)
	isECS := map[string]bool{}
	for _, r := range f.sim.Resources() {
		isECS[r.ResourceID] = r.TMSResourceType == "ecs"
	}
	log := f.lease(t, "sync-denied")
	fetch := func(known []contract.Denial) contract.FetchTagsResult {
		v, err := f.env.ExecuteActivity(f.acts.FetchTags, contract.FetchTagsInput{SyncID: "sync-denied", Resources: targets,
			Generation: log.Generation, LeaseToken: log.LeaseToken, Denials: known})
		require.NoError(t, err, "a refused type fails nothing")
		var res contract.FetchTagsResult
		require.NoError(t, v.Get(&res))
		return res
	}
	res := fetch(nil)
	require.Len(t, res.Denials, 1)
	assert.Equal(t, "ecs", res.Denials[0].Scope)
	assert.Contains(t, res.Denials[0].Reason, "ecs:cloudServers:showServerTags", "the reason names the permission Huawei's answer names")
	assert.Empty(t, res.Denied, "no account-wide refusal")
	ecs, others := 0, 0
	for _, r := range res.Results {
		if isECS[r.ResourceID] {
			ecs++
			assert.Equal(t, inventory.TagsError, r.Status, r.ResourceID)
			assert.Equal(t, res.Denials[0].Reason, r.Error)
		} else {
			others++
			assert.Contains(t, []inventory.TagStatus{inventory.TagsOK, inventory.TagsNotFound}, r.Status, "%s is read", r.ResourceID)
		}
	}
	require.Greater(t, ecs, 1)
	require.Positive(t, others)
	show := f.sim.Stats().APIs[hwsim.APITMSShow]
	assert.Equal(t, int64(1), show.Forbidden, "one refused call, the type's other resources are not asked")
	assert.Equal(t, int64(1+others), show.Requests)

	again := fetch(res.Denials)
	assert.Empty(t, again.Denials, "a known refusal is not met again")
	assert.Equal(t, show.Forbidden, f.sim.Stats().APIs[hwsim.APITMSShow].Forbidden, "nor asked")
	for i, r := range again.Results {
		assert.Equal(t, res.Results[i].Status, r.Status)
	}
}
