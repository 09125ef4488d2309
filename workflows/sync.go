// Package workflows holds the deterministic orchestration of a sync. Every
// piece of I/O is an activity; only IDs, small pages and counters cross history.
package workflows

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"expiry-sync/activities"
	"expiry-sync/internal/catalog"
	"expiry-sync/internal/inventory"
	"expiry-sync/internal/store"
)

const (
	// WorkflowName is the registered workflow type.
	WorkflowName = "SyncExpiringResources"
	// ProgressQuery answers a Progress.
	ProgressQuery = "progress"
	// MemoStartedAt is the memo field holding when the sync first started.
	MemoStartedAt = "sync_started_at"
	// continueAsNewEvents: a run hands over to a new one before listing a page
	// past this history length; a page costs at most ~2,000 events (500
	// resources, one tag activity each), so no run nears 10,000.
	continueAsNewEvents = 2000
	// maxBatchBytes keeps one batch's payload well under Temporal's 512 KiB
	// payload warning whatever the tags' sizes.
	maxBatchBytes = 384 << 10
)

// a is only used to name activity methods.
var a *activities.Activities

// SyncExpiringResources lists the resources expiring in the window page by
// page, reads their tags with a bounded fan-out of activities, and upserts
// them in checkpointed batches; then it deactivates what it did not see.
func SyncExpiringResources(ctx workflow.Context, in SyncInput) (activities.Summary, error) {
	in = in.WithDefaults()
	if err := in.Validate(); err != nil {
		return activities.Summary{}, invalidInput(err)
	}
	s := &syncRun{in: in, syncID: workflow.GetInfo(ctx).WorkflowExecution.ID}
	if in.Cursor != nil {
		s.cursor = *in.Cursor
	}
	s.cursor.Progress.Runs++
	if err := workflow.SetQueryHandler(ctx, ProgressQuery, func() (Progress, error) { return s.cursor.Progress, nil }); err != nil {
		return activities.Summary{}, err
	}
	summary, err := s.run(ctx)
	if err != nil && !workflow.IsContinueAsNewError(err) {
		s.end(ctx, err)
	}
	return summary, err
}

type syncRun struct {
	in      SyncInput
	syncID  string
	cursor  Cursor
	phase   string // what the main loop does
	writing string // what the committer writes, while it writes
}

func (s *syncRun) progress() *Progress { return &s.cursor.Progress }

func (s *syncRun) run(ctx workflow.Context) (activities.Summary, error) {
	if s.in.Cursor == nil {
		if err := s.begin(ctx); err != nil {
			return activities.Summary{}, err
		}
	}
	s.upsertAttributes(ctx, store.StatusRunning, s.progress().RowsCommitted)
	if done, err := s.syncPages(ctx); err != nil || !done {
		if err == nil {
			next := s.in
			next.Cursor = &s.cursor
			err = workflow.NewContinueAsNewError(ctx, SyncExpiringResources, next)
		}
		return activities.Summary{}, err
	}
	s.setPhase(ctx, "finishing: marking unseen resources inactive and closing the sync log")
	var summary activities.Summary
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, dbOptions("finish sync")), a.FinishSync,
		activities.FinishSyncInput{SyncID: s.syncID, Retries: s.progress().Retries}).Get(ctx, &summary)
	if err != nil {
		return summary, err
	}
	s.upsertAttributes(ctx, summary.Status, summary.TotalResources)
	s.setPhase(ctx, fmt.Sprintf("done: %s, %d resources", summary.Status, summary.TotalResources))
	return summary, nil
}

// upsertAttributes publishes the sync's state to the Web UI's workflow list:
// once per page at most, never per resource (each upsert is a history event).
func (s *syncRun) upsertAttributes(ctx workflow.Context, status string, resources int) {
	err := workflow.UpsertTypedSearchAttributes(ctx,
		AttrAccount.ValueSet(s.cursor.AccountID),
		AttrSyncStatus.ValueSet(status),
		AttrExpiringResources.ValueSet(int64(resources)),
		AttrExpireDays.ValueSet(int64(s.in.ExpireDays)),
	)
	if err != nil {
		workflow.GetLogger(ctx).Warn("search attributes not updated", "error", err)
	}
}

// begin opens the sync log, or re-opens it to resume after its checkpoint.
func (s *syncRun) begin(ctx workflow.Context) error {
	s.setPhase(ctx, "opening the sync log")
	now := workflow.Now(ctx).UTC()
	var cp activities.Checkpoint
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, dbOptions("open sync log")), a.BeginSync,
		activities.BeginSyncInput{
			SyncID: s.syncID, RunID: workflow.GetInfo(ctx).WorkflowExecution.RunID, Resume: s.in.Resume,
			ExpireDays: s.in.ExpireDays, WindowBegin: now.AddDate(0, 0, -s.in.LookbackDays), WindowEnd: now.AddDate(0, 0, s.in.ExpireDays),
		}).Get(ctx, &cp)
	if err != nil {
		return err
	}
	s.cursor.Checkpoint = cp
	// The memo survives continue-as-new: lists show when the sync began,
	// not when its newest run did.
	if err := workflow.UpsertMemo(ctx, map[string]any{MemoStartedAt: cp.StartedAt}); err != nil {
		return err
	}
	p := s.progress()
	p.WindowBegin, p.WindowEnd, p.Attempt = cp.WindowBegin, cp.WindowEnd, cp.Attempt
	p.BatchesCommitted, p.RowsCommitted = cp.LastCommittedBatch, cp.RowsCommitted
	return nil
}

func (s *syncRun) shouldContinueAsNew(ctx workflow.Context) bool {
	info := workflow.GetInfo(ctx)
	return info.GetContinueAsNewSuggested() || info.GetCurrentHistoryLength() > continueAsNewEvents
}

// tagGroup is the work of one FetchTags activity.
type tagGroup struct {
	targets      []inventory.TagTarget
	fromSnapshot bool // the sync's bulk snapshot serves these targets
}

// bulkGroupSize: resources per FetchTags activity when their tags come
// from the snapshot (a database read, no API call).
const bulkGroupSize = 100

// fetchTags reads the tags of the resources with at most TagConcurrency
// activities in flight, each covering TagsPerActivity resources (or a
// bulkGroupSize of snapshot reads). Resources of types TMS does not serve
// are answered here without a call.
func (s *syncRun) fetchTags(ctx workflow.Context, offset int, resources []inventory.Resource) (map[string]inventory.TagResult, error) {
	p := s.progress()
	results := make(map[string]inventory.TagResult, len(resources))
	var targets []inventory.TagTarget
	for _, r := range resources {
		if _, ok := catalog.TMSResourceType(r.ResourceTypeCode); !ok {
			results[r.ResourceID] = inventory.TagResult{ResourceID: r.ResourceID, Status: inventory.TagsUnsupported}
			p.TagsUnsupported++
			continue
		}
		targets = append(targets, inventory.TagTarget{ResourceID: r.ResourceID, ProjectID: r.ProjectID, ResourceTypeCode: r.ResourceTypeCode})
	}
	if len(targets) == 0 {
		return results, nil
	}
	groups, err := s.tagGroups(ctx, targets)
	if err != nil {
		return nil, err
	}
	s.setPhase(ctx, fmt.Sprintf("reading tags of %d resources at offset %d (%d activities, %d at a time)",
		len(targets), offset, len(groups), s.in.TagConcurrency))

	ctx, cancel := workflow.WithCancel(ctx)
	defer cancel()
	var firstErr error
	sel := workflow.NewSelector(ctx)
	inFlight := 0
	for i, g := range groups {
		for ; inFlight >= s.in.TagConcurrency; inFlight-- {
			sel.Select(ctx)
		}
		if firstErr != nil {
			break
		}
		opts := tagOptions(fmt.Sprintf("tags offset %d group %d/%d", offset, i+1, len(groups)))
		f := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, opts), a.FetchTags,
			activities.FetchTagsInput{SyncID: s.syncID, Resources: g.targets, FromSnapshot: g.fromSnapshot})
		sel.AddFuture(f, func(f workflow.Future) {
			var r activities.FetchTagsResult
			if err := f.Get(ctx, &r); err != nil {
				if firstErr == nil {
					firstErr = err
					cancel() // stop the rest: the page fails anyway
				}
				if !temporal.IsCanceledError(err) {
					p.Failures++
				}
				return
			}
			s.recordTags(r, results)
		})
		inFlight++
	}
	for ; inFlight > 0; inFlight-- {
		sel.Select(ctx)
	}
	return results, firstErr
}

// tagGroups cuts the targets into activities: in bulk mode, those of a
// project and type that TMS lists in bulk are read from the sync's snapshot
// (taken here on first sight of the pair); the others are queried one by one.
func (s *syncRun) tagGroups(ctx workflow.Context, targets []inventory.TagTarget) ([]tagGroup, error) {
	if !s.useBulk() {
		return groupsOf(targets, s.in.TagsPerActivity, false), nil
	}
	if err := s.snapshot(ctx, targets); err != nil {
		return nil, err
	}
	var bulk, single []inventory.TagTarget
	for _, t := range targets {
		if slices.Contains(s.cursor.NoBulk, pairOf(t)) {
			single = append(single, t)
		} else {
			bulk = append(bulk, t)
		}
	}
	return append(groupsOf(bulk, bulkGroupSize, true), groupsOf(single, s.in.TagsPerActivity, false)...), nil
}

func groupsOf(targets []inventory.TagTarget, size int, fromSnapshot bool) []tagGroup {
	var out []tagGroup
	for g := range slices.Chunk(targets, size) {
		out = append(out, tagGroup{targets: g, fromSnapshot: fromSnapshot})
	}
	return out
}

func (s *syncRun) useBulk() bool {
	switch s.in.TagMode {
	case TagModeBulk:
		return true
	case TagModeAuto:
		return s.progress().TotalCount >= AutoBulkResources
	}
	return false
}

// pairOf names the bulk listing that holds a target's tags.
func pairOf(t inventory.TagTarget) string {
	tmsType, _ := catalog.TMSResourceType(t.ResourceTypeCode)
	return t.ProjectID + "/" + tmsType
}

// snapshot reads in bulk the project/type pairs of these targets that this
// sync has not read yet, all at once.
func (s *syncRun) snapshot(ctx workflow.Context, targets []inventory.TagTarget) error {
	c, p := &s.cursor, s.progress()
	var pairs []string
	for _, t := range targets {
		pair := pairOf(t)
		if !slices.Contains(pairs, pair) && !slices.Contains(c.Snapshots, pair) && !slices.Contains(c.NoBulk, pair) {
			pairs = append(pairs, pair)
		}
	}
	if len(pairs) == 0 {
		return nil
	}
	s.setPhase(ctx, fmt.Sprintf("reading the tags of %d project/type pairs in bulk", len(pairs)))
	futures := make([]workflow.Future, len(pairs))
	for i, pair := range pairs {
		project, tmsType, _ := strings.Cut(pair, "/")
		futures[i] = workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, tagOptions("bulk tags "+pair)), a.SnapshotTags,
			activities.SnapshotTagsInput{SyncID: s.syncID, ProjectID: project, TMSType: tmsType})
	}
	var firstErr error
	for i, f := range futures {
		var r activities.SnapshotTagsResult
		if err := f.Get(ctx, &r); err != nil {
			firstErr = cmp.Or(firstErr, err)
			p.Failures++
			continue
		}
		p.Retries += r.Retries
		p.TagsSnapshotted += r.Resources
		if r.Unsupported != "" {
			c.NoBulk = append(c.NoBulk, pairs[i])
		} else {
			c.Snapshots = append(c.Snapshots, pairs[i])
		}
	}
	return firstErr
}

func (s *syncRun) recordTags(r activities.FetchTagsResult, into map[string]inventory.TagResult) {
	p := s.progress()
	p.Retries += r.Retries
	for _, t := range r.Results {
		into[t.ResourceID] = t
		p.TagsFetched++
		switch t.Status {
		case inventory.TagsError:
			p.TagErrors++
		case inventory.TagsNotFound:
			p.Vanished++
		}
	}
}

// end records in the sync log why the sync stopped, keeping its checkpoint.
// It runs on a disconnected context so that it also runs after a cancel.
func (s *syncRun) end(ctx workflow.Context, cause error) {
	status := store.StatusFailed
	var canceled *temporal.CanceledError
	if errors.As(cause, &canceled) || errors.Is(ctx.Err(), workflow.ErrCanceled) {
		status = store.StatusCanceled
	}
	reason := ErrorText(cause)
	s.progress().LastError = reason
	s.writing = ""
	s.setPhase(ctx, status+": "+reason)
	s.upsertAttributes(ctx, status, s.progress().RowsCommitted)
	dctx, cancel := workflow.NewDisconnectedContext(ctx)
	defer cancel()
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(dctx, dbOptions("close sync log: "+status)), a.EndSync,
		activities.EndSyncInput{SyncID: s.syncID, Status: status, Reason: reason, Retries: s.progress().Retries}).Get(dctx, nil)
	if err != nil {
		workflow.GetLogger(ctx).Error("could not record the end of the sync", "error", err)
	}
}

// ErrorText explains a sync failure in one line: the innermost application
// error's message, which names the API or the batch (Temporal's wrappers add
// only event ids).
func ErrorText(err error) string {
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		var act *temporal.ActivityError
		if errors.As(err, &act) {
			return act.ActivityType().GetName() + ": " + app.Message()
		}
		return app.Message()
	}
	var canceled *temporal.CanceledError
	if errors.As(err, &canceled) {
		return "canceled"
	}
	var timeout *temporal.TimeoutError
	if errors.As(err, &timeout) {
		return "timed out: " + timeout.Error()
	}
	return err.Error()
}

// setPhase says what the sync does; with setWriting (the committer's part,
// which runs beside it) it is the progress query's phase and the run's
// current details in the Web UI.
func (s *syncRun) setPhase(ctx workflow.Context, phase string) {
	s.phase = phase
	s.showPhase(ctx)
}

func (s *syncRun) setWriting(ctx workflow.Context, writing string) {
	s.writing = writing
	s.showPhase(ctx)
}

func (s *syncRun) showPhase(ctx workflow.Context) {
	phase := s.phase
	if s.writing != "" {
		phase += " · " + s.writing
	}
	s.progress().Phase = phase
	workflow.SetCurrentDetails(ctx, phase)
}
