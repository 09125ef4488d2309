package workflows_test

import (
	"context"
	"errors"
	"expiry-sync/internal/contract"
	"fmt"
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
}

func newFakeCloud(n int) *fakeCloud {
	f := &fakeCloud{begin: contract.Checkpoint{Attempt: 1}, written: map[string]bool{}}
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
	env.OnActivity(a.FinishSync, mock.Anything, mock.Anything).Return(func(_ context.Context, in contract.FinishSyncInput) (contract.Summary, error) {
		id := in.SyncID
		f.mu.Lock()
		defer f.mu.Unlock()
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
	inFlight, peak := 0, 0
	env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		if info.ActivityType.Name == "FetchTags" {
			mu.Lock()
			inFlight++
			peak = max(peak, inFlight)
			mu.Unlock()
		}
	})
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
	var mu sync.Mutex
	env.RegisterActivity(a)
	env.OnActivity(a.SnapshotTags, mock.Anything, mock.Anything).Return(func(_ context.Context, in contract.SnapshotTagsInput) (contract.SnapshotTagsResult, error) {
		mu.Lock()
		defer mu.Unlock()
		snapshots = append(snapshots, in)
		if in.TMSType == "eip" {
			return contract.SnapshotTagsResult{Unsupported: "TMS.5027 not supported", Calls: 1}, nil
		}
		return contract.SnapshotTagsResult{Resources: 150, Calls: 1}, nil
	})
	cloud.register(env)
	var inputs []contract.FetchTagsInput
	env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, args converter.EncodedValues) {
		if info.ActivityType.Name == "FetchTags" {
			var in contract.FetchTagsInput
			require.NoError(t, args.Get(&in))
			mu.Lock()
			inputs = append(inputs, in)
			mu.Unlock()
		}
	})
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
	snapshotServed, single := 0, 0
	for _, in := range inputs {
		for _, r := range in.Resources {
			if r.ResourceTypeCode == catalog.ResourceIP {
				assert.False(t, in.FromSnapshot, "a type TMS cannot list in bulk is queried per resource")
				single++
			} else {
				assert.True(t, in.FromSnapshot)
				assert.Equal(t, "expiry-sync-test", in.SyncID)
				snapshotServed++
			}
		}
	}
	vms, ips := 0, 0
	for _, r := range cloud.resources {
		switch r.ResourceTypeCode {
		case catalog.ResourceVM:
			vms++
		case catalog.ResourceIP:
			ips++
		}
	}
	assert.Equal(t, ips, single)
	assert.Equal(t, vms, snapshotServed, "every taggable vm is served from the snapshot")
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
