package doctor_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/testsuite"

	"expiry-sync/internal/config"
	"expiry-sync/internal/doctor"
	"expiry-sync/internal/store"
	"expiry-sync/internal/testkit/hwsim"
	"expiry-sync/internal/testkit/testenv"
	"expiry-sync/workflows"
)

const (
	ak     = "DOCTORTESTAK0000001"
	sk     = "doctor-test-secret-key-77"
	domain = "d0c70000000000000000000000000001"
)

// temporalAddr is the dev server TestMain starts ("" without the CLI).
var temporalAddr string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if path := testenv.FindTemporalCLI(); path != "" {
		srv, err := testsuite.StartDevServer(context.Background(), testsuite.DevServerOptions{ExistingPath: path, LogLevel: "error"})
		if err == nil {
			defer func() { _ = srv.Stop() }()
			_, err = srv.Client().OperatorService().AddSearchAttributes(context.Background(), &operatorservice.AddSearchAttributesRequest{
				Namespace: "default", SearchAttributes: workflows.SearchAttributes(),
			})
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "doctor: cannot start the Temporal dev server:", err)
			return 1
		}
		temporalAddr = srv.FrontendHostPort()
	}
	return m.Run()
}

func needTemporal(t *testing.T) {
	t.Helper()
	if temporalAddr == "" {
		if testenv.RequireAll() {
			t.Fatal(testenv.MissingTemporalCLI)
		}
		t.Skip(testenv.MissingTemporalCLI)
	}
}

// deployment is a healthy worker configuration: a simulator, a migrated
// SQLite database and the dev server.
func deployment(t *testing.T, knobs hwsim.Knobs) (config.Worker, *hwsim.Simulator) {
	t.Helper()
	return deploymentOf(t, 50, knobs)
}

// deploymentOf is a deployment whose account has n resources.
func deploymentOf(t *testing.T, n int, knobs hwsim.Knobs) (config.Worker, *hwsim.Simulator) {
	t.Helper()
	sim, err := hwsim.New(hwsim.Options{Seed: 3, Resources: n, AccessKey: ak, SecretKey: sk, DomainID: domain, Knobs: knobs})
	require.NoError(t, err)
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	dbURL := testenv.SQLiteURL(t)
	st, err := store.Open(context.Background(), dbURL)
	require.NoError(t, err)
	require.NoError(t, st.Migrate(context.Background()))
	require.NoError(t, st.Close())
	return config.Worker{
		Huawei: config.Huawei{AccessKey: ak, SecretKey: sk, DomainID: domain, Site: "cn",
			BSSEndpoint: srv.URL, TMSEndpoint: srv.URL, HTTPTimeout: 3 * time.Second},
		Temporal:                config.Temporal{Address: temporalAddr, Namespace: "default", TaskQueue: "expiry-sync"},
		DatabaseURL:             config.Secret(dbURL),
		MaxConcurrentActivities: 4,
	}, sim
}

// lines runs the doctor and returns its output by check name.
func lines(t *testing.T, r doctor.Report) (map[string]string, string) {
	t.Helper()
	var out bytes.Buffer
	require.NoError(t, r.Write(&out))
	byName := map[string]string{}
	for _, c := range r.Checks {
		for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
			if strings.Contains(l, " "+c.Name+": ") {
				byName[c.Name] = l
			}
		}
	}
	assert.Len(t, strings.Split(strings.TrimSpace(out.String()), "\n"), len(r.Checks), "one line per check")
	return byName, out.String()
}

func TestHealthyDeploymentPassesEveryCheck(t *testing.T) {
	needTemporal(t)
	cfg, _ := deployment(t, hwsim.Knobs{})
	r := doctor.Run(context.Background(), cfg, nil)
	_, out := lines(t, r)
	t.Log("\n" + out)
	assert.False(t, r.Failed(), out)
	for _, want := range []string{"ok    configuration", "ok    database", "ok    migrations: version", "ok    temporal", "ok    namespace: default exists",
		"ok    search attributes", "ok    huawei BSS", "ok    huawei TMS", "ok    IAM tms:resourceTags:list", "ok    IAM tms:resources:list"} {
		assert.Contains(t, out, want)
	}
	assert.NotContains(t, out, sk, "no secret in the output")
}

func TestBadKeysFailWithTheFix(t *testing.T) {
	cfg, _ := deployment(t, hwsim.Knobs{})
	cfg.Huawei.SecretKey = "not-the-secret"
	byName, out := lines(t, report(doctor.Huawei(context.Background(), cfg.Huawei)))
	bss := byName["huawei BSS (credentials, site, listing permission)"]
	assert.True(t, strings.HasPrefix(bss, "FAIL"), out)
	assert.Contains(t, bss, "APIGW.0301")
	assert.Contains(t, bss, "fix: the AK/SK signature was refused: check HUAWEI_ACCESS_KEY, HUAWEI_SECRET_KEY and HUAWEI_DOMAIN_ID")
	assert.Contains(t, byName["huawei TMS (credentials, endpoint)"], "FAIL")
	assert.Contains(t, byName["IAM tms:resources:list"], "skip")
	assert.NotContains(t, out, "not-the-secret")
}

func TestWrongSiteFailsNamingHUAWEI_SITE(t *testing.T) {
	cfg, _ := deployment(t, hwsim.Knobs{WrongSite: hwsim.CodeWrongSite})
	byName, out := lines(t, report(doctor.Huawei(context.Background(), cfg.Huawei)))
	bss := byName["huawei BSS (credentials, site, listing permission)"]
	assert.True(t, strings.HasPrefix(bss, "FAIL"), out)
	assert.Contains(t, bss, "403 CBC.0150")
	assert.Contains(t, bss, "fix: wrong site")
	assert.Contains(t, bss, "HUAWEI_SITE")
}

func TestMissingTMSPermissionNamesTheAction(t *testing.T) {
	cfg, _ := deployment(t, hwsim.Knobs{TMSPermissionDenied: true})
	r := report(doctor.Huawei(context.Background(), cfg.Huawei))
	byName, out := lines(t, r)
	assert.True(t, r.Failed())
	assert.Contains(t, byName["huawei TMS (credentials, endpoint)"], "ok ", "ListProviders needs no permission under identity policies")
	show := byName["IAM tms:resourceTags:list"]
	assert.True(t, strings.HasPrefix(show, "FAIL"), out)
	assert.Contains(t, show, "grant it tms:resourceTags:list and", "and the owning service's permission")
	list := byName["IAM tms:resources:list"]
	assert.True(t, strings.HasPrefix(list, "warn"), "the sync reads tags one by one without it: %s", out)
	assert.Contains(t, list, "lacks tms:resources:list")
}

func TestUnreachableDatabase(t *testing.T) {
	cfg, _ := deployment(t, hwsim.Knobs{})
	cfg.DatabaseURL = "mysql://expiry:secret-pw@127.0.0.1:1/expiry"
	byName, out := lines(t, report(doctor.Database(context.Background(), cfg)))
	assert.True(t, strings.HasPrefix(byName["database"], "FAIL"), out)
	assert.Contains(t, byName["database"], "fix: check DATABASE_URL")
	assert.Contains(t, byName["migrations"], "skip")
	assert.NotContains(t, out, "secret-pw", "the password is redacted")
}

func TestUnmigratedDatabase(t *testing.T) {
	cfg, _ := deployment(t, hwsim.Knobs{})
	cfg.DatabaseURL = config.Secret(testenv.SQLiteURL(t))
	r := report(doctor.Database(context.Background(), cfg))
	byName, out := lines(t, r)
	assert.Contains(t, byName["database"], "ok ")
	assert.True(t, strings.HasPrefix(byName["migrations"], "warn"), "the worker's start-up applies them: %s", out)
	assert.Contains(t, byName["migrations"], "missing migrations at start")
	assert.False(t, r.Failed())
}

func TestMissingNamespace(t *testing.T) {
	needTemporal(t)
	cfg, _ := deployment(t, hwsim.Knobs{})
	cfg.Temporal.Namespace = "no-such-namespace"
	r := doctor.Run(context.Background(), cfg, nil)
	byName, out := lines(t, r)
	assert.True(t, r.Failed())
	assert.True(t, strings.HasPrefix(byName["namespace"], "FAIL"), out)
	assert.Contains(t, byName["namespace"], "temporal operator namespace create --namespace no-such-namespace")
	assert.Contains(t, byName["search attributes"], "skip")
	assert.Contains(t, byName["huawei BSS (credentials, site, listing permission)"], "ok ", "the other checks still run")
}

func TestUnreachableTemporal(t *testing.T) {
	cfg, _ := deployment(t, hwsim.Knobs{})
	cfg.Temporal.Address = "127.0.0.1:1"
	byName, out := lines(t, report(doctor.Temporal(context.Background(), cfg.Temporal)))
	assert.True(t, strings.HasPrefix(byName["temporal"], "FAIL"), out)
	assert.Contains(t, byName["temporal"], "fix: check TEMPORAL_ADDRESS")
}

func TestBadConfigurationStopsAtTheFirstCheck(t *testing.T) {
	r := doctor.Run(context.Background(), config.Worker{}, errors.New("HUAWEI_ACCESS_KEY (or HUAWEI_ACCESS_KEY_FILE) is not set: the worker needs an access key"))
	byName, out := lines(t, r)
	assert.True(t, r.Failed())
	assert.Contains(t, byName["configuration"], "FAIL  configuration: HUAWEI_ACCESS_KEY", out)
	assert.Contains(t, byName["database"], "skip  database: needs a valid configuration")
}

func TestUnknownSiteIsAConfigurationFailure(t *testing.T) {
	cfg, _ := deployment(t, hwsim.Knobs{})
	cfg.Huawei.Site = "mars"
	byName, out := lines(t, doctor.Run(context.Background(), cfg, nil))
	assert.Contains(t, byName["configuration"], `FAIL  configuration: HUAWEI_SITE="mars"`, out)
	assert.Contains(t, byName["IAM tms:resources:list"], "skip")
}

func report(checks []doctor.Check) doctor.Report { return doctor.Report{Checks: checks} }

// With an accounts file, each account's Huawei checks run, named after it.
func TestEveryAccountOfTheFileIsChecked(t *testing.T) {
	needTemporal(t)
	cfg, _ := deployment(t, hwsim.Knobs{})
	good := cfg.Huawei
	bad := good
	bad.SecretKey = "not-the-secret"
	cfg.Huawei = config.Huawei{}
	cfg.AccountsFile = "/etc/expiry-sync/accounts.yaml"
	cfg.Accounts = []config.Account{{Name: "prod", Huawei: good}, {Name: "staging", Huawei: bad}}
	r := doctor.Run(context.Background(), cfg, nil)
	_, out := lines(t, r)
	assert.True(t, r.Failed())
	assert.Contains(t, out, "ok    configuration: task queue expiry-sync, namespace default, 2 accounts from /etc/expiry-sync/accounts.yaml")
	assert.Contains(t, out, "ok    account prod: huawei BSS")
	assert.Contains(t, out, "ok    account prod: IAM tms:resources:list")
	assert.Contains(t, out, "FAIL  account staging: huawei BSS")
	assert.NotContains(t, out, "not-the-secret")
}
