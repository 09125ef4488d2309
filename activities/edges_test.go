package activities_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"expiry-sync/internal/contract"
	"expiry-sync/internal/inventory"
	"expiry-sync/internal/testkit/hwsim"
)

// Invariant: a 200 tag answer without a tags field is not "no tags": the
// resource's tags are unknown, so its known tags stay (a tag error), and
// nothing is staged for it. Its neighbours are read as usual.
func TestATagAnswerWithoutTagsKeepsTheKnownTags(t *testing.T) {
	f := newFixture(t, sk)
	targets := f.taggable(4)
	require.NoError(t, f.sim.SetKnobs(hwsim.Knobs{TagsFieldMissingResourceIDs: []string{targets[1].ResourceID}}))
	log := f.lease(t, "sync-no-tags-field")
	v, err := f.env.ExecuteActivity(f.acts.FetchTags, contract.FetchTagsInput{SyncID: log.SyncID, Resources: targets, Generation: log.Generation, LeaseToken: log.LeaseToken})
	require.NoError(t, err, "one resource's odd answer does not fail the group")
	var res contract.FetchTagsResult
	require.NoError(t, v.Get(&res))
	require.Len(t, res.Results, 4)
	assert.Equal(t, inventory.TagsError, res.Results[1].Status)
	assert.Contains(t, res.Results[1].Error, "no tags field")
	for _, i := range []int{0, 2, 3} {
		assert.Equal(t, inventory.TagsOK, res.Results[i].Status)
	}
	staged, err := f.acts.Store.SnapshotTags(context.Background(), log.Writer().Attempt(), resourceIDs(targets))
	require.NoError(t, err)
	assert.NotContains(t, staged, targets[1].ResourceID, "no tags are staged for it")
	assert.Len(t, staged, 3)

}

// Invariant: an empty answer before BSS's total_count is not the end of
// the listing: it is asked again (BSS's count and its records may
// disagree for a moment), and the records that come then are listed.
func TestAnEmptyPageBeforeTheTotalIsAskedAgain(t *testing.T) {
	f := newFixture(t, sk)
	require.NoError(t, f.sim.SetKnobs(hwsim.Knobs{EmptyPageOffsets: []int{0, 40}, EmptyPageTimes: 1}))
	now := time.Now().UTC()
	for _, offset := range []int{0, 40} {
		v, err := f.env.ExecuteActivity(f.acts.ListPage, contract.ListPageInput{WindowBegin: now.AddDate(0, 0, -400), WindowEnd: now.AddDate(0, 0, 400),
			Offset: offset, Limit: 50, Overlap: 10})
		require.NoError(t, err)
		var page contract.ListPageResult
		require.NoError(t, v.Get(&page))
		assert.Equal(t, 50, page.Received, "offset %d: the second ask answered", offset)
		assert.Len(t, page.Resources, 50)
		assert.Greater(t, page.TotalCount, 90)
	}
}
