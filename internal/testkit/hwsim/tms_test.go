package hwsim_test

import (
	"bytes"
	"encoding/json"
	"testing"
	"unicode/utf8"

	tms "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/tms/v1"
	tmsmodel "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/tms/v1/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"expiry-sync/internal/catalog"
	"expiry-sync/internal/testkit/hwsim"
)

func showTags(client *tms.TmsClient, r hwsim.Resource, resType string) (map[string]string, error) {
	resp, err := client.ShowResourceTag(&tmsmodel.ShowResourceTagRequest{ResourceId: r.ResourceID, ProjectId: &r.ProjectID, ResourceType: resType})
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, tag := range *resp.Tags {
		if _, dup := out[tag.Key]; dup {
			return nil, assert.AnError
		}
		out[tag.Key] = *tag.Value
	}
	return out, nil
}

func tagsOrEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func TestTagsRoundTripByteExact(t *testing.T) {
	sim, url := newSim(t, 800)
	client := tmsClient(t, url, goodCreds, httpConfig())
	checked, long, empty, nonASCII := 0, 0, 0, 0
	for _, r := range sim.Resources() {
		if r.TMSResourceType == "" {
			continue
		}
		got, err := showTags(client, r, r.TMSResourceType)
		require.NoError(t, err)
		require.Equal(t, tagsOrEmpty(r.Tags), got, r.ResourceID)
		checked++
		for k, v := range got {
			if utf8.RuneCountInString(v) == hwsim.MaxTagValueLen {
				long++
			}
			if v == "" {
				empty++
			}
			if len(k) != utf8.RuneCountInString(k) || len(v) != utf8.RuneCountInString(v) {
				nonASCII++
			}
		}
	}
	assert.Greater(t, checked, 300)
	assert.Positive(t, long, "255-character values went through")
	assert.Positive(t, empty, "empty values went through")
	assert.Positive(t, nonASCII, "non-ASCII tags went through")
}

func TestShowResourceTagErrors(t *testing.T) {
	var vm, bw hwsim.Resource
	sim, url := newSim(t, 300)
	for _, r := range sim.Resources() {
		switch {
		case vm.ResourceID == "" && r.ResourceTypeCode == catalog.ResourceVM:
			vm = r
		case bw.ResourceID == "" && r.ResourceTypeCode == catalog.ResourceBandwidth:
			bw = r
		}
	}
	require.NotEmpty(t, vm.ResourceID)
	require.NotEmpty(t, bw.ResourceID)
	client := tmsClient(t, url, goodCreds, httpConfig())
	otherProject := vm
	for _, p := range sim.Projects() {
		if p.ID != vm.ProjectID {
			otherProject.ProjectID = p.ID
		}
	}
	unknown := vm
	unknown.ResourceID = "6f1c0c47-2c55-4b5e-9d0a-000000000000"

	cases := []struct {
		name    string
		r       hwsim.Resource
		resType string
		status  int
		code    string
	}{
		{"unknown id", unknown, "ecs", 404, "TMS.0005"},
		{"other project", otherProject, "ecs", 404, "TMS.0005"},
		{"wrong type", vm, "disk", 400, "TMS.5027"},
		{"type is case-sensitive", vm, "ECS", 400, "TMS.5027"},
		{"type TMS is never asked for", bw, "eip", 400, "TMS.5027"},
	}
	for _, tc := range cases {
		_, err := showTags(client, tc.r, tc.resType)
		serviceError(t, err, tc.status, tc.code)
	}
	_, err := client.ShowResourceTag(&tmsmodel.ShowResourceTagRequest{ResourceId: vm.ResourceID, ResourceType: "ecs"})
	serviceError(t, err, 400, "TMS.2011")

	sim.RemoveResources(vm.ResourceID)
	_, err = showTags(client, vm, "ecs")
	serviceError(t, err, 404, "TMS.0005")

	st := sim.Stats().APIs[hwsim.APITMSShow]
	assert.Equal(t, int64(3), st.NotFound)
	assert.Equal(t, int64(4), st.BadRequest)
}

func TestForbiddenResourceIDs(t *testing.T) {
	sim, url := newSim(t, 100)
	var vm hwsim.Resource
	for _, r := range sim.Resources() {
		if r.TMSResourceType == "ecs" {
			vm = r
			break
		}
	}
	require.NoError(t, sim.SetKnobs(hwsim.Knobs{ForbiddenResourceIDs: []string{vm.ResourceID}}))
	client := tmsClient(t, url, goodCreds, httpConfig())
	for range 3 { // forever, not once
		_, err := showTags(client, vm, "ecs")
		serviceError(t, err, 403, "TMS.0004")
	}
	res := rawCall(t, url, "GET", "/v2.0/resources/"+vm.ResourceID+"/tags", map[string]any{"project_id": vm.ProjectID, "resource_type": "ecs"}, "", goodCreds)
	require.Equal(t, 403, res.status)
	var body struct {
		Error struct {
			Code string `json:"error_code"`
			Msg  string `json:"error_msg"`
		} `json:"error"`
	}
	dec := json.NewDecoder(bytes.NewReader(res.body))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&body), "nested TMS error body: %s", res.body)
	assert.Equal(t, "TMS.0004", body.Error.Code)
	assert.NotEmpty(t, body.Error.Msg)
	assert.Equal(t, int64(4), sim.Stats().APIs[hwsim.APITMSShow].Forbidden)
}

type tmsListing struct {
	resources []tmsmodel.Resources
	errors    []tmsmodel.Errors
	total     int32
}

func listAllTMS(t *testing.T, client *tms.TmsClient, body tmsmodel.ResqTagResource) tmsListing {
	t.Helper()
	var out tmsListing
	body.Limit = ptr(int32(200))
	if body.Tags == nil {
		body.Tags = []tmsmodel.Tag{}
	}
	for {
		body.Offset = ptr(int32(len(out.resources)))
		resp, err := client.ListResource(&tmsmodel.ListResourceRequest{Body: &body})
		require.NoError(t, err)
		require.NotNil(t, resp.Resources)
		require.NotNil(t, resp.TotalCount)
		out.total = *resp.TotalCount
		if resp.Errors != nil {
			out.errors = *resp.Errors
		}
		out.resources = append(out.resources, *resp.Resources...)
		if len(*resp.Resources) == 0 || len(out.resources) >= int(out.total) {
			return out
		}
	}
}

func TestListResource(t *testing.T) {
	sim, url := newSim(t, 3000)
	all := sim.Resources()
	client := tmsClient(t, url, goodCreds, httpConfig())
	project := sim.Projects()[0]

	// A key and value that occur, for tag filters.
	var key, value, key2 string
	for _, r := range all {
		if r.ProjectID == project.ID && r.TMSResourceType == "ecs" && len(r.Tags) >= 2 {
			for k, v := range r.Tags {
				if key == "" {
					key, value = k, v
				} else if key2 == "" {
					key2 = k
				}
			}
			break
		}
	}
	require.NotEmpty(t, key2)

	cases := []struct {
		name  string
		body  tmsmodel.ResqTagResource
		types []string
		keep  func(hwsim.Resource) bool
	}{
		{name: "every ecs, tagged or not", body: tmsmodel.ResqTagResource{ResourceTypes: []string{"ecs"}},
			keep: func(hwsim.Resource) bool { return true }},
		{name: "ecs and disk", body: tmsmodel.ResqTagResource{ResourceTypes: []string{"ecs", "disk", "ecs"}},
			keep: func(hwsim.Resource) bool { return true }},
		{name: "key with value", body: tmsmodel.ResqTagResource{ResourceTypes: []string{"ecs", "disk", "eip"}, Tags: []tmsmodel.Tag{{Key: key, Values: []string{value, "no such value"}}}},
			keep: func(r hwsim.Resource) bool { v, ok := r.Tags[key]; return ok && v == value }},
		{name: "key with any value", body: tmsmodel.ResqTagResource{ResourceTypes: []string{"ecs", "disk", "eip"}, Tags: []tmsmodel.Tag{{Key: key, Values: []string{}}}},
			keep: func(r hwsim.Resource) bool { _, ok := r.Tags[key]; return ok }},
		{name: "two keys", body: tmsmodel.ResqTagResource{ResourceTypes: []string{"ecs", "disk", "eip"}, Tags: []tmsmodel.Tag{{Key: key, Values: []string{}}, {Key: key2, Values: []string{}}}},
			keep: func(r hwsim.Resource) bool { _, ok := r.Tags[key]; _, ok2 := r.Tags[key2]; return ok && ok2 }},
		{name: "unknown key", body: tmsmodel.ResqTagResource{ResourceTypes: []string{"ecs"}, Tags: []tmsmodel.Tag{{Key: "no-such-key", Values: []string{}}}},
			keep: func(hwsim.Resource) bool { return false }},
		{name: "without any tag", body: tmsmodel.ResqTagResource{ResourceTypes: []string{"ecs", "disk"}, WithoutAnyTag: ptr(true)},
			keep: func(r hwsim.Resource) bool { return len(r.Tags) == 0 }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.body.ProjectId = &project.ID
			types := map[string]bool{}
			for _, rt := range tc.body.ResourceTypes {
				types[rt] = true
			}
			var want []hwsim.Resource
			for _, r := range all {
				if r.ProjectID == project.ID && types[r.TMSResourceType] && tc.keep(r) {
					want = append(want, r)
				}
			}
			got := listAllTMS(t, client, tc.body)
			assert.Empty(t, got.errors)
			require.Equal(t, int32(len(want)), got.total)
			require.Len(t, got.resources, len(want))
			for i, w := range want {
				g := got.resources[i]
				assert.Equal(t, w.ResourceID, g.ResourceId)
				assert.Equal(t, w.ResourceName, g.ResourceName)
				assert.Equal(t, w.TMSResourceType, g.ResourceType)
				assert.Equal(t, project.ID, g.ProjectId)
				assert.Equal(t, project.Name, g.ProjectName)
				require.NotNil(t, g.Tags)
				tags := map[string]string{}
				for _, tag := range *g.Tags {
					tags[tag.Key] = tag.Value
				}
				assert.Equal(t, tagsOrEmpty(w.Tags), tags)
			}
		})
	}
}

func TestListResourceTypeErrorsAndValidation(t *testing.T) {
	sim, url := newSim(t, 500)
	client := tmsClient(t, url, goodCreds, httpConfig())
	project := sim.Projects()[1].ID

	got := listAllTMS(t, client, tmsmodel.ResqTagResource{ProjectId: &project, ResourceTypes: []string{"eip", "no-such-type"}})
	require.Len(t, got.errors, 1)
	e := got.errors[0]
	assert.Equal(t, "TMS.5027", *e.ErrorCode)
	assert.Equal(t, "no-such-type", *e.ResourceType)
	assert.Equal(t, project, *e.ProjectId)
	assert.NotEmpty(t, *e.ErrorMsg)
	assert.Positive(t, got.total, "the known type is still listed")

	cases := []struct {
		name string
		body tmsmodel.ResqTagResource
		code string
	}{
		{"limit 1001", tmsmodel.ResqTagResource{ProjectId: &project, ResourceTypes: []string{"ecs"}, Limit: ptr(int32(1001))}, "TMS.0007"},
		{"limit 0", tmsmodel.ResqTagResource{ProjectId: &project, ResourceTypes: []string{"ecs"}, Limit: ptr(int32(0))}, "TMS.0007"},
		{"negative offset", tmsmodel.ResqTagResource{ProjectId: &project, ResourceTypes: []string{"ecs"}, Offset: ptr(int32(-1))}, "TMS.0017"},
		{"no project", tmsmodel.ResqTagResource{ResourceTypes: []string{"ecs"}}, "TMS.2011"},
		{"no types", tmsmodel.ResqTagResource{ProjectId: &project, ResourceTypes: []string{}}, "TMS.0002"},
		{"empty key", tmsmodel.ResqTagResource{ProjectId: &project, ResourceTypes: []string{"ecs"}, Tags: []tmsmodel.Tag{{Key: ""}}}, "TMS.0009"},
		{"tags and without_any_tag", tmsmodel.ResqTagResource{ProjectId: &project, ResourceTypes: []string{"ecs"}, Tags: []tmsmodel.Tag{{Key: "env"}}, WithoutAnyTag: ptr(true)}, "TMS.0002"},
	}
	for _, tc := range cases {
		_, err := client.ListResource(&tmsmodel.ListResourceRequest{Body: &tc.body})
		serviceError(t, err, 400, tc.code)
	}
}

func TestListResourceWireFormat(t *testing.T) {
	sim, url := newSim(t, 300)
	body := mustJSON(t, map[string]any{"project_id": sim.Projects()[0].ID, "resource_types": []string{"ecs", "disk", "nope"}, "tags": []any{}, "limit": 200})
	res := rawCall(t, url, "POST", "/v1.0/resource-instances/filter", nil, body, goodCreds)
	require.Equal(t, 200, res.status, string(res.body))
	dec := json.NewDecoder(bytes.NewReader(res.body))
	dec.DisallowUnknownFields()
	var resp tmsmodel.ListResourceResponse
	require.NoError(t, dec.Decode(&resp))
	assert.Positive(t, len(*resp.Resources))
	assert.Len(t, *resp.Errors, 1)
}
