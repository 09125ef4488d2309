package hwsim_test

import (
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"expiry-sync/internal/catalog"
	"expiry-sync/internal/testkit/hwsim"
	"expiry-sync/workflows"
)

func newPlain(t testing.TB, seed int64, n int) *hwsim.Simulator {
	t.Helper()
	sim, err := hwsim.New(hwsim.Options{Seed: seed, Resources: n, AccessKey: testAK, SecretKey: testSK, DomainID: testDomain, Epoch: testEpoch})
	require.NoError(t, err)
	return sim
}

func TestDatasetDeterministic(t *testing.T) {
	a, b := newPlain(t, 7, 3000).Resources(), newPlain(t, 7, 3000).Resources()
	require.Equal(t, a, b)

	other := newPlain(t, 8, 3000).Resources()
	ids := map[string]bool{}
	for _, r := range a {
		ids[r.ResourceID] = true
	}
	for _, r := range other {
		require.False(t, ids[r.ResourceID], "seed 8 reuses id %s of seed 7", r.ResourceID)
	}
}

func TestDatasetSizeCountsChildren(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3, 7, 1000} {
		sim := newPlain(t, 1, n)
		assert.Len(t, sim.Resources(), n)
		assert.Equal(t, n, sim.Len())
	}
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestDatasetShape(t *testing.T) {
	sim := newPlain(t, 42, 5000)
	all := sim.Resources()
	byID := map[string]hwsim.Resource{}
	services, resTypes, statuses, regions := map[string]int{}, map[string]int{}, map[int32]int{}, map[string]bool{}
	chineseNames := 0
	for i, r := range all {
		require.Regexp(t, uuidRE, r.ResourceID)
		require.NotContains(t, byID, r.ResourceID, "duplicate id")
		byID[r.ResourceID] = r
		services[r.ServiceTypeCode]++
		resTypes[r.ResourceTypeCode]++
		statuses[r.Status]++
		regions[r.RegionCode] = true
		if strings.ContainsFunc(r.ResourceName, func(c rune) bool { return unicode.Is(unicode.Han, c) }) {
			chineseNames++
		}
		assert.Regexp(t, `^[0-9a-f]{32}$`, r.ProjectID)
		assert.Regexp(t, `^[0-9a-f]{32}$`, r.ID)
		assert.Equal(t, time.UTC, r.ExpireTime.Location())
		assert.Equal(t, r.ExpireTime, r.ExpireTime.Truncate(time.Second))
		assert.True(t, r.EffectiveTime.Before(r.ExpireTime), "effective before expire: %+v", r)
		assert.False(t, r.ExpireTime.Before(testEpoch.Add(-30*24*time.Hour)))
		assert.False(t, r.ExpireTime.After(testEpoch.Add(365*24*time.Hour)))
		assert.Contains(t, []int32{2, 3, 4, 5}, r.Status)
		if r.Status == 5 {
			assert.True(t, r.ExpireTime.Before(testEpoch), "expired records expire before Epoch")
		}
		assert.GreaterOrEqual(t, r.ExpirePolicy, int32(0))
		assert.LessOrEqual(t, r.ExpirePolicy, int32(5))
		if r.IsMainResource == 0 {
			parent, ok := byID[r.ParentResourceID]
			require.True(t, ok, "child %d listed after its parent", i)
			assert.Equal(t, int32(1), parent.IsMainResource)
			assert.Equal(t, parent.ExpireTime, r.ExpireTime)
			assert.Equal(t, parent.Status, r.Status)
			assert.Equal(t, parent.ServiceTypeCode, r.ServiceTypeCode)
			assert.Equal(t, parent.ProjectID, r.ProjectID)
			want := map[string]string{catalog.ResourceVM: catalog.ResourceVolume, catalog.ResourceIP: catalog.ResourceBandwidth}[parent.ResourceTypeCode]
			assert.Equal(t, want, r.ResourceTypeCode)
		} else {
			assert.Empty(t, r.ParentResourceID)
			assert.Equal(t, int32(1), r.IsMainResource)
		}
	}
	for _, s := range []string{catalog.ServiceECS, catalog.ServiceEVS, catalog.ServiceVPC, catalog.ServiceRDS, catalog.ServiceDCS} {
		assert.Positive(t, services[s], s)
	}
	for _, rt := range []string{catalog.ResourceVM, catalog.ResourceVolume, catalog.ResourceIP, catalog.ResourceBandwidth, catalog.ResourceRDS, catalog.ResourceDCS} {
		assert.Positive(t, resTypes[rt], rt)
	}
	for _, st := range []int32{2, 3, 4, 5} {
		assert.Positive(t, statuses[st], "status %d", st)
	}
	assert.Greater(t, statuses[2], len(all)/2, "mostly in use")
	assert.GreaterOrEqual(t, len(regions), 3)
	assert.Positive(t, chineseNames)
	projects := sim.Projects()
	assert.GreaterOrEqual(t, len(projects), 3)
	assert.LessOrEqual(t, len(projects), 6)
	assert.Regexp(t, `^ecs-[a-z]+-[a-z]+-\d{4}$`, firstASCIIName(all, catalog.ResourceVM).ResourceName)
}

// firstASCIIName returns the first record of resType whose name is not in
// Chinese.
func firstASCIIName(all []hwsim.Resource, resType string) hwsim.Resource {
	for _, r := range all {
		if r.ResourceTypeCode == resType && !strings.ContainsFunc(r.ResourceName, func(c rune) bool { return c > unicode.MaxASCII }) {
			return r
		}
	}
	return hwsim.Resource{}
}

// TestDatasetTags checks the tag limits and that the awkward cases a
// client must store byte-exact do occur.
func TestDatasetTags(t *testing.T) {
	all := newPlain(t, 42, 3000).Resources()
	found := map[string]bool{}
	note := func(name string, ok bool) {
		if ok {
			found[name] = true
		}
	}
	tagged, maxTags := 0, 0
	for _, r := range all {
		_, tmsKnown := workflows.LegacyTMSType(r.ResourceTypeCode)
		assert.Equal(t, tmsKnown, r.TMSResourceType != "")
		if !tmsKnown {
			assert.Empty(t, r.Tags, "no tags on types TMS is never asked for")
			continue
		}
		if len(r.Tags) > 0 {
			tagged++
		}
		maxTags = max(maxTags, len(r.Tags))
		assert.LessOrEqual(t, len(r.Tags), hwsim.MaxTagsPerResource)
		for k, v := range r.Tags {
			kl, vl := utf8.RuneCountInString(k), utf8.RuneCountInString(v)
			require.True(t, utf8.ValidString(k) && utf8.ValidString(v))
			require.Positive(t, kl)
			require.LessOrEqual(t, kl, hwsim.MaxTagKeyLen)
			require.LessOrEqual(t, vl, hwsim.MaxTagValueLen)
			for _, s := range []string{k, v} {
				note("chinese", strings.ContainsFunc(s, func(c rune) bool { return unicode.Is(unicode.Han, c) }))
				note("emoji", strings.ContainsFunc(s, func(c rune) bool { return c >= 0x1F300 }))
				note("double quote", strings.Contains(s, `"`))
				note("single quote", strings.Contains(s, `'`))
				note("backslash", strings.Contains(s, `\`))
				note("percent", strings.Contains(s, `%`))
			}
			note("empty value", v == "")
			note("255-char value", vl == hwsim.MaxTagValueLen)
			note("128-char key", kl == hwsim.MaxTagKeyLen)
		}
	}
	for _, want := range []string{"chinese", "emoji", "double quote", "single quote", "backslash", "percent", "empty value", "255-char value", "128-char key"} {
		assert.True(t, found[want], "no tag with %s", want)
	}
	assert.Equal(t, hwsim.MaxTagsPerResource, maxTags)
	assert.Positive(t, tagged)
}

func TestLookup(t *testing.T) {
	sim := newPlain(t, 3, 2000)
	for _, r := range sim.Resources() {
		got, ok := sim.Lookup(r.ResourceID)
		require.True(t, ok)
		require.Equal(t, r, got)
	}
	id := sim.Resources()[10].ResourceID
	for _, bad := range []string{"", "x", strings.ToUpper(id), id[:35] + "0", "00000000-0000-4000-8000-000000000000", id + " "} {
		if bad == id {
			continue
		}
		_, ok := sim.Lookup(bad)
		assert.False(t, ok, bad)
	}
}

func TestRemoveAndAdd(t *testing.T) {
	a, b := newPlain(t, 5, 1000), newPlain(t, 5, 1000)
	first := a.Resources()[0].ResourceID
	assert.Equal(t, 1, a.RemoveResources(first, first, "unknown"))
	assert.Equal(t, 0, a.RemoveResources(first))
	_, ok := a.Lookup(first)
	assert.False(t, ok)
	assert.Equal(t, 999, a.Len())
	b.RemoveResources(first)

	removedA, removedB := a.RemoveRandom(100), b.RemoveRandom(100)
	require.Len(t, removedA, 100)
	assert.Equal(t, removedA, removedB, "RemoveRandom is deterministic")
	second := a.RemoveRandom(100)
	assert.NotEqual(t, removedA, second, "successive calls differ")
	assert.Equal(t, second, b.RemoveRandom(100))
	assert.Equal(t, 799, a.Len())
	for _, id := range append(removedA, second...) {
		_, ok := a.Lookup(id)
		assert.False(t, ok)
	}

	added := a.AddResources(50)
	require.Len(t, added, 50)
	assert.Equal(t, added, b.AddResources(50), "AddResources is deterministic")
	all := a.Resources()
	require.Len(t, all, 849)
	for i, id := range added {
		assert.Equal(t, id, all[799+i].ResourceID, "added records are listed last")
		_, ok := a.Lookup(id)
		assert.True(t, ok)
	}
	assert.Len(t, a.RemoveRandom(10_000), 849)
	assert.Empty(t, a.Resources())
}

func TestOptionsValidation(t *testing.T) {
	base := hwsim.Options{Resources: 10, AccessKey: testAK, SecretKey: testSK, DomainID: testDomain}
	cases := []struct {
		name   string
		mutate func(*hwsim.Options)
		want   string
	}{
		{"too many", func(o *hwsim.Options) { o.Resources = hwsim.MaxResources + 1 }, "Resources 1000001"},
		{"negative", func(o *hwsim.Options) { o.Resources = -1 }, "Resources -1"},
		{"no AK", func(o *hwsim.Options) { o.AccessKey = "" }, "AccessKey"},
		{"no SK", func(o *hwsim.Options) { o.SecretKey = "" }, "SecretKey"},
		{"no domain", func(o *hwsim.Options) { o.DomainID = "" }, "DomainID"},
		{"ratio", func(o *hwsim.Options) { o.Knobs.ErrorRatio = 1.5 }, "error_ratio 1.5"},
		{"rate", func(o *hwsim.Options) { o.Knobs.TMSRate = -1 }, "tms_rate -1"},
		{"latency", func(o *hwsim.Options) { o.Knobs.Latency = -time.Second }, "latency -1s"},
	}
	for _, tc := range cases {
		o := base
		tc.mutate(&o)
		_, err := hwsim.New(o)
		require.Error(t, err, tc.name)
		assert.Contains(t, err.Error(), tc.want, tc.name)
		assert.NotContains(t, err.Error(), testSK)
	}
}

func TestGenerate100kMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates a 100k dataset")
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	sim := newPlain(t, 1, 100_000)
	elapsed := time.Since(start)
	runtime.GC()
	runtime.ReadMemStats(&after)
	heap := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("100k resources: %s, %.1f MB retained", elapsed, float64(heap)/1e6)
	assert.Less(t, heap, int64(16<<20), "retained heap for 100k resources")
	runtime.KeepAlive(sim)
}

func BenchmarkGenerate100k(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		newPlain(b, int64(b.N), 100_000)
	}
}
