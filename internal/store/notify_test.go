package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"expiry-sync/internal/contract"
	"expiry-sync/internal/store"
)

var notifyExp = time.Date(2026, 12, 20, 8, 0, 0, 0, time.UTC)

func claimOn(t *testing.T, st *store.Store, id string, channels []string, ids ...string) (int, []string) {
	t.Helper()
	c := store.DigestClaim{Digest: store.NotificationDigest{ID: id, AccountID: "acc", Route: "r", ThresholdDays: 30, Language: "en", AsOf: notifyExp, WorkflowID: "wf"}}
	for _, ch := range []string{"hook", "robot"} {
		c.Sends = append(c.Sends, store.NotificationSend{Channel: ch, ChannelType: "webhook"})
	}
	for _, rid := range ids {
		c.Items = append(c.Items, store.ClaimItem{Key: store.NotifyKey{ResourceID: rid, ExpireTime: notifyExp, ThresholdDays: 30}, Channels: channels})
	}
	n, chans, err := st.ClaimDigest(context.Background(), c)
	require.NoError(t, err)
	return n, chans
}

// Invariant: a resource is claimed once per threshold, expire time and
// channel; a retried claim returns the first; a send exists only for a
// channel that got resources.
func TestClaimDigestPerChannel(t *testing.T) {
	forEachDB(t, func(t *testing.T, st *store.Store) {
		n, chans := claimOn(t, st, "d1", []string{"hook"}, "r1", "r2")
		assert.Equal(t, 2, n)
		assert.Equal(t, []string{"hook"}, chans)
		n, chans = claimOn(t, st, "d1", []string{"hook", "robot"}, "r1", "r2", "r3")
		assert.Equal(t, []int{2}, []int{n}, "a retried claim returns the first")
		assert.Equal(t, []string{"hook"}, chans)
		n, chans = claimOn(t, st, "d2", []string{"hook", "robot"}, "r1", "r2", "r3")
		assert.Equal(t, 3, n, "r1 and r2 on robot, r3 on both")
		assert.Equal(t, []string{"hook", "robot"}, chans)
		n, _ = claimOn(t, st, "d3", []string{"hook", "robot"}, "r1", "r2", "r3")
		assert.Zero(t, n, "nothing left on any channel")
		_, sends, err := st.GetDigest(context.Background(), "d1")
		require.NoError(t, err)
		require.Len(t, sends, 1, "no send for a channel without resources")
		keys, err := st.NotifiedKeys(context.Background(), "acc", notifyExp)
		require.NoError(t, err)
		assert.ElementsMatch(t, []string{"hook", "robot"}, keys[store.NotifyKey{ResourceID: "r1", ExpireTime: notifyExp, ThresholdDays: 30}])
	})
}

func statuses(t *testing.T, st *store.Store, digest, channel string) map[string]string {
	t.Helper()
	d, _, err := st.GetDigest(context.Background(), digest)
	require.NoError(t, err)
	items, err := st.SendItems(context.Background(), d, channel)
	require.NoError(t, err)
	out := map[string]string{}
	for _, it := range items {
		out[it.ResourceID] = it.Status
	}
	return out
}

// Invariant: a state change happens only from the state it leaves (two
// attempts never both send a message), and settling a digest, whatever
// its run became, leaves no resource claimed and unsent: a message on its
// way is unconfirmed (never sent again, never counted as delivered), what
// was not sent or was refused is released for a later run. Settling
// twice changes nothing.
func TestSettleReleasesWhatNoChannelAccepted(t *testing.T) {
	forEachDB(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		claimOn(t, st, "d1", []string{"hook", "robot"}, "a", "b", "c", "d")
		require.NoError(t, st.SplitSend(ctx, "d1", "robot", 1, [][]string{{"a", "b"}, {"c"}, {"d"}}, nil))
		require.NoError(t, st.SplitSend(ctx, "d1", "hook", 1, [][]string{{"a", "b", "c", "d"}}, nil))
		move := func(ch string, part int, from, to string) int64 {
			n, err := st.MovePart(ctx, "d1", ch, part, from, to)
			require.NoError(t, err)
			return n
		}
		assert.EqualValues(t, 2, move("robot", 1, contract.SendPending, contract.SendSending))
		assert.EqualValues(t, 0, move("robot", 1, contract.SendPending, contract.SendSending), "a second attempt does not take it")
		assert.EqualValues(t, 2, move("robot", 1, contract.SendSending, contract.SendSent))
		assert.EqualValues(t, 1, move("robot", 2, contract.SendPending, contract.SendSending)) // on its way when the run ends
		assert.EqualValues(t, 4, move("hook", 1, contract.SendPending, contract.SendSending))
		assert.EqualValues(t, 4, move("hook", 1, contract.SendSending, contract.SendFailed)) // refused

		found, err := st.BeginSend(ctx, "d1", "robot")
		require.NoError(t, err)
		assert.Equal(t, contract.SendPending, found)
		res, err := st.SettleDigest(ctx, "d1", "the run was canceled", nil)
		require.NoError(t, err)
		sends, released := res.Sends, res.Released
		assert.Equal(t, map[string]int{"robot": 1}, res.Unconfirmed, "one message was on its way")
		assert.Equal(t, 5, released, "d on robot, and all four on hook")
		assert.Equal(t, map[string]string{"a": contract.SendSent, "b": contract.SendSent, "c": contract.SendUnconfirmed}, statuses(t, st, "d1", "robot"))
		assert.Empty(t, statuses(t, st, "d1", "hook"))
		byChannel := map[string]store.NotificationSend{}
		for _, s := range sends {
			byChannel[s.Channel] = s
		}
		assert.Equal(t, contract.SendFailed, byChannel["robot"].Status, "d was never sent")
		assert.Equal(t, 1, byChannel["robot"].PartsSent)
		assert.Equal(t, 1, byChannel["robot"].Unconfirmed)
		assert.Equal(t, contract.SendFailed, byChannel["hook"].Status)
		moved, err := st.EndSend(ctx, "d1", "robot", contract.SendSent, "")
		require.NoError(t, err)
		assert.False(t, moved, "a late attempt does not overwrite a settled send")

		again, err := st.SettleDigest(ctx, "d1", "again", nil)
		require.NoError(t, err)
		assert.Zero(t, again.Released)
		assert.Empty(t, again.Unconfirmed)
		n, chans := claimOn(t, st, "d2", []string{"hook", "robot"}, "a", "b", "c", "d")
		assert.Equal(t, 4, n, "released reminders are claimed again: all four on hook, d on robot")
		assert.Equal(t, []string{"hook", "robot"}, chans)
		assert.Equal(t, map[string]string{"d": contract.SendPending}, statuses(t, st, "d2", "robot"))
	})
}

// Unsettled digests are listed for the sweep, oldest first; settled ones
// are not.
func TestUnsettledDigests(t *testing.T) {
	forEachDB(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		claimOn(t, st, "d1", []string{"hook"}, "a")
		claimOn(t, st, "d2", []string{"hook"}, "b")
		_, err := st.SettleDigest(ctx, "d2", "", nil)
		require.NoError(t, err)
		got, err := st.UnsettledDigests(ctx, "acc", time.Now().Add(time.Hour), 10)
		require.NoError(t, err)
		require.Len(t, got, 1)
		assert.Equal(t, "d1", got[0].ID)
	})
}

// Invariant: a webhook or mail message whose answer never came is never
// given up: settling leaves it owed (its send pending), exactly one later
// run adopts it (to send it again under the same digest, so with the same
// id), a retried claim of that run finds it again, and a chat robot's
// message in the same state is unconfirmed instead.
func TestSettleLeavesAtLeastOnceMessagesOwed(t *testing.T) {
	forEachDB(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		claimOn(t, st, "d1", []string{"hook", "robot"}, "a", "b")
		for _, ch := range []string{"hook", "robot"} {
			require.NoError(t, st.SplitSend(ctx, "d1", ch, 1, [][]string{{"a", "b"}}, nil))
			n, err := st.MovePart(ctx, "d1", ch, 1, contract.SendPending, contract.SendSending)
			require.NoError(t, err)
			require.EqualValues(t, 2, n)
		}
		res, err := st.SettleDigest(ctx, "d1", "the run was terminated", []string{"hook"})
		require.NoError(t, err)
		sends := res.Sends
		assert.Zero(t, res.Released)
		assert.Equal(t, map[string]int{"robot": 1}, res.Unconfirmed, "the robot's message is given up, the webhook's owed")
		assert.Equal(t, map[string]string{"a": contract.SendSending, "b": contract.SendSending}, statuses(t, st, "d1", "hook"), "owed")
		assert.Equal(t, map[string]string{"a": contract.SendUnconfirmed, "b": contract.SendUnconfirmed}, statuses(t, st, "d1", "robot"))
		for _, s := range sends {
			want := map[string]string{"hook": contract.SendPending, "robot": contract.SendUnconfirmed}[s.Channel]
			assert.Equal(t, want, s.Status, s.Channel)
		}

		owed, err := st.OwedDigests(ctx, "acc", "r", "run2")
		require.NoError(t, err)
		require.Len(t, owed, 1)
		assert.Equal(t, "d1", owed[0].ID)
		chans, err := st.AdoptOwed(ctx, "d1", "wf2", "run2")
		require.NoError(t, err)
		assert.Equal(t, []string{"hook"}, chans)
		chans, err = st.AdoptOwed(ctx, "d1", "wf3", "run3")
		require.NoError(t, err)
		assert.Empty(t, chans, "one run adopts it")
		owed, err = st.OwedDigests(ctx, "acc", "r", "run3")
		require.NoError(t, err)
		assert.Empty(t, owed, "held by run2")
		owed, err = st.OwedDigests(ctx, "acc", "r", "run2")
		require.NoError(t, err)
		assert.Len(t, owed, 1, "run2's retried claim finds it again")
		found, err := st.BeginSend(ctx, "d1", "hook")
		require.NoError(t, err)
		assert.Equal(t, contract.SendPending, found, "the adopting run sends it")

		n, err := st.MovePart(ctx, "d1", "hook", 1, contract.SendSending, contract.SendSent)
		require.NoError(t, err)
		require.EqualValues(t, 2, n)
		_, err = st.SettleDigest(ctx, "d1", "", []string{"hook"})
		require.NoError(t, err)
		owed, err = st.OwedDigests(ctx, "acc", "r", "")
		require.NoError(t, err)
		assert.Empty(t, owed, "nothing owed once sent")
	})
}
