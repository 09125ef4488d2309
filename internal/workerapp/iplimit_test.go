package workerapp_test

import (
	"context"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"expiry-sync/internal/config"
	"expiry-sync/internal/huawei"
	"expiry-sync/internal/store"
	"expiry-sync/internal/testkit/hwsim"
	"expiry-sync/internal/testkit/testenv"
	"expiry-sync/internal/workerapp"
)

// twoAccounts builds the clients of two accounts, each with its own
// simulator and its own buckets (100/s), sharing the deployment's BSS
// bucket at ipRate, as a worker does.
func twoAccounts(t *testing.T, ipRate float64) (*store.Store, [2]*hwsim.Simulator, [2]*huawei.Client) {
	st, err := store.Open(context.Background(), testenv.SQLiteURL(t))
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	require.NoError(t, st.Migrate(context.Background()))
	ip := workerapp.IPLimiterOption(st, ipRate)
	var sims [2]*hwsim.Simulator
	var clients [2]*huawei.Client
	for i, domain := range []string{"ipaccount0000000000000000000000a", "ipaccount0000000000000000000000b"} {
		const ak, sk = "IPLIMITTESTAK0001", "ip-limit-secret"
		sim, err := hwsim.New(hwsim.Options{Seed: int64(i + 1), Resources: 20, AccessKey: ak, SecretKey: sk, DomainID: domain})
		require.NoError(t, err)
		srv := httptest.NewServer(sim.Handler())
		t.Cleanup(srv.Close)
		acc := config.Account{Name: domain, Huawei: config.Huawei{AccessKey: ak, SecretKey: sk, DomainID: domain,
			BSSEndpoint: srv.URL, TMSEndpoint: srv.URL, HTTPTimeout: 5 * time.Second, BSSRate: 100, TMSRate: 100}}
		c, err := huawei.New(acc.Huawei, slices.Concat(workerapp.LimiterOptions(st, acc), ip)...)
		require.NoError(t, err)
		sims[i], clients[i] = sim, c
	}
	return st, sims, clients
}

func listOne(c *huawei.Client) error {
	_, err := c.ListPage(context.Background(), huawei.ListQuery{Limit: 1})
	return err
}

// Two accounts behind one address never call BSS faster together than the
// deployment's bucket allows, though each account's own would let it.
func TestAccountsBehindOneAddressShareTheBSSBucket(t *testing.T) {
	const ipRate, perAccount = 10.0, 8 // interval 100 ms, burst 1
	st, _, clients := twoAccounts(t, ipRate)
	start := time.Now()
	var wg sync.WaitGroup
	for _, c := range clients {
		wg.Go(func() {
			for range perAccount {
				assert.NoError(t, listOne(c))
			}
		})
	}
	wg.Wait()
	// 16 calls at 10/s: the last goes at least 15 intervals after the first.
	assert.GreaterOrEqual(t, time.Since(start), 1450*time.Millisecond, "together they keep HUAWEI_BSS_IP_RATE")
	row, err := store.NewRateLimiter(st, store.IPBucket, nil).Bucket(context.Background(), huawei.APIBSS)
	require.NoError(t, err, "the shared bucket is a rate_buckets row")
	assert.Positive(t, row.NextMs)
}

// A CBC.99007197 ("your IP is throttled") of one account pauses the other
// too; an account's own throttling (429 APIGW.0308) pauses only itself.
func TestAnIPThrottlePausesEveryAccountBehindTheAddress(t *testing.T) {
	st, sims, clients := twoAccounts(t, 1000)
	require.NoError(t, sims[0].SetKnobs(hwsim.Knobs{BSSIPThrottleRatio: 1}))
	err := listOne(clients[0])
	require.ErrorContains(t, err, huawei.CodeIPThrottled)
	start := time.Now()
	require.NoError(t, listOne(clients[1]))
	assert.GreaterOrEqual(t, time.Since(start), 900*time.Millisecond, "the other account waited out the IP's pause (1 s without Retry-After)")
	ipRow, err := store.NewRateLimiter(st, store.IPBucket, nil).Bucket(context.Background(), huawei.APIBSS)
	require.NoError(t, err)
	assert.Positive(t, ipRow.PausedUntilMs, "the pause is in the database, for every worker")

	require.NoError(t, sims[0].SetKnobs(hwsim.Knobs{ThrottleRatio: 1}))
	require.Error(t, listOne(clients[0]))
	start = time.Now()
	require.NoError(t, listOne(clients[1]))
	assert.Less(t, time.Since(start), 500*time.Millisecond, "an account's own throttle does not hold the other back")
	start = time.Now()
	require.NoError(t, sims[0].SetKnobs(hwsim.Knobs{}))
	require.NoError(t, listOne(clients[0]))
	assert.GreaterOrEqual(t, time.Since(start), 900*time.Millisecond, "but pauses the throttled account (Retry-After: 1)")
}
