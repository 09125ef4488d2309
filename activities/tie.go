package activities

import (
	"context"
	"slices"
	"time"

	"go.temporal.io/sdk/activity"

	"expiry-sync/internal/contract"
	"expiry-sync/internal/huawei"
)

// tiePasses bounds the reads of a tie: BSS may list its records in another
// order on each call, so pages over it overlap and miss; the tie is read
// again until as many distinct records came back as BSS counts. (A tie of
// up to a page is read whole in one call.)
const tiePasses = 10

// readTie reads whole the tie of expire times that fills a page (b.tie,
// from b.tieStart on; a batch purchase bought hundreds of resources that
// expire in the same second): a query of its own, for that second alone,
// read until every record it counts came back, whatever order each call
// lists them in. The page then holds the whole tie, and the next page
// starts on its last position (see boundary.go). When the tie cannot be
// read whole (records without ids, a count that does not settle, a query
// that misses records the page showed), the page and its doubt stay as
// they were; moved says the tie changed while it was read (the account
// changes: the page is worth listing again).
func (a *Activities) readTie(
	ctx context.Context,
	acc *Account,
	in contract.ListPageInput,
	page huawei.Page,
	b boundary,
) (huawei.Page, boundary, bool, error) {
	list := func(q huawei.ListQuery) (huawei.Page, error) { return acc.Huawei.ListPage(ctx, q) }
	tie, whole, moved, err := listTie(list, in, b.tie, page.Records[b.tieStart:])
	if err == nil && whole {
		whole, err = tieInPlace(list, in, in.Offset+b.tieStart, tie.Received, b.tie)
	}
	if err != nil || !whole {
		return page, b, moved, err
	}
	activity.GetLogger(ctx).Info("read whole a tie of expire times that fills a page", "offset", in.Offset,
		"expire_time", b.tie, "records", tie.Received)
	return withTie(page, b.tieStart, tie), boundary{advance: b.tieStart + tie.Received - 1, through: b.tie}, false, nil
}

// listTie pages through the records that expire at t, up to tiePasses
// times, until it holds as many distinct ones as BSS counts, among them
// every one the page showed. Every call must count the same: a record
// released meanwhile would be counted in what was read and not in the
// total, and hide one that was missed. (One added to that very second
// while another is released would not show; a purchase that expires in
// the same second as others is bought in that same second.) moved: the
// tie changed while it was read (its count moved, or a record the page
// showed is no longer in it).
func listTie(
	list func(huawei.ListQuery) (huawei.Page, error),
	in contract.ListPageInput,
	t time.Time,
	shown []huawei.Record,
) (tie huawei.Page, whole, moved bool, err error) {
	q := huawei.ListQuery{ExpireBegin: t, ExpireEnd: t, StatusList: in.Statuses, Limit: in.Limit}
	seen := map[string]bool{}
	total := -1
	for range tiePasses {
		for offset := 0; ; {
			q.Offset = offset
			p, err := list(q)
			switch {
			case err != nil:
				return tie, false, false, err
			case p.TotalCount < 0:
				return tie, false, false, nil // no count: nothing to settle on
			case total >= 0 && p.TotalCount != total:
				return tie, false, true, nil
			case slices.ContainsFunc(p.Records, func(r huawei.Record) bool { return r.ID == "" }):
				return tie, false, false, nil // records without ids cannot be counted
			}
			addNew(&tie, p, seen)
			total, offset = p.TotalCount, offset+p.Received
			if p.Received == 0 || offset >= total {
				break
			}
		}
		if len(seen) == total {
			gone := slices.ContainsFunc(shown, func(r huawei.Record) bool { return r.ID != "" && !seen[r.ID] })
			return tie, !gone, gone, nil
		}
	}
	return tie, false, false, nil
}

// tieInPlace checks that the listing holds the tie's records, and only
// them, from the page's tie on (an order that only looked sorted would
// not): every record listed at offsets [start, start+n) expires at t.
func tieInPlace(
	list func(huawei.ListQuery) (huawei.Page, error),
	in contract.ListPageInput,
	start, n int,
	t time.Time,
) (bool, error) {
	q := huawei.ListQuery{
		ExpireBegin: in.WindowBegin,
		ExpireEnd:   in.WindowEnd,
		StatusList:  in.Statuses,
		Limit:       in.Limit,
	}
	for offset := start; offset < start+n; {
		q.Offset = offset
		p, err := list(q)
		if err != nil || p.Received == 0 {
			return false, err
		}
		for _, r := range p.Records[:min(len(p.Records), start+n-offset)] {
			if !r.Expire.Equal(t) {
				return false, nil
			}
		}
		offset += p.Received
	}
	return true, nil
}

// addNew adds to tie the records of p it does not hold yet.
func addNew(tie *huawei.Page, p huawei.Page, seen map[string]bool) {
	quarantined := map[int]huawei.Quarantined{}
	for _, q := range p.Quarantined {
		quarantined[q.Index] = q
	}
	readable := map[string]int{}
	for i, r := range p.Resources {
		readable[r.ResourceID] = i
	}
	for i, r := range p.Records {
		if seen[r.ID] {
			continue
		}
		seen[r.ID] = true
		if q, ok := quarantined[i]; ok {
			q.Index = len(tie.Records)
			tie.Quarantined = append(tie.Quarantined, q)
		} else if j, ok := readable[r.ID]; ok {
			tie.Resources = append(tie.Resources, p.Resources[j])
		}
		tie.Records = append(tie.Records, r)
	}
	tie.Received = len(tie.Records)
}

// withTie is the page with its records from start on replaced by the
// whole tie.
func withTie(page huawei.Page, start int, tie huawei.Page) huawei.Page {
	out := huawei.Page{TotalCount: page.TotalCount, Received: start + tie.Received}
	out.Records = append(slices.Clone(page.Records[:start]), tie.Records...)
	tied := map[string]bool{}
	for _, r := range tie.Records {
		tied[r.ID] = true
	}
	for _, r := range page.Resources {
		if !tied[r.ResourceID] {
			out.Resources = append(out.Resources, r)
		}
	}
	out.Resources = append(out.Resources, tie.Resources...)
	for _, q := range page.Quarantined {
		if q.Index < start {
			out.Quarantined = append(out.Quarantined, q)
		}
	}
	for _, q := range tie.Quarantined {
		q.Index += start
		out.Quarantined = append(out.Quarantined, q)
	}
	return out
}
