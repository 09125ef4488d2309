package activities_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"expiry-sync/internal/contract"
	"expiry-sync/internal/inventory"
	"expiry-sync/internal/store"
)

// stagedLister lists pages of 50 overlapping by 10 for the sync of log,
// staging each under the key given.
func stagedLister(t *testing.T, f *fixture, log store.SyncLog, now time.Time) func(offset int, key int64) contract.ListPageResult {
	return func(offset int, key int64) contract.ListPageResult {
		v, err := f.env.ExecuteActivity(f.acts.ListPage, contract.ListPageInput{WindowBegin: now.AddDate(0, 0, -400), WindowEnd: now.AddDate(0, 0, 400),
			Offset: offset, Limit: 50, SyncID: log.SyncID, Generation: log.Generation, LeaseToken: log.LeaseToken, Overlap: 10, StageFrom: 1, PageKey: key})
		require.NoError(t, err)
		var page contract.ListPageResult
		require.NoError(t, v.Get(&page))
		return page
	}
}

// A page staged by ListPage crosses history as a key: CommitPage writes it
// only if it overlaps the last committed page, leaves out the overlap, reads
// the tags the snapshot lacks one by one, and drops what it staged.
func TestStagedPageIsWrittenOnceWithItsTags(t *testing.T) {
	f := newFixture(t, sk)
	ctx := context.Background()
	log := f.lease(t, "sync-pages")
	now := time.Now().UTC()
	list := stagedLister(t, f, log, now)
	commit := func(in contract.CommitPageInput) contract.CommitPageResult {
		in.SyncID, in.Generation, in.LeaseToken, in.BatchSize, in.SyncedAt = log.SyncID, log.Generation, log.LeaseToken, 20, now
		v, err := f.env.ExecuteActivity(f.acts.CommitPage, in)
		require.NoError(t, err)
		var res contract.CommitPageResult
		require.NoError(t, v.Get(&res))
		return res
	}

	first := list(0, 1)
	require.True(t, first.Staged)
	assert.Empty(t, first.Resources, "a staged page's resources stay out of history")
	assert.Equal(t, 50, first.Received)
	assert.NotEmpty(t, first.Pairs)
	res := commit(contract.CommitPageInput{PageKey: 1, Batch: 1, NextOffset: 40, Tail: first.Tail})
	assert.True(t, res.Connected)
	assert.Equal(t, 50, res.Rows)
	assert.Positive(t, res.TagCalls, "no snapshot: the tags are read one by one")
	_, err := f.acts.Store.LoadPage(ctx, store.PageKey{SyncID: log.SyncID, Generation: log.Generation, Key: 1})
	assert.True(t, errors.Is(err, store.ErrPageNotStaged), "the committed page is dropped: %v", err)
	var staged int64
	require.NoError(t, f.acts.Store.DB().Table("staged_tags").Where("sync_id = ?", log.SyncID).Count(&staged).Error)
	assert.Positive(t, staged, "the tags read one by one are staged, for a retry")
	var committed []string
	require.NoError(t, f.acts.Store.DB().Model(&store.ExpiringResource{}).Where("tag_status = ?", inventory.TagsOK).Pluck("resource_id", &committed).Error)
	require.NotEmpty(t, committed)
	left, err := f.acts.Store.SnapshotTags(ctx, log.Writer().Attempt(), committed)
	require.NoError(t, err)
	assert.Empty(t, left, "the committed rows' tags are no longer held")

	again := commit(contract.CommitPageInput{PageKey: 1, Batch: 1, NextOffset: 40, Tail: first.Tail})
	assert.True(t, again.Connected, "a retried commit of a committed page succeeds")
	assert.False(t, again.Applied)

	second := list(40, 2)
	astray := commit(contract.CommitPageInput{PageKey: 2, Offset: 40, Batch: 2, Anchor: []string{"not-in-the-page"}, NextOffset: 80, Tail: second.Tail})
	assert.False(t, astray.Connected, "a page that does not overlap the last one is not written")
	sl, err := f.acts.Store.GetSyncLog(ctx, log.SyncID)
	require.NoError(t, err)
	assert.Equal(t, 1, sl.LastCommittedBatch)

	res = commit(contract.CommitPageInput{PageKey: 2, Offset: 40, Batch: 2, Anchor: first.Tail, NextOffset: 80, Tail: second.Tail})
	assert.True(t, res.Connected)
	assert.Equal(t, 40, res.Rows, "the 10 resources of the overlap were written with the first page")

	var rows []store.ExpiringResource
	require.NoError(t, f.acts.Store.DB().Order("resource_id").Find(&rows).Error)
	assert.Len(t, rows, 90)
	truth := map[string]map[string]string{}
	for _, r := range f.sim.Resources() {
		truth[r.ResourceID] = r.Tags
	}
	tagged := 0
	for _, r := range rows {
		if r.TagStatus == string(inventory.TagsOK) {
			tagged++
			want := store.Tags(truth[r.ResourceID])
			if want == nil {
				want = store.Tags{}
			}
			assert.Equal(t, want, r.Tags, r.ResourceID)
		}
		assert.Equal(t, log.Generation, r.SyncGeneration)
	}
	assert.Positive(t, tagged)
}

// One CommitPage writes a run of consecutive pages in one transaction, up
// to the first that does not overlap the page before it, and says how many;
// a retry after a lost answer finds them committed and says the same.
func TestConsecutivePagesAreWrittenInOneCommitUpToAShift(t *testing.T) {
	f := newFixture(t, sk)
	ctx := context.Background()
	log := f.lease(t, "sync-grouped")
	now := time.Now().UTC()
	list := stagedLister(t, f, log, now)
	// The third page comes as if the listing had shifted by 45: listed
	// at offset 80, it holds what was at 125, no id of the second page.
	p1, p2, p3 := list(0, 1), list(40, 2), list(125, 3)
	in := contract.CommitPageInput{SyncID: log.SyncID, Generation: log.Generation, LeaseToken: log.LeaseToken, BatchSize: 20, SyncedAt: now,
		PageKey: 1, Batch: 1, NextOffset: 40, Tail: p1.Tail, More: []contract.PageRef{
			{PageKey: 2, Offset: 40, NextOffset: 80, Tail: p2.Tail},
			{PageKey: 3, Offset: 80, NextOffset: 120, Tail: p3.Tail},
			// Never staged: read with the others, its error never met.
			{PageKey: 9, Offset: 120, NextOffset: 160},
		}}
	v, err := f.env.ExecuteActivity(f.acts.CommitPage, in)
	require.NoError(t, err)
	var res contract.CommitPageResult
	require.NoError(t, v.Get(&res))
	assert.True(t, res.Connected)
	assert.Equal(t, 2, res.Pages, "the third page does not overlap the second: not written")
	assert.Equal(t, 90, res.Rows, "two pages of 50 overlapping by 10")
	sl, err := f.acts.Store.GetSyncLog(ctx, log.SyncID)
	require.NoError(t, err)
	assert.Equal(t, 1, sl.LastCommittedBatch)
	assert.Equal(t, 80, sl.NextOffset, "the checkpoint follows the last page written")
	var rows int64
	require.NoError(t, f.acts.Store.DB().Model(&store.ExpiringResource{}).Count(&rows).Error)
	assert.EqualValues(t, 90, rows)
	_, err = f.acts.Store.LoadPage(ctx, store.PageKey{SyncID: log.SyncID, Generation: log.Generation, Key: 3})
	assert.NoError(t, err, "the page not written stays staged")

	v, err = f.env.ExecuteActivity(f.acts.CommitPage, in)
	require.NoError(t, err)
	require.NoError(t, v.Get(&res))
	assert.Equal(t, 2, res.Pages, "a retry finds the two pages committed")
	assert.False(t, res.Applied)

	// A page that is gone where the commit needs it fails the commit.
	p4 := list(80, 4)
	in = contract.CommitPageInput{SyncID: log.SyncID, Generation: log.Generation, LeaseToken: log.LeaseToken, BatchSize: 20, SyncedAt: now,
		PageKey: 4, Offset: 80, Batch: 2, Anchor: p2.Tail, NextOffset: 120, Tail: p4.Tail, More: []contract.PageRef{
			{PageKey: 9, Offset: 120, NextOffset: 160},
		}}
	_, err = f.env.ExecuteActivity(f.acts.CommitPage, in)
	require.Error(t, err)
	assert.ErrorContains(t, err, "staged page")
	require.NoError(t, f.acts.Store.DB().Model(&store.ExpiringResource{}).Count(&rows).Error)
	assert.EqualValues(t, 90, rows, "nothing of a failed commit is written")
}

// A renewal that races with the sync's own end (FinishSync frees the lease)
// is not a lost lease: HoldLease ends quietly, so the workflow does not
// cancel a sync that just completed. Another holder is a lost lease.
func TestHoldLeaseEndsQuietlyWhenTheSyncFinished(t *testing.T) {
	f := newFixture(t, sk)
	ctx := context.Background()
	log := f.lease(t, "sync-finished")
	_, err := f.acts.Store.FinishSync(ctx, store.SyncFinish{Writer: log.Writer()})
	require.NoError(t, err)
	_, err = f.env.ExecuteActivity(f.acts.HoldLease, contract.HoldLeaseInput{SyncID: log.SyncID, Generation: log.Generation, LeaseToken: log.LeaseToken})
	assert.NoError(t, err)

	old := f.lease(t, "sync-old")
	_, err = f.acts.Store.EndSync(ctx, old.Writer(), contract.StatusFailed, "test", 0)
	require.NoError(t, err)
	taker := f.lease(t, "sync-taker")
	require.NotEqual(t, old.SyncID, taker.SyncID)
	_, err = f.env.ExecuteActivity(f.acts.HoldLease, contract.HoldLeaseInput{SyncID: old.SyncID, Generation: old.Generation, LeaseToken: old.LeaseToken})
	var app *temporal.ApplicationError
	require.True(t, errors.As(err, &app), "%v", err)
	assert.Equal(t, contract.ErrTypeLeaseLost, app.Type())
}
