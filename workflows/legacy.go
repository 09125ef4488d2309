package workflows

// legacyTMSTypes is the BSS-to-TMS type table that workflows of the first
// version (workflow.DefaultVersion of versionInventoryTruth) read in
// workflow code. Frozen so that their histories replay: never edit it. The
// table users extend is internal/catalog, read by activities only.
var legacyTMSTypes = map[string]string{
	"hws.resource.type.vm":     "ecs",
	"hws.resource.type.volume": "disk",
	"hws.resource.type.ip":     "eip",
}

// LegacyTMSType is the frozen table's TMS type for a BSS resource type
// code, and false when a first-version sync stored the resource untagged:
// the one copy of that table (the simulator's dataset and the benchmark's
// baseline read it too).
func LegacyTMSType(bssResourceTypeCode string) (string, bool) {
	t, ok := legacyTMSTypes[bssResourceTypeCode]
	return t, ok
}
