// Package inventory holds the records that travel between activities through
// Temporal history: one listed resource and the outcome of its tag query.
// JSON names are short on purpose: a page of 500 resources crosses history.
package inventory

import "time"

// CloudProvider is the value of expiring_resources.cloud_provider for this sync.
const CloudProvider = "huawei"

// Resource is one yearly/monthly resource as listed by BSS.
type Resource struct {
	ResourceID          string    `json:"id"`
	Name                string    `json:"name,omitempty"`
	RegionCode          string    `json:"region,omitempty"`
	ProjectID           string    `json:"project,omitempty"`
	ServiceTypeCode     string    `json:"service,omitempty"`
	ResourceTypeCode    string    `json:"type,omitempty"`
	ResourceSpecCode    string    `json:"spec,omitempty"`
	ParentResourceID    string    `json:"parent,omitempty"`
	IsMainResource      bool      `json:"main,omitempty"`
	Status              *int      `json:"status,omitempty"` // nil: BSS did not say
	EffectiveTime       time.Time `json:"effective,omitzero"`
	ExpireTime          time.Time `json:"expire"`
	ExpirePolicy        *int      `json:"policy,omitempty"` // nil: BSS did not say (0 means grace period)
	EnterpriseProjectID string    `json:"ep,omitempty"`
	// TagType is the TMS resource type its tags are read under, set by the
	// listing activity from the catalog; "" when TMS is not asked.
	TagType string `json:"tms,omitempty"`
}

// BSS statuses of a yearly/monthly resource (OrderInstanceV2.status).
const (
	StatusInUse   = 2
	StatusClosed  = 3 // released or closed: the one status that means gone
	StatusFrozen  = 4
	StatusExpired = 5
)

// Quarantined is a BSS record the sync could not use (no id, no readable
// expire time): counted, named in the sync log, skipped.
type Quarantined struct {
	Offset     int    `json:"offset"` // its position in the listing
	ResourceID string `json:"id,omitempty"`
	Reason     string `json:"reason"`
}

// TagStatus says how a resource's tags were obtained.
type TagStatus string

const (
	// TagsOK: TMS answered; Tags holds every tag (possibly none).
	TagsOK TagStatus = "ok"
	// TagsUnsupported: the resource type has no TMS type in the catalog, TMS is not asked.
	TagsUnsupported TagStatus = "unsupported"
	// TagsNotFound: TMS answered 404, the resource vanished since it was listed.
	TagsNotFound TagStatus = "not_found"
	// TagsError: TMS refused the resource's tags; the reason is in Error,
	// and the last known tags are kept.
	TagsError TagStatus = "error"
	// TagsKept: not read again: an earlier attempt of the same sync read
	// them; the stored tags and their status stay as they are.
	TagsKept TagStatus = "kept"
)

// TagResult is the outcome of one resource's tag query.
type TagResult struct {
	ResourceID string            `json:"id"`
	Status     TagStatus         `json:"status"`
	Tags       map[string]string `json:"tags,omitempty"`
	Error      string            `json:"error,omitempty"`
}

// Row is a resource with its tags: one row of expiring_resources.
type Row struct {
	Resource
	Tags TagResult `json:"t"`
}

// TagTarget is what a tag query needs to know of a resource.
type TagTarget struct {
	ResourceID       string `json:"id"`
	ProjectID        string `json:"project,omitempty"`
	ResourceTypeCode string `json:"type"`
	// TagType is the TMS type to ask under (Resource.TagType); empty in
	// histories of the first version, where the type code decides.
	TagType string `json:"tms,omitempty"`
	// EnterpriseProjectID scopes a refusal that names an enterprise
	// project (ECS authorizes tag reads per enterprise project); empty in
	// older histories.
	EnterpriseProjectID string `json:"ep,omitempty"`
}
