package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"expiry-sync/internal/config"
	"expiry-sync/internal/contract"
	"expiry-sync/internal/store"
	"expiry-sync/internal/testkit/hwsim"
	"expiry-sync/internal/testkit/testenv"
	"expiry-sync/internal/workerapp"
	"expiry-sync/workflows"
)

// fleet is a company's accounts, each its own simulated Huawei account,
// synced by several workers that all serve every account.
type fleet struct {
	t        *testing.T
	accounts []fleetAccount
	cfg      config.Worker
	store    *store.Store
	client   client.Client
}

type fleetAccount struct {
	name string
	sim  *hwsim.Simulator
	cfg  config.Account
}

// newFleet builds n accounts; accounts with the same seed list the same
// resource ids (an account copied from another, or two regions of one
// company's template), under different domain ids.
func newFleet(t *testing.T, seeds []int64, resources, workers int) *fleet {
	f := &fleet{t: t, client: devServer.Client()}
	for i, seed := range seeds {
		name := fmt.Sprintf("acct-%d", i)
		domain := fmt.Sprintf("%s%08x", testDomain[:24], queueSeq.Add(1))
		sim, err := hwsim.New(hwsim.Options{Seed: seed, Resources: resources, AccessKey: testAK, SecretKey: testSK, DomainID: domain, FullCatalog: true})
		require.NoError(t, err)
		srv := httptest.NewServer(sim.Handler())
		t.Cleanup(srv.Close)
		f.accounts = append(f.accounts, fleetAccount{name: name, sim: sim, cfg: config.Account{Name: name, Huawei: config.Huawei{
			AccessKey: testAK, SecretKey: testSK, DomainID: domain, Site: "cn", BSSEndpoint: srv.URL, TMSEndpoint: srv.URL, HTTPTimeout: 5 * time.Second,
		}}})
	}
	dbURL := testenv.MySQLURL(t)
	f.cfg = config.Worker{
		Temporal: config.Temporal{Address: devServer.FrontendHostPort(), Namespace: "default",
			TaskQueue: fmt.Sprintf("e2e-fleet-%d", queueSeq.Add(1)), UIURL: "http://localhost:8233"},
		DatabaseURL: config.Secret(dbURL), MaxConcurrentActivities: 64,
	}
	for _, a := range f.accounts {
		f.cfg.Accounts = append(f.cfg.Accounts, a.cfg)
	}
	for range workers {
		w, err := workerapp.New(context.Background(), f.cfg, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError + 4})))
		require.NoError(t, err)
		require.NoError(t, w.Start())
		t.Cleanup(w.Stop)
		if f.store == nil {
			f.store = w.Store
		}
	}
	return f
}

// syncAll runs SyncAllAccounts and returns its result.
func (f *fleet) syncAll(id string, in workflows.AllAccountsInput) workflows.AllAccountsResult {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	run, err := f.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: f.cfg.Temporal.TaskQueue},
		workflows.AllAccountsWorkflowName, in)
	require.NoError(f.t, err)
	var res workflows.AllAccountsResult
	require.NoError(f.t, run.Get(ctx, &res))
	return res
}

// assertAccountIsTruth: the account's rows are exactly its simulator's
// resources in the sync's window, under its own name, whatever the other
// accounts hold.
func (f *fleet) assertAccountIsTruth(a fleetAccount, syncID string) {
	t := f.t
	log, err := f.store.GetSyncLog(context.Background(), syncID)
	require.NoError(t, err)
	assert.Equal(t, a.name, log.AccountName)
	assert.Equal(t, a.cfg.Huawei.DomainID, log.AccountID)
	var rows []store.ExpiringResource
	require.NoError(t, f.store.DB().Where("account_id = ?", a.cfg.Huawei.DomainID).Find(&rows).Error)
	byID := map[string]store.ExpiringResource{}
	for _, r := range rows {
		assert.Equal(t, a.name, r.AccountName, r.ResourceID)
		byID[r.ResourceID] = r
	}
	want := a.sim.Truth(log.WindowBegin, log.WindowEnd, workflows.DefaultStatuses)
	require.NotEmpty(t, want)
	active := 0
	for _, r := range byID {
		if r.IsActive {
			active++
		}
	}
	assert.Equal(t, len(want), active, "%s: active rows", a.name)
	for _, w := range want {
		r, ok := byID[w.ResourceID]
		if !assert.True(t, ok, "%s: %s missing", a.name, w.ResourceID) {
			continue
		}
		assert.True(t, r.IsActive)
		assert.True(t, w.ExpireTime.Equal(r.ExpireTime), "%s: %s expire", a.name, w.ResourceID)
		assert.Equal(t, new(int(w.Status)), r.Status)
	}
}

// Invariants hold per account: two accounts listing the same resource ids
// keep separate rows, leases and generations, each equal to its own cloud.
func TestTwoAccountsWithTheSameResourceIDsStaySeparate(t *testing.T) {
	f := newFleet(t, []int64{91, 91}, 400, 1)
	a, b := f.accounts[0], f.accounts[1]
	// b's cloud differs from a's: some of its resources are released,
	// others renewed out of the window.
	var ids []string
	for r := range b.sim.All() {
		ids = append(ids, r.ResourceID)
	}
	slices.Sort(ids)
	b.sim.RemoveResources(ids[:30]...)
	b.sim.Renew(ids[30:60], 800*24*time.Hour)

	res := f.syncAll("fleet-two-"+testDomain[24:], workflows.AllAccountsInput{Sync: workflows.SyncInput{ExpireDays: 400, LookbackDays: 40}})
	require.Equal(t, contract.StatusSuccess, res.Status, "%+v", res)
	require.Len(t, res.Accounts, 2)
	for i, acc := range []fleetAccount{a, b} {
		assert.Equal(t, acc.name, res.Accounts[i].Account)
		f.assertAccountIsTruth(acc, res.Accounts[i].SyncID)
	}
	var shared int64
	require.NoError(t, f.store.DB().Raw(`SELECT COUNT(*) FROM expiring_resources x JOIN expiring_resources y
		ON x.resource_id = y.resource_id AND x.account_id < y.account_id`).Scan(&shared).Error)
	assert.Greater(t, shared, int64(300), "the two accounts store the same ids, each its own row")

	// The second round sees b's releases through b alone.
	b.sim.RemoveResources(ids[60:70]...)
	res = f.syncAll("fleet-two-again-"+testDomain[24:], workflows.AllAccountsInput{Sync: workflows.SyncInput{ExpireDays: 400, LookbackDays: 40}})
	require.Equal(t, contract.StatusSuccess, res.Status)
	f.assertAccountIsTruth(a, res.Accounts[0].SyncID)
	f.assertAccountIsTruth(b, res.Accounts[1].SyncID)
	for _, acc := range []fleetAccount{a, b} {
		st, err := f.store.Account(context.Background(), acc.cfg.Huawei.DomainID)
		require.NoError(t, err)
		assert.Equal(t, int64(2), st.CompletedGeneration, "%s has its own generations", acc.name)
	}
}

// Scale-out: three workers sync four accounts at once, all exact.
func TestThreeWorkersSyncFourAccountsAtOnce(t *testing.T) {
	f := newFleet(t, []int64{92, 93, 94, 95}, 500, 3)
	began := time.Now()
	res := f.syncAll("fleet-four-"+testDomain[24:], workflows.AllAccountsInput{Concurrency: 4, Sync: workflows.SyncInput{ExpireDays: 400, LookbackDays: 40}})
	t.Logf("4 accounts of 500 resources, 3 workers: %s", time.Since(began).Round(time.Millisecond))
	require.Equal(t, contract.StatusSuccess, res.Status, "%+v", res)
	require.Len(t, res.Accounts, 4)
	for i, acc := range f.accounts {
		require.Equal(t, acc.name, res.Accounts[i].Account)
		f.assertAccountIsTruth(acc, res.Accounts[i].SyncID)
	}
}
