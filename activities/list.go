package activities

import (
	"cmp"
	"context"
	"maps"
	"slices"
	"time"

	"go.temporal.io/sdk/activity"

	"expiry-sync/internal/contract"
	"expiry-sync/internal/huawei"
	"expiry-sync/internal/inventory"
)

// ListPage lists one page of resources expiring inside the window, tells
// whether it joins the previous one (see boundary.go) and where the next
// one starts. An empty answer before BSS's total_count is asked again
// before it is taken as the end of the listing (FinishSync then counts
// what the listing missed).
func (a *Activities) ListPage(ctx context.Context, in contract.ListPageInput) (contract.ListPageResult, error) {
	defer keepAlive(ctx, nil)()
	acc, err := a.account(in.Account)
	if err != nil {
		return contract.ListPageResult{}, err
	}
	page, res, err := a.placePage(ctx, acc, in)
	if err != nil {
		return contract.ListPageResult{}, huaweiError(err)
	}
	for _, q := range page.Quarantined {
		res.Quarantined = append(
			res.Quarantined,
			inventory.Quarantined{Offset: in.Offset + q.Index, ResourceID: q.ResourceID, Reason: q.Reason},
		)
	}
	if stage(in, page.TotalCount) {
		if err := a.stagePage(ctx, acc, in, page.Resources, &res); err != nil {
			return contract.ListPageResult{}, err
		}
		activity.GetLogger(ctx).Info("listed and staged a page", "sync_id", in.SyncID, "account", acc.Name,
			"offset", in.Offset, "page_key", in.PageKey, "received", res.Received, "total_count", res.TotalCount,
			"quarantined", len(res.Quarantined))
		return res, nil
	}
	written := map[string]int64{}
	if in.SyncID != "" {
		if written, err = a.Store.WrittenBy(ctx, acc.DomainID, in.SyncID, resourceIDsOf(page.Resources)); err != nil {
			return contract.ListPageResult{}, databaseError("read rows written by the sync", err)
		}
	}
	for _, r := range page.Resources {
		gen, wrote := written[r.ResourceID]
		if (wrote && gen >= in.Generation) || slices.Contains(in.Anchor, r.ResourceID) || listedWithTie(in, r) {
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

// tieAsks is how many times a page that ends on a tie is listed, while
// the tie changes as it is read (the account changes under the listing).
const tieAsks = 3

// placePage lists the page and says how it follows the previous one and
// where the next starts (see boundary.go); a page whose tie changed while
// it was read whole is listed again.
func (a *Activities) placePage(
	ctx context.Context,
	acc *Account,
	in contract.ListPageInput,
) (huawei.Page, contract.ListPageResult, error) {
	for ask := 1; ; ask++ {
		page, err := a.listPage(ctx, acc, in)
		if err != nil {
			return page, contract.ListPageResult{}, err
		}
		res := contract.ListPageResult{
			TotalCount: page.TotalCount,
			Retries:    retries(ctx),
			Head:       head(page.Records, in.Overlap),
		}
		res.Connected = in.Offset == 0 || page.Received == 0 // an empty page ends the listing: nothing to overlap
		if !res.Connected {
			prev := boundary{tail: in.Anchor, before: in.Before, lead: in.Lead, through: in.Through}
			res.Connected, res.Doubt = overlapped(prev, recordIDs(page.Records), res.Head, latest(page.Resources))
		}
		if in.Overlap > 0 {
			b := pageBoundary(in.Offset, page.Records, in.Overlap, lastPage(in, page))
			if !b.tie.IsZero() {
				var moved bool
				if page, b, moved, err = a.readTie(ctx, acc, in, page, b); err != nil {
					return page, res, err
				}
				if moved && ask < tieAsks {
					continue
				}
			}
			res.Advance, res.Tail, res.Before, res.Lead, res.Through = b.advance, b.tail, b.before, b.lead, b.through
			res.Doubt = cmp.Or(res.Doubt, b.doubt)
		}
		res.Received = page.Received
		return page, res, nil
	}
}

// emptyPageAsks is how many times an empty answer before total_count is
// asked for: BSS's count and its records may disagree for a moment while
// the account changes.
const emptyPageAsks = 3

// listPage asks BSS for the page, again (after a pause) while it comes
// back empty before BSS's own total_count.
func (a *Activities) listPage(ctx context.Context, acc *Account, in contract.ListPageInput) (huawei.Page, error) {
	q := huawei.ListQuery{
		ExpireBegin: in.WindowBegin,
		ExpireEnd:   in.WindowEnd,
		StatusList:  in.Statuses,
		Offset:      in.Offset,
		Limit:       in.Limit,
	}
	pause := time.Second
	for ask := 1; ; ask++ {
		page, err := acc.Huawei.ListPage(ctx, q)
		if err != nil || page.Received > 0 || page.TotalCount <= in.Offset || ask == emptyPageAsks || in.Overlap == 0 {
			return page, err
		}
		activity.GetLogger(ctx).Warn("BSS answered no record before its total_count: asking again", "offset", in.Offset,
			"total_count", page.TotalCount)
		select {
		case <-ctx.Done():
			return page, ctx.Err()
		case <-time.After(pause):
		}
		pause *= 2
	}
}

// listedWithTie: the page before read whole the tie of expire times this
// record belongs to (every record of that second, in one block): it was
// listed with that page.
func listedWithTie(in contract.ListPageInput, r inventory.Resource) bool {
	return !in.Through.IsZero() && r.ExpireTime.Equal(in.Through)
}

// lastPage says whether BSS has nothing after the page (by its count, or
// by a short answer when it gives none).
func lastPage(in contract.ListPageInput, page huawei.Page) bool {
	if page.TotalCount >= 0 {
		return in.Offset+page.Received >= page.TotalCount
	}
	return page.Received < in.Limit
}

// latest is the latest expire time of the resources (zero: none).
func latest(resources []inventory.Resource) time.Time {
	var t time.Time
	for _, r := range resources {
		if r.ExpireTime.After(t) {
			t = r.ExpireTime
		}
	}
	return t
}

func recordIDs(records []huawei.Record) []string {
	ids := make([]string, 0, len(records))
	for _, r := range records {
		if r.ID != "" {
			ids = append(ids, r.ID)
		}
	}
	return ids
}

func resourceIDsOf(resources []inventory.Resource) []string {
	ids := make([]string, len(resources))
	for i, r := range resources {
		ids[i] = r.ResourceID
	}
	return ids
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
func (a *Activities) stagePage(
	ctx context.Context,
	acc *Account,
	in contract.ListPageInput,
	resources []inventory.Resource,
	res *contract.ListPageResult,
) error {
	counts := map[string]int{}
	for i := range resources {
		r := &resources[i]
		r.TagType, _ = acc.Huawei.Catalog().Lookup(r.ResourceTypeCode, r.IsMainResource)
		if r.TagType != "" && r.ProjectID != "" {
			counts[r.ProjectID+"/"+r.TagType]++
		}
	}
	w := acc.writer(in.SyncID, in.Generation, in.LeaseToken)
	if err := a.Store.StagePage(ctx, w, in.PageKey, resources); err != nil {
		return writeError("stage the page", err)
	}
	res.Staged = true
	for _, pair := range slices.Sorted(maps.Keys(counts)) {
		res.Pairs = append(res.Pairs, contract.PairCount{Pair: pair, Resources: counts[pair]})
	}
	return nil
}
