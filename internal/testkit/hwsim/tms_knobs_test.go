package hwsim_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	tms "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/tms/v1"
	tmsmodel "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/tms/v1/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"expiry-sync/internal/catalog"
	"expiry-sync/internal/testkit/hwsim"
)

// listPagesTMS pages ListResource until an empty page and returns the
// resources by id, and the last total_count seen (nil when absent).
func listPagesTMS(t *testing.T, client *tms.TmsClient, body tmsmodel.ResqTagResource, limit int32) (map[string]tmsmodel.Resources, *int32) {
	t.Helper()
	out := map[string]tmsmodel.Resources{}
	var total *int32
	for offset := int32(0); ; {
		body.Offset, body.Limit = &offset, &limit
		resp, err := client.ListResource(&tmsmodel.ListResourceRequest{Body: &body})
		require.NoError(t, err)
		total = resp.TotalCount
		if len(*resp.Resources) == 0 {
			return out, total
		}
		for _, r := range *resp.Resources {
			out[r.ResourceId] = r
		}
		offset += int32(len(*resp.Resources))
	}
}

// vmsOfProject lists the simulator's VMs of one project, by id.
func vmsOfProject(sim *hwsim.Simulator, project string) map[string]hwsim.Resource {
	out := map[string]hwsim.Resource{}
	for r := range sim.All() {
		if r.ProjectID == project && r.TMSResourceType == "ecs" {
			out[r.ResourceID] = r
		}
	}
	return out
}

func TestBulkEmptyFilterModes(t *testing.T) {
	sim, base := newSim(t, 1200)
	client := tmsClient(t, base, goodCreds, httpConfig())
	vm := firstVM(t, sim)
	all := vmsOfProject(sim, vm.ProjectID)
	tagged := map[string]bool{}
	for id, r := range all {
		if len(r.Tags) > 0 {
			tagged[id] = true
		}
	}
	require.Less(t, len(tagged), len(all), "some VMs are untagged")
	empty := tmsmodel.ResqTagResource{ProjectId: &vm.ProjectID, ResourceTypes: []string{"ecs"}, Tags: []tmsmodel.Tag{}}
	untagged := empty
	untagged.WithoutAnyTag = ptr(true)

	got, total := listPagesTMS(t, client, empty, 1000)
	assert.Len(t, got, len(all), "default: the empty filter lists every resource")
	assert.Equal(t, int32(len(all)), *total)

	require.NoError(t, sim.SetKnobs(hwsim.Knobs{BulkEmptyFilter: hwsim.BulkTaggedOnly}))
	got, _ = listPagesTMS(t, client, empty, 1000)
	assert.Len(t, got, len(tagged))
	for id := range got {
		assert.True(t, tagged[id])
	}
	got, _ = listPagesTMS(t, client, untagged, 1000)
	assert.Len(t, got, len(all)-len(tagged), "without_any_tag lists the others")

	require.NoError(t, sim.SetKnobs(hwsim.Knobs{BulkEmptyFilter: hwsim.BulkRefused}))
	_, err := client.ListResource(&tmsmodel.ListResourceRequest{Body: &empty})
	serviceError(t, err, 400, "TMS.0012")
	got, _ = listPagesTMS(t, client, untagged, 1000)
	assert.Len(t, got, len(all)-len(tagged), "without_any_tag is not refused")
	key := firstKey(t, all)
	got, _ = listPagesTMS(t, client, tmsmodel.ResqTagResource{ProjectId: &vm.ProjectID, ResourceTypes: []string{"ecs"}, Tags: []tmsmodel.Tag{{Key: key, Values: []string{}}}}, 1000)
	assert.NotEmpty(t, got, "a keyed filter is not refused")

	require.NoError(t, sim.SetKnobs(hwsim.Knobs{BulkEmptyFilter: hwsim.BulkMissing}))
	_, err = client.ListResource(&tmsmodel.ListResourceRequest{Body: &untagged})
	serviceError(t, err, 404, "APIGW.0101")
}

func firstKey(t *testing.T, rs map[string]hwsim.Resource) string {
	t.Helper()
	for _, r := range rs {
		for k := range r.Tags {
			return k
		}
	}
	t.Fatal("no tag")
	return ""
}

func TestBulkLimitAndTotalCount(t *testing.T) {
	sim, base := newSim(t, 600)
	client := tmsClient(t, base, goodCreds, httpConfig())
	vm := firstVM(t, sim)
	body := tmsmodel.ResqTagResource{ProjectId: &vm.ProjectID, ResourceTypes: []string{"ecs"}, Tags: []tmsmodel.Tag{}, Limit: ptr(int32(1000))}
	_, err := client.ListResource(&tmsmodel.ListResourceRequest{Body: &body})
	require.NoError(t, err, "1000 is the documented maximum")

	require.NoError(t, sim.SetKnobs(hwsim.Knobs{BulkMaxLimit: 200, BulkOmitTotalCount: true}))
	_, err = client.ListResource(&tmsmodel.ListResourceRequest{Body: &body})
	serviceError(t, err, 400, "TMS.0007")
	got, total := listPagesTMS(t, client, body, 200)
	assert.Nil(t, total, "no total_count")
	assert.Len(t, got, len(vmsOfProject(sim, vm.ProjectID)))

	res := rawCall(t, base, "POST", "/v1.0/resource-instances/filter", nil, `{"project_id":"`+vm.ProjectID+`","resource_types":["ecs"],"tags":[]}`, goodCreds)
	require.Equal(t, 200, res.status)
	assert.NotContains(t, string(res.body), "total_count")
}

func TestTMSPermissionDeniedAndThrottle403(t *testing.T) {
	sim, base := newSim(t, 100)
	client := tmsClient(t, base, goodCreds, httpConfig())
	vm := firstVM(t, sim)
	require.NoError(t, sim.SetKnobs(hwsim.Knobs{TMSPermissionDenied: true}))
	_, err := showTags(client, vm, "ecs")
	serviceError(t, err, 403, "TMS.0004")
	_, err = client.ListResource(&tmsmodel.ListResourceRequest{Body: &tmsmodel.ResqTagResource{ProjectId: &vm.ProjectID, ResourceTypes: []string{"ecs"}, Tags: []tmsmodel.Tag{}}})
	serviceError(t, err, 403, "TMS.0004")
	_, err = client.ListTags(&tmsmodel.ListTagsRequest{ProjectId: vm.ProjectID, ResourceTypes: "ecs", TagTypes: tmsmodel.GetListTagsRequestTagTypesEnum().RESOURCE})
	serviceError(t, err, 403, "TMS.0004")
	_, err = client.ListProviders(&tmsmodel.ListProvidersRequest{})
	require.NoError(t, err, "ListProviders needs no permission")

	require.NoError(t, sim.SetKnobs(hwsim.Knobs{TMSThrottle403Ratio: 1}))
	_, err = showTags(client, vm, "ecs")
	se := serviceError(t, err, 403, "TMS.0006")
	assert.Contains(t, se.ErrorMessage, "try again later")
	_, err = client.ListProviders(&tmsmodel.ListProvidersRequest{})
	serviceError(t, err, 403, "TMS.0006")
	st := sim.Stats().APIs[hwsim.APITMSShow]
	assert.Equal(t, int64(1), st.Throttled)
	assert.Equal(t, int64(1), st.Forbidden, "only the permission denial counts as forbidden")
}

func TestListTagsIsTheUnionOfTheProjectsTags(t *testing.T) {
	sim, base := newSim(t, 800)
	client := tmsClient(t, base, goodCreds, httpConfig())
	vm := firstVM(t, sim)
	want := map[string][]string{}
	for _, r := range vmsOfProject(sim, vm.ProjectID) {
		for k, v := range r.Tags {
			if !slices.Contains(want[k], v) {
				want[k] = append(want[k], v)
			}
		}
	}
	resp, err := client.ListTags(&tmsmodel.ListTagsRequest{ProjectId: vm.ProjectID, ResourceTypes: "ecs", TagTypes: tmsmodel.GetListTagsRequestTagTypesEnum().RESOURCE})
	require.NoError(t, err)
	got := map[string][]string{}
	for _, tv := range *resp.Tags {
		got[tv.Key] = tv.Values
	}
	require.Len(t, got, len(want))
	for k, vs := range want {
		slices.Sort(vs)
		assert.Equal(t, vs, got[k], k)
	}
	assert.Empty(t, *resp.Errors)

	resp, err = client.ListTags(&tmsmodel.ListTagsRequest{ProjectId: vm.ProjectID, ResourceTypes: "ecs,nosuchtype", TagTypes: tmsmodel.GetListTagsRequestTagTypesEnum().RESOURCE})
	require.NoError(t, err)
	require.Len(t, *resp.Errors, 1)
	assert.Equal(t, "nosuchtype", (*resp.Errors)[0].ResourceType)
}

func TestListProvidersAndUnservedTypes(t *testing.T) {
	sim, base := newSim(t, 100, func(o *hwsim.Options) { o.FullCatalog = true })
	client := tmsClient(t, base, goodCreds, httpConfig())
	served := func() []string {
		var types []string
		for offset := int32(0); ; {
			resp, err := client.ListProviders(&tmsmodel.ListProvidersRequest{Offset: &offset, Limit: ptr(int32(2))})
			require.NoError(t, err)
			for _, p := range *resp.Providers {
				for _, rt := range p.ResourceTypes {
					types = append(types, rt.ResourceType)
				}
			}
			offset += int32(len(*resp.Providers))
			if len(*resp.Providers) == 0 || offset >= *resp.TotalCount {
				slices.Sort(types)
				return types
			}
		}
	}
	assert.Equal(t, catalog.TMSResourceTypes(), served(), "paged with limit 2")

	// Without FullCatalog the simulator tags ecs, disk and eip only, and
	// says so: ListProviders leaves out the types its records carry no tags for.
	_, narrow := newSim(t, 100)
	narrowClient := tmsClient(t, narrow, goodCreds, httpConfig())
	resp0, err := narrowClient.ListProviders(&tmsmodel.ListProvidersRequest{})
	require.NoError(t, err)
	var narrowTypes []string
	for _, p := range *resp0.Providers {
		for _, rt := range p.ResourceTypes {
			narrowTypes = append(narrowTypes, rt.ResourceType)
		}
	}
	assert.NotContains(t, narrowTypes, "rds")
	assert.NotContains(t, narrowTypes, "dcs")
	assert.Contains(t, narrowTypes, "ecs")

	vm := firstVM(t, sim)
	require.NoError(t, sim.SetKnobs(hwsim.Knobs{UnservedTMSTypes: []string{"ecs"}}))
	assert.NotContains(t, served(), "ecs")
	_, err = showTags(client, vm, "ecs")
	serviceError(t, err, 400, "TMS.5027")
	resp, err := client.ListResource(&tmsmodel.ListResourceRequest{Body: &tmsmodel.ResqTagResource{ProjectId: &vm.ProjectID, ResourceTypes: []string{"ecs"}, Tags: []tmsmodel.Tag{}}})
	require.NoError(t, err, "a per-type failure is inside a 200 answer")
	require.Len(t, *resp.Errors, 1)
	assert.Equal(t, "ecs", *(*resp.Errors)[0].ResourceType)
	assert.Empty(t, *resp.Resources)
}

func TestNewKnobsJSONAndValidation(t *testing.T) {
	sim, base := newSim(t, 10)
	doc := `{"list_order":"expire","list_fail_from_offset":100,"list_fail_code":"CBC.0999","malformed_resource_ids":["a"],` +
		`"no_id_resource_ids":["b"],"partial_resource_ids":["c"],"no_project_resource_ids":["d"],"wrong_site":"CBC.0156",` +
		`"bss_ip_throttle_ratio":0.1,"tms_permission_denied":true,"tms_throttle_403_ratio":0.2,"bulk_empty_filter":"refused",` +
		`"bulk_max_limit":200,"bulk_omit_total_count":true,"unserved_tms_types":["dds"],` +
		`"churn":{"after_requests":3,"begin":"2026-01-15T08:00:00Z","end":"2026-02-15T08:00:00Z","renew":1,"remove":2,"add":3}}`
	status, body := admin(t, "PUT", base+"/_hwsim/knobs", doc)
	require.Equal(t, 200, status, string(body))
	k := sim.Knobs()
	assert.Equal(t, hwsim.ListOrderExpire, k.ListOrder)
	assert.Equal(t, 100, *k.ListFailFromOffset)
	assert.Equal(t, 3, k.Churn.AfterRequests)
	assert.True(t, k.TMSPermissionDenied)
	back := hwsim.Knobs{ForbiddenResourceIDs: []string{}}
	require.NoError(t, json.Unmarshal(body, &back))
	k.ForbiddenResourceIDs = []string{}
	assert.Equal(t, k, back, "the answer round-trips")

	status, body = admin(t, "PUT", base+"/_hwsim/knobs", `{"churn":null,"list_fail_from_offset":null}`)
	require.Equal(t, 200, status, string(body))
	assert.Nil(t, sim.Knobs().Churn)
	assert.NotContains(t, string(body), "churn")

	for doc, want := range map[string]string{
		`{"list_order":"random"}`:         `list_order "random" is not one of`,
		`{"list_fail_from_offset":-5}`:    "list_fail_from_offset -5 must be >= 0",
		`{"list_fail_from_offset":"x"}`:   "list_fail_from_offset must be an integer",
		`{"wrong_site":"CBC.0151"}`:       `wrong_site "CBC.0151" is not one of`,
		`{"bulk_empty_filter":"none"}`:    "bulk_empty_filter",
		`{"bulk_max_limit":5000}`:         "bulk_max_limit 5000 out of range 0..1000",
		`{"tms_throttle_403_ratio":2}`:    "tms_throttle_403_ratio 2 out of range 0..1",
		`{"malformed_resource_ids":[""]}`: "malformed_resource_ids[0] is empty",
		`{"churn":{"after_requests":0,"begin":"2026-01-15T08:00:00Z","end":"2026-02-15T08:00:00Z"}}`: "churn.after_requests 0 must be >= 1",
		`{"churn":{"after_requests":1,"begin":"2026-03-15T08:00:00Z","end":"2026-02-15T08:00:00Z"}}`: "churn needs begin <= end",
		`{"churn":{"after_requests":1,"bogus":1}}`:                                                   "churn must be an object",
	} {
		status, body := admin(t, "PUT", base+"/_hwsim/knobs", doc)
		assert.Equal(t, 400, status, doc)
		assert.Contains(t, decodeInto[map[string]string](t, body)["error"], want, doc)
	}
}

func TestAdminTruthRenewStatusAdd(t *testing.T) {
	sim, base := newSim(t, 300)
	begin, end := "2026-01-15T08:00:00Z", "2026-03-15T08:00:00Z"
	status, body := admin(t, "GET", base+"/_hwsim/truth?begin="+begin+"&end="+end+"&status=2,4", "")
	require.Equal(t, 200, status, string(body))
	lines := strings.Split(strings.TrimSpace(string(body)), "\n")
	want := sim.Truth(testEpoch, testEpoch.AddDate(0, 2, 0), []int{2, 4})
	require.Len(t, lines, len(want))
	first := decodeInto[hwsim.Resource](t, []byte(lines[0]))
	assert.Equal(t, want[0].ResourceID, first.ResourceID)

	status, body = admin(t, "POST", base+"/_hwsim/resources/renew", `{"ids":["`+first.ResourceID+`"],"by":"8760h"}`)
	require.Equal(t, 200, status, string(body))
	assert.JSONEq(t, `{"changed":1}`, string(body))
	status, body = admin(t, "POST", base+"/_hwsim/resources/status", `{"ids":["`+first.ResourceID+`"],"status":3}`)
	require.Equal(t, 200, status, string(body))
	got, _ := sim.Lookup(first.ResourceID)
	assert.Equal(t, int32(3), got.Status)
	status, body = admin(t, "POST", base+"/_hwsim/resources/add", `{"count":4,"expire_from":"`+begin+`","expire_to":"`+end+`"}`)
	require.Equal(t, 200, status, string(body))
	assert.Len(t, decodeInto[struct{ IDs []string }](t, body).IDs, 4)

	for path, doc := range map[string]string{
		"renew":  `{"ids":["x"],"by":"soon"}`,
		"status": `{"ids":["x"],"status":7}`,
		"add":    `{"count":1,"expire_from":"` + begin + `"}`,
	} {
		status, body := admin(t, "POST", base+"/_hwsim/resources/"+path, doc)
		assert.Equal(t, 400, status, path)
		assert.NotEmpty(t, decodeInto[map[string]string](t, body)["error"], path)
	}
	status, _ = admin(t, "GET", base+"/_hwsim/truth?begin=yesterday&end="+end, "")
	assert.Equal(t, 400, status)
}

func TestFullCatalogServesRDSAndDCSTags(t *testing.T) {
	sim, base := newSim(t, 400, func(o *hwsim.Options) { o.FullCatalog = true })
	client := tmsClient(t, base, goodCreds, httpConfig())
	seen := map[string]bool{}
	for r := range sim.All() {
		switch r.ResourceTypeCode {
		case catalog.ResourceRDS, catalog.ResourceDCS:
			want := map[string]string{catalog.ResourceRDS: "rds", catalog.ResourceDCS: "dcs"}[r.ResourceTypeCode]
			require.Equal(t, want, r.TMSResourceType)
			tags, err := showTags(client, r, want)
			require.NoError(t, err)
			assert.Equal(t, tagsOrEmpty(r.Tags), tags)
			seen[want] = true
		case catalog.ResourceBandwidth:
			assert.Empty(t, r.TMSResourceType, "a dedicated bandwidth is a child of its EIP: no tags of its own")
		}
	}
	assert.True(t, seen["rds"] && seen["dcs"])

	plain, _ := newSim(t, 400)
	for r := range plain.All() {
		if r.ResourceTypeCode == catalog.ResourceRDS {
			assert.Empty(t, r.TMSResourceType, "by default only the types today's workflow reads have tags")
			break
		}
	}
}
