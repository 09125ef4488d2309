package huawei

import (
	"context"
	"fmt"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/tms/v1/model"
)

const apiListResource = "TMS ListResource"

// MaxBulkPageSize is the largest limit TMS ListResource accepts.
const MaxBulkPageSize = 200

// TaggedResource is one resource of a ListResource answer.
type TaggedResource struct {
	ResourceID string
	Tags       map[string]string
}

// BulkPage is one page of every resource of a type in a project, with tags.
type BulkPage struct {
	Resources  []TaggedResource
	TotalCount int
	// Unsupported is set when TMS answered that it cannot list this type
	// (an entry in errors[] inside a 200 answer): query resources one by one.
	Unsupported string
}

// ListTagged lists one page of all the resources of a TMS type in a project,
// tagged or not, with their tags: a few calls instead of one per resource.
func (c *Client) ListTagged(ctx context.Context, projectID, tmsType string, offset, limit int) (BulkPage, error) {
	if limit < 1 || limit > MaxBulkPageSize {
		return BulkPage{}, &APIError{API: apiListResource, Kind: KindBadRequest,
			Message: fmt.Sprintf("page limit %d is out of range 1..%d", limit, MaxBulkPageSize)}
	}
	body := &model.ResqTagResource{
		ProjectId:     ptr(projectID),
		ResourceTypes: []string{tmsType},
		Tags:          []model.Tag{},
		Offset:        ptr(int32(offset)),
		Limit:         ptr(int32(limit)),
	}
	resp, err := call(ctx, c.tmsLimit, apiListResource, func() (*model.ListResourceResponse, error) {
		return c.tms.ListResource(&model.ListResourceRequest{Body: body})
	})
	if err != nil {
		return BulkPage{}, err
	}
	page := BulkPage{TotalCount: int(deref(resp.TotalCount))}
	if resp.Errors != nil {
		for _, e := range *resp.Errors {
			if deref(e.ResourceType) == tmsType {
				page.Unsupported = fmt.Sprintf("%s %s", deref(e.ErrorCode), deref(e.ErrorMsg))
			}
		}
	}
	if resp.Resources != nil {
		for _, r := range *resp.Resources {
			if r.ResourceId == "" {
				return BulkPage{}, &APIError{API: apiListResource, Kind: KindBadResponse, Message: "a resource without resource_id"}
			}
			tr := TaggedResource{ResourceID: r.ResourceId, Tags: map[string]string{}}
			if r.Tags != nil {
				for _, t := range *r.Tags {
					tr.Tags[t.Key] = t.Value
				}
			}
			page.Resources = append(page.Resources, tr)
		}
	}
	return page, nil
}
