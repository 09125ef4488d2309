package huawei

import (
	"context"
	"fmt"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/bss/v2/model"

	"expiry-sync/internal/inventory"
)

// MaxPageSize is the largest limit BSS accepts for one listing call.
const MaxPageSize = 500

// bssTimeFormat is the UTC format BSS uses in requests and answers.
const bssTimeFormat = "2006-01-02T15:04:05Z"

const apiList = "BSS ListPayPerUseCustomerResources"

// ListQuery selects one page of yearly/monthly resources.
type ListQuery struct {
	ExpireBegin time.Time
	ExpireEnd   time.Time
	StatusList  []int // empty: every status
	Offset      int
	Limit       int
}

// Page is one listing answer.
type Page struct {
	Resources  []inventory.Resource
	TotalCount int
	// Received counts the records in the answer before de-duplication;
	// the next page starts at Offset + Received.
	Received int
}

// ListPage lists one page of resources that expire within the query's window.
func (c *Client) ListPage(ctx context.Context, q ListQuery) (Page, error) {
	if q.Limit < 1 || q.Limit > MaxPageSize {
		return Page{}, &APIError{API: apiList, Kind: KindBadRequest,
			Message: fmt.Sprintf("page limit %d is out of range 1..%d", q.Limit, MaxPageSize)}
	}
	body := &model.QueryResourcesReq{
		Offset:          ptr(int32(q.Offset)),
		Limit:           ptr(int32(q.Limit)),
		ExpireTimeBegin: ptr(q.ExpireBegin.UTC().Format(bssTimeFormat)),
		ExpireTimeEnd:   ptr(q.ExpireEnd.UTC().Format(bssTimeFormat)),
	}
	if len(q.StatusList) > 0 {
		statuses := make([]int32, len(q.StatusList))
		for i, s := range q.StatusList {
			statuses[i] = int32(s)
		}
		body.StatusList = &statuses
	}
	resp, err := call(ctx, c.bssLimit, apiList, func() (*model.ListPayPerUseCustomerResourcesResponse, error) {
		return c.bss.ListPayPerUseCustomerResources(&model.ListPayPerUseCustomerResourcesRequest{Body: body})
	})
	if err != nil {
		return Page{}, err
	}
	return toPage(resp)
}

// toPage converts and checks an answer: a record without an id or a readable
// expire time fails the whole page, so that no half resource is ever stored.
func toPage(resp *model.ListPayPerUseCustomerResourcesResponse) (Page, error) {
	if resp.TotalCount == nil {
		return Page{}, &APIError{API: apiList, Kind: KindBadResponse, Message: "answer has no total_count"}
	}
	var records []model.OrderInstanceV2
	if resp.Data != nil {
		records = *resp.Data
	}
	page := Page{TotalCount: int(*resp.TotalCount), Received: len(records)}
	seen := make(map[string]bool, len(records))
	for i, o := range records {
		r, err := toResource(o)
		if err != nil {
			return Page{}, &APIError{API: apiList, Kind: KindBadResponse, Message: fmt.Sprintf("record %d: %v", i, err)}
		}
		if seen[r.ResourceID] {
			continue
		}
		seen[r.ResourceID] = true
		page.Resources = append(page.Resources, r)
	}
	return page, nil
}

func toResource(o model.OrderInstanceV2) (inventory.Resource, error) {
	id := deref(o.ResourceId)
	if id == "" {
		return inventory.Resource{}, fmt.Errorf("no resource_id")
	}
	expire, err := time.Parse(time.RFC3339, deref(o.ExpireTime))
	if err != nil || expire.IsZero() { // the zero time is no expire time
		return inventory.Resource{}, fmt.Errorf("resource %s: expire_time %q is not a UTC time", id, deref(o.ExpireTime))
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
