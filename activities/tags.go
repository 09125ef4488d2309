package activities

import (
	"context"
	"errors"
	"slices"
	"time"

	"go.temporal.io/sdk/activity"

	"expiry-sync/internal/huawei"
	"expiry-sync/internal/inventory"
	"expiry-sync/internal/store"
)

// FetchTagsInput is a small group of resources whose tags one activity reads.
type FetchTagsInput struct {
	SyncID    string                `json:"sync_id"`
	Resources []inventory.TagTarget `json:"resources"`
	// FromSnapshot: the sync has read these resources' project and type in
	// bulk; a resource the snapshot lacks is queried on its own.
	FromSnapshot bool `json:"from_snapshot,omitempty"`
}

// FetchTagsResult holds one result per resource, in input order, without
// the tags themselves: those are staged in the database (tag_snapshots) for
// the batch that commits the resource, so that they never cross history.
type FetchTagsResult struct {
	Results []inventory.TagResult `json:"results"`
	Retries int                   `json:"retries,omitempty"`
	// Denied is set when TMS refused the account itself (a 403 that is not
	// throttling: TMS has no per-resource authorization). The group's
	// remaining resources are reported as errors with it, keeping their
	// stored tags, and the workflow stops asking TMS.
	Denied string `json:"denied,omitempty"`
}

// stageEvery spaces FetchTags's staging of the tags it read (one small
// INSERT): what is staged is what a retry does not read again.
const stageEvery = time.Second

// FetchTags reads the tags of each resource of the group and stages them.
// Its staged progress is heartbeated, so a retry (after an API failure or a
// dead worker) resumes where the last attempt stopped.
func (a *Activities) FetchTags(ctx context.Context, in FetchTagsInput) (FetchTagsResult, error) {
	var done []inventory.TagResult
	if activity.HasHeartbeatDetails(ctx) {
		if err := activity.GetHeartbeatDetails(ctx, &done); err != nil || len(done) > len(in.Resources) {
			done = nil // unreadable progress: start the group over, results are idempotent
		}
	}
	beat := &progress{}
	beat.set(slices.Clone(done)) // a new attempt's first heartbeat keeps the last one's progress
	defer keepAlive(ctx, beat)()
	todo := in.Resources[len(done):]
	var inSnapshot map[string]store.Tags
	if in.FromSnapshot {
		var err error
		if inSnapshot, err = a.Store.SnapshotTags(ctx, in.SyncID, resourceIDs(todo)); err != nil {
			return FetchTagsResult{}, databaseError("read tag snapshot", err)
		}
	}
	var staged []store.SnapshotEntry
	// stage saves what was read, then offers it as the progress to resume from.
	stage := func() error {
		if err := a.Store.SaveTagSnapshot(ctx, in.SyncID, staged); err != nil {
			return databaseError("stage tags", err)
		}
		staged = staged[:0]
		beat.set(slices.Clone(done))
		return nil
	}
	lastStage, callRetries := time.Now(), 0
	for i, r := range todo {
		if _, ok := inSnapshot[r.ResourceID]; ok {
			done = append(done, inventory.TagResult{ResourceID: r.ResourceID, Status: inventory.TagsOK})
			continue
		}
		res, retried, err := a.tagsWithRetries(ctx, r)
		callRetries += retried
		if denied := accountDenied(err); denied != "" {
			done = append(done, deniedResults(todo[i:], denied)...)
			if err := stage(); err != nil {
				return FetchTagsResult{}, err
			}
			return FetchTagsResult{Results: done, Retries: retries(ctx) + callRetries, Denied: denied}, nil
		}
		if err != nil {
			if serr := stage(); serr != nil {
				return FetchTagsResult{}, serr
			}
			activity.RecordHeartbeat(ctx, done) // before failing: the retry starts from here
			return FetchTagsResult{}, huaweiError(err)
		}
		if res.Status == inventory.TagsOK {
			staged = append(staged, store.SnapshotEntry{ResourceID: r.ResourceID, Tags: res.Tags})
		}
		res.Tags = nil
		done = append(done, res)
		if time.Since(lastStage) >= stageEvery {
			if err := stage(); err != nil {
				return FetchTagsResult{}, err
			}
			lastStage = time.Now()
		}
	}
	if err := stage(); err != nil {
		return FetchTagsResult{}, err
	}
	return FetchTagsResult{Results: done, Retries: retries(ctx) + callRetries}, nil
}

// accountDenied names the account-wide TMS refusal err is, or "".
func accountDenied(err error) string {
	var ae *huawei.APIError
	if errors.As(err, &ae) && ae.Kind == huawei.KindForbidden {
		return ae.Error()
	}
	return ""
}

// deniedResults reports resources whose tags TMS refused to the account.
func deniedResults(targets []inventory.TagTarget, reason string) []inventory.TagResult {
	out := make([]inventory.TagResult, len(targets))
	for i, t := range targets {
		out[i] = inventory.TagResult{ResourceID: t.ResourceID, Status: inventory.TagsError, Error: reason}
	}
	return out
}

// noProject is why a resource without project_id gets no tags: TMS needs
// the project of a region-level resource.
const noProject = "BSS gave no project_id for this resource; TMS needs one to read the tags of a region-level resource"

// callAttempts is how many times FetchTags tries one resource's tags before
// it fails the activity (and Temporal's retry policy takes over): a lone
// 500 or 429 among hundreds of calls should not cost the whole group an
// activity retry and its growing backoff.
const callAttempts = 3

// tagsWithRetries queries one resource's tags, retrying retryable failures
// after the server's Retry-After or a short doubling pause.
func (a *Activities) tagsWithRetries(ctx context.Context, r inventory.TagTarget) (inventory.TagResult, int, error) {
	if r.ProjectID == "" {
		return inventory.TagResult{ResourceID: r.ResourceID, Status: inventory.TagsError, Error: noProject}, 0, nil
	}
	pause := 250 * time.Millisecond
	for attempt := 1; ; attempt++ {
		res, err := a.Huawei.ResourceTags(ctx, r)
		var ae *huawei.APIError
		if errors.As(err, &ae) && ae.Kind == huawei.KindBadRequest {
			// TMS refused this one resource's query: its tags stay as stored.
			return inventory.TagResult{ResourceID: r.ResourceID, Status: inventory.TagsError, Error: ae.Error()}, attempt - 1, nil
		}
		if err == nil || attempt == callAttempts || !errors.As(err, &ae) || !ae.Kind.Retryable() {
			return res, attempt - 1, err
		}
		wait := pause
		if ae.RetryAfter > 0 {
			wait = ae.RetryAfter
		}
		select {
		case <-ctx.Done():
			return res, attempt - 1, ctx.Err()
		case <-time.After(wait):
		}
		pause *= 2
	}
}

func resourceIDs(targets []inventory.TagTarget) []string {
	ids := make([]string, len(targets))
	for i, t := range targets {
		ids[i] = t.ResourceID
	}
	return ids
}

// SnapshotTagsInput names one project and TMS type to read in bulk.
type SnapshotTagsInput struct {
	SyncID    string `json:"sync_id"`
	ProjectID string `json:"project"`
	TMSType   string `json:"type"`
}

// SnapshotTagsResult says how many resources the snapshot holds, or that
// TMS cannot list this type in bulk (its resources are then queried one by one).
type SnapshotTagsResult struct {
	Resources   int    `json:"resources"`
	Calls       int    `json:"calls"`
	Unsupported string `json:"unsupported,omitempty"`
	Retries     int    `json:"retries,omitempty"`
}

// SnapshotTags reads the tags of every resource of a type in a project with
// TMS ListResource, 200 per call, and keeps them for this sync. The offset
// reached is heartbeated, so a retry goes on from there.
func (a *Activities) SnapshotTags(ctx context.Context, in SnapshotTagsInput) (SnapshotTagsResult, error) {
	res := SnapshotTagsResult{Retries: retries(ctx)}
	offset := 0
	if activity.HasHeartbeatDetails(ctx) {
		_ = activity.GetHeartbeatDetails(ctx, &offset)
	}
	beat := &progress{}
	defer keepAlive(ctx, beat)()
	for {
		page, err := a.Huawei.ListTagged(ctx, in.ProjectID, in.TMSType, offset, huawei.MaxBulkPageSize)
		if err != nil {
			return res, huaweiError(err)
		}
		res.Calls++
		if page.Unsupported != "" {
			res.Unsupported = page.Unsupported
			return res, nil
		}
		entries := make([]store.SnapshotEntry, len(page.Resources))
		for i, r := range page.Resources {
			entries[i] = store.SnapshotEntry{ResourceID: r.ResourceID, Tags: r.Tags}
		}
		if err := a.Store.SaveTagSnapshot(ctx, in.SyncID, entries); err != nil {
			return res, databaseError("save tag snapshot", err)
		}
		offset += len(page.Resources)
		res.Resources = offset
		beat.set(offset)
		if len(page.Resources) == 0 || offset >= page.TotalCount {
			return res, nil
		}
	}
}
