package e2e

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"expiry-sync/internal/hwsim"
)

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
	require.NoError(t, s.store.DB().Table("tag_snapshots").Where("sync_id = ?", id).Count(&left).Error)
	assert.Zero(t, left, "the finished sync dropped its snapshot")
}
