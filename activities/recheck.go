package activities

import (
	"context"
	"expiry-sync/internal/contract"
	"fmt"
	"slices"

	"go.temporal.io/sdk/activity"

	"expiry-sync/internal/huawei"
	"expiry-sync/internal/inventory"
	"expiry-sync/internal/store"
)

// RecheckUnseen asks BSS, by id (50 a call), about every active resource
// of the account that this sync's listing did not see and that expires by
// the window's end: those that left the window (renewed), that BSS closed or
// released, and the overdue ones behind the window. Nothing is declared gone
// without BSS's word on that very resource. The id reached is heartbeated,
// so a retry goes on from there.
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
		page, err := acc.Huawei.ListPage(ctx, huawei.ListQuery{ResourceIDs: ids, Limit: huawei.MaxPageSize})
		if err != nil {
			return res, huaweiError(err)
		}
		res.Calls++
		rc, err := verdicts(ids, page, in.Statuses)
		if err != nil {
			return res, huaweiError(err)
		}
		rc.Writer, rc.SyncedAt = w, in.SyncedAt
		if err := a.Store.ApplyRecheck(ctx, rc); err != nil {
			return res, writeError("record the re-check", err)
		}
		res.Found += len(rc.Found)
		res.Gone += len(rc.Gone)
		res.Quarantined += len(ids) - len(rc.Found) - len(rc.Gone)
		activity.GetLogger(ctx).Info("re-checked unseen resources by id", "sync_id", in.SyncID, "account", acc.Name,
			"asked", len(ids), "found", len(rc.Found), "gone", len(rc.Gone), "after", after)
		after = ids[len(ids)-1]
		beat.set(after)
	}
}

// verdicts sorts the asked ids by what BSS answered: found with a status
// the sync keeps, gone (another status, or not listed), or neither (an
// unreadable record). An answer that names resources that were not asked
// for (other than their children) means BSS ignored the id filter: then
// nothing can be concluded.
func verdicts(ids []string, page huawei.Page, statuses []int) (store.Recheck, error) {
	var rc store.Recheck
	listed := make(map[string]inventory.Resource, len(page.Resources))
	for _, r := range page.Resources {
		if !slices.Contains(ids, r.ResourceID) && !slices.Contains(ids, r.ParentResourceID) {
			return rc, &huawei.APIError{API: "BSS ListPayPerUseCustomerResources", Kind: huawei.KindBadResponse,
				Message: fmt.Sprintf("asked for %d resource ids, the answer holds %s too: the id filter was not applied", len(ids), r.ResourceID)}
		}
		listed[r.ResourceID] = r
	}
	unreadable := quarantinedIDs(page)
	for _, id := range ids {
		r, ok := listed[id]
		switch {
		case ok && (r.Status == nil || slices.Contains(statuses, *r.Status)):
			rc.Found = append(rc.Found, r) // listed; an unknown status is no proof it is gone
		case ok:
			rc.Gone = append(rc.Gone, store.GoneResource{ResourceID: id, Status: r.Status})
		case unreadable[id]:
		default:
			rc.Gone = append(rc.Gone, store.GoneResource{ResourceID: id})
		}
	}
	return rc, nil
}

// quarantinedIDs are the ids of the answer's unreadable records.
func quarantinedIDs(page huawei.Page) map[string]bool {
	out := map[string]bool{}
	for _, q := range page.Quarantined {
		out[q.ResourceID] = true
	}
	return out
}
