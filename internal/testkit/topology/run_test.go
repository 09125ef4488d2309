package topology

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"

	"expiry-sync/internal/contract"
	"expiry-sync/internal/store"
	"expiry-sync/internal/testkit/compose"
)

var discard = tlog.NewStructuredLogger(slog.New(slog.DiscardHandler))

// window lists every simulated resource, so that each sync writes them all.
var window = []string{"--expire-days", "400", "--lookback-days", "40"}

func syncArgs(extra ...string) []string { return append(append([]string{"sync"}, window...), extra...) }

// simResources keeps the simulated account small enough for CI's two
// cores (the compose demo lists 5,000): each sync takes seconds.
const simResources = "400"

// startSimulator runs the hwsim service's command (profile simulator) on a
// loopback port, with throttled and failing answers: enough failures that
// some tag reads fail three times in a row and Temporal retries their
// activity, so that every retry metric shows.
func (top *topology) startSimulator() {
	t := top.t
	svc := top.service("hwsim")
	args := slices.Clone([]string(svc.Command[1:]))
	port := freePort(t)
	setFlag(t, args, "--listen", loopback(port))
	setFlag(t, args, "--resources", simResources)
	top.account = flagValue(t, args, "--domain-id")
	sim := start(t, "hwsim", top.bins["hwsim"], args, compose.Env(svc))
	top.simURL = "http://" + loopback(port)
	eventually(t, "the simulator answers", 30*time.Second, func() bool {
		code, _, _ := httpGet(top.simURL + "/_hwsim/healthz")
		return code == http.StatusOK
	})
	top.logs = append(top.logs, sim)
	req, err := http.NewRequest(http.MethodPut, top.simURL+"/_hwsim/knobs", strings.NewReader(`{"throttle_ratio":0.02,"error_ratio":0.15}`))
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
}

func setFlag(t require.TestingT, args []string, flag, value string) {
	i := slices.Index(args, flag)
	require.GreaterOrEqual(t, i, 0, "docker-compose.yml's hwsim command has %s", flag)
	args[i+1] = value
}

func flagValue(t require.TestingT, args []string, flag string) string {
	i := slices.Index(args, flag)
	require.GreaterOrEqual(t, i, 0, "docker-compose.yml's hwsim command has %s", flag)
	return args[i+1]
}

// workerEnv is the worker service's environment with this machine's
// addresses: what differs from compose is hosts, ports, secret paths and
// the database name.
func (top *topology) workerEnv() map[string]string {
	t := top.t
	svc := top.service("worker")
	env := compose.Env(svc)
	for k, want := range map[string]string{
		"TEMPORAL_ADDRESS": "temporal:7233", "HUAWEI_BSS_ENDPOINT": "http://hwsim:8090", "HUAWEI_TMS_ENDPOINT": "http://hwsim:8090",
		"DATABASE_URL": "mysql://expiry@mysql:3306/expiry_sync", "METRICS_LISTEN": "0.0.0.0:9464",
	} {
		require.Equal(t, want, env[k], "worker %s in docker-compose.yml", k)
	}
	env["TEMPORAL_ADDRESS"] = top.frontend
	env["HUAWEI_BSS_ENDPOINT"], env["HUAWEI_TMS_ENDPOINT"] = top.simURL, top.simURL
	require.Equal(t, "expiry", compose.Env(top.service("mysql"))["MYSQL_USER"], "the worker's user is the mysql service's")
	env["DATABASE_URL"] = "mysql://" + top.dbUser + "@127.0.0.1:3306/" + top.dbName
	env["METRICS_LISTEN"] = loopback(freePort(t))
	require.Empty(t, env["DATABASE_PASSWORD"], "the password comes from DATABASE_PASSWORD_FILE")
	mapPaths(t, top.project, svc, env)
	return env
}

// startWorker starts the worker service and waits until its healthcheck
// (the compose file's, run as is) passes.
func (top *topology) startWorker() {
	t := top.t
	env := top.workerEnv()
	top.worker = start(t, "worker", top.bins["worker"], nil, env)
	top.logs = append(top.logs, top.worker)
	top.metrics = "http://" + env["METRICS_LISTEN"]
	health := top.service("worker").HealthCheck
	require.NotNil(t, health)
	require.Equal(t, []string{"CMD", "worker", "healthcheck"}, []string(health.Test))
	eventually(t, "the worker's healthcheck passes", time.Minute, func() bool {
		select {
		case <-top.worker.done:
			t.Fatalf("the worker exited:\n%s", top.worker.output())
		default:
		}
		cmd := exec.Command(top.bins["worker"], "healthcheck")
		cmd.Env = environ(env)
		return cmd.Run() == nil
	})
	code, body, err := httpGet(top.metrics + "/readyz")
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, code)
	assert.JSONEq(t, `{"ready":true,"checks":{"database":"ok","temporal":"ok","polling":"ok"}}`, body)
	code, _, err = httpGet(top.metrics + "/healthz")
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, code)

	st, err := store.Open(context.Background(), "mysql://root@127.0.0.1:3306/"+top.dbName)
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	top.adminDB = st
}

// starter runs the starter binary as an operator would, with the worker's
// Temporal settings.
func (top *topology) starter(args ...string) (int, string) {
	env := map[string]string{}
	for k, v := range top.workerEnv() {
		if strings.HasPrefix(k, "TEMPORAL_") || k == "HUAWEI_DOMAIN_ID" || strings.HasPrefix(k, "EXPIRY_SYNC_") {
			env[k] = v
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, top.bins["starter"], args...)
	cmd.Env = environ(env)
	out, err := cmd.CombinedOutput()
	code := 0
	if err != nil {
		code = -1
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
	}
	return code, string(out)
}

// newestSync is the account's newest sync log.
func (top *topology) newestSync() store.SyncLog {
	var log store.SyncLog
	require.NoError(top.t, top.adminDB.DB().Where("account_id = ?", top.account).Order("started_at DESC, sync_id DESC").First(&log).Error)
	return log
}

func (top *topology) syncLogs() []store.SyncLog {
	var logs []store.SyncLog
	require.NoError(top.t, top.adminDB.DB().Where("account_id = ?", top.account).Find(&logs).Error)
	return logs
}

func (top *topology) activeRows() int64 {
	var n int64
	require.NoError(top.t, top.adminDB.DB().Model(&store.ExpiringResource{}).Where("account_id = ? AND is_active = ?", top.account, true).Count(&n).Error)
	return n
}

// syncOnce runs a sync to its end through the starter.
func (top *topology) syncOnce() string {
	t := top.t
	code, out := top.starter(syncArgs("--wait")...)
	require.Equal(t, 0, code, out)
	log := top.newestSync()
	assert.Equal(t, contract.StatusSuccess, log.Status, out)
	assert.Positive(t, log.TotalResources)
	assert.Equal(t, int64(log.TotalResources), top.activeRows(), "every listed resource is stored")
	return log.SyncID
}

// failAndResume makes the database refuse rows after the first ones of a
// sync, so that it fails with a checkpoint; the resume finishes it.
func (top *topology) failAndResume() {
	t := top.t
	db := top.adminDB.DB()
	for _, q := range []string{
		"CREATE TABLE topology_fault (seen INT NOT NULL)",
		"INSERT INTO topology_fault VALUES (0)",
		"CREATE TRIGGER topology_fault BEFORE INSERT ON expiring_resources FOR EACH ROW BEGIN " +
			"UPDATE topology_fault SET seen = seen + 1; " +
			"IF (SELECT seen FROM topology_fault) > 120 THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'topology: the database refuses rows'; END IF; END",
	} {
		require.NoError(t, db.Exec(q).Error, q)
	}
	code, out := top.starter(syncArgs("--batch-size", "50", "--wait")...)
	require.NotEqual(t, 0, code, "the sync fails:\n%s", out)
	failed := top.newestSync()
	require.Equal(t, contract.StatusFailed, failed.Status, out)
	assert.Positive(t, failed.RowsWritten, "batches before the refusal are committed")

	require.NoError(t, db.Exec("DROP TRIGGER topology_fault").Error)
	code, out = top.starter("resume", failed.SyncID, "--wait")
	require.Equal(t, 0, code, out)
	resumed := top.newestSync()
	assert.Equal(t, failed.SyncID, resumed.SyncID)
	assert.Equal(t, contract.StatusSuccess, resumed.Status)
	assert.Equal(t, 2, resumed.Attempts)
}

// runSchedule creates a schedule, triggers it once and waits for its sync.
func (top *topology) runSchedule() {
	t := top.t
	before := len(top.syncLogs())
	id := fmt.Sprintf("topology-%d", time.Now().UnixNano()%1e6)
	code, out := top.starter(append([]string{"schedule", "create", id, "--every", "24h"}, window...)...)
	require.Equal(t, 0, code, out)
	t.Cleanup(func() { top.starter("schedule", "delete", id) })
	code, out = top.starter("schedule", "trigger", id)
	require.Equal(t, 0, code, out)
	eventually(t, "the scheduled sync succeeds", 3*time.Minute, func() bool {
		logs := top.syncLogs()
		return len(logs) > before && top.newestSync().Status == contract.StatusSuccess
	})
	h := top.temporal.ScheduleClient().GetHandle(context.Background(), id)
	desc, err := h.Describe(context.Background())
	require.NoError(t, err)
	assert.Len(t, desc.Info.RecentActions, 1, "one action: the trigger")
	var _ client.ScheduleHandle = h
}

// checkNotReadyWithoutTemporal stops the Temporal server: the worker stays
// alive (/healthz) but is no longer ready, and its healthcheck fails.
func (top *topology) checkNotReadyWithoutTemporal() {
	t := top.t
	top.server.stop()
	var body string
	eventually(t, "/readyz reports Temporal down", time.Minute, func() bool {
		var code int
		code, body, _ = httpGet(top.metrics + "/readyz")
		return code == http.StatusServiceUnavailable
	})
	assert.Contains(t, body, `"database":"ok"`)
	assert.NotContains(t, body, `"temporal":"ok"`)
	code, _, err := httpGet(top.metrics + "/healthz")
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, code, "the process is up")
	cmd := exec.Command(top.bins["worker"], "healthcheck")
	cmd.Env = environ(map[string]string{"METRICS_LISTEN": strings.TrimPrefix(top.metrics, "http://")})
	assert.Error(t, cmd.Run(), "the container's healthcheck fails")
}
