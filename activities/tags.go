package activities

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"

	"expiry-sync/internal/contract"
	"expiry-sync/internal/huawei"
	"expiry-sync/internal/inventory"
	"expiry-sync/internal/store"
)

// stageEvery spaces FetchTags's staging of the tags it read (one small
// INSERT): what is staged is what a retry does not read again.
const stageEvery = time.Second

// FetchTags reads the tags of each resource of the group and stages them.
// Its staged progress is heartbeated, so a retry (after an API failure or a
// dead worker) resumes where the last attempt stopped. A refusal (403)
// covers its scope alone (contract.Denial): the scope's resources are
// errors that keep their stored tags, the others are read.
func (a *Activities) FetchTags(ctx context.Context, in contract.FetchTagsInput) (contract.FetchTagsResult, error) {
	acc, err := a.account(in.Account)
	if err != nil {
		return contract.FetchTagsResult{}, err
	}
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
	var inSnapshot map[string]string
	if in.FromSnapshot {
		var err error
		at := store.Attempt{SyncID: in.SyncID, Generation: in.Generation}
		if inSnapshot, err = a.Store.SnapshotTags(ctx, at, resourceIDs(todo)); err != nil {
			return contract.FetchTagsResult{}, databaseError("read tag snapshot", err)
		}
	}
	var staged []store.SnapshotEntry
	// stage saves what was read, then offers it as the progress to resume from.
	stage := func() error {
		w := acc.writer(in.SyncID, in.Generation, in.LeaseToken)
		if err := a.Store.SaveTagSnapshot(ctx, w, staged); err != nil {
			return writeError("stage tags", err)
		}
		staged = staged[:0]
		beat.set(slices.Clone(done))
		return nil
	}
	lastStage, callRetries := time.Now(), 0
	refusals := newDenials(in.Denials)
	var met []contract.Denial
	for _, r := range todo {
		if _, ok := inSnapshot[r.ResourceID]; ok {
			done = append(done, inventory.TagResult{ResourceID: r.ResourceID, Status: inventory.TagsOK})
			continue
		}
		if reason := refusals.of(acc.Huawei, r); reason != "" {
			done = append(done, refused(r.ResourceID, reason))
			continue
		}
		res, retried, err := a.tagsWithRetries(ctx, acc, r)
		callRetries += retried
		if d, ok := refusals.met(err); ok {
			met = append(met, d)
			done = append(done, refused(r.ResourceID, d.Reason))
			continue
		}
		if err != nil {
			if serr := stage(); serr != nil {
				return contract.FetchTagsResult{}, serr
			}
			activity.RecordHeartbeat(ctx, done) // before failing: the retry starts from here
			return contract.FetchTagsResult{}, huaweiError(err)
		}
		if res.Status == inventory.TagsOK {
			staged = append(staged, store.SnapshotEntry{ResourceID: r.ResourceID, Tags: res.Tags})
		}
		res.Tags = nil
		done = append(done, res)
		if time.Since(lastStage) >= stageEvery {
			if err := stage(); err != nil {
				return contract.FetchTagsResult{}, err
			}
			lastStage = time.Now()
		}
	}
	if err := stage(); err != nil {
		return contract.FetchTagsResult{}, err
	}
	activity.GetLogger(ctx).Debug("read tags", "sync_id", in.SyncID, "account", acc.Name,
		"resources", len(in.Resources), "from_snapshot", in.FromSnapshot, "call_retries", callRetries)
	return contract.FetchTagsResult{Results: done, Retries: retries(ctx) + callRetries, Denials: met}, nil
}

// noProject is why a resource without project_id gets no tags: TMS needs
// the project of a region-level resource.
const noProject = "BSS gave no project_id for this resource; TMS needs one to read the tags of a region-level resource"

// callAttempts is how many times FetchTags tries one resource's tags before
// it fails the activity (and Temporal's retry policy takes over): a lone
// 500 or 429 among hundreds of calls should not cost the whole group an
// activity retry and its growing backoff.
const callAttempts = 3

// firstPause is the first wait before a call is tried again in place.
const firstPause = 250 * time.Millisecond

// tagsWithRetries queries one resource's tags, retrying retryable failures
// after the server's Retry-After or a short doubling pause.
func (a *Activities) tagsWithRetries(
	ctx context.Context,
	acc *Account,
	r inventory.TagTarget,
) (inventory.TagResult, int, error) {
	if r.ProjectID == "" {
		return inventory.TagResult{ResourceID: r.ResourceID, Status: inventory.TagsError, Error: noProject}, 0, nil
	}
	pause := firstPause
	for attempt := 1; ; attempt++ {
		res, err := acc.Huawei.ResourceTags(ctx, r)
		var ae *huawei.APIError
		if errors.As(err, &ae) && ae.Kind == huawei.KindBadRequest {
			// TMS refused this one resource's query: its tags stay as stored.
			return inventory.TagResult{ResourceID: r.ResourceID, Status: inventory.TagsError, Error: ae.Error()},
				attempt - 1, nil
		}
		if err != nil && attempt == callAttempts && errors.As(err, &ae) && ae.Kind == huawei.KindBadResponse {
			// TMS keeps answering something unusable for this resource
			// (e.g. no tags field): its tags are unknown, the stored ones stay.
			return inventory.TagResult{ResourceID: r.ResourceID, Status: inventory.TagsError, Error: ae.Error()},
				attempt - 1, nil
		}
		if err == nil || attempt == callAttempts || !errors.As(err, &ae) || !ae.Kind.Retryable() {
			return res, attempt - 1, err
		}
		a.Metrics.HuaweiRetry(ae.API)
		if err := pauseBeforeRetry(ctx, ae, &pause); err != nil {
			return res, attempt - 1, err
		}
	}
}

// pauseBeforeRetry waits the server's Retry-After, or the doubling pause,
// before a call is tried again in the same activity.
func pauseBeforeRetry(ctx context.Context, ae *huawei.APIError, pause *time.Duration) error {
	wait := *pause
	if ae.RetryAfter > 0 {
		wait = ae.RetryAfter
	}
	*pause *= 2
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(wait):
		return nil
	}
}

func resourceIDs(targets []inventory.TagTarget) []string {
	ids := make([]string, len(targets))
	for i, t := range targets {
		ids[i] = t.ResourceID
	}
	return ids
}

// SnapshotTags reads the tags of every resource of a type in a project with
// TMS ListResource (huawei.Client.BulkTags) and keeps them for this sync. The
// listing's cursor is heartbeated, so a retry goes on from there. A refusal
// that repeats (other than bad credentials or a missing TMS permission, which
// per-resource reads would meet too) is not a failure: the result says why,
// and the sync reads those resources one by one.
func (a *Activities) SnapshotTags(
	ctx context.Context,
	in contract.SnapshotTagsInput,
) (contract.SnapshotTagsResult, error) {
	acc, err := a.account(in.Account)
	if err != nil {
		return contract.SnapshotTagsResult{}, err
	}
	cursor := huawei.BulkCursor{Budget: in.Expected}
	if activity.HasHeartbeatDetails(ctx) {
		var saved huawei.BulkCursor
		if err := activity.GetHeartbeatDetails(ctx, &saved); err == nil && saved.Phase != "" {
			cursor = saved // an unreadable (older) progress starts over: snapshots are idempotent
		}
	}
	beat := &progress{}
	beat.set(cursor)
	defer keepAlive(ctx, beat)()
	// A page is staged while the next one is read: one save in flight, the
	// cursor (and the heartbeat) moving only once a page is staged.
	var dbErr error
	var saving sync.WaitGroup
	save := func(page []huawei.TaggedResource, next huawei.BulkCursor) error {
		saving.Wait()
		if dbErr != nil {
			return dbErr
		}
		entries := make([]store.SnapshotEntry, len(page))
		for i, r := range page {
			entries[i] = store.SnapshotEntry{ResourceID: r.ResourceID, Tags: r.Tags}
		}
		saving.Go(func() {
			w := acc.writer(in.SyncID, in.Generation, in.LeaseToken)
			if dbErr = a.Store.SaveTagSnapshot(ctx, w, entries); dbErr == nil {
				cursor = next
				beat.set(next)
			}
		})
		return nil
	}
	// A lone 429, 500 or TMS.0006 is retried in place, from the cursor
	// reached, as one-by-one reads do: failing the activity for it would
	// cost the pair an activity retry and its growing backoff. A listing of
	// many pages meets such faults now and then: only
	// callAttempts failures in a row, with no page read between them, fail
	// the attempt.
	var bulk huawei.BulkResult
	pause := firstPause
	for failures := 0; ; {
		before := cursor
		bulk, err = acc.Huawei.BulkTags(ctx, in.ProjectID, in.TMSType, cursor, save)
		saving.Wait()
		var ae *huawei.APIError
		if err == nil || dbErr != nil || !errors.As(err, &ae) || !ae.Kind.Retryable() {
			break
		}
		if cursor != before {
			failures, pause = 0, firstPause
		}
		if failures++; failures == callAttempts {
			break
		}
		a.Metrics.HuaweiRetry(ae.API)
		if err := pauseBeforeRetry(ctx, ae, &pause); err != nil {
			return contract.SnapshotTagsResult{}, err
		}
	}
	res := contract.SnapshotTagsResult{
		Resources:   bulk.Resources,
		Calls:       bulk.Calls,
		Unsupported: bulk.Unavailable,
		Strategy:    bulk.Strategy,
		Retries:     retries(ctx),
	}
	activity.GetLogger(ctx).Info("read tags in bulk", "sync_id", in.SyncID, "account", acc.Name,
		"project", in.ProjectID, "type", in.TMSType, "resources", res.Resources, "calls", res.Calls,
		"strategy", res.Strategy, "fallback", res.Unsupported)
	var ae *huawei.APIError
	switch {
	case err == nil:
		return res, nil
	case dbErr != nil:
		return res, writeError("save tag snapshot", dbErr)
	case errors.As(err, &ae) && bulkFallback(ae):
		res.Unsupported = ae.Error()
		return res, nil
	}
	return res, huaweiError(err)
}

// bulkFallback reports whether a bulk failure should send the pair to
// per-resource reads instead of failing the activity: any refusal that
// repeats, except bad credentials and a missing permission. The latter
// fails the activity naming it; the workflow then reads the pair one by
// one too, where a refusal covers its type alone (contract.Denial).
func bulkFallback(ae *huawei.APIError) bool {
	switch {
	case ae.Kind.Retryable(), ae.Kind == huawei.KindAuth:
		return false
	case ae.Kind == huawei.KindForbidden && ae.IAMAction != "":
		return false
	}
	return true
}
