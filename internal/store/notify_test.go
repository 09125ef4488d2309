package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"expiry-sync/internal/store"
	"expiry-sync/internal/testenv"
)

// A resource is claimed by one digest per threshold and expire time, a
// retried claim returns the first, sends move pending → sending once, and a
// digest nobody took releases its resources.
func TestClaimDigestDedupesAndReleases(t *testing.T) {
	for _, db := range testenv.Databases() {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			st, err := store.Open(ctx, db.URL(t))
			require.NoError(t, err)
			defer st.Close()
			require.NoError(t, st.Migrate(ctx))
			exp := time.Date(2026, 12, 20, 8, 0, 0, 0, time.UTC)
			keys := []store.NotifyKey{{ResourceID: "r1", ExpireTime: exp, ThresholdDays: 30}, {ResourceID: "r2", ExpireTime: exp, ThresholdDays: 30}}
			claim := func(id string, keys []store.NotifyKey) int {
				n, err := st.ClaimDigest(ctx, store.DigestClaim{
					Digest:    store.NotificationDigest{ID: id, AccountID: "acc", Route: "r", ThresholdDays: 30, Language: "en", AsOf: exp, WorkflowID: "wf"},
					Resources: keys, Sends: []store.NotificationSend{{Channel: "hook", ChannelType: "webhook"}},
				})
				require.NoError(t, err)
				return n
			}
			assert.Equal(t, 2, claim("d1", keys))
			assert.Equal(t, 2, claim("d1", keys), "a retried claim returns the first")
			assert.Equal(t, 0, claim("d2", keys), "already claimed for the threshold")
			renewed := []store.NotifyKey{{ResourceID: "r1", ExpireTime: exp.AddDate(1, 0, 0), ThresholdDays: 30}}
			assert.Equal(t, 1, claim("d3", renewed), "a new expire time starts afresh")

			found, err := st.BeginSend(ctx, "d1", "hook")
			require.NoError(t, err)
			assert.Equal(t, store.SendPending, found)
			found, err = st.BeginSend(ctx, "d1", "hook")
			require.NoError(t, err)
			assert.Equal(t, store.SendSending, found, "a second attempt sees the first under way")

			_, released, err := st.SettleDigest(ctx, "d3", "given up")
			require.NoError(t, err)
			assert.True(t, released)
			assert.Equal(t, 1, claim("d4", renewed), "released resources can be claimed again")
			require.NoError(t, st.EndSend(ctx, "d1", "hook", store.SendSent, ""))
			sends, released, err := st.SettleDigest(ctx, "d1", "")
			require.NoError(t, err)
			assert.False(t, released)
			assert.Equal(t, store.SendSent, sends[0].Status)
			hist, err := st.NotifyHistory(ctx, store.HistoryFilter{AccountID: "acc"})
			require.NoError(t, err)
			assert.Len(t, hist, 3)
		})
	}
}
