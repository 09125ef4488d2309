package store_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"expiry-sync/internal/store"
	"expiry-sync/internal/testkit/testenv"
)

// workerStores opens n stores on one database: n worker processes' views.
func workerStores(t *testing.T, url string, n int) []*store.Store {
	var out []*store.Store
	for range n {
		s, err := store.Open(context.Background(), url)
		require.NoError(t, err)
		t.Cleanup(func() { _ = s.Close() })
		out = append(out, s)
	}
	require.NoError(t, out[0].Migrate(context.Background()))
	return out
}

func forEachSharedDB(t *testing.T, workers int, fn func(t *testing.T, stores []*store.Store)) {
	for _, db := range testenv.Databases() {
		t.Run(db.Name, func(t *testing.T) { fn(t, workerStores(t, db.URL(t), workers)) })
	}
}

// Slots handed to three workers at once follow the account's rate: on the
// database's clock, the i-th slot is at least (i - burst + 1) intervals
// after the first, whatever worker took it.
func TestSlotsAcrossWorkersKeepTheAccountsRate(t *testing.T) {
	forEachSharedDB(t, 3, func(t *testing.T, stores []*store.Store) {
		const (
			rate       = 50.0 // interval 20 ms, burst 5
			intervalMs = 20
			burst      = 5
			perWorker  = 40
		)
		var (
			mu    sync.Mutex
			slots []int64
			wg    sync.WaitGroup
		)
		for _, s := range stores {
			l := store.NewRateLimiter(s, "d-rate", map[string]float64{"tms": rate})
			wg.Go(func() {
				for range perWorker {
					r, err := l.Reserve(context.Background(), "tms")
					if !assert.NoError(t, err) {
						return
					}
					assert.GreaterOrEqual(t, r.SlotMs, r.NowMs, "no slot in the past")
					mu.Lock()
					slots = append(slots, r.SlotMs)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		require.Len(t, slots, 3*perWorker)
		slices.Sort(slots)
		for i, slot := range slots {
			assert.GreaterOrEqual(t, slot, slots[0]+int64(max(0, i-burst+1))*intervalMs, "slot %d", i)
		}
		// The reservations ran far faster than 50/s: the slots queue up
		// behind each other instead of bunching at "now".
		span := slots[len(slots)-1] - slots[0]
		assert.GreaterOrEqual(t, span, int64(len(slots)-burst)*intervalMs)

		row, err := store.NewRateLimiter(stores[0], "d-rate", nil).Bucket(context.Background(), "tms")
		require.NoError(t, err)
		assert.Equal(t, slots[len(slots)-1]+burst*intervalMs, row.NextMs, "next is the burst allowance and one interval after the last slot")
	})
}

// A throttled answer in one worker holds back the slots every worker takes.
func TestAPauseHoldsEveryWorkerBack(t *testing.T) {
	forEachSharedDB(t, 2, func(t *testing.T, stores []*store.Store) {
		a := store.NewRateLimiter(stores[0], "d-pause", map[string]float64{"bss": 10})
		b := store.NewRateLimiter(stores[1], "d-pause", map[string]float64{"bss": 10})
		before, err := b.Reserve(context.Background(), "bss")
		require.NoError(t, err)

		a.Pause(context.Background(), "bss", 3*time.Second)
		row, err := a.Bucket(context.Background(), "bss")
		require.NoError(t, err)
		assert.GreaterOrEqual(t, row.PausedUntilMs, before.NowMs+3000, "paused for the Retry-After, on the database's clock")

		after, err := b.Reserve(context.Background(), "bss")
		require.NoError(t, err)
		assert.GreaterOrEqual(t, after.SlotMs, row.PausedUntilMs, "the other worker's next slot is after the pause")
		assert.Equal(t, row.PausedUntilMs, after.PausedUntilMs, "and it hears of the pause")

		// Other accounts and APIs are not paused.
		other, err := b.Reserve(context.Background(), "tms")
		require.NoError(t, err)
		assert.Less(t, other.SlotMs, row.PausedUntilMs)
		c := store.NewRateLimiter(stores[1], "d-other", map[string]float64{"bss": 10})
		free, err := c.Reserve(context.Background(), "bss")
		require.NoError(t, err)
		assert.Equal(t, free.NowMs, free.SlotMs)
	})
}

func TestWaitDuringAPauseEndsWithTheContext(t *testing.T) {
	forEachSharedDB(t, 1, func(t *testing.T, stores []*store.Store) {
		l := store.NewRateLimiter(stores[0], "d-ctx", map[string]float64{"bss": 10})
		l.Pause(context.Background(), "bss", time.Minute)
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		err := l.Wait(ctx, "bss")
		assert.ErrorIs(t, err, context.DeadlineExceeded)
	})
}

func TestAnUnlimitedAPITouchesNoRow(t *testing.T) {
	forEachSharedDB(t, 1, func(t *testing.T, stores []*store.Store) {
		l := store.NewRateLimiter(stores[0], "d-free", map[string]float64{"bss": 0})
		for range 100 {
			require.NoError(t, l.Wait(context.Background(), "bss"))
			require.NoError(t, l.Wait(context.Background(), "not-named"))
		}
		_, err := l.Bucket(context.Background(), "bss")
		assert.True(t, errors.Is(err, store.ErrNotFound), "no row: %v", err)
	})
}

func TestADatabaseErrorIsNotAnUnpacedCall(t *testing.T) {
	forEachSharedDB(t, 1, func(t *testing.T, stores []*store.Store) {
		s, err := store.Open(context.Background(), testenv.SQLiteURL(t)) // never migrated: no table
		require.NoError(t, err)
		t.Cleanup(func() { _ = s.Close() })
		l := store.NewRateLimiter(s, "d-broken", map[string]float64{"tms": 20})
		err = l.Wait(context.Background(), "tms")
		require.Error(t, err)
		assert.Contains(t, err.Error(), "rate limit of account d-broken (tms): ")
	})
}

// BenchmarkRateLimiterReserve measures what a paced call costs a worker:
// one reservation transaction (docs/accounts.md quotes it).
func BenchmarkRateLimiterReserve(b *testing.B) {
	for _, db := range testenv.Databases() {
		b.Run(db.Name, func(b *testing.B) {
			s, err := store.Open(context.Background(), db.URL(b))
			require.NoError(b, err)
			b.Cleanup(func() { _ = s.Close() })
			require.NoError(b, s.Migrate(context.Background()))
			l := store.NewRateLimiter(s, "d-bench", map[string]float64{"tms": 1000})
			b.ResetTimer()
			for b.Loop() {
				if _, err := l.Reserve(context.Background(), "tms"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
