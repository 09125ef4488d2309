package huawei

import (
	"context"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/tms/v1/model"
)

// ProbeListResource makes one small ListResource call (untagged resources,
// limit 1, a filter TMS never refuses as empty) to check the account holds
// tms:resources:list. For `worker check`.
func (c *Client) ProbeListResource(ctx context.Context, projectID, tmsType string) error {
	body := &model.ResqTagResource{
		ProjectId: ptr(projectID), ResourceTypes: []string{tmsType}, Tags: []model.Tag{},
		WithoutAnyTag: ptr(true), Limit: ptr(int32(1)),
	}
	_, err := call(ctx, c.observer, c.tmsLimit, apiListResource, func() (*model.ListResourceResponse, error) {
		return c.tms.ListResource(&model.ListResourceRequest{Body: body})
	})
	return err
}
