package huawei

import (
	"context"
	"slices"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/tms/v1/model"

	"expiry-sync/internal/catalog"
)

const apiListProviders = "TMS ListProviders"

// providersPage is ListProviders's largest limit
// (https://support.huaweicloud.com/api-tms/ListProviders.html: 1-200).
const providersPage = 200

// Providers returns the resource types TMS serves (every resource_type of
// every provider of TMS ListProviders), sorted. The API needs no IAM
// permission, so it checks the credentials and the TMS endpoint alone.
func (c *Client) Providers(ctx context.Context) ([]string, error) {
	var types []string
	for offset := 0; ; {
		resp, err := call(ctx, c.observer, c.tmsLimit, apiListProviders, func() (*model.ListProvidersResponse, error) {
			return c.tms.ListProviders(
				&model.ListProvidersRequest{Offset: ptr(int32(offset)), Limit: ptr(int32(providersPage))},
			)
		})
		if err != nil {
			return nil, err
		}
		page := deref(resp.Providers)
		for _, p := range page {
			for _, rt := range p.ResourceTypes {
				types = append(types, rt.ResourceType)
			}
		}
		offset += len(page)
		if len(page) == 0 || (resp.TotalCount != nil && offset >= int(*resp.TotalCount)) {
			slices.Sort(types)
			return slices.Compact(types), nil
		}
	}
}

// RestrictCatalog asks TMS which resource types it serves and restricts the
// client's catalog to them (catalog.Table.Restrict). It returns one warning
// per type dropped: those resources are stored as types without tags.
func (c *Client) RestrictCatalog(ctx context.Context) ([]string, error) {
	if reason := c.TagsUnsupported(); reason != "" {
		return []string{"tags are not read: " + reason}, nil
	}
	served, err := c.Providers(ctx)
	if err != nil {
		return nil, err
	}
	table, warnings := catalog.Default().Restrict(served)
	c.UseCatalog(table)
	return warnings, nil
}
