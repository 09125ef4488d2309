// Package workflows holds the deterministic orchestration of a sync. Every
// piece of I/O is an activity; only IDs, small pages and counters cross history.
//
// What a sync keeps true of the inventory, per account (see docs/data-model.md):
//   - One writer: a sync writes only while it holds the account's lease
//     (HoldLease renews it beside the work; each write is fenced by its
//     token), and a live sync is never taken over.
//   - Generations: each attempt takes the next generation; an older one
//     never overwrites a row a newer one wrote, what an attempt stages is
//     its own, and a sync superseded by a newer completed one cannot be
//     resumed.
//   - Deactivation: only a completing sync, the newest of its account,
//     marks resources inactive, and only those BSS said (by id, in an
//     answer read whole) are closed or gone; doubt is never "gone".
//   - Listing: consecutive pages prove by overlap (ids, or expire times
//     where ties may be reordered) that nothing slid past; FinishSync
//     compares what was listed with BSS's total_count.
//   - Tags: a failed read keeps the last known tags.
package workflows

import (
	"cmp"
	"errors"
	"fmt"
	"strings"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"expiry-sync/internal/contract"
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

// SyncExpiringResources lists the resources expiring in the window page by
// page, reads their tags with a bounded fan-out of activities, upserts them
// in checkpointed batches, re-checks by id what it did not see, and then
// deactivates what BSS says is gone.
func SyncExpiringResources(ctx workflow.Context, in SyncInput) (contract.Summary, error) {
	in = in.WithDefaults()
	if err := in.Validate(); err != nil {
		return contract.Summary{}, invalidInput(err)
	}
	s := &syncRun{in: in, syncID: workflow.GetInfo(ctx).WorkflowExecution.ID}
	if in.Cursor != nil {
		s.cursor = *in.Cursor
	}
	s.v = readSyncVersions(ctx)
	s.cursor.Progress.Runs++
	if err := workflow.SetQueryHandler(ctx, ProgressQuery, func() (Progress, error) {
		return s.cursor.Progress, nil
	}); err != nil {
		return contract.Summary{}, err
	}
	summary, err := s.run(ctx)
	if err != nil && !workflow.IsContinueAsNewError(err) {
		s.end(ctx, err)
	}
	return summary, err
}

type syncRun struct {
	in       SyncInput
	syncID   string
	v        syncVersions // its gates (versions.go)
	cursor   Cursor
	phase    string // what the main loop does
	writing  string // what the committer writes, while it writes
	leaseErr error  // set when HoldLease fails: another sync holds the account
}

func (s *syncRun) progress() *Progress { return &s.cursor.Progress }

func (s *syncRun) run(ctx workflow.Context) (contract.Summary, error) {
	if s.in.Cursor == nil {
		if err := s.begin(ctx); err != nil {
			return contract.Summary{}, err
		}
	}
	work, release := s.holdLease(ctx)
	defer release()
	s.upsertAttributes(ctx, contract.StatusRunning, s.progress().RowsCommitted)
	done, err := s.syncPages(work)
	if err == nil && done && s.v.leasedListing() {
		err = s.recheck(work)
	}
	if s.leaseErr != nil {
		err = s.leaseErr
	}
	if err != nil || !done {
		if err == nil {
			next := s.in
			next.Cursor = &s.cursor
			err = workflow.NewContinueAsNewError(ctx, SyncExpiringResources, next)
		}
		return contract.Summary{}, err
	}
	return s.finish(work)
}

// begin opens the sync log, or re-opens it to resume after its checkpoint,
// and takes the account's lease.
func (s *syncRun) begin(ctx workflow.Context) error {
	s.setPhase(ctx, "opening the sync log")
	now := workflow.Now(ctx).UTC()
	in := contract.BeginSyncInput{
		Account: s.in.Account,
		SyncID:  s.syncID,
		RunID:   workflow.GetInfo(ctx).WorkflowExecution.RunID,
		Resume:  s.in.Resume,
		Now:     now,
	}
	if s.in.ExpireDays > 0 { // else the account's defaults decide, in BeginSync
		in.ExpireDays, in.WindowBegin, in.WindowEnd =
			s.in.ExpireDays, now.AddDate(0, 0, -s.in.LookbackDays), now.AddDate(0, 0, s.in.ExpireDays)
	}
	var cp contract.Checkpoint
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, dbOptions("open sync log")),
		contract.ActivityBeginSync, in).Get(ctx, &cp)
	if err != nil {
		return err
	}
	s.cursor.Checkpoint = cp
	if s.in.ExpireDays == 0 {
		s.in.ExpireDays, s.in.LookbackDays = cp.ExpireDays, cp.LookbackDays
		s.in.TagMode = cmp.Or(cp.TagMode, s.in.TagMode)
	}
	// The memo survives continue-as-new: lists show when the sync began,
	// not when its newest run did.
	if err := workflow.UpsertMemo(ctx, map[string]any{MemoStartedAt: cp.StartedAt}); err != nil {
		return err
	}
	p := s.progress()
	p.WindowBegin, p.WindowEnd, p.Attempt = cp.WindowBegin, cp.WindowEnd, cp.Attempt
	p.BatchesCommitted, p.RowsCommitted = cp.LastCommittedBatch, cp.RowsCommitted
	p.Generation = cp.Generation
	return nil
}

// recheck asks BSS, by id, about every active resource of the account that
// the listing did not see, before anything is deactivated.
func (s *syncRun) recheck(ctx workflow.Context) error {
	s.setPhase(ctx, "re-checking by id the resources the listing did not see")
	c, p := &s.cursor, s.progress()
	var r contract.RecheckResult
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, recheckOptions()), contract.ActivityRecheckUnseen,
		contract.RecheckInput{
			Account: s.in.Account, SyncID: s.syncID, Generation: c.Generation, LeaseToken: c.LeaseToken,
			Until: c.WindowEnd, Statuses: s.in.Statuses, SyncedAt: workflow.Now(ctx).UTC(),
		}).Get(ctx, &r)
	if err != nil {
		p.Failures++
		return err
	}
	p.Rechecked, p.Retries = r.Found+r.Gone, p.Retries+r.Retries
	if r.Quarantined > 0 {
		c.Notes.QuarantinedCount += r.Quarantined
		addNote(&c.Notes.Quarantined, fmt.Sprintf(
			"%d resources the listing did not see could not be judged from BSS's answers by id "+
				"(unreadable or not given whole), so they were left as they were: %s",
			r.Quarantined,
			strings.Join(r.Unknown, ", "),
		))
	}
	if r.Refused != "" {
		addNote(&c.Notes.Degraded, r.Refused)
	}
	return nil
}

// finish deactivates what the re-check found gone and closes the sync log.
func (s *syncRun) finish(ctx workflow.Context) (contract.Summary, error) {
	s.setPhase(ctx, "finishing: marking resources BSS no longer lists inactive and closing the sync log")
	c := &s.cursor
	var summary contract.Summary
	err := workflow.ExecuteActivity(
		workflow.WithActivityOptions(ctx, dbOptions("finish sync")),
		contract.ActivityFinishSync,
		contract.FinishSyncInput{Account: s.in.Account, SyncID: s.syncID, Retries: s.progress().Retries,
			Generation: c.Generation, LeaseToken: c.LeaseToken, Notes: c.Notes, Listing: s.listingCheck()},
	).Get(ctx, &summary)
	if err != nil {
		return summary, err
	}
	s.upsertAttributes(ctx, summary.Status, summary.TotalResources)
	s.setPhase(ctx, fmt.Sprintf("done: %s, %d resources", summary.Status, summary.TotalResources))
	StartNotifyAfterSync(ctx, s.cursor.AccountID, s.syncID, summary.Status)
	return summary, nil
}

// listingCheck is what FinishSync compares the listing's rows with (none
// in the first version, which did not overlap its pages).
func (s *syncRun) listingCheck() *contract.ListingCheck {
	if !s.v.leasedListing() {
		return nil
	}
	l := s.cursor.Listing
	return &l
}

func (s *syncRun) shouldContinueAsNew(ctx workflow.Context) bool {
	info := workflow.GetInfo(ctx)
	return info.GetContinueAsNewSuggested() || info.GetCurrentHistoryLength() > continueAsNewEvents
}

// end records in the sync log why the sync stopped, keeping its checkpoint,
// and frees the account. It runs on a disconnected context so that it also
// runs after a cancel.
func (s *syncRun) end(ctx workflow.Context, cause error) {
	status := contract.StatusFailed
	var canceled *temporal.CanceledError
	if errors.As(cause, &canceled) || errors.Is(ctx.Err(), workflow.ErrCanceled) {
		status = contract.StatusCanceled
	}
	reason := ErrorText(cause)
	s.progress().LastError = reason
	s.writing = ""
	s.setPhase(ctx, status+": "+reason)
	s.upsertAttributes(ctx, status, s.progress().RowsCommitted)
	dctx, cancel := workflow.NewDisconnectedContext(ctx)
	defer cancel()
	c := &s.cursor
	err := workflow.ExecuteActivity(
		workflow.WithActivityOptions(dctx, dbOptions("close sync log: "+status)),
		contract.ActivityEndSync,
		contract.EndSyncInput{Account: s.in.Account, SyncID: s.syncID, Status: status, Reason: reason,
			Retries: s.progress().Retries, Generation: c.Generation, LeaseToken: c.LeaseToken},
	).Get(dctx, nil)
	if err != nil {
		workflow.GetLogger(ctx).Error("could not record the end of the sync", "error", err)
	}
}
