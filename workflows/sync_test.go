package workflows_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"expiry-sync/activities"
	"expiry-sync/internal/catalog"
	"expiry-sync/internal/contract"
	"expiry-sync/internal/huawei"
	"expiry-sync/internal/inventory"
	"expiry-sync/workflows"
)

var a *activities.Activities

// fakeCloud serves pages from a fixed list of resources and records every
// call the workflow makes, as the activities would see them.
type fakeCloud struct {
	mu        sync.Mutex
	resources []inventory.Resource
	lists     []contract.ListPageInput
	tagGroups [][]inventory.TagTarget
	commits   []contract.CommitBatchInput
	ends      []contract.EndSyncInput
	begin     contract.Checkpoint
	written   map[string]bool // rows this sync has committed, as the database holds them
	staged    map[int64][]inventory.Resource
	// pageCommits are the CommitPage calls; each is also in commits, as the
	// batch it wrote.
	pageCommits []contract.CommitPageInput
	finish      contract.FinishSyncInput
	// onCommitPage, when set, sees each CommitPage before it is answered.
	onCommitPage func(contract.CommitPageInput, []inventory.Resource)
	// beforeCommitPage, when set, runs at the start of each CommitPage,
	// outside the lock, so it may wait for other activities.
	beforeCommitPage func(contract.CommitPageInput)
	// beforeFetchTags, likewise, runs at the start of each FetchTags.
	beforeFetchTags func()
}

func newFakeCloud(n int) *fakeCloud {
	f := &fakeCloud{begin: contract.Checkpoint{Attempt: 1}, written: map[string]bool{}, staged: map[int64][]inventory.Resource{}}
	for i := range n {
		typ, tagType := catalog.ResourceVM, "ecs"
		if i%5 == 4 {
			typ, tagType = "hws.resource.type.unmapped", "" // no TMS type: never sent to FetchTags
		}
		f.resources = append(f.resources, inventory.Resource{ResourceID: fmt.Sprintf("r%04d", i), ResourceTypeCode: typ, TagType: tagType, ProjectID: "p1", Status: new(2)})
	}
	return f
}

func (f *fakeCloud) register(env *testsuite.TestWorkflowEnvironment) {
	env.RegisterActivity(a)
	env.OnActivity(a.BeginSync, mock.Anything, mock.Anything).Return(func(_ context.Context, in contract.BeginSyncInput) (contract.Checkpoint, error) {
		cp := f.begin
		if cp.WindowBegin.IsZero() {
			cp.WindowBegin, cp.WindowEnd = in.WindowBegin, in.WindowEnd
		}
		return cp, nil
	}).Maybe()
	env.OnActivity(a.ListPage, mock.Anything, mock.Anything).Return(func(_ context.Context, in contract.ListPageInput) (contract.ListPageResult, error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.lists = append(f.lists, in)
		if in.StageFrom > 0 && len(f.resources) >= in.StageFrom {
			return f.stagePage(in), nil
		}
		page := listPage(f.resources, in)
		page.Resources = slices.DeleteFunc(page.Resources, func(r inventory.Resource) bool { return in.SyncID != "" && f.written[r.ResourceID] })
		return page, nil
	}).Maybe()
	env.OnActivity(a.HoldLease, mock.Anything, mock.Anything).Return(func(ctx context.Context, _ contract.HoldLeaseInput) error {
		<-ctx.Done() // held until the run ends
		return ctx.Err()
	}).Maybe()
	env.OnActivity(a.RecheckUnseen, mock.Anything, mock.Anything).Return(contract.RecheckResult{}, nil).Maybe()
	env.OnActivity(a.FetchTags, mock.Anything, mock.Anything).Return(func(_ context.Context, in contract.FetchTagsInput) (contract.FetchTagsResult, error) {
		if f.beforeFetchTags != nil {
			f.beforeFetchTags()
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		f.tagGroups = append(f.tagGroups, in.Resources)
		var out contract.FetchTagsResult
		for _, r := range in.Resources {
			out.Results = append(out.Results, inventory.TagResult{ResourceID: r.ResourceID, Status: inventory.TagsOK, Tags: map[string]string{"id": r.ResourceID}})
		}
		return out, nil
	}).Maybe()
	env.OnActivity(a.CommitBatch, mock.Anything, mock.Anything).Return(func(_ context.Context, in contract.CommitBatchInput) (contract.CommitBatchResult, error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.commits = append(f.commits, in)
		for _, r := range in.Rows {
			f.written[r.ResourceID] = true
		}
		return contract.CommitBatchResult{Applied: true}, nil
	}).Maybe()
	env.OnActivity(a.SnapshotTags, mock.Anything, mock.Anything).Return(contract.SnapshotTagsResult{Calls: 1}, nil).Maybe()
	env.OnActivity(a.CommitPage, mock.Anything, mock.Anything).Return(func(_ context.Context, in contract.CommitPageInput) (contract.CommitPageResult, error) {
		if f.beforeCommitPage != nil {
			f.beforeCommitPage(in)
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		return f.commitPage(in), nil
	}).Maybe()
	env.OnActivity(a.FinishSync, mock.Anything, mock.Anything).Return(func(_ context.Context, in contract.FinishSyncInput) (contract.Summary, error) {
		id := in.SyncID
		f.mu.Lock()
		defer f.mu.Unlock()
		f.finish = in
		rows := 0
		for _, c := range f.commits {
			rows += len(c.Rows)
		}
		return contract.Summary{SyncID: id, Status: "success", TotalResources: rows, BatchesCommitted: len(f.commits)}, nil
	}).Maybe()
	env.OnActivity(a.EndSync, mock.Anything, mock.Anything).Return(func(_ context.Context, in contract.EndSyncInput) error {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.ends = append(f.ends, in)
		return nil
	}).Maybe()
}

// waitUntil polls cond for up to 10 s and leaves the verdict to the test's
// assertions: an activity that waits for another to start, which the test
// environment may start in any order.
func waitUntil(cond func() bool) {
	for deadline := time.Now().Add(10 * time.Second); !cond() && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
}

// stagePage answers as ListPage does when it stages the page: the page is
// kept whole, only its key, counts and pairs cross history.
func (f *fakeCloud) stagePage(in contract.ListPageInput) contract.ListPageResult {
	end := min(in.Offset+in.Limit, len(f.resources))
	page := slices.Clone(f.resources[min(in.Offset, end):end])
	f.staged[in.PageKey] = page
	res := contract.ListPageResult{TotalCount: len(f.resources), Received: len(page), Connected: true, Staged: true}
	counts := map[string]int{}
	for _, r := range page {
		if r.TagType != "" && r.ProjectID != "" {
			counts[r.ProjectID+"/"+r.TagType]++
		}
	}
	for _, pair := range slices.Sorted(maps.Keys(counts)) {
		res.Pairs = append(res.Pairs, contract.PairCount{Pair: pair, Resources: counts[pair]})
	}
	for _, r := range page[max(0, len(page)-in.Overlap):] {
		res.Tail = append(res.Tail, r.ResourceID)
	}
	return res
}

// commitPage answers as CommitPage does: each page in turn, as long as it
// overlaps the anchor (the first) or the page before it; the rows this sync
// has not written, recorded as one batch.
func (f *fakeCloud) commitPage(in contract.CommitPageInput) contract.CommitPageResult {
	if f.onCommitPage != nil {
		f.onCommitPage(in, f.staged[in.PageKey])
	}
	f.pageCommits = append(f.pageCommits, in)
	batch := contract.CommitBatchInput{Batch: in.Batch, SyncedAt: in.SyncedAt}
	anchor, pages := in.Anchor, 0
	for _, ref := range in.Pages() {
		page := f.staged[ref.PageKey]
		if ref.Offset > 0 && len(anchor) > 0 && !slices.ContainsFunc(page, func(r inventory.Resource) bool { return slices.Contains(anchor, r.ResourceID) }) {
			break
		}
		for _, r := range page {
			if f.written[r.ResourceID] || slices.Contains(anchor, r.ResourceID) {
				continue
			}
			f.written[r.ResourceID] = true
			batch.Rows = append(batch.Rows, inventory.Row{Resource: r, Tags: inventory.TagResult{ResourceID: r.ResourceID, Status: inventory.TagsOK}})
		}
		anchor, batch.NextOffset, batch.Anchor = ref.Tail, ref.NextOffset, ref.Tail
		pages++
	}
	if pages == 0 {
		return contract.CommitPageResult{}
	}
	f.commits = append(f.commits, batch)
	return contract.CommitPageResult{Connected: true, Pages: pages, Applied: true, Rows: len(batch.Rows), Tagged: len(batch.Rows)}
}

// listPage answers as the ListPage activity does: the page at the offset,
// whether it overlaps the anchor, its tail, and only the resources not in
// the anchor.
func listPage(all []inventory.Resource, in contract.ListPageInput) contract.ListPageResult {
	end := min(in.Offset+in.Limit, len(all))
	page := all[min(in.Offset, end):end]
	res := contract.ListPageResult{TotalCount: len(all), Received: len(page), Connected: in.Offset == 0 || len(in.Anchor) == 0}
	for _, r := range page {
		if slices.Contains(in.Anchor, r.ResourceID) {
			res.Connected = true
			continue
		}
		res.Resources = append(res.Resources, r)
	}
	for _, r := range page[max(0, len(page)-in.Overlap):] {
		res.Tail = append(res.Tail, r.ResourceID)
	}
	return res
}

func newEnv(t *testing.T) *testsuite.TestWorkflowEnvironment {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(workflows.SyncExpiringResources, workflow.RegisterOptions{Name: workflows.WorkflowName})
	// The reminders a finished sync starts are tested on their own (notify_test.go).
	env.RegisterWorkflowWithOptions(func(workflow.Context, workflows.NotifyInput) error { return nil },
		workflow.RegisterOptions{Name: workflows.NotifyWorkflowName})
	env.SetStartWorkflowOptions(defaultStartOptions())
	t.Cleanup(func() { env.AssertExpectations(t) })
	return env
}

func input() workflows.SyncInput {
	return workflows.SyncInput{ExpireDays: 30, LookbackDays: 15, PageSize: 100, BatchSize: 40, TagConcurrency: 3, TagsPerActivity: 7}
}

func TestSyncCommitsEveryRowOnceInOrderedBatches(t *testing.T) {
	env := newEnv(t)
	cloud := newFakeCloud(250)
	cloud.register(env)

	env.ExecuteWorkflow(workflows.WorkflowName, input())
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var summary contract.Summary
	require.NoError(t, env.GetWorkflowResult(&summary))
	assert.Equal(t, 250, summary.TotalResources)

	// Pages of 100 that overlap by 10 ids: offsets 0, 90, 180, inside the
	// window BeginSync fixed, each anchored on the previous page's tail.
	require.Len(t, cloud.lists, 3)
	for i, l := range cloud.lists {
		assert.Equal(t, i*90, l.Offset)
		assert.Equal(t, 10, l.Overlap)
		if i > 0 {
			assert.Equal(t, []string{fmt.Sprintf("r%04d", i*90), fmt.Sprintf("r%04d", i*90+9)}, []string{l.Anchor[0], l.Anchor[9]})
		}
		assert.Equal(t, 100, l.Limit)
		assert.Equal(t, []int{2, 4, 5}, l.Statuses)
		assert.Equal(t, 45*24*time.Hour, l.WindowEnd.Sub(l.WindowBegin))
	}
	// Every resource written exactly once, batches numbered 1..n, at most 40 rows.
	seen := map[string]int{}
	for i, c := range cloud.commits {
		assert.Equal(t, i+1, c.Batch)
		assert.LessOrEqual(t, len(c.Rows), 40)
		for _, r := range c.Rows {
			seen[r.ResourceID]++
			if r.TagType == "" {
				assert.Equal(t, inventory.TagsUnsupported, r.Tags.Status)
			} else {
				assert.Equal(t, map[string]string{"id": r.ResourceID}, r.Tags.Tags)
			}
		}
	}
	assert.Len(t, seen, 250)
	for id, n := range seen {
		assert.Equal(t, 1, n, id)
	}
	// Checkpoints: the last batch of a page points at the next page, row 0;
	// the others at the next row of their page.
	assert.Equal(t, contract.CommitBatchInput{NextOffset: 0, NextRow: 40}, checkpointOf(cloud.commits[0]))
	assert.Equal(t, contract.CommitBatchInput{NextOffset: 90, NextRow: 0}, checkpointOf(cloud.commits[2]))
	assert.Equal(t, contract.CommitBatchInput{NextOffset: 240, NextRow: 0}, checkpointOf(cloud.commits[len(cloud.commits)-1]))
	// Tags: only TMS types, in groups of at most 7.
	tagged := 0
	for _, g := range cloud.tagGroups {
		assert.LessOrEqual(t, len(g), 7)
		for _, r := range g {
			assert.Equal(t, catalog.ResourceVM, r.ResourceTypeCode)
			tagged++
		}
	}
	assert.Equal(t, 200, tagged)
	assert.Empty(t, cloud.ends, "a successful sync is closed by FinishSync only")

	var p workflows.Progress
	v, err := env.QueryWorkflow(workflows.ProgressQuery)
	require.NoError(t, err)
	require.NoError(t, v.Get(&p))
	assert.Equal(t, 3, p.PagesListed)
	assert.Equal(t, 250, p.ResourcesListed)
	assert.Equal(t, 200, p.TagsFetched)
	assert.Equal(t, 50, p.TagsUnsupported)
	assert.Equal(t, len(cloud.commits), p.BatchesCommitted)
	assert.Equal(t, 250, p.RowsCommitted)
}

func checkpointOf(c contract.CommitBatchInput) contract.CommitBatchInput {
	return contract.CommitBatchInput{NextOffset: c.NextOffset, NextRow: c.NextRow}
}

func TestTagFanOutIsBounded(t *testing.T) {
	env := newEnv(t)
	cloud := newFakeCloud(100)
	cloud.register(env)
	var mu sync.Mutex
	inFlight, peak, started := 0, 0, 0
	peakOf := func() int { mu.Lock(); defer mu.Unlock(); return peak }
	env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		if info.ActivityType.Name == "FetchTags" {
			mu.Lock()
			inFlight++
			peak = max(peak, inFlight)
			mu.Unlock()
		}
	})
	// Activities run on goroutines in any order: the first waits (a while,
	// not forever) for a second to start, which it does only if the
	// workflow scheduled it before the first completed.
	cloud.beforeFetchTags = func() {
		mu.Lock()
		started++
		first := started == 1
		mu.Unlock()
		if first {
			waitUntil(func() bool { return peakOf() > 1 })
		}
	}
	env.SetOnActivityCompletedListener(func(info *activity.Info, _ converter.EncodedValue, _ error) {
		if info.ActivityType.Name == "FetchTags" {
			mu.Lock()
			inFlight--
			mu.Unlock()
		}
	})
	in := input()
	in.TagsPerActivity = 1
	env.ExecuteWorkflow(workflows.WorkflowName, in)
	require.NoError(t, env.GetWorkflowError())
	assert.Equal(t, 80, len(cloud.tagGroups))
	assert.LessOrEqual(t, peak, in.TagConcurrency)
	assert.Greater(t, peak, 1, "tag queries run in parallel")
}

func TestNonRetryableHuaweiErrorFailsFastAndClosesTheLog(t *testing.T) {
	env := newEnv(t)
	cloud := newFakeCloud(10)
	calls := 0
	env.RegisterActivity(a)
	env.OnActivity(a.ListPage, mock.Anything, mock.Anything).Return(func(context.Context, contract.ListPageInput) (contract.ListPageResult, error) {
		calls++
		return contract.ListPageResult{}, temporal.NewNonRetryableApplicationError(
			"BSS ListPayPerUseCustomerResources: 401 APIGW.0301 Incorrect IAM authentication information", string(huawei.KindAuth), nil)
	})
	cloud.register(env)

	env.ExecuteWorkflow(workflows.WorkflowName, input())
	err := env.GetWorkflowError()
	require.Error(t, err)
	var app *temporal.ApplicationError
	require.True(t, errors.As(err, &app))
	assert.Equal(t, string(huawei.KindAuth), app.Type())
	assert.Equal(t, 1, calls, "a 401 is not retried")
	require.Len(t, cloud.ends, 1)
	assert.Equal(t, "failed", cloud.ends[0].Status)
	assert.Contains(t, cloud.ends[0].Reason, "ListPage: BSS ListPayPerUseCustomerResources: 401 APIGW.0301")
	assert.Empty(t, cloud.commits)
}

func TestThrottledTagQueriesAreRetriedWithBackoff(t *testing.T) {
	env := newEnv(t)
	cloud := newFakeCloud(20)
	attempts := 0
	env.RegisterActivity(a)
	env.OnActivity(a.FetchTags, mock.Anything, mock.Anything).Return(func(ctx context.Context, in contract.FetchTagsInput) (contract.FetchTagsResult, error) {
		attempts++
		if attempts <= 2 {
			return contract.FetchTagsResult{}, temporal.NewApplicationError("TMS ShowResourceTag: 429 APIGW.0308 throttled", string(huawei.KindThrottled))
		}
		out := contract.FetchTagsResult{Retries: int(activity.GetInfo(ctx).Attempt) - 1}
		for _, r := range in.Resources {
			out.Results = append(out.Results, inventory.TagResult{ResourceID: r.ResourceID, Status: inventory.TagsOK})
		}
		return out, nil
	})
	cloud.register(env)
	in := input()
	in.TagsPerActivity, in.TagConcurrency = 100, 1 // one group: its third attempt succeeds

	env.ExecuteWorkflow(workflows.WorkflowName, in)
	require.NoError(t, env.GetWorkflowError())
	assert.Equal(t, 3, attempts)
	v, err := env.QueryWorkflow(workflows.ProgressQuery)
	require.NoError(t, err)
	var p workflows.Progress
	require.NoError(t, v.Get(&p))
	assert.Equal(t, 2, p.Retries)
	assert.Equal(t, 16, p.TagsFetched)
}

func TestDatabaseRejectionFailsTheRunNamingTheBatch(t *testing.T) {
	env := newEnv(t)
	cloud := newFakeCloud(200)
	env.RegisterActivity(a)
	env.OnActivity(a.CommitBatch, mock.Anything, mock.Anything).Return(func(_ context.Context, in contract.CommitBatchInput) (contract.CommitBatchResult, error) {
		if in.Batch == 3 {
			return contract.CommitBatchResult{}, temporal.NewNonRetryableApplicationError("batch 3: Error 1644 (45000): rejected", contract.ErrTypeDatabaseRejected, nil)
		}
		cloud.commits = append(cloud.commits, in)
		return contract.CommitBatchResult{Applied: true}, nil
	})
	cloud.register(env)

	env.ExecuteWorkflow(workflows.WorkflowName, input())
	require.Error(t, env.GetWorkflowError())
	assert.Len(t, cloud.commits, 2, "batches after the rejected one are not attempted")
	require.Len(t, cloud.ends, 1)
	assert.Equal(t, "failed", cloud.ends[0].Status)
	assert.Contains(t, cloud.ends[0].Reason, "CommitBatch: batch 3")
}

func TestResumeContinuesAfterTheCheckpoint(t *testing.T) {
	env := newEnv(t)
	cloud := newFakeCloud(250)
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	cloud.begin = contract.Checkpoint{WindowBegin: t0, WindowEnd: t0.AddDate(0, 0, 30), NextOffset: 100, NextRow: 80, LastCommittedBatch: 5, RowsCommitted: 180, Attempt: 2}
	for _, r := range cloud.resources[:180] {
		cloud.written[r.ResourceID] = true // committed by the first attempt
	}
	cloud.register(env)
	in := input()
	in.Resume = true

	env.ExecuteWorkflow(workflows.WorkflowName, in)
	require.NoError(t, env.GetWorkflowError())
	require.NotEmpty(t, cloud.lists)
	assert.Equal(t, 100, cloud.lists[0].Offset, "committed pages are not listed again")
	assert.True(t, t0.Equal(cloud.lists[0].WindowBegin), "the resumed sync keeps its window")
	assert.Equal(t, 6, cloud.commits[0].Batch)
	assert.Equal(t, "r0180", cloud.commits[0].Rows[0].ResourceID, "committed rows of the page are skipped")
	total := 0
	for _, c := range cloud.commits {
		total += len(c.Rows)
	}
	assert.Equal(t, 70, total, "only the 70 uncommitted resources are written")
	for _, g := range cloud.tagGroups {
		for _, r := range g {
			assert.GreaterOrEqual(t, r.ResourceID, "r0180", "committed resources' tags are not read again")
		}
	}
}

func TestContinuesAsNewWithASmallCursor(t *testing.T) {
	env := newEnv(t)
	cloud := newFakeCloud(250)
	cloud.register(env)
	env.SetContinueAsNewSuggested(true)

	env.ExecuteWorkflow(workflows.WorkflowName, input())
	err := env.GetWorkflowError()
	var can *workflow.ContinueAsNewError
	require.True(t, errors.As(err, &can), "got %v", err)
	assert.Equal(t, workflows.WorkflowName, can.WorkflowType.Name)
	var next workflows.SyncInput
	require.NoError(t, newDataConverter().FromPayloads(can.Input, &next))
	require.NotNil(t, next.Cursor)
	assert.Equal(t, 1, next.Cursor.Progress.Runs)
	assert.Equal(t, 30, next.ExpireDays)
	assert.Less(t, can.Input.Size(), 2048, "the cursor is small")
	assert.Empty(t, cloud.ends)
}

func TestContinuedRunPicksUpTheCursor(t *testing.T) {
	env := newEnv(t)
	cloud := newFakeCloud(250)
	cloud.register(env)
	in := input()
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	in.Cursor = &workflows.Cursor{
		Checkpoint: contract.Checkpoint{WindowBegin: t0, WindowEnd: t0.AddDate(0, 0, 30), NextOffset: 200, LastCommittedBatch: 9},
		Progress:   workflows.Progress{Runs: 1, BatchesCommitted: 9, RowsCommitted: 200},
	}
	env.ExecuteWorkflow(workflows.WorkflowName, in)
	require.NoError(t, env.GetWorkflowError())
	require.Len(t, cloud.lists, 1)
	assert.Equal(t, 200, cloud.lists[0].Offset)
	assert.Equal(t, 10, cloud.commits[0].Batch)
	v, err := env.QueryWorkflow(workflows.ProgressQuery)
	require.NoError(t, err)
	var p workflows.Progress
	require.NoError(t, v.Get(&p))
	assert.Equal(t, 2, p.Runs)
	assert.Equal(t, 250, p.RowsCommitted)
}

func TestInvalidInputIsRejectedBeforeAnyActivity(t *testing.T) {
	for _, in := range []workflows.SyncInput{
		{ExpireDays: -1}, {ExpireDays: 3651}, {ExpireDays: 30, BatchSize: 501},
		{ExpireDays: 30, PageSize: 501}, {ExpireDays: 30, TagConcurrency: -5}, {ExpireDays: 30, LookbackDays: -1},
		{ExpireDays: 30, Statuses: []int{9}}, {ExpireDays: 30, Account: "prod/../x"}, {ExpireDays: 30, Account: "-x"},
	} {
		env := newEnv(t)
		env.RegisterActivity(a)
		env.ExecuteWorkflow(workflows.WorkflowName, in)
		err := env.GetWorkflowError()
		var app *temporal.ApplicationError
		require.True(t, errors.As(err, &app), "%+v: %v", in, err)
		assert.Equal(t, contract.ErrTypeInvalidInput, app.Type())
		assert.True(t, app.NonRetryable())
		assert.Regexp(t, "out of range|is not allowed", app.Error())
	}
}

func TestCancelMarksTheSyncCanceled(t *testing.T) {
	env := newEnv(t)
	cloud := newFakeCloud(500)
	cloud.register(env)
	env.RegisterDelayedCallback(env.CancelWorkflow, time.Millisecond)
	env.OnActivity(a.FetchTags, mock.Anything, mock.Anything).After(time.Minute).Return(contract.FetchTagsResult{}, nil).Maybe()

	env.ExecuteWorkflow(workflows.WorkflowName, input())
	require.Error(t, env.GetWorkflowError())
	require.Len(t, cloud.ends, 1)
	assert.Equal(t, "canceled", cloud.ends[0].Status)
}

func TestBulkModeSnapshotsEachPairOnceAndFallsBack(t *testing.T) {
	env := newEnv(t)
	cloud := newFakeCloud(300)
	for i := range cloud.resources {
		cloud.resources[i].ProjectID = []string{"p1", "p2"}[i%2]
		if i%7 == 0 {
			cloud.resources[i].ResourceTypeCode = catalog.ResourceIP // eip: TMS "cannot list" it in bulk here
			cloud.resources[i].TagType = "eip"
		}
	}
	var snapshots []contract.SnapshotTagsInput
	read := map[string]bool{} // pairs whose snapshot finished
	env.RegisterActivity(a)
	env.OnActivity(a.SnapshotTags, mock.Anything, mock.Anything).Return(func(_ context.Context, in contract.SnapshotTagsInput) (contract.SnapshotTagsResult, error) {
		cloud.mu.Lock()
		defer cloud.mu.Unlock()
		snapshots = append(snapshots, in)
		read[in.ProjectID+"/"+in.TMSType] = true
		if in.TMSType == "eip" {
			return contract.SnapshotTagsResult{Unsupported: "TMS.5027 not supported", Calls: 1}, nil
		}
		return contract.SnapshotTagsResult{Resources: 150, Calls: 1}, nil
	})
	cloud.onCommitPage = func(in contract.CommitPageInput, page []inventory.Resource) {
		for _, r := range page {
			if r.TagType != "" {
				assert.True(t, read[r.ProjectID+"/"+r.TagType], "offset %d is written once its pairs are read in bulk", in.Offset)
			}
		}
	}
	cloud.register(env)
	in := input()
	in.TagMode = workflows.TagModeBulk

	env.ExecuteWorkflow(workflows.WorkflowName, in)
	require.NoError(t, env.GetWorkflowError())
	pairs := map[string]int{}
	for _, s := range snapshots {
		assert.Equal(t, "expiry-sync-test", s.SyncID)
		pairs[s.ProjectID+"/"+s.TMSType]++
	}
	assert.Equal(t, map[string]int{"p1/ecs": 1, "p2/ecs": 1, "p1/eip": 1, "p2/eip": 1}, pairs, "each pair is read in bulk once per sync, across pages")
	assert.Empty(t, cloud.tagGroups, "bulk mode reads no tags in the workflow: CommitPage joins the snapshot and reads what it lacks")
	assert.Len(t, cloud.finish.Notes.Fallbacks, 2, "the pairs TMS cannot list in bulk are noted: %v", cloud.finish.Notes.Fallbacks)
	for _, l := range cloud.lists {
		assert.Positive(t, l.PageKey, "every page of a bulk sync is staged")
	}
	assertPagesCoverTheListing(t, cloud)
}

// assertPagesCoverTheListing: the staged pages committed in order write
// every resource once.
func assertPagesCoverTheListing(t *testing.T, cloud *fakeCloud) {
	t.Helper()
	var ids []string
	for i, c := range cloud.commits {
		assert.Equal(t, i+1, c.Batch, "batches follow each other")
		for _, r := range c.Rows {
			ids = append(ids, r.ResourceID)
		}
	}
	var want []string
	for _, r := range cloud.resources {
		want = append(want, r.ResourceID)
	}
	assert.Equal(t, want, ids)
}

func TestAutoModeGoesBulkOnlyForLargeAccounts(t *testing.T) {
	for _, c := range []struct {
		resources int
		bulk      bool
	}{{500, false}, {workflows.AutoBulkResources, true}} {
		env := newEnv(t)
		cloud := newFakeCloud(c.resources)
		bulkCalls := 0
		env.RegisterActivity(a)
		env.OnActivity(a.SnapshotTags, mock.Anything, mock.Anything).Return(func(context.Context, contract.SnapshotTagsInput) (contract.SnapshotTagsResult, error) {
			bulkCalls++
			return contract.SnapshotTagsResult{}, nil
		}).Maybe()
		cloud.register(env)
		in := input()
		in.PageSize, in.TagConcurrency = 500, 20
		env.ExecuteWorkflow(workflows.WorkflowName, in)
		require.NoError(t, env.GetWorkflowError())
		assert.Equal(t, c.bulk, bulkCalls > 0, "%d resources", c.resources)
	}
}

// A bulk sync lists ahead of its commits; when resources leave the listing
// before its offset meanwhile, the pages listed ahead no longer overlap the
// last one written: the workflow lists again further back and skips nothing.
func TestBulkListingAheadSkipsNothingWhenTheListingShifts(t *testing.T) {
	env := newEnv(t)
	cloud := newFakeCloud(600)
	removed := map[string]bool{}
	cloud.onCommitPage = func(in contract.CommitPageInput, _ []inventory.Resource) {
		if in.Batch == 2 && len(removed) == 0 {
			// 60 resources of the first page leave the window: every
			// page listed after this is 60 places further back.
			for _, r := range cloud.resources[:60] {
				removed[r.ResourceID] = true
			}
			cloud.resources = cloud.resources[60:]
		}
	}
	cloud.register(env)
	in := input()
	in.TagMode, in.PageSize = workflows.TagModeBulk, 50

	env.ExecuteWorkflow(workflows.WorkflowName, in)
	require.NoError(t, env.GetWorkflowError())
	for _, r := range cloud.resources {
		assert.True(t, cloud.written[r.ResourceID], "%s stayed in the window: written", r.ResourceID)
	}
	var p workflows.Progress
	v, err := env.QueryWorkflow(workflows.ProgressQuery)
	require.NoError(t, err)
	require.NoError(t, v.Get(&p))
	assert.Positive(t, p.ListingShifts, "pages listed ahead no longer overlapped")
	disconnected := 0
	for _, c := range cloud.pageCommits {
		if c.Offset > 0 && !slices.ContainsFunc(cloud.staged[c.PageKey], func(r inventory.Resource) bool { return slices.Contains(c.Anchor, r.ResourceID) }) {
			disconnected++
		}
	}
	assert.Positive(t, disconnected, "CommitPage was asked to write a page that did not overlap, and wrote nothing")
	maxOffset := 0
	for _, l := range cloud.lists {
		maxOffset = max(maxOffset, l.Offset)
	}
	assert.Less(t, maxOffset, 600, "no page is listed past BSS's total")
}

// The listing runs ahead of the commits, several pages at once, at
// offsets a page apart less the overlap.
func TestBulkListingRunsAheadOfTheCommits(t *testing.T) {
	env := newEnv(t)
	cloud := newFakeCloud(1000)
	// The test environment runs activities on goroutines in any order, so
	// the first commit waits (a while, not forever) for a second listing:
	// one comes only if the workflow scheduled it before the commit ended.
	listedBeforeFirstCommit := 0
	cloud.beforeCommitPage = func(in contract.CommitPageInput) {
		if in.Batch != 1 {
			return
		}
		waitUntil(func() bool {
			cloud.mu.Lock()
			defer cloud.mu.Unlock()
			listedBeforeFirstCommit = len(cloud.lists)
			return listedBeforeFirstCommit > 1
		})
	}
	cloud.register(env)
	in := input()
	in.TagMode = workflows.TagModeBulk

	env.ExecuteWorkflow(workflows.WorkflowName, in)
	require.NoError(t, env.GetWorkflowError())
	assert.Greater(t, listedBeforeFirstCommit, 1, "pages after the first are listed before it is written")
	var offsets []int
	for _, l := range cloud.lists {
		offsets = append(offsets, l.Offset)
	}
	slices.Sort(offsets)
	assert.Equal(t, []int{0, 90, 180, 270, 360, 450, 540, 630, 720, 810, 900}, offsets, "pages of 100 overlapping by 10, each listed once")
	assertPagesCoverTheListing(t, cloud)
	grouped := slices.ContainsFunc(cloud.pageCommits, func(c contract.CommitPageInput) bool { return len(c.More) > 0 })
	assert.True(t, grouped, "pages ready together are written by one CommitPage")
	assert.Less(t, len(cloud.pageCommits), len(offsets))
}

// The first version's table is frozen: changing it would replay recorded
// histories differently.
func TestLegacyTMSTypesAreFrozen(t *testing.T) {
	for code, want := range map[string]string{catalog.ResourceVM: "ecs", catalog.ResourceVolume: "disk", catalog.ResourceIP: "eip"} {
		got, ok := workflows.LegacyTMSType(code)
		assert.True(t, ok)
		assert.Equal(t, want, got)
	}
	for _, code := range []string{catalog.ResourceRDS, catalog.ResourceDCS, catalog.ResourceBandwidth} {
		_, ok := workflows.LegacyTMSType(code)
		assert.False(t, ok, "%s: changing the first version's table breaks replay", code)
	}
}
