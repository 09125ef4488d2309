package huawei

import (
	"context"
	"errors"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/tms/v1/model"

	"expiry-sync/internal/catalog"
	"expiry-sync/internal/inventory"
)

const apiShowTags = "TMS ShowResourceTag"

// ResourceTags queries one resource's tags. A resource of a type that TMS
// does not serve is reported untagged without a call; a 404 (the resource
// vanished) and a 403 on this one resource are results, not errors. Any other
// failure is returned as an *APIError for the caller's retry policy.
func (c *Client) ResourceTags(ctx context.Context, r inventory.TagTarget) (inventory.TagResult, error) {
	res := inventory.TagResult{ResourceID: r.ResourceID}
	tmsType, ok := catalog.TMSResourceType(r.ResourceTypeCode)
	if !ok {
		res.Status = inventory.TagsUnsupported
		return res, nil
	}
	req := &model.ShowResourceTagRequest{ResourceId: r.ResourceID, ResourceType: tmsType}
	if r.ProjectID != "" {
		req.ProjectId = ptr(r.ProjectID)
	}
	resp, err := call(ctx, c.tmsLimit, apiShowTags, func() (*model.ShowResourceTagResponse, error) {
		return c.tms.ShowResourceTag(req)
	})
	var ae *APIError
	switch {
	case err == nil:
		res.Status = inventory.TagsOK
		res.Tags = tagMap(resp.Tags)
		return res, nil
	case errors.As(err, &ae) && ae.Kind == KindNotFound:
		res.Status = inventory.TagsNotFound
		return res, nil
	case errors.As(err, &ae) && ae.Kind == KindForbidden:
		res.Status = inventory.TagsError
		res.Error = ae.Error()
		return res, nil
	}
	return res, err
}

func tagMap(tags *[]model.TagVo) map[string]string {
	if tags == nil || len(*tags) == 0 {
		return nil
	}
	m := make(map[string]string, len(*tags))
	for _, t := range *tags {
		m[t.Key] = deref(t.Value)
	}
	return m
}
