package hwsim_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	bssmodel "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/bss/v2/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"expiry-sync/internal/catalog"
	"expiry-sync/internal/testkit/hwsim"
)

const bssPath = "/v2/orders/suscriptions/resources/query"

func fmtTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// assertOrderInstance compares what the SDK decoded with the Go API record.
func assertOrderInstance(t *testing.T, want hwsim.Resource, got bssmodel.OrderInstanceV2) {
	t.Helper()
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	i32 := func(p *int32) int32 {
		require.NotNil(t, p)
		return *p
	}
	assert.Equal(t, want.ID, str(got.Id))
	assert.Equal(t, want.ResourceID, str(got.ResourceId))
	assert.Equal(t, want.ResourceName, str(got.ResourceName))
	assert.Equal(t, want.RegionCode, str(got.RegionCode))
	assert.Equal(t, want.ProjectID, str(got.ProjectId))
	assert.Equal(t, want.ServiceTypeCode, str(got.ServiceTypeCode))
	assert.Equal(t, want.ServiceTypeName, str(got.ServiceTypeName))
	assert.Equal(t, want.ResourceTypeCode, str(got.ResourceTypeCode))
	assert.Equal(t, want.ResourceTypeName, str(got.ResourceTypeName))
	assert.Equal(t, want.ResourceSpecCode, str(got.ResourceSpecCode))
	assert.Equal(t, want.ProductID, str(got.ProductId))
	assert.Equal(t, want.ProductSpecDesc, str(got.ProductSpecDesc))
	assert.Equal(t, want.ParentResourceID, str(got.ParentResourceId))
	assert.Equal(t, want.IsMainResource, i32(got.IsMainResource))
	assert.Equal(t, want.Status, i32(got.Status))
	assert.Equal(t, want.ExpirePolicy, i32(got.ExpirePolicy))
	assert.Equal(t, fmtTime(want.EffectiveTime), str(got.EffectiveTime))
	assert.Equal(t, fmtTime(want.ExpireTime), str(got.ExpireTime))
	assert.Equal(t, fmtTime(want.UpdateTime), str(got.UpdateTime))
	require.NotNil(t, got.EnterpriseProject)
	assert.Equal(t, want.EnterpriseProjectID, str(got.EnterpriseProject.Id))
	assert.Equal(t, want.EnterpriseProjectName, str(got.EnterpriseProject.Name))
	if want.SpecSize != 0 {
		require.NotNil(t, got.SpecSize)
		assert.Equal(t, want.SpecSize, got.SpecSize.InexactFloat64())
		assert.Equal(t, want.SpecSizeMeasureID, i32(got.SpecSizeMeasureId))
	}
}

func TestBSSPaginationCoversAll(t *testing.T) {
	sim, url := newSim(t, 3007)
	got, total := listAllBSS(t, bssClient(t, url, goodCreds, httpConfig()), bssmodel.QueryResourcesReq{})
	want := sim.Resources()
	require.Equal(t, int32(len(want)), total)
	require.Len(t, got, len(want))
	seen := map[string]bool{}
	for i := range want {
		require.False(t, seen[*got[i].ResourceId], "resource listed twice")
		seen[*got[i].ResourceId] = true
		assertOrderInstance(t, want[i], got[i])
	}
	st := sim.Stats().APIs[hwsim.APIBSSList]
	assert.Equal(t, int64(7), st.Requests) // ceil(3007/500)
	assert.Equal(t, int64(7), st.OK)
}

func TestBSSDefaultLimitAndOffset(t *testing.T) {
	sim, url := newSim(t, 100)
	client := bssClient(t, url, goodCreds, httpConfig())
	resp, err := client.ListPayPerUseCustomerResources(&bssmodel.ListPayPerUseCustomerResourcesRequest{Body: &bssmodel.QueryResourcesReq{Offset: ptr(int32(95))}})
	require.NoError(t, err)
	require.Len(t, *resp.Data, 5)
	assert.Equal(t, sim.Resources()[95].ResourceID, *(*resp.Data)[0].ResourceId)
	resp, err = client.ListPayPerUseCustomerResources(&bssmodel.ListPayPerUseCustomerResourcesRequest{Body: &bssmodel.QueryResourcesReq{}})
	require.NoError(t, err)
	assert.Len(t, *resp.Data, 10, "default limit")
	assert.Equal(t, int32(100), *resp.TotalCount)
}

func TestBSSFilters(t *testing.T) {
	sim, url := newSim(t, 4000)
	all := sim.Resources()
	client := bssClient(t, url, goodCreds, httpConfig())

	// A VM with two volumes, for resource_ids.
	var vm hwsim.Resource
	var vmChildren []string
	for i, r := range all {
		if r.ResourceTypeCode == catalog.ResourceVM && i+2 < len(all) && all[i+2].ParentResourceID == r.ResourceID {
			vm, vmChildren = r, []string{all[i+1].ResourceID, all[i+2].ResourceID}
			break
		}
	}
	require.NotEmpty(t, vm.ResourceID)
	// Window bounds equal to real expire times, to check inclusiveness.
	begin, end := all[10].ExpireTime, all[20].ExpireTime
	if end.Before(begin) {
		begin, end = end, begin
	}

	cases := []struct {
		name string
		req  bssmodel.QueryResourcesReq
		keep func(hwsim.Resource) bool
		ids  []string // expected ids instead of keep, in order
	}{
		{name: "all", keep: func(hwsim.Resource) bool { return true }},
		{name: "window inclusive", req: bssmodel.QueryResourcesReq{ExpireTimeBegin: ptr(fmtTime(begin)), ExpireTimeEnd: ptr(fmtTime(end))},
			keep: func(r hwsim.Resource) bool { return !r.ExpireTime.Before(begin) && !r.ExpireTime.After(end) }},
		{name: "begin only", req: bssmodel.QueryResourcesReq{ExpireTimeBegin: ptr(fmtTime(testEpoch))},
			keep: func(r hwsim.Resource) bool { return !r.ExpireTime.Before(testEpoch) }},
		{name: "empty bounds are no filter", req: bssmodel.QueryResourcesReq{ExpireTimeBegin: ptr(""), ExpireTimeEnd: ptr("")},
			keep: func(hwsim.Resource) bool { return true }},
		{name: "status 5", req: bssmodel.QueryResourcesReq{StatusList: &[]int32{5}},
			keep: func(r hwsim.Resource) bool { return r.Status == 5 }},
		{name: "status 2 and 4", req: bssmodel.QueryResourcesReq{StatusList: &[]int32{2, 4}},
			keep: func(r hwsim.Resource) bool { return r.Status == 2 || r.Status == 4 }},
		{name: "main only", req: bssmodel.QueryResourcesReq{OnlyMainResource: ptr(int32(1))},
			keep: func(r hwsim.Resource) bool { return r.IsMainResource == 1 }},
		{name: "ecs service includes attached volumes", req: bssmodel.QueryResourcesReq{ServiceTypeCode: ptr(catalog.ServiceECS)},
			keep: func(r hwsim.Resource) bool { return r.ServiceTypeCode == catalog.ServiceECS }},
		{name: "unknown service", req: bssmodel.QueryResourcesReq{ServiceTypeCode: ptr("hws.service.type.nope")},
			keep: func(hwsim.Resource) bool { return false }},
		{name: "combined", req: bssmodel.QueryResourcesReq{
			ExpireTimeBegin: ptr(fmtTime(testEpoch.Add(-10 * 24 * time.Hour))), ExpireTimeEnd: ptr(fmtTime(testEpoch.Add(60 * 24 * time.Hour))),
			StatusList: &[]int32{2, 5}, OnlyMainResource: ptr(int32(1)), ServiceTypeCode: ptr(catalog.ServiceVPC)},
			keep: func(r hwsim.Resource) bool {
				return r.IsMainResource == 1 && r.ServiceTypeCode == catalog.ServiceVPC && (r.Status == 2 || r.Status == 5) &&
					!r.ExpireTime.Before(testEpoch.Add(-10*24*time.Hour)) && !r.ExpireTime.After(testEpoch.Add(60*24*time.Hour))
			}},
		{name: "ids with children", req: bssmodel.QueryResourcesReq{ResourceIds: &[]string{vm.ResourceID, "unknown"}},
			ids: append([]string{vm.ResourceID}, vmChildren...)},
		{name: "ids main only", req: bssmodel.QueryResourcesReq{ResourceIds: &[]string{vm.ResourceID}, OnlyMainResource: ptr(int32(1))},
			ids: []string{vm.ResourceID}},
		{name: "child id is returned even with main only", req: bssmodel.QueryResourcesReq{ResourceIds: &[]string{vmChildren[1]}, OnlyMainResource: ptr(int32(1))},
			ids: []string{vmChildren[1]}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want := tc.ids
			if tc.keep != nil {
				want = []string{}
				for _, r := range all {
					if tc.keep(r) {
						want = append(want, r.ResourceID)
					}
				}
			}
			got, total := listAllBSS(t, client, tc.req)
			gotIDs := []string{}
			for _, o := range got {
				gotIDs = append(gotIDs, *o.ResourceId)
			}
			assert.Equal(t, want, gotIDs)
			assert.Equal(t, int32(len(want)), total)
			if tc.name != "all" && tc.name != "empty bounds are no filter" {
				assert.Less(t, len(want), len(all), "the filter must filter something")
			}
		})
	}
}

func TestBSSListingFollowsMutations(t *testing.T) {
	sim, url := newSim(t, 1200)
	client := bssClient(t, url, goodCreds, httpConfig())
	removed := sim.RemoveRandom(150)
	sim.RemoveResources(sim.Resources()[0].ResourceID)
	added := sim.AddResources(40)
	got, total := listAllBSS(t, client, bssmodel.QueryResourcesReq{})
	want := sim.Resources()
	require.Len(t, want, 1200-151+40)
	assert.Equal(t, int32(len(want)), total)
	gotIDs := map[string]bool{}
	for i, o := range got {
		gotIDs[*o.ResourceId] = true
		assert.Equal(t, want[i].ResourceID, *o.ResourceId)
	}
	for _, id := range removed {
		assert.False(t, gotIDs[id])
	}
	for _, id := range added {
		assert.True(t, gotIDs[id])
	}
}

func TestBSSValidation(t *testing.T) {
	_, url := newSim(t, 50)
	client := bssClient(t, url, goodCreds, httpConfig())
	ids51 := make([]string, 51)
	for i := range ids51 {
		ids51[i] = fmt.Sprintf("id-%d", i)
	}
	cases := []struct {
		name string
		req  bssmodel.QueryResourcesReq
		in   string // the message must name this
	}{
		{"limit 501", bssmodel.QueryResourcesReq{Limit: ptr(int32(501))}, "limit"},
		{"limit 0", bssmodel.QueryResourcesReq{Limit: ptr(int32(0))}, "limit"},
		{"negative offset", bssmodel.QueryResourcesReq{Offset: ptr(int32(-1))}, "offset"},
		{"bad begin", bssmodel.QueryResourcesReq{ExpireTimeBegin: ptr("2026-01-01 00:00:00")}, "expire_time_begin"},
		{"bad end", bssmodel.QueryResourcesReq{ExpireTimeEnd: ptr("2026-01-01T00:00:00+08:00")}, "expire_time_end"},
		{"empty service", bssmodel.QueryResourcesReq{ServiceTypeCode: ptr("")}, "service_type_code"},
		{"51 ids", bssmodel.QueryResourcesReq{ResourceIds: &ids51}, "resource_ids"},
		{"bad status", bssmodel.QueryResourcesReq{StatusList: &[]int32{1}}, "status_list"},
		{"bad only_main", bssmodel.QueryResourcesReq{OnlyMainResource: ptr(int32(2))}, "only_main_resource"},
	}
	for _, tc := range cases {
		_, err := client.ListPayPerUseCustomerResources(&bssmodel.ListPayPerUseCustomerResourcesRequest{Body: &tc.req})
		se := serviceError(t, err, 400, "CBC.0100")
		assert.Contains(t, se.ErrorMessage, tc.in, tc.name)
	}
	for body, in := range map[string]string{`{"limit":"10"}`: "limit", `{"limit":`: "JSON", `[1]`: "JSON"} {
		res := rawCall(t, url, "POST", bssPath, nil, body, goodCreds)
		assert.Equal(t, 400, res.status, body)
		var e map[string]string
		require.NoError(t, json.Unmarshal(res.body, &e))
		assert.Equal(t, "CBC.0100", e["error_code"], body)
		assert.Contains(t, e["error_msg"], in, body)
	}
}

// TestBSSWireFormat decodes the raw answer into the SDK model with unknown
// fields disallowed: every field the simulator emits exists in the SDK.
func TestBSSWireFormat(t *testing.T) {
	_, url := newSim(t, 300)
	res := rawCall(t, url, "POST", bssPath, nil, `{"limit":500}`, goodCreds)
	require.Equal(t, 200, res.status, string(res.body))
	assert.Len(t, res.header.Get("X-Request-Id"), 32)
	dec := json.NewDecoder(bytes.NewReader(res.body))
	dec.DisallowUnknownFields()
	var resp bssmodel.ListPayPerUseCustomerResourcesResponse
	require.NoError(t, dec.Decode(&resp))
	require.Len(t, *resp.Data, 300)
	children := slices.IndexFunc(*resp.Data, func(o bssmodel.OrderInstanceV2) bool { return o.IsMainResource != nil && *o.IsMainResource == 0 })
	assert.GreaterOrEqual(t, children, 0, "is_main_resource 0 is sent, not omitted")
	for _, o := range *resp.Data {
		assert.Regexp(t, `^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`, *o.ExpireTime)
	}
}
