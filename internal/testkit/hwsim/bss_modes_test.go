package hwsim_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	bss "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/bss/v2"
	bssmodel "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/bss/v2/model"
	tmsmodel "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/tms/v1/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"expiry-sync/internal/catalog"
	"expiry-sync/internal/testkit/hwsim"
)

// listPage asks BSS for one page.
func listPage(t *testing.T, client *bss.BssClient, q bssmodel.QueryResourcesReq, offset, limit int32) ([]bssmodel.OrderInstanceV2, int32) {
	t.Helper()
	q.Offset, q.Limit = &offset, &limit
	resp, err := client.ListPayPerUseCustomerResources(&bssmodel.ListPayPerUseCustomerResourcesRequest{Body: &q})
	require.NoError(t, err)
	return *resp.Data, *resp.TotalCount
}

func orderIDs(records []bssmodel.OrderInstanceV2) []string {
	ids := make([]string, len(records))
	for i, r := range records {
		ids[i] = *r.ResourceId
	}
	return ids
}

// byName finds a listed record by its resource_name (its id may be odd or absent).
func byName(t *testing.T, records []bssmodel.OrderInstanceV2, name string) bssmodel.OrderInstanceV2 {
	t.Helper()
	i := slices.IndexFunc(records, func(o bssmodel.OrderInstanceV2) bool { return *o.ResourceName == name })
	require.GreaterOrEqual(t, i, 0, "record %q not listed", name)
	return records[i]
}

func lookupQuery(ids ...string) bssmodel.QueryResourcesReq {
	return bssmodel.QueryResourcesReq{ResourceIds: &ids}
}

func TestMaxRecordsShortensAnswersNotTheirTotal(t *testing.T) {
	sim, base := newSim(t, 300)
	client := bssClient(t, base, goodCreds, httpConfig())
	all := idsOf(sim.Resources())
	ids := all[40:60]
	fullLookup, lookupTotal := listPage(t, client, lookupQuery(ids...), 0, 50)
	require.Greater(t, len(fullLookup), 3)

	require.NoError(t, sim.SetKnobs(hwsim.Knobs{MaxRecords: 7}))
	got, total := listPage(t, client, bssmodel.QueryResourcesReq{}, 10, 50)
	assert.Equal(t, all[10:17], orderIDs(got), "the first 7 of the asked window")
	assert.Equal(t, int32(300), total)
	got, _ = listPage(t, client, bssmodel.QueryResourcesReq{}, 10, 5)
	assert.Len(t, got, 5, "a smaller limit still wins")
	listed, total := listAllBSS(t, client, bssmodel.QueryResourcesReq{})
	assert.Equal(t, all, orderIDs(listed), "paging by len(data) still covers everything")
	assert.Equal(t, int32(300), total)

	require.NoError(t, sim.SetKnobs(hwsim.Knobs{LookupMaxRecords: 2}))
	got, total = listPage(t, client, lookupQuery(ids...), 1, 50)
	assert.Equal(t, orderIDs(fullLookup[1:3]), orderIDs(got))
	assert.Equal(t, lookupTotal, total)
	got, _ = listPage(t, client, bssmodel.QueryResourcesReq{}, 0, 50)
	assert.Len(t, got, 50, "a listing by window is not cut")
}

func TestLookupRecordQuirksOnlyInLookups(t *testing.T) {
	sim, base := newSim(t, 60)
	client := bssClient(t, base, goodCreds, httpConfig())
	rs := sim.Resources()
	noID, malformed := rs[3], rs[7]
	require.NoError(t, sim.SetKnobs(hwsim.Knobs{
		LookupNoIDResourceIDs: []string{noID.ResourceID}, LookupMalformedResourceIDs: []string{malformed.ResourceID},
	}))

	listed, _ := listAllBSS(t, client, bssmodel.QueryResourcesReq{})
	assert.Equal(t, noID.ResourceID, *byName(t, listed, noID.ResourceName).ResourceId, "a listing by window renders them normally")
	assert.Equal(t, fmtTime(malformed.ExpireTime), *byName(t, listed, malformed.ResourceName).ExpireTime)

	looked, _ := listAllBSS(t, client, lookupQuery(noID.ResourceID, malformed.ResourceID))
	assert.Nil(t, byName(t, looked, noID.ResourceName).ResourceId)
	bad := byName(t, looked, malformed.ResourceName)
	assert.Equal(t, malformed.ResourceID, *bad.ResourceId)
	_, err := time.Parse(time.RFC3339, *bad.ExpireTime)
	assert.Error(t, err, "unreadable expire_time %q", *bad.ExpireTime)
}

func TestExpireShuffledReordersTiesOnEveryCall(t *testing.T) {
	sim, base := newSim(t, 200)
	client := bssClient(t, base, goodCreds, httpConfig())
	tie := testEpoch.AddDate(0, 0, 5)
	require.Len(t, sim.AddResourcesExpiring(40, tie, tie), 40)
	require.NoError(t, sim.SetKnobs(hwsim.Knobs{ListOrder: hwsim.ListOrderExpireShuffled}))
	q := windowQuery(tie.AddDate(0, 0, -10), tie.AddDate(0, 0, 10))

	expire := map[string]time.Time{}
	for r := range sim.All() {
		expire[r.ResourceID] = r.ExpireTime
	}
	var orders [][]string
	for range 3 {
		got, total := listPage(t, client, q, 0, 500)
		require.Len(t, got, int(total))
		ids := orderIDs(got)
		assert.True(t, slices.IsSortedFunc(ids, func(a, b string) int { return expire[a].Compare(expire[b]) }), "sorted by expire_time")
		orders = append(orders, ids)
	}
	assert.Equal(t, sortedCopy(orders[0]), sortedCopy(orders[1]), "the same records")
	assert.NotEqual(t, orders[0], orders[1], "40 ties in a new order")
	assert.NotEqual(t, orders[1], orders[2])
}

func TestAddResourcesWithChildren(t *testing.T) {
	sim, base := newSim(t, 100)
	client := bssClient(t, base, goodCreds, httpConfig())
	from, to := testEpoch.AddDate(0, 0, 3), testEpoch.AddDate(0, 0, 4)
	mains := sim.AddResourcesWithChildren(2, 150, from, to)
	require.Len(t, mains, 2)
	assert.Equal(t, 100+2*151, sim.Len())

	children := map[string][]string{}
	for r := range sim.All() {
		if r.ParentResourceID != "" {
			children[r.ParentResourceID] = append(children[r.ParentResourceID], r.ResourceID)
		}
	}
	for _, id := range mains {
		m, ok := sim.Lookup(id)
		require.True(t, ok)
		assert.Equal(t, catalog.ResourceVM, m.ResourceTypeCode)
		assert.Equal(t, int32(1), m.IsMainResource)
		assert.Equal(t, int32(hwsim.StatusInUse), m.Status)
		assert.False(t, m.ExpireTime.Before(from) || m.ExpireTime.After(to), m.ExpireTime)
		require.Len(t, children[id], 150)
		for _, cid := range children[id] {
			c, _ := sim.Lookup(cid)
			assert.Equal(t, catalog.ResourceVolume, c.ResourceTypeCode)
			assert.Equal(t, int32(0), c.IsMainResource)
			assert.True(t, c.ExpireTime.Equal(m.ExpireTime) && c.Status == m.Status, "a group shares expiry and status")
		}
	}

	// A lookup of a server lists its 150 volumes too; paging over the
	// expanded answer covers it once, total_count counting the volumes.
	var paged []string
	for offset := int32(0); ; offset += 40 {
		got, total := listPage(t, client, lookupQuery(mains[0]), offset, 40)
		require.Equal(t, int32(151), total)
		if len(got) == 0 {
			break
		}
		paged = append(paged, orderIDs(got)...)
	}
	assert.Equal(t, sortedCopy(append([]string{mains[0]}, children[mains[0]]...)), sortedCopy(paged))
	_, total := listPage(t, client, lookupQuery(mains...), 0, 500)
	assert.Equal(t, int32(302), total)
	mainOnly := lookupQuery(mains...)
	mainOnly.OnlyMainResource = ptr(int32(1))
	got, _ := listPage(t, client, mainOnly, 0, 500)
	assert.Equal(t, mains, orderIDs(got))

	assert.Nil(t, sim.AddResourcesWithChildren(1, hwsim.MaxChildren+1, from, to), "a child's distance is a uint8")
	assert.Nil(t, sim.AddResourcesWithChildren(1, 1, to, from), "an inverted window")
	assert.Len(t, sim.AddResourcesWithChildren(1, hwsim.MaxChildren, from, to), 1)
}

func TestAdminAddWithChildren(t *testing.T) {
	sim, base := newSim(t, 10)
	status, body := admin(t, "POST", base+"/_hwsim/resources/add-with-children",
		`{"count":2,"children":3,"expire_from":"2026-02-01T00:00:00Z","expire_to":"2026-02-02T00:00:00Z"}`)
	require.Equal(t, 200, status, string(body))
	res := decodeInto[struct {
		IDs       []string `json:"ids"`
		Resources int      `json:"resources"`
	}](t, body)
	require.Len(t, res.IDs, 2, "the servers only")
	assert.Equal(t, 18, res.Resources)
	kids := 0
	for r := range sim.All() {
		if slices.Contains(res.IDs, r.ParentResourceID) {
			kids++
		}
	}
	assert.Equal(t, 6, kids)

	for _, doc := range []string{
		`{"count":1,"children":201,"expire_from":"2026-02-01T00:00:00Z","expire_to":"2026-02-02T00:00:00Z"}`,
		`{"count":1,"children":1,"expire_from":"2026-02-01T00:00:00Z"}`,
		`{"count":1,"children":1,"expire_from":"2026-02-03T00:00:00Z","expire_to":"2026-02-02T00:00:00Z"}`,
		`{"count":1000000,"children":1,"expire_from":"2026-02-01T00:00:00Z","expire_to":"2026-02-02T00:00:00Z"}`,
	} {
		status, body := admin(t, "POST", base+"/_hwsim/resources/add-with-children", doc)
		assert.Equal(t, 400, status, doc)
		assert.NotEmpty(t, decodeInto[map[string]string](t, body)["error"], doc)
	}
	assert.Equal(t, 18, sim.Len(), "a refused add adds nothing")
}

func TestLongFieldValuesAreListedTheTruthKeepsTheRealOnes(t *testing.T) {
	sim, base := newSim(t, 40)
	r := sim.Resources()[5]
	require.NoError(t, sim.SetKnobs(hwsim.Knobs{LongFieldResourceIDs: []string{r.ResourceID}}))
	listed, _ := listAllBSS(t, bssClient(t, base, goodCreds, httpConfig()), bssmodel.QueryResourcesReq{})
	i := slices.IndexFunc(listed, func(o bssmodel.OrderInstanceV2) bool { return *o.ResourceId == r.ResourceID })
	require.GreaterOrEqual(t, i, 0)
	o := listed[i]
	name := *o.ResourceName
	assert.Equal(t, 600, utf8.RuneCountInString(name))
	assert.Greater(t, len(name), 600, "Chinese characters: more bytes than characters")
	assert.True(t, strings.HasPrefix(name, r.ResourceName))
	for field, want := range map[string]int{
		*o.RegionCode: 80, *o.ProjectId: 80, *o.ServiceTypeCode: 80, *o.ResourceTypeCode: 80,
		*o.ResourceSpecCode: 200, *o.EnterpriseProject.Id: 80,
	} {
		assert.Equal(t, want, utf8.RuneCountInString(field), field)
	}
	got, ok := sim.Lookup(r.ResourceID)
	require.True(t, ok)
	assert.Equal(t, r, got, "the truth keeps the real values")
	assert.Equal(t, sim.Resources()[6].ResourceName, *listed[i+1].ResourceName, "other records are untouched")
}

func TestOddResourceIDs(t *testing.T) {
	sim, base := newSim(t, 20)
	client := bssClient(t, base, goodCreds, httpConfig())
	mains := sim.AddResourcesWithChildren(4, 1, testEpoch, testEpoch.AddDate(0, 0, 1))
	require.NoError(t, sim.SetKnobs(hwsim.Knobs{OddIDResourceIDs: mains}))
	listed, total := listAllBSS(t, client, bssmodel.QueryResourcesReq{})
	require.Len(t, listed, int(total))

	odd := make([]string, len(mains))
	for j, id := range mains {
		m, _ := sim.Lookup(id)
		o := byName(t, listed, m.ResourceName)
		odd[j] = *o.ResourceId
		assert.NotEqual(t, id, odd[j])
		child := byName(t, listed, m.ResourceName+"-volume-0000")
		assert.Equal(t, odd[j], *child.ParentResourceId, "its volume names the parent by the id BSS shows")
	}
	assert.Contains(t, odd[0], "/")
	assert.Contains(t, odd[1], "?")
	assert.Contains(t, odd[2], "#")
	assert.Len(t, odd[3], 140)

	got, total := listPage(t, client, lookupQuery(odd...), 0, 50)
	assert.Equal(t, int32(8), total, "answered by id, volumes included")
	assert.Subset(t, orderIDs(got), odd)
	_, total = listPage(t, client, lookupQuery(mains...), 0, 50)
	assert.Zero(t, total, "BSS knows them by their odd ids only")

	require.NoError(t, sim.SetKnobs(hwsim.Knobs{OddIDResourceIDs: mains, Latency: time.Millisecond}))
	again, _ := listPage(t, client, lookupQuery(odd...), 0, 50)
	assert.Equal(t, orderIDs(got), orderIDs(again), "deterministic per id")
	r, _ := sim.Lookup(mains[0])
	assert.Equal(t, mains[0], r.ResourceID, "the truth keeps the real id")
}

func TestTagsFieldMissing(t *testing.T) {
	sim, base := newSim(t, 300)
	client := tmsClient(t, base, goodCreds, httpConfig())
	vms := vmsOfProject(sim, firstVM(t, sim).ProjectID)
	var missing, other hwsim.Resource
	for _, r := range vms {
		switch {
		case len(r.Tags) > 0 && missing.ResourceID == "":
			missing = r
		case len(r.Tags) > 0 && other.ResourceID == "":
			other = r
		}
	}
	require.NotEmpty(t, other.ResourceID)
	require.NoError(t, sim.SetKnobs(hwsim.Knobs{TagsFieldMissingResourceIDs: []string{missing.ResourceID}}))

	resp, err := client.ShowResourceTag(&tmsmodel.ShowResourceTagRequest{ResourceId: missing.ResourceID, ProjectId: &missing.ProjectID, ResourceType: "ecs"})
	require.NoError(t, err, "a 200 answer")
	assert.Nil(t, resp.Tags, "the SDK decodes a missing tags field as a nil pointer")
	res := showRaw(t, base, missing, goodCreds)
	require.Equal(t, 200, res.status)
	assert.JSONEq(t, `{}`, string(res.body))
	tags, err := showTags(client, other, "ecs")
	require.NoError(t, err)
	assert.Equal(t, other.Tags, tags, "other resources keep theirs")

	body := tmsmodel.ResqTagResource{ProjectId: &missing.ProjectID, ResourceTypes: []string{"ecs"}, Tags: []tmsmodel.Tag{}}
	listed, _ := listPagesTMS(t, client, body, 1000)
	require.Len(t, listed, len(vms))
	assert.Nil(t, listed[missing.ResourceID].Tags)
	require.NotNil(t, listed[other.ResourceID].Tags)
	assert.Len(t, *listed[other.ResourceID].Tags, len(other.Tags))
}

func TestEmptyPageOffsets(t *testing.T) {
	sim, base := newSim(t, 100)
	client := bssClient(t, base, goodCreds, httpConfig())
	window := bssmodel.QueryResourcesReq{}
	sizes := func(offset int32, n int) []int {
		var out []int
		for range n {
			got, total := listPage(t, client, window, offset, 10)
			require.Equal(t, int32(100), total, "the true total_count")
			out = append(out, len(got))
		}
		return out
	}
	require.NoError(t, sim.SetKnobs(hwsim.Knobs{EmptyPageOffsets: []int{0, 30}, EmptyPageTimes: 2}))
	assert.Equal(t, []int{0, 0, 10}, sizes(30, 3), "empty the first 2 times")
	assert.Equal(t, []int{10}, sizes(20, 1), "other offsets are served")
	got, _ := listPage(t, client, lookupQuery(sim.Resources()[0].ResourceID), 0, 10)
	assert.NotEmpty(t, got, "a lookup by resource_ids is not emptied")
	assert.Equal(t, []int{0}, sizes(0, 1))

	require.NoError(t, sim.SetKnobs(hwsim.Knobs{EmptyPageOffsets: []int{0, 30}, EmptyPageTimes: 2, Latency: time.Millisecond}))
	assert.Equal(t, []int{0, 10}, sizes(0, 2), "another knob's change keeps the count")
	status, body := admin(t, "PUT", base+"/_hwsim/knobs", `{"empty_page_offsets":[30],"empty_page_times":0}`)
	require.Equal(t, 200, status, string(body))
	assert.Equal(t, []int{0, 0, 0}, sizes(30, 3), "0: every time")
	assert.Equal(t, []int{10}, sizes(0, 1))
}

func TestLookupRefusedAndIgnored(t *testing.T) {
	sim, base := newSim(t, 200)
	client := bssClient(t, base, goodCreds, httpConfig())
	id := sim.Resources()[0].ResourceID
	lookup := func() error {
		_, err := client.ListPayPerUseCustomerResources(&bssmodel.ListPayPerUseCustomerResourcesRequest{Body: ptr(lookupQuery(id))})
		return err
	}
	require.NoError(t, sim.SetKnobs(hwsim.Knobs{LookupRefused: hwsim.CodeBSSParam}))
	serviceError(t, lookup(), 400, "CBC.0100")
	require.NoError(t, sim.SetKnobs(hwsim.Knobs{LookupRefused: hwsim.CodeBSSDenied}))
	serviceError(t, lookup(), 403, "CBC.0151")
	res := rawCall(t, base, "POST", bssPath, nil, mustJSON(t, lookupQuery(id)), goodCreds)
	require.Equal(t, 403, res.status)
	var flat map[string]string
	require.NoError(t, json.Unmarshal(res.body, &flat), "BSS's flat error body")
	assert.Equal(t, "CBC.0151", flat["error_code"])
	assert.NotEmpty(t, flat["error_msg"])
	_, total := listPage(t, client, bssmodel.QueryResourcesReq{}, 0, 10)
	assert.Equal(t, int32(200), total, "a listing by window is served")
	_, total = listPage(t, client, lookupQuery(), 0, 10)
	assert.Equal(t, int32(200), total, "an empty resource_ids is no lookup")

	require.NoError(t, sim.SetKnobs(hwsim.Knobs{LookupIgnoresIDs: true}))
	_, total = listPage(t, client, lookupQuery(id), 0, 10)
	assert.Equal(t, int32(200), total, "resource_ids ignored: what the other filters match")
	q := lookupQuery(id)
	q.StatusList = &[]int32{5}
	_, total = listPage(t, client, q, 0, 10)
	assert.Equal(t, int32(len(sim.Truth(testEpoch.AddDate(-1, 0, 0), testEpoch.AddDate(2, 0, 0), []int{5}))), total)
}

func TestRecordKnobsJSONValidationAndClone(t *testing.T) {
	sim, base := newSim(t, 10)
	doc := `{"max_records":5,"lookup_max_records":3,"lookup_no_id_resource_ids":["a"],"lookup_malformed_resource_ids":["b"],` +
		`"list_order":"expire-shuffled","long_field_resource_ids":["c"],"odd_id_resource_ids":["d"],` +
		`"tags_field_missing_resource_ids":["e"],"empty_page_offsets":[0,500],"empty_page_times":2,` +
		`"lookup_refused":"CBC.0151","lookup_ignores_ids":true}`
	status, body := admin(t, "PUT", base+"/_hwsim/knobs", doc)
	require.Equal(t, 200, status, string(body))
	want := hwsim.Knobs{
		MaxRecords: 5, LookupMaxRecords: 3, LookupNoIDResourceIDs: []string{"a"}, LookupMalformedResourceIDs: []string{"b"},
		ListOrder: hwsim.ListOrderExpireShuffled, LongFieldResourceIDs: []string{"c"}, OddIDResourceIDs: []string{"d"},
		TagsFieldMissingResourceIDs: []string{"e"}, EmptyPageOffsets: []int{0, 500}, EmptyPageTimes: 2,
		LookupRefused: hwsim.CodeBSSDenied, LookupIgnoresIDs: true,
	}
	k := sim.Knobs()
	k.ForbiddenResourceIDs = nil
	assert.Equal(t, want, k)
	back := hwsim.Knobs{}
	require.NoError(t, json.Unmarshal(body, &back))
	back.ForbiddenResourceIDs = nil
	assert.Equal(t, want, back, "the answer round-trips")

	k = sim.Knobs()
	k.OddIDResourceIDs[0], k.EmptyPageOffsets[0] = "changed", 7
	assert.Equal(t, want.OddIDResourceIDs, sim.Knobs().OddIDResourceIDs, "Knobs returns copies")
	assert.Equal(t, want.EmptyPageOffsets, sim.Knobs().EmptyPageOffsets)

	for doc, msg := range map[string]string{
		`{"max_records":501}`:                   "max_records 501 out of range 0..500",
		`{"lookup_max_records":-1}`:             "lookup_max_records -1 out of range 0..500",
		`{"list_order":"shuffled"}`:             `list_order "shuffled" is not one of`,
		`{"lookup_refused":"CBC.0150"}`:         `lookup_refused "CBC.0150" is not one of ["CBC.0100" "CBC.0151"]`,
		`{"empty_page_offsets":[10,-1]}`:        "empty_page_offsets[1] is -1",
		`{"empty_page_times":-2}`:               "empty_page_times -2 out of range",
		`{"odd_id_resource_ids":[""]}`:          "odd_id_resource_ids[0] is empty",
		`{"long_field_resource_ids":[""]}`:      "long_field_resource_ids[0] is empty",
		`{"tags_field_missing_resource_ids":1}`: "tags_field_missing_resource_ids",
	} {
		status, body := admin(t, "PUT", base+"/_hwsim/knobs", doc)
		assert.Equal(t, 400, status, doc)
		assert.Contains(t, decodeInto[map[string]string](t, body)["error"], msg, doc)
	}
}
