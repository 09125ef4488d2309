// Package catalog holds the Huawei Cloud type codes expiry-sync knows about:
// BSS service and resource type codes, and the TMS resource type that each
// BSS resource type is tagged under.
//
// Huawei publishes no BSS-to-TMS mapping, so the table is ours. It is data
// (types.json, embedded), each entry naming the Huawei page or SDK file its
// codes come from. TMS ListProviders is the authority at run time: a worker
// restricts the table to the types TMS serves (Restrict) once at start.
// Workflow code must not read the table: one that changes between worker
// versions would make recorded histories replay differently (TMSResourceType
// is the frozen exception workflow code still calls).
package catalog

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
)

// BSS service type codes (QueryResourcesReq.service_type_code).
const (
	ServiceECS = "hws.service.type.ec2"
	ServiceEVS = "hws.service.type.ebs"
	ServiceVPC = "hws.service.type.vpc"
	ServiceRDS = "hws.service.type.rds"
	ServiceDCS = "hws.service.type.dcs"
)

// BSS resource type codes (OrderInstanceV2.resource_type_code).
const (
	ResourceVM        = "hws.resource.type.vm"
	ResourceVolume    = "hws.resource.type.volume"
	ResourceIP        = "hws.resource.type.ip"
	ResourceBandwidth = "hws.resource.type.bandwidth"
	ResourceRDS       = "hws.resource.type.rds.vm"
	ResourceDCS       = "hws.resource.type.dcs"
)

// Entry maps one BSS resource type code to its TMS resource type.
type Entry struct {
	BSSResourceType string `json:"bss_resource_type"`
	// MainOnly: the code maps only for main resources (is_main_resource=1);
	// a child of that code has no tags of its own.
	MainOnly bool   `json:"main_only,omitempty"`
	TMSType  string `json:"tms_type"`          // case-sensitive TMS resource_type
	Provider string `json:"provider"`          // TMS ListProviders provider
	Source   string `json:"source"`            // where both codes are documented
	Comment  string `json:"comment,omitempty"` // free text
}

// Table is an immutable BSS-to-TMS mapping.
type Table struct {
	entries []Entry
}

//go:embed types.json
var typesJSON []byte

var defaultTable = mustParse(typesJSON)

func mustParse(data []byte) *Table {
	t, err := Parse(data)
	if err != nil {
		panic(err)
	}
	return t
}

// Parse reads a table in the format of types.json.
func Parse(data []byte) (*Table, error) {
	var doc struct {
		Entries []Entry `json:"entries"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	seen := map[string]bool{}
	for i, e := range doc.Entries {
		if e.BSSResourceType == "" || e.TMSType == "" || e.Source == "" {
			return nil, fmt.Errorf("catalog: entry %d needs bss_resource_type, tms_type and source", i)
		}
		if seen[e.BSSResourceType] {
			return nil, fmt.Errorf("catalog: %s is listed twice", e.BSSResourceType)
		}
		seen[e.BSSResourceType] = true
	}
	return &Table{entries: doc.Entries}, nil
}

// Default is the table shipped with this build.
func Default() *Table { return defaultTable }

// Entries returns a copy of the table's entries.
func (t *Table) Entries() []Entry { return slices.Clone(t.entries) }

// Lookup returns the TMS resource type of a record with this BSS resource
// type code, and false when its tags are not read (stored untagged).
func (t *Table) Lookup(bssResourceTypeCode string, isMain bool) (string, bool) {
	for _, e := range t.entries {
		if e.BSSResourceType == bssResourceTypeCode && (isMain || !e.MainOnly) {
			return e.TMSType, true
		}
	}
	return "", false
}

// TMSTypes lists the distinct TMS resource types of the table, sorted.
func (t *Table) TMSTypes() []string {
	var out []string
	for _, e := range t.entries {
		if !slices.Contains(out, e.TMSType) {
			out = append(out, e.TMSType)
		}
	}
	sort.Strings(out)
	return out
}

// Restrict keeps the entries whose TMS type is among served (the resource
// types TMS ListProviders lists) and returns one warning per dropped entry:
// its resources are then stored as "type without tags".
func (t *Table) Restrict(served []string) (*Table, []string) {
	out := &Table{}
	var warnings []string
	for _, e := range t.entries {
		if slices.Contains(served, e.TMSType) {
			out.entries = append(out.entries, e)
			continue
		}
		warnings = append(warnings, fmt.Sprintf("TMS does not list resource type %q (for BSS %s) among the types it serves: those resources are stored without tags", e.TMSType, e.BSSResourceType))
	}
	return out, warnings
}

// workflowTypes is the mapping workflow code has used since the first
// release. It is frozen: SyncExpiringResources calls TMSResourceType to decide
// which resources go to FetchTags, so changing it would make recorded
// histories replay differently. The full table (Default) reaches workflows
// only once they take each resource's TMS type from an activity result.
var workflowTypes = map[string]string{
	ResourceVM:     "ecs",
	ResourceVolume: "disk",
	ResourceIP:     "eip",
}

// TMSResourceType is the frozen mapping workflow code uses (see
// workflowTypes): the TMS resource type for a BSS resource type code, and
// false when the workflow stores the resource untagged. Activities and the
// Huawei client use Default (or its Restrict-ed copy) instead.
func TMSResourceType(bssResourceTypeCode string) (string, bool) {
	t, ok := workflowTypes[bssResourceTypeCode]
	return t, ok
}

// TMSResourceTypes lists every TMS resource type in the default table.
func TMSResourceTypes() []string { return defaultTable.TMSTypes() }
