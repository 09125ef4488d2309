package e2e

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"expiry-sync/internal/contract"
	"expiry-sync/internal/testkit/hwsim"
	"expiry-sync/workflows"
)

// Invariant: the worker's memory budget for staged tags changes where they
// are staged, never what is stored: with none, every tag read is staged one
// row per resource and the rows and tags are still exact.
func TestTagsBeyondTheWorkerMemoryBudgetAreExact(t *testing.T) {
	s := newStack(t, stackOptions{resources: 3000, seed: 29, noTagMemory: true})
	code, out, errOut := s.starter("sync", "--expire-days", "400", "--lookback-days", "40", "--tag-mode", "bulk", "--wait")
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	id := syncIDFrom(t, out)
	assertRows(t, s, s.expected(s.syncLog(id)), id)
	assert.Zero(t, s.sim.Stats().APIs[hwsim.APITMSShow].Requests, "the snapshot is found: no resource is read on its own")
	for _, table := range []string{"staged_tags", "tag_snapshots"} {
		var left int64
		require.NoError(t, s.store.DB().Table(table).Where("sync_id = ?", id).Count(&left).Error)
		assert.Zero(t, left, "the finished sync dropped its %s", table)
	}
}

func TestBulkTagModeStoresTheSameTagsWithFewCalls(t *testing.T) {
	s := newStack(t, stackOptions{resources: 3000, seed: 23})
	code, out, errOut := s.starter("sync", "--expire-days", "400", "--lookback-days", "40", "--tag-mode", "bulk", "--wait")
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	id := syncIDFrom(t, out)
	log := s.syncLog(id)
	want := s.expected(log)
	assertRows(t, s, want, id)

	stats := s.sim.Stats().APIs
	tagged := 0
	for _, r := range want {
		if r.TMSResourceType != "" {
			tagged++
		}
	}
	assert.Positive(t, stats[hwsim.APITMSFilter].Requests, "tags were listed in bulk")
	assert.Less(t, stats[hwsim.APITMSFilter].Requests, int64(tagged/50), "a bulk call covers up to 200 resources")
	assert.Zero(t, stats[hwsim.APITMSShow].Requests, "every taggable type is listed in bulk: no per-resource call")

	var left int64
	require.NoError(t, s.store.DB().Table("staged_tags").Where("sync_id = ?", id).Count(&left).Error)
	assert.Zero(t, left, "the finished sync dropped its snapshot")
}

// Invariant: auto mode never fails a sync that per-resource mode would
// complete, and stores the same rows and tags, whatever TMS does with an
// empty tag filter: (a) lists every resource, (b) lists tagged ones only,
// (c) refuses it with 400 TMS.0012, (d) has no ListResource at all (404
// APIGW.0101) — with TMS's 403 TMS.0006 throttling, 429s and 500s on.
func TestAutoSyncIsExactUnderEveryBulkBehaviour(t *testing.T) {
	for _, c := range []struct {
		mode        string
		bulkUsed    bool // ListResource serves the tags
		perResource bool // every tag read one by one
	}{
		{hwsim.BulkAll, true, false},
		{hwsim.BulkTaggedOnly, true, false},
		// Refused: listing key by key where it is cheaper than one call per
		// resource (the simulator's tags use hundreds of keys, so mostly not).
		{hwsim.BulkRefused, false, false},
		{hwsim.BulkMissing, false, true},
	} {
		t.Run(c.mode, func(t *testing.T) {
			s := newStack(t, stackOptions{resources: 2300, seed: 24, knobs: hwsim.Knobs{
				BulkEmptyFilter: c.mode, TMSThrottle403Ratio: 0.02, ThrottleRatio: 0.01, ErrorRatio: 0.02,
			}})
			id := s.syncID("auto-" + c.mode)
			summary, err := s.runSync(id, workflows.SyncInput{}) // default knobs: auto tag mode
			if err != nil {
				p := s.progressOf(id)
				t.Logf("progress: %+v; stats %+v", p, s.sim.Stats().APIs)
			}
			require.NoError(t, err)
			assert.Equal(t, contract.StatusSuccess, summary.Status)
			log := s.syncLog(id)
			want := s.expected(log)
			require.GreaterOrEqual(t, len(want), workflows.AutoBulkResources, "enough resources for auto to go bulk")
			assertRows(t, s, want, id)

			stats := s.sim.Stats().APIs
			tagged := 0
			for _, r := range want {
				if r.TMSResourceType != "" {
					tagged++
				}
			}
			t.Logf("%s: %d taggable; ListResource %d, ListTags %d, ShowResourceTag %d calls; 403 TMS.0006/429/500 retried: %d; fallbacks: %v",
				c.mode, tagged, stats[hwsim.APITMSFilter].Requests, stats[hwsim.APITMSTags].Requests, stats[hwsim.APITMSShow].Requests,
				summary.Retries, summary.Notes.Fallbacks)
			if c.bulkUsed {
				assert.Less(t, stats[hwsim.APITMSShow].Requests, int64(tagged/4), "bulk served most tags")
			}
			calls := stats[hwsim.APITMSFilter].Requests + stats[hwsim.APITMSTags].Requests + stats[hwsim.APITMSShow].Requests
			assert.LessOrEqual(t, float64(calls), 1.3*float64(tagged), "never much dearer than one call per resource")
			if c.perResource {
				assert.NotEmpty(t, summary.Notes.Fallbacks, "the summary says why bulk was not used")
				assert.Contains(t, *log.Notes, "APIGW.0101", "and so does the sync log")
				assert.GreaterOrEqual(t, stats[hwsim.APITMSShow].Requests, int64(tagged), "every tag read one by one")
			}
		})
	}
}
