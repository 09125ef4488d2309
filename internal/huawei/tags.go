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
// throttling is KindForbidden with its Scope set: a missing permission
// (IAMAction: the one the answer names, else "tms:resourceTags:list")
// covers the resource's TMS type, or that type in the resource's
// enterprise project when the answer says so, since tag reads also need
// the owning service's permission (permissions.go); any other 403 (an IP
// block) covers AllTags. A 400 (e.g. a resource listed without project_id)
// is KindBadRequest.
func (c *Client) ResourceTags(ctx context.Context, r inventory.TagTarget) (inventory.TagResult, error) {
	res := inventory.TagResult{ResourceID: r.ResourceID}
	tmsType, ok := c.TagTypeOf(r)
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
	case errors.As(err, &ae) && ae.Kind == KindForbidden:
		ae.Scope = deniedScope(ae, tmsType, r.EnterpriseProjectID)
	}
	return res, err
}

// TagTypeOf is the TMS type r's tags are read under, false when TMS has
// none for it. The listing named the type (it knows whether the resource
// is a main one); older callers leave it to the type code, and main-only
// entries (shared bandwidth) are then not looked up.
func (c *Client) TagTypeOf(r inventory.TagTarget) (string, bool) {
	if r.TagType != "" {
		return r.TagType, true
	}
	return c.Catalog().Lookup(r.ResourceTypeCode, false)
}

// deniedScope is what a 403 on reading the tags of a resource of tmsType
// in enterprise project ep refuses (see ResourceTags).
func deniedScope(ae *APIError, tmsType, ep string) string {
	switch {
	case ae.IAMAction == "":
		return AllTags
	case ep != "" && enterpriseProjectIn(ae.Message):
		return TagScope(tmsType, ep)
	}
	return tmsType
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
