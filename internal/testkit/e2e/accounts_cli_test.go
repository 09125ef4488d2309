package e2e

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"expiry-sync/internal/contract"
	"expiry-sync/internal/report"
	"expiry-sync/internal/testkit/hwsim"
)

// twoAccounts is a stack whose worker process serves two accounts from an
// accounts file: prod (the stack's simulator) and staging (a second one,
// with the same seed: the same resource ids in another account).
type twoAccounts struct {
	*stack
	staging       *hwsim.Simulator
	stagingDomain string
}

func newTwoAccounts(t *testing.T) *twoAccounts {
	s := newStack(t, stackOptions{resources: 120, seed: 71, workerProcess: true})
	domain := fmt.Sprintf("%s%08x", testDomain[:24], queueSeq.Add(1))
	const stagingAK, stagingSK = "E2ESTAGINGACCESSKEY1", "e2e-staging-secret-4kQ9"
	staging, err := hwsim.New(hwsim.Options{Seed: 71, Resources: 80, AccessKey: stagingAK, SecretKey: stagingSK, DomainID: domain, FullCatalog: true})
	require.NoError(t, err)
	srv := httptest.NewServer(staging.Handler())
	t.Cleanup(srv.Close)

	dir := t.TempDir()
	prodSK := filepath.Join(dir, "prod_sk")
	require.NoError(t, os.WriteFile(prodSK, []byte(testSK+"\n"), 0o600))
	t.Setenv("E2E_PROD_AK", testAK)
	t.Setenv("E2E_STAGING_AK", stagingAK)
	t.Setenv("E2E_STAGING_SK", stagingSK)
	t.Setenv("HUAWEI_DOMAIN_ID", "") // the accounts file replaces the HUAWEI_* account
	file := filepath.Join(dir, "accounts.yaml")
	require.NoError(t, os.WriteFile(file, []byte(fmt.Sprintf(`accounts:
  - name: prod
    domain_id: %s
    site: cn
    access_key_env: E2E_PROD_AK
    secret_key_file: %s
    bss_endpoint: %s
    tms_endpoint: %s
    http_timeout: 5s
  - name: staging
    domain_id: %s
    site: intl
    access_key_env: E2E_STAGING_AK
    secret_key_env: E2E_STAGING_SK
    bss_endpoint: %s
    tms_endpoint: %s
    defaults: {expire_days: 400, lookback_days: 40, tag_mode: per-resource}
`, s.cfg.Huawei.DomainID, prodSK, s.simURL, s.simURL, domain, srv.URL, srv.URL)), 0o600))
	s.cfg.AccountsFile = file
	t.Setenv("DATABASE_URL", s.dbURL)
	s.startWorkerProcess()
	return &twoAccounts{stack: s, staging: staging, stagingDomain: domain}
}

// allAccounts is the JSON of a sync of every account.
type allAccounts struct {
	SyncID   string `json:"sync_id"`
	State    string `json:"state"`
	Status   string `json:"status"`
	Accounts []struct {
		Account   string `json:"account"`
		SyncID    string `json:"sync_id"`
		Status    string `json:"status"`
		Resources int    `json:"resources"`
	} `json:"accounts"`
}

func TestTheStarterSyncsEveryAccountOfTheAccountsFile(t *testing.T) {
	s := newTwoAccounts(t)

	// staging's defaults (400 days back 40) apply: no window flag is given.
	code, out, errOut := s.starter("sync", "--account", "staging", "--wait", "-o", "json")
	require.Equal(t, 0, code, errOut)
	var one state
	require.NoError(t, json.Unmarshal([]byte(out), &one))
	assert.True(t, strings.HasPrefix(one.SyncID, "expiry-sync-staging-"), one.SyncID)
	assert.Equal(t, 400, one.ExpireDays, "the account's default window")

	code, out, errOut = s.starter("sync", "--all-accounts", "--expire-days", "400", "--lookback-days", "40", "--wait", "-o", "json")
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	var all allAccounts
	require.NoError(t, json.Unmarshal([]byte(out), &all), out)
	assert.True(t, strings.HasPrefix(all.SyncID, "expiry-sync-all-"), all.SyncID)
	assert.Equal(t, "completed", all.State)
	assert.Equal(t, "success", all.Status)
	require.Len(t, all.Accounts, 2)
	for i, name := range []string{"prod", "staging"} {
		a := all.Accounts[i]
		assert.Equal(t, name, a.Account)
		assert.Equal(t, all.SyncID+"-"+name, a.SyncID)
		assert.Equal(t, "success", a.Status)
		assert.Positive(t, a.Resources)
		log := s.syncLog(a.SyncID)
		assert.Equal(t, name, log.AccountName)
	}
	prodLog, stagingLog := s.syncLog(all.Accounts[0].SyncID), s.syncLog(all.Accounts[1].SyncID)
	assert.Equal(t, s.cfg.Huawei.DomainID, prodLog.AccountID)
	assert.Equal(t, s.stagingDomain, stagingLog.AccountID)

	// status of the parent shows each account; status --account the newest sync.
	code, out, errOut = s.starter("status", all.SyncID)
	require.Equal(t, 0, code, errOut)
	assert.Regexp(t, `(?m)^│ staging\s+│ `+all.SyncID+`-staging │ success`, out)
	var newest []state
	code, out, errOut = s.starter("status", "--account", "staging", "--account", "prod", "-o", "json")
	require.Equal(t, 0, code, errOut)
	require.NoError(t, json.Unmarshal([]byte(out), &newest))
	require.Len(t, newest, 2)
	assert.Equal(t, all.SyncID+"-staging", newest[0].SyncID)
	assert.Equal(t, all.SyncID+"-prod", newest[1].SyncID)

	// list --account filters by the ExpirySyncAccount search attribute.
	eventually(t, "visibility lists both syncs of staging", 30*time.Second, func() bool {
		return len(s.list("--account", "staging")) == 2
	})
	for _, r := range s.list("--account", "staging") {
		assert.Contains(t, []string{one.SyncID, all.SyncID + "-staging"}, r.SyncID)
	}
	assert.Len(t, s.list("--account", "prod"), 1)

	// report --account filters by the account_name column; the same
	// resource id may be in both accounts.
	items := func(args ...string) []report.Item {
		code, out, errOut := s.starter(append([]string{"report", "--expire-days", "400", "--limit", "100000", "-o", "json"}, args...)...)
		require.Equal(t, 0, code, errOut)
		var got []report.Item
		require.NoError(t, json.Unmarshal([]byte(out), &got))
		return got
	}
	both, prod, staging := items(), items("--account", "prod"), items("--account", "staging")
	assert.Len(t, both, len(prod)+len(staging))
	assert.NotEmpty(t, prod)
	assert.NotEmpty(t, staging)
	shared := 0
	prodIDs := map[string]bool{}
	for _, it := range prod {
		assert.Equal(t, "prod", it.AccountName)
		assert.Equal(t, s.cfg.Huawei.DomainID, it.AccountID)
		prodIDs[it.ResourceID] = true
	}
	for _, it := range staging {
		assert.Equal(t, "staging", it.AccountName)
		if prodIDs[it.ResourceID] {
			shared++
		}
	}
	assert.Positive(t, shared, "overlapping resource ids are kept apart by account")
	code, out, _ = s.starter("report", "--expire-days", "400", "--account", "staging")
	require.Equal(t, 0, code)
	assert.Contains(t, out, "│ ACCOUNT │")
	assert.Contains(t, out, "account staging, active only")

	s.assertNoSecretInLogs(testSK)
	s.assertNoSecretInLogs("e2e-staging-secret-4kQ9")
}

func TestSchedulesOfOneAccountAndOfEveryAccount(t *testing.T) {
	s := newTwoAccounts(t)
	for _, c := range []struct {
		id   string
		args []string
		want string
	}{
		{"e2e-all-" + s.cfg.Huawei.DomainID[24:], []string{"--all-accounts"}, "(all)"},
		{"e2e-staging-" + s.cfg.Huawei.DomainID[24:], []string{"--account", "staging", "--expire-days", "7"}, "staging"},
	} {
		code, out, errOut := s.starter(append([]string{"schedule", "create", c.id, "--interval", "1h", "--paused"}, c.args...)...)
		require.Equal(t, 0, code, errOut)
		assert.Contains(t, out, "of "+c.want)
		t.Cleanup(func() { s.starter("schedule", "delete", c.id) })
		code, out, errOut = s.starter("schedule", "describe", c.id, "-o", "json")
		require.Equal(t, 0, code, errOut)
		var v struct {
			Accounts    []string `json:"accounts"`
			AllAccounts bool     `json:"all_accounts"`
			Action      struct {
				WorkflowType string `json:"workflow_type"`
			} `json:"action"`
		}
		require.NoError(t, json.Unmarshal([]byte(out), &v))
		assert.Equal(t, c.want == "(all)", v.AllAccounts)
		if !v.AllAccounts {
			assert.Equal(t, []string{c.want}, v.Accounts)
		}
	}
	allID := "e2e-all-" + s.cfg.Huawei.DomainID[24:]
	eventually(t, "schedule list shows both with their accounts", 30*time.Second, func() bool {
		_, out, _ := s.starter("schedule", "list")
		return strings.Contains(out, allID) && strings.Contains(out, "(all)") && strings.Contains(out, "│ staging  ")
	})

	// A triggered run of the every-account schedule syncs both accounts,
	// and an update keeps what it syncs.
	code, out, errOut := s.starter("schedule", "update", allID, "--expire-days", "400", "--lookback-days", "40")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "expire-days 0 -> 400")
	code, out, errOut = s.starter("schedule", "trigger", allID, "-o", "json")
	require.Equal(t, 0, code, errOut)
	var trig struct {
		WorkflowID string `json:"workflow_id"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &trig), out)
	require.NotEmpty(t, trig.WorkflowID)
	var all allAccounts
	eventually(t, "the triggered sync of every account completes", 3*time.Minute, func() bool {
		code, out, _ := s.starter("status", trig.WorkflowID, "-o", "json")
		return code == 0 && json.Unmarshal([]byte(out), &all) == nil && all.State == "completed"
	})
	require.Len(t, all.Accounts, 2)
	for _, a := range all.Accounts {
		assert.Equal(t, "success", a.Status, a.Account)
		assert.Equal(t, contract.StatusSuccess, s.syncLog(a.SyncID).Status)
	}
}
