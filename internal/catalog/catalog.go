// Package catalog holds the Huawei Cloud type codes expiry-sync knows about:
// BSS service and resource type codes, and the TMS resource type that each
// BSS resource type is tagged under.
//
// Huawei publishes no BSS-to-TMS mapping, so this table is ours. Extend it
// from TMS ListProviders (GET /v1.0/tms/providers) when a new type matters.
package catalog

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

// tmsResourceTypes maps a BSS resource type code to the case-sensitive TMS
// resource_type used by ShowResourceTag and ListResource.
var tmsResourceTypes = map[string]string{
	ResourceVM:     "ecs",
	ResourceVolume: "disk",
	ResourceIP:     "eip",
}

// TMSResourceType returns the TMS resource type for a BSS resource type code,
// and false when TMS tags for that type are not queried (stored untagged).
func TMSResourceType(bssResourceTypeCode string) (string, bool) {
	t, ok := tmsResourceTypes[bssResourceTypeCode]
	return t, ok
}

// TMSResourceTypes lists every TMS resource type in the table.
func TMSResourceTypes() []string {
	return []string{"disk", "ecs", "eip"}
}
