package huawei

import (
	"context"
	"errors"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/tms/v1/model"

	"expiry-sync/internal/inventory"
)

const apiShowTags = "TMS ShowResourceTag"

// ResourceTags queries one resource's tags. A resource of a type without TMS
// tags in the client's catalog is reported untagged without a call; a 404
// from TMS (the resource vanished since it was listed) is a TagsNotFound
// result. Every other failure is an *APIError: a 403 other than TMS.0006
// throttling is KindForbidden with IAMAction "tms:resourceTags:list" and
// concerns the whole account (TMS has no per-resource authorization); a 400
// (e.g. a resource listed without project_id) is KindBadRequest.
func (c *Client) ResourceTags(ctx context.Context, r inventory.TagTarget) (inventory.TagResult, error) {
	res := inventory.TagResult{ResourceID: r.ResourceID}
	// The listing named the TMS type (it knows whether the resource is a
	// main one); older callers leave it to the type code, and main-only
	// entries (shared bandwidth) are then not looked up.
	tmsType, ok := r.TagType, r.TagType != ""
	if !ok {
		tmsType, ok = c.Catalog().Lookup(r.ResourceTypeCode, false)
	}
	if !ok {
		res.Status = inventory.TagsUnsupported
		return res, nil
	}
	req := &model.ShowResourceTagRequest{ResourceId: r.ResourceID, ResourceType: tmsType}
	if r.ProjectID != "" {
		req.ProjectId = ptr(r.ProjectID)
	}
	resp, err := call(ctx, c.observer, c.tmsLimit, apiShowTags, func() (*model.ShowResourceTagResponse, error) {
		return c.tms.ShowResourceTag(req)
	})
	var ae *APIError
	switch {
	case err == nil && resp.Tags == nil:
		return res, &APIError{API: apiShowTags, Kind: KindBadResponse, Status: resp.HttpStatusCode,
			Message: "the answer has no tags field: the resource's tags are unknown, not none"}
	case err == nil:
		res.Status = inventory.TagsOK
		res.Tags = tagMap(resp.Tags)
		return res, nil
	case errors.As(err, &ae) && ae.Kind == KindNotFound:
		res.Status = inventory.TagsNotFound
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
