package activities

import (
	"context"
	"expiry-sync/internal/contract"
	"expiry-sync/internal/inventory"

	"maps"
	"slices"

	"go.temporal.io/sdk/activity"

	"expiry-sync/internal/huawei"
	"expiry-sync/internal/store"
)

// ListPage lists one page of resources expiring inside the window and
// tells whether it joins the previous one.
func (a *Activities) ListPage(ctx context.Context, in contract.ListPageInput) (contract.ListPageResult, error) {
	defer keepAlive(ctx, nil)()
	acc, err := a.account(in.Account)
	if err != nil {
		return contract.ListPageResult{}, err
	}
	page, err := acc.Huawei.ListPage(ctx, huawei.ListQuery{
		ExpireBegin: in.WindowBegin, ExpireEnd: in.WindowEnd, StatusList: in.Statuses, Offset: in.Offset, Limit: in.Limit,
	})
	if err != nil {
		return contract.ListPageResult{}, huaweiError(err)
	}
	ids := make([]string, len(page.Resources))
	for i, r := range page.Resources {
		ids[i] = r.ResourceID
	}
	res := contract.ListPageResult{
		TotalCount: page.TotalCount, Received: page.Received, Retries: retries(ctx),
		Connected: in.Offset == 0 || len(in.Anchor) == 0 || slices.ContainsFunc(ids, func(id string) bool { return slices.Contains(in.Anchor, id) }),
		Tail:      ids[max(0, len(ids)-in.Overlap):],
	}
	if in.Overlap == 0 {
		res.Tail = nil
	}
	for _, q := range page.Quarantined {
		res.Quarantined = append(res.Quarantined, inventory.Quarantined{Offset: in.Offset + q.Index, ResourceID: q.ResourceID, Reason: q.Reason})
	}
	if stage(in, page.TotalCount) {
		if err := a.stagePage(ctx, acc, in, page.Resources, &res); err != nil {
			return contract.ListPageResult{}, err
		}
		activity.GetLogger(ctx).Info("listed and staged a page", "sync_id", in.SyncID, "account", acc.Name, "offset", in.Offset,
			"page_key", in.PageKey, "received", res.Received, "total_count", res.TotalCount, "quarantined", len(res.Quarantined))
		return res, nil
	}
	written := map[string]int64{}
	if in.SyncID != "" {
		if written, err = a.Store.WrittenBy(ctx, acc.DomainID, in.SyncID, ids); err != nil {
			return contract.ListPageResult{}, databaseError("read rows written by the sync", err)
		}
	}
	for _, r := range page.Resources {
		gen, wrote := written[r.ResourceID]
		if (wrote && gen >= in.Generation) || slices.Contains(in.Anchor, r.ResourceID) {
			continue // this attempt has it already
		}
		r.TagType, _ = acc.Huawei.Catalog().Lookup(r.ResourceTypeCode, r.IsMainResource)
		if wrote {
			res.Known = append(res.Known, r)
		} else {
			res.Resources = append(res.Resources, r)
		}
	}
	activity.GetLogger(ctx).Info("listed a page", "sync_id", in.SyncID, "account", acc.Name, "offset", in.Offset,
		"received", res.Received, "new", len(res.Resources), "known", len(res.Known), "total_count", res.TotalCount,
		"connected", res.Connected, "quarantined", len(res.Quarantined))
	return res, nil
}

// stage says whether a page goes to the database rather than into history.
func stage(in contract.ListPageInput, total int) bool {
	switch {
	case in.StageFrom <= 0:
		return false
	case total < 0: // BSS gave no total: only "always" stages
		return in.StageFrom == 1
	}
	return total >= in.StageFrom
}

// stagePage keeps the whole page, its resources' TMS types filled in, for
// CommitPage (which leaves out what the sync wrote already), and counts
// the resources by the project/type pairs a bulk tag snapshot serves.
func (a *Activities) stagePage(ctx context.Context, acc *Account, in contract.ListPageInput, resources []inventory.Resource, res *contract.ListPageResult) error {
	counts := map[string]int{}
	for i := range resources {
		r := &resources[i]
		r.TagType, _ = acc.Huawei.Catalog().Lookup(r.ResourceTypeCode, r.IsMainResource)
		if r.TagType != "" && r.ProjectID != "" {
			counts[r.ProjectID+"/"+r.TagType]++
		}
	}
	key := store.PageKey{SyncID: in.SyncID, Generation: in.Generation, Key: in.PageKey}
	if err := a.Store.StagePage(ctx, key, resources); err != nil {
		return databaseError("stage the page", err)
	}
	res.Staged = true
	for _, pair := range slices.Sorted(maps.Keys(counts)) {
		res.Pairs = append(res.Pairs, contract.PairCount{Pair: pair, Resources: counts[pair]})
	}
	return nil
}
