package huawei

import (
	"context"
	"fmt"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/bss/v2/model"

	"expiry-sync/internal/contract"
	"expiry-sync/internal/inventory"
)

// MaxPageSize is the largest limit BSS accepts for one listing call.
const MaxPageSize = contract.MaxPageSize

// bssTimeFormat is the UTC format BSS uses in requests and answers.
const bssTimeFormat = "2006-01-02T15:04:05Z"

const apiList = "BSS ListPayPerUseCustomerResources"

// ListQuery selects one page of yearly/monthly resources.
type ListQuery struct {
	ExpireBegin time.Time
	ExpireEnd   time.Time
	StatusList  []int // empty: every status
	// ResourceIDs (at most MaxIDsPerQuery) asks for those resources only;
	// with zero expire bounds, whatever their expire time.
	ResourceIDs []string
	// MainOnly asks for main resources only (only_main_resource=1): a
	// look-up by id then answers the ids asked, not their attached disks
	// and IPs (a child id asked still answers itself).
	MainOnly bool
	Offset   int
	Limit    int
}

// MaxIDsPerQuery is how many resource_ids one BSS query takes.
const MaxIDsPerQuery = 50

// Page is one listing answer.
type Page struct {
	Resources  []inventory.Resource
	TotalCount int
	// Received counts the records in the answer before de-duplication;
	// the next page starts at Offset + Received.
	Received int
	// Quarantined are the records that could not be used (no id, no
	// readable expire time): left out of Resources, so one bad record does
	// not fail every sync at the same offset.
	Quarantined []Quarantined
	// Records are every record of the answer, in its order, as far as
	// they could be read: what the listing's overlap checks compare.
	Records []Record
}

// Record is one record of an answer as far as it could be read: its id
// ("" when absent) and expire time (zero when unreadable).
type Record struct {
	ID     string
	Expire time.Time
}

// Quarantined is one unusable record of an answer.
type Quarantined struct {
	Index      int // in the answer
	ResourceID string
	Reason     string
}

// ListPage lists one page of resources that expire within the query's window.
func (c *Client) ListPage(ctx context.Context, q ListQuery) (Page, error) {
	if q.Limit < 1 || q.Limit > MaxPageSize {
		return Page{}, &APIError{API: apiList, Kind: KindBadRequest,
			Message: fmt.Sprintf("page limit %d is out of range 1..%d", q.Limit, MaxPageSize)}
	}
	if len(q.ResourceIDs) > MaxIDsPerQuery {
		return Page{}, &APIError{API: apiList, Kind: KindBadRequest,
			Message: fmt.Sprintf("%d resource ids in one query: at most %d", len(q.ResourceIDs), MaxIDsPerQuery)}
	}
	body := &model.QueryResourcesReq{
		Offset: ptr(int32(q.Offset)),
		Limit:  ptr(int32(q.Limit)),
	}
	if !q.ExpireBegin.IsZero() {
		body.ExpireTimeBegin = ptr(q.ExpireBegin.UTC().Format(bssTimeFormat))
	}
	if !q.ExpireEnd.IsZero() {
		body.ExpireTimeEnd = ptr(q.ExpireEnd.UTC().Format(bssTimeFormat))
	}
	if len(q.ResourceIDs) > 0 {
		body.ResourceIds = &q.ResourceIDs
	}
	if q.MainOnly {
		body.OnlyMainResource = ptr(int32(1))
	}
	if c.customerID != "" {
		body.CustomerId = ptr(c.customerID)
	}
	if len(q.StatusList) > 0 {
		statuses := make([]int32, len(q.StatusList))
		for i, s := range q.StatusList {
			statuses[i] = int32(s)
		}
		body.StatusList = &statuses
	}
	list := func() (*model.ListPayPerUseCustomerResourcesResponse, error) {
		return c.bss.ListPayPerUseCustomerResources(&model.ListPayPerUseCustomerResourcesRequest{Body: body})
	}
	resp, err := call(ctx, c.observer, c.bssLimit, apiList, list)
	if err != nil {
		return Page{}, err
	}
	return toPage(resp)
}

// toPage converts and checks an answer: a record without an id or a readable
// expire time is quarantined, so that no half resource is ever stored.
func toPage(resp *model.ListPayPerUseCustomerResourcesResponse) (Page, error) {
	var records []model.OrderInstanceV2
	if resp.Data != nil {
		records = *resp.Data
	}
	// A missing total_count is unknown (-1): the caller pages until a short
	// or empty answer instead.
	page := Page{TotalCount: -1, Received: len(records)}
	if resp.TotalCount != nil {
		page.TotalCount = int(*resp.TotalCount)
	}
	seen := make(map[string]bool, len(records))
	page.Records = make([]Record, len(records))
	for i, o := range records {
		page.Records[i].ID = deref(o.ResourceId)
		r, err := toResource(o)
		if err != nil {
			page.Quarantined = append(page.Quarantined,
				Quarantined{Index: i, ResourceID: deref(o.ResourceId), Reason: err.Error()})
			continue
		}
		page.Records[i].Expire = r.ExpireTime
		if seen[r.ResourceID] {
			continue
		}
		seen[r.ResourceID] = true
		page.Resources = append(page.Resources, r)
	}
	return page, nil
}

// toResource converts one record. A missing status or expire_policy stays
// nil (unknown: 0 is the grace-period policy); a missing project_id is kept
// empty (the record is stored, its tags cannot be read). A record whose id
// cannot be stored whole or used in a TMS path, or whose expire time
// cannot be read or stored, is refused (quarantined by the caller).
func toResource(o model.OrderInstanceV2) (inventory.Resource, error) {
	id := deref(o.ResourceId)
	if err := inventory.CheckID(id); err != nil {
		return inventory.Resource{}, err
	}
	expire, err := time.Parse(time.RFC3339, deref(o.ExpireTime))
	if err != nil || expire.IsZero() { // the zero time is no expire time
		return inventory.Resource{}, fmt.Errorf(
			"resource %s: expire_time %q is not a UTC time",
			id,
			deref(o.ExpireTime),
		)
	}
	if err := inventory.CheckExpireTime(expire.UTC()); err != nil {
		return inventory.Resource{}, fmt.Errorf("resource %s: %w", id, err)
	}
	r := inventory.Resource{
		ResourceID:       id,
		Name:             deref(o.ResourceName),
		RegionCode:       deref(o.RegionCode),
		ProjectID:        deref(o.ProjectId),
		ServiceTypeCode:  deref(o.ServiceTypeCode),
		ResourceTypeCode: deref(o.ResourceTypeCode),
		ResourceSpecCode: deref(o.ResourceSpecCode),
		ParentResourceID: deref(o.ParentResourceId),
		IsMainResource:   deref(o.IsMainResource) == 1,
		Status:           intPtr(o.Status),
		ExpireTime:       expire.UTC(),
		ExpirePolicy:     intPtr(o.ExpirePolicy),
	}
	if t, err := time.Parse(time.RFC3339, deref(o.EffectiveTime)); err == nil {
		r.EffectiveTime = t.UTC()
	}
	if o.EnterpriseProject != nil {
		r.EnterpriseProjectID = deref(o.EnterpriseProject.Id)
	}
	return r, nil
}

func ptr[T any](v T) *T { return &v }

// intPtr keeps "absent" apart from zero.
func intPtr(p *int32) *int {
	if p == nil {
		return nil
	}
	v := int(*p)
	return &v
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
