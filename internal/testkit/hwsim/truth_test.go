package hwsim_test

import (
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	bssmodel "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/bss/v2/model"
	tmsmodel "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/tms/v1/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"expiry-sync/internal/testkit/hwsim"
)

// windowQuery is a BSS query for the resources expiring in [begin, end].
func windowQuery(begin, end time.Time, statuses ...int32) bssmodel.QueryResourcesReq {
	q := bssmodel.QueryResourcesReq{ExpireTimeBegin: ptr(fmtTime(begin)), ExpireTimeEnd: ptr(fmtTime(end))}
	if len(statuses) > 0 {
		q.StatusList = &statuses
	}
	return q
}

func listedIDs(t *testing.T, base string, q bssmodel.QueryResourcesReq) []string {
	t.Helper()
	records, total := listAllBSS(t, bssClient(t, base, goodCreds, httpConfig()), q)
	require.Len(t, records, int(total))
	ids := make([]string, len(records))
	for i, r := range records {
		ids[i] = *r.ResourceId
	}
	return ids
}

func idsOf(rs []hwsim.Resource) []string {
	ids := make([]string, len(rs))
	for i, r := range rs {
		ids[i] = r.ResourceID
	}
	return ids
}

func sortedCopy(ids []string) []string {
	out := slices.Clone(ids)
	sort.Strings(out)
	return out
}

func TestTruthIsWhatBSSListsInEveryOrder(t *testing.T) {
	sim, base := newSim(t, 1500)
	begin, end := testEpoch.AddDate(0, 0, -10), testEpoch.AddDate(0, 2, 0)
	for _, statuses := range [][]int{nil, {2}, {3, 4, 5}} {
		truth := idsOf(sim.Truth(begin, end, statuses))
		require.NotEmpty(t, truth)
		var st []int32
		for _, s := range statuses {
			st = append(st, int32(s))
		}
		for _, order := range []string{"", hwsim.ListOrderIndex, hwsim.ListOrderExpire, hwsim.ListOrderID} {
			require.NoError(t, sim.SetKnobs(hwsim.Knobs{ListOrder: order}))
			got := listedIDs(t, base, windowQuery(begin, end, st...))
			assert.Equal(t, sortedCopy(truth), sortedCopy(got), "order %q statuses %v", order, statuses)
			switch order {
			case "", hwsim.ListOrderIndex:
				assert.Equal(t, truth, got, "index order is the Truth order")
			case hwsim.ListOrderID:
				assert.True(t, slices.IsSorted(got))
			case hwsim.ListOrderExpire:
				byID := map[string]hwsim.Resource{}
				for _, r := range sim.Truth(begin, end, statuses) {
					byID[r.ResourceID] = r
				}
				assert.True(t, slices.IsSortedFunc(got, func(a, b string) int {
					if c := byID[a].ExpireTime.Compare(byID[b].ExpireTime); c != 0 {
						return c
					}
					return strings.Compare(a, b)
				}))
			}
		}
	}
}

func TestRenewMovesExpiryAndRevives(t *testing.T) {
	sim, base := newSim(t, 800)
	begin, end := testEpoch.AddDate(0, 0, -30), testEpoch.AddDate(0, 0, 30)
	var frozen, inUse hwsim.Resource
	for _, r := range sim.Truth(begin, end, nil) {
		switch {
		case r.Status == hwsim.StatusFrozen && frozen.ResourceID == "":
			frozen = r
		case r.Status == hwsim.StatusInUse && inUse.ResourceID == "":
			inUse = r
		}
	}
	require.NotEmpty(t, frozen.ResourceID)
	require.NotEmpty(t, inUse.ResourceID)

	assert.Equal(t, 2, sim.Renew([]string{frozen.ResourceID, inUse.ResourceID, "unknown"}, 365*24*time.Hour))
	for _, r := range []hwsim.Resource{frozen, inUse} {
		got, ok := sim.Lookup(r.ResourceID)
		require.True(t, ok)
		assert.True(t, got.ExpireTime.Equal(r.ExpireTime.Add(365*24*time.Hour)))
		assert.Equal(t, int32(hwsim.StatusInUse), got.Status, "a renewal puts the record back in use")
	}
	ids := listedIDs(t, base, windowQuery(begin, end))
	assert.NotContains(t, ids, frozen.ResourceID, "renewed out of the window")
	assert.Contains(t, listedIDs(t, base, windowQuery(end, end.AddDate(2, 0, 0), 2)), frozen.ResourceID)

	// Renewing far past Epoch still lists without an upper bound.
	assert.Equal(t, 1, sim.Renew([]string{inUse.ResourceID}, 40*365*24*time.Hour))
	assert.Contains(t, listedIDs(t, base, bssmodel.QueryResourcesReq{StatusList: &[]int32{2}}), inUse.ResourceID)
}

func TestSetStatusIsListedByStatus(t *testing.T) {
	sim, base := newSim(t, 300)
	r := sim.Truth(testEpoch, testEpoch.AddDate(1, 0, 0), []int{2})[0]
	assert.Zero(t, sim.SetStatus([]string{r.ResourceID}, 6), "status outside 2..5")
	assert.Equal(t, 1, sim.SetStatus([]string{r.ResourceID}, hwsim.StatusClosed))
	assert.Contains(t, listedIDs(t, base, bssmodel.QueryResourcesReq{StatusList: &[]int32{3}}), r.ResourceID, "closed is still listed when asked for")
	assert.NotContains(t, listedIDs(t, base, bssmodel.QueryResourcesReq{StatusList: &[]int32{2, 4, 5}}), r.ResourceID)
}

func TestAddResourcesExpiringInAWindow(t *testing.T) {
	sim, base := newSim(t, 100)
	from, to := testEpoch.AddDate(0, 0, 3).Add(500*time.Millisecond), testEpoch.AddDate(0, 0, 4)
	ids := sim.AddResourcesExpiring(40, from, to)
	require.Len(t, ids, 40)
	for _, id := range ids {
		r, ok := sim.Lookup(id)
		require.True(t, ok)
		assert.False(t, r.ExpireTime.Before(from), r.ExpireTime)
		assert.False(t, r.ExpireTime.After(to), r.ExpireTime)
	}
	listed := listedIDs(t, base, windowQuery(from, to))
	for _, id := range ids {
		assert.Contains(t, listed, id)
	}
	assert.Nil(t, sim.AddResourcesExpiring(1, to, from), "an inverted window adds nothing")
	assert.Nil(t, sim.AddResourcesExpiring(1, testEpoch, testEpoch.AddDate(100, 0, 0)), "beyond 68 years")
}

func TestResourceIDsAreANDedWithTheOtherFilters(t *testing.T) {
	sim, base := newSim(t, 600)
	var main hwsim.Resource
	for r := range sim.All() {
		if r.IsMainResource == 1 && r.Status == 2 {
			main = r
			break
		}
	}
	require.NotEmpty(t, main.ResourceID)
	ids := []string{main.ResourceID}
	q := bssmodel.QueryResourcesReq{ResourceIds: &ids}
	assert.Contains(t, listedIDs(t, base, q), main.ResourceID)

	q.StatusList = &[]int32{4}
	assert.NotContains(t, listedIDs(t, base, q), main.ResourceID, "status filter still applies")
	q.StatusList = nil
	q.ExpireTimeBegin, q.ExpireTimeEnd = ptr(fmtTime(main.ExpireTime.Add(time.Hour))), ptr(fmtTime(main.ExpireTime.Add(2*time.Hour)))
	assert.Empty(t, listedIDs(t, base, q), "time filter still applies, to children too")
}

func TestListFailFromOffset(t *testing.T) {
	sim, base := newSim(t, 50)
	client := bssClient(t, base, goodCreds, httpConfig())
	list := func(offset int32) error {
		_, err := client.ListPayPerUseCustomerResources(&bssmodel.ListPayPerUseCustomerResourcesRequest{Body: &bssmodel.QueryResourcesReq{Offset: &offset, Limit: ptr(int32(10))}})
		return err
	}
	require.NoError(t, sim.SetKnobs(hwsim.Knobs{ListFailFromOffset: ptr(20)}))
	require.NoError(t, list(10))
	serviceError(t, list(20), 400, "CBC.0100")
	serviceError(t, list(40), 400, "CBC.0100")
	require.NoError(t, sim.SetKnobs(hwsim.Knobs{ListFailFromOffset: ptr(20), ListFailCode: hwsim.CodeBSSSystem}))
	serviceError(t, list(30), 500, "CBC.0999")

	status, body := admin(t, "PUT", base+"/_hwsim/knobs", `{"list_fail_from_offset":-1}`)
	require.Equal(t, 200, status, string(body))
	require.NoError(t, list(30))
	status, _ = admin(t, "PUT", base+"/_hwsim/knobs", `{"list_fail_from_offset":0}`)
	require.Equal(t, 200, status)
	serviceError(t, list(0), 500, "CBC.0999")
	status, _ = admin(t, "PUT", base+"/_hwsim/knobs", `{"list_fail_from_offset":null}`)
	require.Equal(t, 200, status)
	assert.Nil(t, sim.Knobs().ListFailFromOffset)
}

func TestRecordQuirks(t *testing.T) {
	sim, base := newSim(t, 40)
	rs := sim.Resources()
	require.GreaterOrEqual(t, len(rs), 4)
	require.NoError(t, sim.SetKnobs(hwsim.Knobs{
		MalformedResourceIDs: []string{rs[0].ResourceID}, NoIDResourceIDs: []string{rs[1].ResourceID},
		PartialResourceIDs: []string{rs[2].ResourceID}, NoProjectResourceIDs: []string{rs[3].ResourceID},
	}))
	records, total := listAllBSS(t, bssClient(t, base, goodCreds, httpConfig()), bssmodel.QueryResourcesReq{})
	require.Len(t, records, int(total))
	byName := map[string]bssmodel.OrderInstanceV2{}
	for _, r := range records {
		byName[*r.ResourceName] = r
	}
	bad := byName[rs[0].ResourceName]
	assert.Equal(t, rs[0].ResourceID, *bad.ResourceId)
	_, err := time.Parse(time.RFC3339, *bad.ExpireTime)
	assert.Error(t, err, "unreadable expire_time %q", *bad.ExpireTime)
	assert.Nil(t, byName[rs[1].ResourceName].ResourceId)
	partial := byName[rs[2].ResourceName]
	assert.Nil(t, partial.Status)
	assert.Nil(t, partial.ExpirePolicy)
	assert.NotNil(t, partial.ProjectId)
	assert.Nil(t, byName[rs[3].ResourceName].ProjectId)
	assert.Equal(t, len(rs), len(sim.Truth(testEpoch.AddDate(-1, 0, 0), testEpoch.AddDate(2, 0, 0), nil)), "quirks do not change the truth")
}

func TestChurnShiftsTheListingOnce(t *testing.T) {
	sim, base := newSim(t, 1000)
	begin, end := testEpoch, testEpoch.AddDate(0, 3, 0)
	before := idsOf(sim.Truth(begin, end, nil))
	require.NoError(t, sim.SetKnobs(hwsim.Knobs{Churn: &hwsim.Churn{AfterRequests: 2, Begin: begin, End: end, Renew: 5, Remove: 4, Add: 6}}))
	client := bssClient(t, base, goodCreds, httpConfig())
	page := func() {
		q := windowQuery(begin, end)
		q.Limit = ptr(int32(10))
		_, err := client.ListPayPerUseCustomerResources(&bssmodel.ListPayPerUseCustomerResourcesRequest{Body: &q})
		require.NoError(t, err)
	}
	page()
	assert.False(t, sim.ChurnResult().Applied, "not before the 2nd request")
	require.NoError(t, sim.SetKnobs(hwsim.Knobs{Churn: sim.Knobs().Churn, Latency: time.Millisecond}), "another knob change keeps the count")
	page()
	res := sim.ChurnResult()
	require.True(t, res.Applied)
	assert.Equal(t, 2, res.AfterRequest)
	assert.Len(t, res.Renewed, 5)
	assert.Len(t, res.Removed, 4)
	assert.Len(t, res.Added, 6)

	want := map[string]bool{}
	for _, id := range before {
		want[id] = true
	}
	for _, id := range append(slices.Clone(res.Renewed), res.Removed...) {
		require.True(t, want[id], "churn draws from the window")
		delete(want, id)
	}
	for _, id := range res.Added {
		want[id] = true
	}
	after := idsOf(sim.Truth(begin, end, nil))
	assert.Len(t, after, len(want))
	for _, id := range after {
		assert.True(t, want[id], id)
	}
	page()
	assert.Equal(t, res, sim.ChurnResult(), "applied once")

	status, body := admin(t, "GET", base+"/_hwsim/churn", "")
	require.Equal(t, 200, status)
	assert.Equal(t, res, decodeInto[hwsim.ChurnResult](t, body))
}

func TestWrongSiteAndIPThrottling(t *testing.T) {
	sim, base := newSim(t, 10)
	client := bssClient(t, base, goodCreds, httpConfig())
	list := func() error {
		_, err := client.ListPayPerUseCustomerResources(&bssmodel.ListPayPerUseCustomerResourcesRequest{Body: &bssmodel.QueryResourcesReq{}})
		return err
	}
	for _, code := range []string{hwsim.CodeWrongSite, hwsim.CodeWrongSiteOther} {
		require.NoError(t, sim.SetKnobs(hwsim.Knobs{WrongSite: code}))
		serviceError(t, list(), 403, code)
	}
	require.NoError(t, sim.SetKnobs(hwsim.Knobs{BSSIPThrottleRatio: 1}))
	serviceError(t, list(), 400, "CBC.99007197")
	assert.Equal(t, int64(1), sim.Stats().APIs[hwsim.APIBSSList].Throttled, "counted as throttling, not as a bad request")
}

// SetTags plays an owner editing tags in the console: TMS answers with the
// new tags, in ShowResourceTag and in a ListResource filtered on them, and
// the truth carries them.
func TestSetTagsChangesWhatTMSAnswers(t *testing.T) {
	sim, base := newSim(t, 100)
	client := tmsClient(t, base, goodCreds, httpConfig())
	vm := firstVM(t, sim)
	owner := map[string]string{"owner": "李四", "cost-center": "CC-9"}
	require.Equal(t, 1, sim.SetTags([]string{vm.ResourceID, "no-such-id"}, owner))
	got, err := showTags(client, vm, "ecs")
	require.NoError(t, err)
	assert.Equal(t, owner, got)
	r, ok := sim.Lookup(vm.ResourceID)
	require.True(t, ok)
	assert.Equal(t, owner, r.Tags)

	resp, err := client.ListResource(&tmsmodel.ListResourceRequest{Body: &tmsmodel.ResqTagResource{ProjectId: &vm.ProjectID,
		ResourceTypes: []string{"ecs"}, Tags: []tmsmodel.Tag{{Key: "owner", Values: []string{"李四"}}}}})
	require.NoError(t, err)
	require.Len(t, *resp.Resources, 1)
	assert.Equal(t, vm.ResourceID, (*resp.Resources)[0].ResourceId)

	require.Equal(t, 1, sim.SetTags([]string{vm.ResourceID}, nil))
	got, err = showTags(client, vm, "ecs")
	require.NoError(t, err)
	assert.Empty(t, got, "tags taken away")
}
