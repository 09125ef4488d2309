package workerapp

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"expiry-sync/internal/config"
	"expiry-sync/internal/huawei"
	"expiry-sync/internal/store"
	"expiry-sync/internal/testkit/hwsim"
	"expiry-sync/internal/testkit/testenv"
)

// The worker gives every account's client the deployment's BSS bucket
// (HUAWEI_BSS_IP_RATE) beside the account's own.
func TestEveryAccountOfTheWorkerWaitsOnTheDeploymentsBSSBucket(t *testing.T) {
	const ak, sk = "BUILDACCOUNTSAK01", "build-accounts-secret"
	st, err := store.Open(context.Background(), testenv.SQLiteURL(t))
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	require.NoError(t, st.Migrate(context.Background()))
	cfg := config.Worker{BSSIPRate: 2} // one call per 500 ms for the whole deployment
	for _, domain := range []string{"buildaccounts000000000000000000a", "buildaccounts000000000000000000b"} {
		sim, err := hwsim.New(hwsim.Options{Seed: 1, Resources: 10, AccessKey: ak, SecretKey: sk, DomainID: domain})
		require.NoError(t, err)
		srv := httptest.NewServer(sim.Handler())
		t.Cleanup(srv.Close)
		cfg.Accounts = append(cfg.Accounts, config.Account{Name: domain, Huawei: config.Huawei{AccessKey: ak, SecretKey: sk, DomainID: domain,
			BSSEndpoint: srv.URL, TMSEndpoint: srv.URL, HTTPTimeout: 5 * time.Second, BSSRate: 100, TMSRate: 100}})
	}
	accounts, err := buildAccounts(context.Background(), cfg, st, nil, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	start := time.Now()
	for range 2 {
		for _, acc := range accounts {
			_, err := acc.Huawei.ListPage(context.Background(), huawei.ListQuery{Limit: 1})
			require.NoError(t, err)
		}
	}
	assert.GreaterOrEqual(t, time.Since(start), 1400*time.Millisecond, "4 BSS calls of two accounts at 2/s for the deployment")
}

// Under role/policy authorization a custom policy may refuse ListProviders:
// the worker starts anyway, reads tags for every type of its catalog, and
// its warning says why and what to grant.
func TestARefusedListProvidersIsTolerated(t *testing.T) {
	const ak, sk, domain = "BUILDACCOUNTSAK02", "build-accounts-secret", "buildaccounts000000000000000000c"
	sim, err := hwsim.New(hwsim.Options{Seed: 1, Resources: 10, AccessKey: ak, SecretKey: sk, DomainID: domain,
		Knobs: hwsim.Knobs{TMSProvidersRefused: true, UnservedTMSTypes: []string{"eip"}}})
	require.NoError(t, err)
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	cfg := config.Worker{Accounts: []config.Account{{Name: "a", Huawei: config.Huawei{AccessKey: ak, SecretKey: sk, DomainID: domain,
		BSSEndpoint: srv.URL, TMSEndpoint: srv.URL, HTTPTimeout: 5 * time.Second}}}}
	var logs strings.Builder
	accounts, err := buildAccounts(context.Background(), cfg, nil, nil, slog.New(slog.NewTextHandler(&logs, nil)))
	require.NoError(t, err, "a refused ListProviders does not stop the worker")
	_, served := accounts["a"].Huawei.Catalog().Lookup("hws.resource.type.ip", true)
	assert.True(t, served, "every type of the catalog is read")
	assert.Contains(t, logs.String(), "Tenant Guest")
	assert.Contains(t, logs.String(), "tolerates")
}
