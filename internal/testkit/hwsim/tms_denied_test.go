package hwsim_test

import (
	"encoding/json"
	"testing"

	tmsmodel "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/tms/v1/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"expiry-sync/internal/testkit/hwsim"
)

// resourceOf finds a record of tmsType outside enterprise project notEP.
func resourceOf(t *testing.T, sim *hwsim.Simulator, tmsType, notEP string) hwsim.Resource {
	t.Helper()
	for r := range sim.All() {
		if r.TMSResourceType == tmsType && r.EnterpriseProjectID != notEP {
			return r
		}
	}
	t.Fatalf("no %s record outside enterprise project %q", tmsType, notEP)
	return hwsim.Resource{}
}

// TMSDeniedTypes refuses one TMS type's tags (as a missing permission of
// the owning service does), or one type in one enterprise project (as ECS
// can), and leaves every other read alone.
func TestTMSDeniedTypesRefuseOneTypeOrOneEnterpriseProject(t *testing.T) {
	sim, base := newSim(t, 300)
	client := tmsClient(t, base, goodCreds, httpConfig())
	vm, disk := firstVM(t, sim), resourceOf(t, sim, "disk", "")
	listOf := func(types ...string) error {
		_, err := client.ListResource(&tmsmodel.ListResourceRequest{Body: &tmsmodel.ResqTagResource{ProjectId: &vm.ProjectID, ResourceTypes: types, Tags: []tmsmodel.Tag{}}})
		return err
	}

	require.NoError(t, sim.SetKnobs(hwsim.Knobs{TMSDeniedTypes: []string{"ecs"}}))
	_, err := showTags(client, vm, "ecs")
	se := serviceError(t, err, 403, "TMS.0004")
	assert.Contains(t, se.ErrorMessage, "resource type ecs")
	assert.Contains(t, se.ErrorMessage, "ecs:cloudServers:showServerTags", "the message names the owning service's permission")
	_, err = showTags(client, disk, "disk")
	require.NoError(t, err, "another type's tags are read")
	serviceError(t, listOf("ecs", "disk"), 403, "TMS.0004")
	require.NoError(t, listOf("disk"))
	_, err = client.ListTags(&tmsmodel.ListTagsRequest{ProjectId: vm.ProjectID, ResourceTypes: "ecs", TagTypes: tmsmodel.GetListTagsRequestTagTypesEnum().RESOURCE})
	serviceError(t, err, 403, "TMS.0004")
	_, err = client.ListProviders(&tmsmodel.ListProvidersRequest{})
	require.NoError(t, err)

	other := resourceOf(t, sim, "ecs", vm.EnterpriseProjectID)
	require.NoError(t, sim.SetKnobs(hwsim.Knobs{TMSDeniedTypes: []string{"ecs@" + vm.EnterpriseProjectID}}))
	_, err = showTags(client, vm, "ecs")
	se = serviceError(t, err, 403, "TMS.0004")
	assert.Contains(t, se.ErrorMessage, "in enterprise project "+vm.EnterpriseProjectID)
	_, err = showTags(client, other, "ecs")
	require.NoError(t, err, "an ECS of another enterprise project is read")

	for _, bad := range [][]string{{"nosuch"}, {"ecs@"}, {""}} {
		require.ErrorContains(t, sim.SetKnobs(hwsim.Knobs{TMSDeniedTypes: bad}), "tms_denied_types[0]", "%q", bad)
	}
	var k hwsim.Knobs
	require.NoError(t, json.Unmarshal([]byte(`{"tms_denied_types":["ecs","disk@0"],"tms_providers_refused":true}`), &k))
	assert.Equal(t, []string{"ecs", "disk@0"}, k.TMSDeniedTypes)
	assert.True(t, k.TMSProvidersRefused)
	data, err := json.Marshal(k)
	require.NoError(t, err)
	assert.Contains(t, string(data), `"tms_denied_types":["ecs","disk@0"]`)
	assert.Contains(t, string(data), `"tms_providers_refused":true`)
}

// Under role/policy authorization a custom policy may refuse ListProviders
// (identity policies need no permission for it); the tag reads still answer.
func TestTMSProvidersRefused(t *testing.T) {
	sim, base := newSim(t, 50)
	client := tmsClient(t, base, goodCreds, httpConfig())
	require.NoError(t, sim.SetKnobs(hwsim.Knobs{TMSProvidersRefused: true}))
	_, err := client.ListProviders(&tmsmodel.ListProvidersRequest{})
	serviceError(t, err, 403, "TMS.0004")
	_, err = showTags(client, firstVM(t, sim), "ecs")
	require.NoError(t, err)
}
