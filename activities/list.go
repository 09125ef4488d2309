package activities

import (
	"context"

	"slices"
	"time"

	"go.temporal.io/sdk/activity"

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
	// SyncID and Generation: leave out the resources this attempt of the
	// sync has already written (a page listed again after the listing
	// shifted), and tell apart those an earlier attempt wrote (Known).
	SyncID     string `json:"sync_id,omitempty"`
	Generation int64  `json:"generation,omitempty"`
	// Anchor: the last ids of the previous page. This page starts inside
	// them when the listing did not shift under the sync; leave them out.
	Anchor []string `json:"anchor,omitempty"`
	// Overlap: how many of the page's last ids to return as its Tail.
	Overlap int `json:"overlap,omitempty"`
}

// ListPageResult is one page: at most 500 resources cross history at once.
type ListPageResult struct {
	// Resources are the page's resources this sync has not written yet.
	Resources []inventory.Resource `json:"resources"`
	// Known are those an earlier attempt of the sync wrote: their BSS
	// fields are written again, their tags are not read again.
	Known      []inventory.Resource `json:"known,omitempty"`
	TotalCount int                  `json:"total_count"` // -1: BSS did not say
	Received   int                  `json:"received"`    // records in the answer
	Retries    int                  `json:"retries,omitempty"`
	// Connected: the page overlaps the Anchor (or there is nothing to
	// overlap), so no resource can have slid past the sync between the two
	// pages. When false, the workflow lists again further back.
	Connected bool `json:"connected,omitempty"`
	// Tail: the page's last Overlap ids, the next page's Anchor.
	Tail        []string                `json:"tail,omitempty"`
	Quarantined []inventory.Quarantined `json:"quarantined,omitempty"`
}

// ListPage lists one page of resources expiring inside the window and
// tells whether it joins the previous one.
func (a *Activities) ListPage(ctx context.Context, in ListPageInput) (ListPageResult, error) {
	defer keepAlive(ctx, nil)()
	page, err := a.Huawei.ListPage(ctx, huawei.ListQuery{
		ExpireBegin: in.WindowBegin, ExpireEnd: in.WindowEnd, StatusList: in.Statuses, Offset: in.Offset, Limit: in.Limit,
	})
	if err != nil {
		return ListPageResult{}, huaweiError(err)
	}
	ids := make([]string, len(page.Resources))
	for i, r := range page.Resources {
		ids[i] = r.ResourceID
	}
	res := ListPageResult{
		TotalCount: page.TotalCount, Received: page.Received, Retries: retries(ctx),
		Connected: in.Offset == 0 || len(in.Anchor) == 0 || slices.ContainsFunc(ids, func(id string) bool { return slices.Contains(in.Anchor, id) }),
		Tail:      ids[max(0, len(ids)-in.Overlap):],
	}
	if in.Overlap == 0 {
		res.Tail = nil
	}
	written := map[string]int64{}
	if in.SyncID != "" {
		if written, err = a.Store.WrittenBy(ctx, a.AccountID, in.SyncID, ids); err != nil {
			return ListPageResult{}, databaseError("read rows written by the sync", err)
		}
	}
	for _, r := range page.Resources {
		gen, wrote := written[r.ResourceID]
		if (wrote && gen >= in.Generation) || slices.Contains(in.Anchor, r.ResourceID) {
			continue // this attempt has it already
		}
		r.TagType, _ = a.Huawei.Catalog().Lookup(r.ResourceTypeCode, r.IsMainResource)
		if wrote {
			res.Known = append(res.Known, r)
		} else {
			res.Resources = append(res.Resources, r)
		}
	}
	activity.GetLogger(ctx).Info("listed a page", "sync_id", in.SyncID, "account", a.AccountID, "offset", in.Offset,
		"received", res.Received, "new", len(res.Resources), "known", len(res.Known), "total_count", res.TotalCount,
		"connected", res.Connected, "quarantined", len(res.Quarantined))
	return res, nil
}
