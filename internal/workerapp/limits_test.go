package workerapp_test

import (
	"context"
	"net/http/httptest"
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

// The client of an account paces its calls with the account's bucket in
// the database: the partner's, for a partner's customer.
func TestAnAccountsClientWaitsOnItsCallersBucket(t *testing.T) {
	const (
		ak, sk   = "LIMITSTESTAK0001", "limits-test-secret"
		partner  = "partner0000000000000000000000001"
		customer = "customer000000000000000000000001"
	)
	sim, err := hwsim.New(hwsim.Options{Seed: 1, Resources: 20, AccessKey: ak, SecretKey: sk, DomainID: partner})
	require.NoError(t, err)
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	st, err := store.Open(context.Background(), testenv.SQLiteURL(t))
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	require.NoError(t, st.Migrate(context.Background()))

	acc := config.Account{Name: "customer-a", Huawei: config.Huawei{
		AccessKey: ak, SecretKey: sk, DomainID: customer, PartnerDomainID: partner,
		BSSEndpoint: srv.URL, TMSEndpoint: srv.URL, HTTPTimeout: 2 * time.Second, BSSRate: 10, TMSRate: 20,
	}}
	opts := workerapp.LimiterOptions(st, acc)
	require.Len(t, opts, 1)
	c, err := huawei.New(acc.Huawei, opts...)
	require.NoError(t, err)
	_, err = c.ListPage(context.Background(), huawei.ListQuery{Limit: 10})
	require.NoError(t, err)

	row, err := store.NewRateLimiter(st, partner, nil).Bucket(context.Background(), huawei.APIBSS)
	require.NoError(t, err, "the call reserved a slot in the partner's BSS bucket")
	assert.Positive(t, row.NextMs)
	_, err = store.NewRateLimiter(st, customer, nil).Bucket(context.Background(), huawei.APIBSS)
	assert.ErrorIs(t, err, store.ErrNotFound, "the customer has no bucket of its own")

	assert.Nil(t, workerapp.LimiterOptions(nil, acc), "no store, no shared limiter")
}
