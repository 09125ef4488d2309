package catalog_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"expiry-sync/internal/catalog"
)

func TestDefaultTableLookups(t *testing.T) {
	tab := catalog.Default()
	for code, want := range map[string]string{
		catalog.ResourceVM: "ecs", catalog.ResourceVolume: "disk", catalog.ResourceIP: "eip",
		catalog.ResourceRDS: "rds", "hws.resource.type.dcs3": "dcs", "hws.resource.type.dds.vm": "dds",
	} {
		got, ok := tab.Lookup(code, false)
		assert.True(t, ok, code)
		assert.Equal(t, want, got, code)
	}
	_, ok := tab.Lookup(catalog.ResourceBandwidth, false)
	assert.False(t, ok, "a dedicated bandwidth (child of its EIP) has no tags of its own")
	got, ok := tab.Lookup(catalog.ResourceBandwidth, true)
	assert.True(t, ok)
	assert.Equal(t, "shared_bandwidth", got)
	_, ok = tab.Lookup("hws.resource.type.obs", true)
	assert.False(t, ok)
	for _, e := range tab.Entries() {
		assert.NotEmpty(t, e.Source, e.BSSResourceType)
		assert.NotEmpty(t, e.Provider, e.BSSResourceType)
	}
	assert.Equal(t, []string{"dcs", "dds", "disk", "ecs", "eip", "rds", "shared_bandwidth"}, catalog.TMSResourceTypes())
}

func TestRestrictDropsUnservedTypesWithAWarning(t *testing.T) {
	tab, warnings := catalog.Default().Restrict([]string{"ecs", "disk", "eip", "rds", "shared_bandwidth", "dds"})
	require.Len(t, warnings, 3, "dcs, dcs2, dcs3")
	for _, w := range warnings {
		assert.Contains(t, w, `"dcs"`)
		assert.True(t, strings.Contains(w, "stored without tags"), w)
	}
	_, ok := tab.Lookup("hws.resource.type.dcs3", true)
	assert.False(t, ok)
	got, ok := tab.Lookup(catalog.ResourceRDS, false)
	assert.True(t, ok)
	assert.Equal(t, "rds", got)
	_, ok = catalog.Default().Lookup("hws.resource.type.dcs3", true)
	assert.True(t, ok, "Restrict returns a copy")
	assert.Equal(t, catalog.Default().Services(), tab.Services(), "the services stay: a type without tags is still reported")
}

func TestParseRejectsIncompleteEntries(t *testing.T) {
	for doc, want := range map[string]string{
		`{"entries":[{"bss_resource_type":"a","tms_type":"b"}]}`:                                                                    "source",
		`{"entries":[{"bss_resource_type":"a","tms_type":"b","source":"s"},{"bss_resource_type":"a","tms_type":"c","source":"s"}]}`: "listed twice",
		`{"entries":`: "catalog:",
	} {
		_, err := catalog.Parse([]byte(doc))
		require.Error(t, err, doc)
		assert.Contains(t, err.Error(), want)
	}
}
