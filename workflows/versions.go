package workflows

import "go.temporal.io/sdk/workflow"

// Every change of a workflow's command sequence since the first release,
// behind workflow.GetVersion, with one predicate per gate: recorded
// histories of earlier versions still replay (replay_test.go). A new gate
// adds its change id here, its predicate, and a recorded history.

// The sync (SyncExpiringResources).
const (
	// versionInventoryTruth adds the account lease, overlap-verified
	// listing, the re-check by id and evidence-based deactivation.
	versionInventoryTruth = "inventory-truth"
	inventoryTruth        = 1

	// versionPagesByReference counts three steps of the pipeline:
	versionPagesByReference = "pages-by-reference"
	// pagesByReference stages pages in the database in bulk mode and
	// writes each with one CommitPage;
	pagesByReference = 1
	// groupedCommits: one CommitPage writes up to commitPages ready pages;
	groupedCommits = 2
	// deepListing: the listing runs up to listAhead pages ahead, not
	// shallowListAhead.
	deepListing = 3
)

// syncVersions are the sync's gates, read once when it starts.
type syncVersions struct {
	truth workflow.Version // versionInventoryTruth
	byRef workflow.Version // versionPagesByReference
}

func readSyncVersions(ctx workflow.Context) syncVersions {
	return syncVersions{
		truth: workflow.GetVersion(ctx, versionInventoryTruth, workflow.DefaultVersion, inventoryTruth),
		byRef: workflow.GetVersion(ctx, versionPagesByReference, workflow.DefaultVersion, deepListing),
	}
}

// leasedListing: the sync holds the account's lease, verifies the overlap
// of its pages, re-checks by id and deactivates on evidence only.
func (v syncVersions) leasedListing() bool { return v.truth >= inventoryTruth }

// stagesPages: bulk-mode pages are staged in the database and passed by
// reference.
func (v syncVersions) stagesPages() bool { return v.byRef >= pagesByReference }

// groupsCommits: one CommitPage writes several ready pages.
func (v syncVersions) groupsCommits() bool { return v.byRef >= groupedCommits }

// listsDeep: the listing runs listAhead pages ahead.
func (v syncVersions) listsDeep() bool { return v.byRef >= deepListing }

// The reminders (NotifyExpiring) and the sync's hook that starts them.
const (
	// NotifyAfterSyncChange versions the sync's call to StartNotifyAfterSync:
	// histories recorded before it replay without the child.
	NotifyAfterSyncChange = "notify-after-sync"
	// SettleWhenCanceledChange versions the settle of a canceled run's
	// digests on a disconnected context: recorded histories of canceled
	// runs, which scheduled no settle, still replay.
	SettleWhenCanceledChange = "notify-settle-when-canceled"
)

// startsNotifyAfterSync: a finished sync starts its reminders.
func startsNotifyAfterSync(ctx workflow.Context) bool {
	return workflow.GetVersion(ctx, NotifyAfterSyncChange, workflow.DefaultVersion, 1) >= 1
}

// settlesWhenCanceled: a canceled reminders run settles its digests.
func settlesWhenCanceled(ctx workflow.Context) bool {
	return workflow.GetVersion(ctx, SettleWhenCanceledChange, workflow.DefaultVersion, 1) >= 1
}

// The renewals (RenewResources).
const (
	// RenewNotifyChange versions the notices to the routes' channels:
	// histories recorded before them replay without.
	RenewNotifyChange = "renew-notify-channels"
)

// tellsChannels: a request tells the routes' channels at its resting points.
func tellsChannels(ctx workflow.Context) bool {
	return workflow.GetVersion(ctx, RenewNotifyChange, workflow.DefaultVersion, 1) >= 1
}
