// Package catalog holds the Huawei Cloud type codes expiry-sync knows about:
// BSS service and resource type codes, and the TMS resource type that each
// BSS resource type is tagged under.
//
// Huawei publishes no BSS-to-TMS mapping, so the table is ours. It is data
// (types.json, embedded), each entry naming the Huawei page or SDK file its
// codes come from. TMS ListProviders is the authority at run time: a worker
// restricts the table to the types TMS serves (Restrict) once at start.
// Workflow code must not read the table: one that changes between worker
// versions would make recorded histories replay differently (the first
// version's frozen copy is workflows/legacy.go). The table also names the
// services: the short names reports and filters use (Services).
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

// Service is a BSS service type code and the names a report gives it.
type Service struct {
	Code    string   `json:"code"`              // e.g. hws.service.type.ec2
	Name    string   `json:"name"`              // e.g. ecs: how a report names it
	Aliases []string `json:"aliases,omitempty"` // other names a filter accepts, e.g. ec2
}

// Table is an immutable BSS-to-TMS mapping, and the services it knows.
type Table struct {
	entries  []Entry
	services []Service
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
		Entries  []Entry   `json:"entries"`
		Services []Service `json:"services"`
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
	for i, svc := range doc.Services {
		if svc.Code == "" || svc.Name == "" {
			return nil, fmt.Errorf("catalog: service %d needs code and name", i)
		}
	}
	return &Table{entries: doc.Entries, services: doc.Services}, nil
}

// Services are the services the table names, in its order.
func (t *Table) Services() []Service { return slices.Clone(t.services) }

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
	out := &Table{services: t.services}
	var warnings []string
	for _, e := range t.entries {
		if slices.Contains(served, e.TMSType) {
			out.entries = append(out.entries, e)
			continue
		}
		warnings = append(warnings, fmt.Sprintf(
			"TMS does not list resource type %q (for BSS %s) among the types it serves: "+
				"those resources are stored without tags",
			e.TMSType,
			e.BSSResourceType,
		))
	}
	return out, warnings
}

// TMSResourceTypes lists every TMS resource type in the default table.
func TMSResourceTypes() []string { return defaultTable.TMSTypes() }
