package activities

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"go.temporal.io/sdk/activity"

	"expiry-sync/internal/contract"
	"expiry-sync/internal/huawei"
	"expiry-sync/internal/inventory"
	"expiry-sync/internal/store"
)

// RecheckUnseen asks BSS, by id (50 a call), about every active resource
// of the account that this attempt's listing did not see and that expires
// by the window's end: those that left the window (renewed), that BSS closed
// or released, and the overdue ones behind the window. The id reached is
// heartbeated, so a retry goes on from there.
//
// Nothing is gone without BSS's positive word on that very resource: it is
// listed closed (status 3), or it is absent from an answer BSS gave whole
// (one call holding every record of its total_count, no unreadable record
// among them). An id whose record came back unreadable, or that an answer
// read in several calls or short of its total_count may have held, is
// asked again on its own, and stays as it is (unknown) if that cannot
// settle it either. The sync's own status filter plays no part: a resource
// in use is not gone because the sync listed expired ones.
//
// A look-up BSS refuses for good (a 4xx, or answers that ignore the id
// filter) ends the re-check without failing the sync: what was proved
// stands, the rest stays as it is, and the result says what the look-up
// needs.
func (a *Activities) RecheckUnseen(ctx context.Context, in contract.RecheckInput) (contract.RecheckResult, error) {
	res := contract.RecheckResult{Retries: retries(ctx)}
	after := ""
	if activity.HasHeartbeatDetails(ctx) {
		_ = activity.GetHeartbeatDetails(ctx, &after)
	}
	beat := &progress{}
	beat.set(after)
	defer keepAlive(ctx, beat)()
	acc, err := a.account(in.Account)
	if err != nil {
		return res, err
	}
	w := acc.writer(in.SyncID, in.Generation, in.LeaseToken)
	for {
		ids, err := a.Store.RecheckCandidates(ctx, w, in.Until, after, huawei.MaxIDsPerQuery)
		if err != nil {
			return res, databaseError("list resources to re-check", err)
		}
		if len(ids) == 0 {
			return res, nil
		}
		v, err := a.judge(ctx, acc, ids, &res)
		if reason := lookupRefused(err); reason != "" {
			return a.refused(ctx, w, in, after, reason, res)
		}
		if err != nil {
			return res, huaweiError(err)
		}
		rc := store.Recheck{Writer: w, SyncedAt: in.SyncedAt, Found: v.found, Gone: v.gone}
		if err := a.Store.ApplyRecheck(ctx, rc); err != nil {
			return res, writeError("record the re-check", err)
		}
		res.Found += len(v.found)
		res.Gone += len(v.gone)
		res.Quarantined += len(v.unknown)
		for _, id := range v.unknown {
			if len(res.Unknown) < maxUnknownNamed {
				res.Unknown = append(res.Unknown, id)
			}
		}
		activity.GetLogger(ctx).Info("re-checked unseen resources by id", "sync_id", in.SyncID, "account", acc.Name,
			"asked", len(ids), "found", len(v.found), "gone", len(v.gone), "unknown", len(v.unknown), "after", after)
		after = ids[len(ids)-1]
		beat.set(after)
	}
}

// maxUnknownNamed bounds the unknown ids a result names (it crosses history).
const maxUnknownNamed = 5

// verdicts is what BSS's answers prove of some asked ids.
type verdicts struct {
	found   []inventory.Resource // listed and not closed: kept active, refreshed
	gone    []store.GoneResource // closed, or absent from a whole answer
	unknown []string             // nothing proved: left as they are
}

// judge asks BSS about ids, then about each id the answer leaves in doubt
// on its own.
func (a *Activities) judge(
	ctx context.Context,
	acc *Account,
	ids []string,
	res *contract.RecheckResult,
) (verdicts, error) {
	var v verdicts
	ans, err := a.lookup(ctx, acc, ids, res)
	if err != nil {
		return v, err
	}
	doubtful := ans.judge(ids, &v)
	for _, id := range doubtful {
		one, err := a.lookup(ctx, acc, []string{id}, res)
		if err != nil {
			return v, err
		}
		if again := one.judge([]string{id}, &v); len(again) > 0 {
			v.unknown = append(v.unknown, id)
		}
	}
	return v, nil
}

// answer is what BSS answered to a look-up by id, every page of it.
type answer struct {
	records    map[string]inventory.Resource // readable records, by id
	unreadable map[string]bool               // asked ids whose record could not be read
	anonymous  int                           // unreadable records naming no asked id
	whole      bool                          // one call held every record BSS counts
}

// judge sorts ids by what the answer proves, and returns those it leaves
// in doubt: absent from an answer that was not whole.
func (ans answer) judge(ids []string, v *verdicts) (doubtful []string) {
	for _, id := range ids {
		r, listed := ans.records[id]
		switch {
		case listed && r.Status != nil && *r.Status == inventory.StatusClosed:
			v.gone = append(v.gone, store.GoneResource{ResourceID: id, Status: r.Status})
		case listed:
			v.found = append(v.found, r) // an unknown status is no proof it is gone
		case ans.unreadable[id]:
			v.unknown = append(v.unknown, id)
		case ans.whole && ans.anonymous == 0:
			v.gone = append(v.gone, store.GoneResource{ResourceID: id})
		default:
			doubtful = append(doubtful, id)
		}
	}
	return doubtful
}

// maxLookupCalls bounds the pages of one look-up: 50 ids with all their
// attached resources, should BSS add them, fit many times over.
const maxLookupCalls = 40

// lookup asks BSS for ids (main resources only: an attached one asked
// answers itself) and pages to the end of the answer.
func (a *Activities) lookup(
	ctx context.Context,
	acc *Account,
	ids []string,
	res *contract.RecheckResult,
) (answer, error) {
	ans := answer{records: map[string]inventory.Resource{}, unreadable: map[string]bool{}}
	offset, calls := 0, 0
	for {
		page, err := acc.Huawei.ListPage(
			ctx,
			huawei.ListQuery{ResourceIDs: ids, MainOnly: true, Offset: offset, Limit: huawei.MaxPageSize},
		)
		if err != nil {
			return ans, err
		}
		calls++
		res.Calls++
		if err := ans.add(ids, page); err != nil {
			return ans, err
		}
		offset += page.Received
		switch {
		case page.TotalCount >= 0 && offset >= page.TotalCount, page.TotalCount < 0 && page.Received == 0:
			ans.whole = calls == 1
			return ans, nil
		case page.Received == 0, calls == maxLookupCalls:
			return ans, nil // short of BSS's own count: not whole
		}
	}
}

// add takes one page of a look-up's answer. A record that is neither an
// asked id nor attached to one means BSS ignored the id filter: nothing
// can be concluded from such answers.
func (ans *answer) add(ids []string, page huawei.Page) error {
	for _, r := range page.Resources {
		if !slices.Contains(ids, r.ResourceID) && !slices.Contains(ids, r.ParentResourceID) {
			return &idFilterIgnored{asked: len(ids), other: r.ResourceID}
		}
		ans.records[r.ResourceID] = r
	}
	for _, q := range page.Quarantined {
		if slices.Contains(ids, q.ResourceID) {
			ans.unreadable[q.ResourceID] = true
		} else {
			ans.anonymous++
		}
	}
	return nil
}

// idFilterIgnored: BSS answered a look-up by id with a resource it was
// not asked about.
type idFilterIgnored struct {
	asked int
	other string
}

func (e *idFilterIgnored) Error() string {
	return fmt.Sprintf(
		"BSS ListPayPerUseCustomerResources: asked for %d resource ids, the answer holds %s too: "+
			"BSS did not apply the resource_ids filter",
		e.asked,
		e.other,
	)
}

// lookupRefused says why BSS refuses the look-up for good ("" when it does
// not): a 4xx that retrying cannot change (bad credentials aside, which
// fail the sync as they fail its listing), or answers that ignore the ids.
func lookupRefused(err error) string {
	var (
		ignored *idFilterIgnored
		ae      *huawei.APIError
	)
	switch {
	case errors.As(err, &ignored):
		return ignored.Error()
	case errors.As(err, &ae) &&
		(ae.Kind == huawei.KindBadRequest || ae.Kind == huawei.KindForbidden || ae.Kind == huawei.KindNoAPI):
		return ae.Problem() // its generic hint would mislead: the result says what the look-up needs
	}
	return ""
}

// refused ends a re-check BSS refuses: what it proved stands, and the
// result says how many resources stay unchecked and what the look-up needs.
func (a *Activities) refused(
	ctx context.Context,
	w store.Writer,
	in contract.RecheckInput,
	after, reason string,
	res contract.RecheckResult,
) (contract.RecheckResult, error) {
	left, err := a.Store.CountRecheckCandidates(ctx, w, in.Until, after)
	if err != nil {
		return res, databaseError("count resources to re-check", err)
	}
	res.Refused = fmt.Sprintf("BSS refused the look-up by id that tells which resources are gone: %s. "+
		"%d resources the listing did not see stay as they were (none was marked inactive without proof). "+
		"The look-up is ListPayPerUseCustomerResources with resource_ids and only_main_resource=1: "+
		"it needs the permission the listing has "+
		"(bss:order:view, or billing:subscription:view under identity policies) "+
		"and a BSS that applies resource_ids", reason, left)
	activity.GetLogger(ctx).Warn("re-check by id refused: the sync completes without it", "sync_id", in.SyncID,
		"unchecked", left, "reason", reason)
	return res, nil
}
