package activities

import (
	"context"
	"time"

	"expiry-sync/internal/huawei"
	"expiry-sync/internal/inventory"
)

// ListPageInput selects one listing page.
type ListPageInput struct {
	WindowBegin time.Time `json:"window_begin"`
	WindowEnd   time.Time `json:"window_end"`
	Statuses    []int     `json:"statuses,omitempty"`
	Offset      int       `json:"offset"`
	Limit       int       `json:"limit"`
}

// ListPageResult is one page: at most 500 resources cross history at once.
type ListPageResult struct {
	Resources  []inventory.Resource `json:"resources"`
	TotalCount int                  `json:"total_count"`
	Received   int                  `json:"received"`
	Retries    int                  `json:"retries,omitempty"`
}

// ListPage lists one page of resources expiring inside the window.
func (a *Activities) ListPage(ctx context.Context, in ListPageInput) (ListPageResult, error) {
	defer keepAlive(ctx, nil)()
	page, err := a.Huawei.ListPage(ctx, huawei.ListQuery{
		ExpireBegin: in.WindowBegin, ExpireEnd: in.WindowEnd, StatusList: in.Statuses, Offset: in.Offset, Limit: in.Limit,
	})
	if err != nil {
		return ListPageResult{}, huaweiError(err)
	}
	return ListPageResult{Resources: page.Resources, TotalCount: page.TotalCount, Received: page.Received, Retries: retries(ctx)}, nil
}
