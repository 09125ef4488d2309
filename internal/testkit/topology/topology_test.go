package topology

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"expiry-sync/internal/store"
	"expiry-sync/internal/testkit/compose"
	"expiry-sync/internal/testkit/testenv"
	"expiry-sync/workflows"
)

const repo = "../../.."

// minRetention is what the README promises: a failed sync stays resumable
// for a month.
const minRetention = 30 * 24 * time.Hour

// topology is the compose file's deployment running as processes.
type topology struct {
	t         *testing.T
	project   *types.Project
	version   string // of temporalio/server and temporalio/admin-tools
	serverDir string // the server and temporal-sql-tool at that version
	toolsPath string // PATH for the compose jobs' scripts
	frontend  string // host:port of the Temporal frontend
	temporal  client.Client
	server    *process
	account   string
	dbName    string
	dbUser    string       // the mysql service's MYSQL_USER, for this run
	adminDB   *store.Store // root's view of the inventory database
	bins      map[string]string
	simURL    string
	worker    *process
	metrics   string // http://host:port of the worker's listener
	logs      []*process
}

func TestProductionTopology(t *testing.T) {
	top := newTopology(t)
	top.startTemporal()
	top.createNamespace()
	top.prepareInventoryDatabase()
	top.buildBinaries()
	top.startSimulator()
	top.startWorker()

	id := top.syncOnce()
	top.failAndResume()
	top.runSchedule()
	scrape := top.checkMetricsAgainstDatabase(id)
	top.checkDashboard(scrape)
	top.checkNoSecretLeaks(scrape)
	top.checkNotReadyWithoutTemporal()
}

func newTopology(t *testing.T) *topology {
	p, err := compose.Load(context.Background(), repo, filepath.Join(repo, ".env.example"))
	require.NoError(t, err, "docker-compose.yml loads with .env.example as its .env")
	top := &topology{t: t, project: p}
	server := top.service("temporal")
	top.version = compose.ImageTag(server)
	require.Equal(t, "temporalio/server:"+top.version, server.Image)
	for _, job := range []string{"temporal-schema", "temporal-namespace"} {
		assert.Equal(t, "temporalio/admin-tools:"+top.version, top.service(job).Image, "%s runs the server's version of the tools", job)
	}
	top.serverDir = findServer(t, top.version)
	out, err := exec.Command(filepath.Join(top.serverDir, "server"), "--version").CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Contains(t, string(out), " "+top.version, "the server binary is docker-compose.yml's version")

	// The jobs' scripts call the admin-tools image's commands by name.
	tools := t.TempDir()
	require.NoError(t, os.Symlink(filepath.Join(top.serverDir, "sql"), filepath.Join(tools, "temporal-sql-tool")))
	require.NoError(t, os.Symlink(testenv.TemporalCLI(t), filepath.Join(tools, "temporal")))
	top.toolsPath = tools + string(os.PathListSeparator) + os.Getenv("PATH")
	return top
}

// findServer finds the Temporal server built by scripts/lib.sh
// (ensure_temporal_server) for version.
func findServer(t *testing.T, version string) string {
	dir := os.Getenv("TEMPORAL_SERVER_DIR")
	if dir == "" {
		gobin, err := exec.Command("go", "env", "GOBIN").Output()
		require.NoError(t, err)
		dir = strings.TrimSpace(string(gobin))
		if dir == "" {
			gopath, err := exec.Command("go", "env", "GOPATH").Output()
			require.NoError(t, err)
			dir = filepath.Join(strings.TrimSpace(string(gopath)), "bin")
		}
		dir = filepath.Join(dir, "temporal-server-"+version)
	}
	if _, err := os.Stat(filepath.Join(dir, "server")); err != nil {
		msg := "the Temporal server %s is not installed in %s: run scripts/test.sh, or GOBIN=%[2]s GOTOOLCHAIN=go1.27.3 go install go.temporal.io/server/cmd/server@v%[1]s go.temporal.io/server/cmd/tools/sql@v%[1]s"
		if testenv.RequireAll() {
			t.Fatalf(msg, version, dir)
		}
		t.Skipf(msg, version, dir)
	}
	return dir
}

func (top *topology) service(name string) types.ServiceConfig {
	svc, err := compose.Service(top.project, name)
	require.NoError(top.t, err)
	return svc
}

// job runs a compose one-shot job: its entrypoint, with its environment
// (after the changes the caller makes), mounts and secrets mapped.
func (top *topology) job(name string, change func(env map[string]string)) string {
	svc := top.service(name)
	env := compose.Env(svc)
	change(env)
	mapPaths(top.t, top.project, svc, env)
	env["PATH"] = top.toolsPath
	argv := slices.Clone(svc.Entrypoint)
	for i, a := range argv {
		argv[i] = hostPath(top.t, top.project, svc, a)
	}
	out := run(top.t, name, argv, env)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	top.t.Logf("%s: %s", name, lines[len(lines)-1])
	return out
}

// startTemporal creates the schema on PostgreSQL (twice: the job must be
// safe to rerun) and starts the server with the temporal service's
// environment. What differs from compose: loopback addresses, free ports,
// and database names of this test.
func (top *topology) startTemporal() {
	t := top.t
	pg := postgres(t)
	dbs := map[string]string{"DBNAME": pg.db("temporal"), "VISIBILITY_DBNAME": pg.db("temporal_visibility")}
	schema := func(env map[string]string) {
		env["POSTGRES_SEEDS"] = "127.0.0.1"
		pg.createRole(env["POSTGRES_USER"])
		for k, v := range dbs {
			env[k] = v
		}
	}
	top.job("temporal-schema", schema)
	top.job("temporal-schema", schema) // again, as after an upgrade of the image: a no-op

	svc := top.service("temporal")
	env := compose.Env(svc)
	for k, v := range dbs {
		env[k] = v
	}
	env["POSTGRES_SEEDS"] = "127.0.0.1"
	env["POSTGRES_PWD"] = top.project.Secrets["temporal_db_password"].Content // what the entrypoint does
	require.Equal(t, "0.0.0.0", env["BIND_ON_IP"])
	env["BIND_ON_IP"] = "127.0.0.1"
	front := freePort(t)
	for _, port := range []string{"FRONTEND_GRPC_PORT", "FRONTEND_HTTP_PORT", "FRONTEND_MEMBERSHIP_PORT", "HISTORY_GRPC_PORT",
		"HISTORY_MEMBERSHIP_PORT", "MATCHING_GRPC_PORT", "MATCHING_MEMBERSHIP_PORT", "WORKER_GRPC_PORT", "WORKER_MEMBERSHIP_PORT"} {
		env[port] = fmt.Sprint(freePort(t))
	}
	env["FRONTEND_GRPC_PORT"] = fmt.Sprint(front)
	env["PROMETHEUS_ENDPOINT"] = loopback(freePort(t))
	mapPaths(t, top.project, svc, env)
	require.FileExists(t, env["DYNAMIC_CONFIG_FILE_PATH"], "the mounted dynamic config")
	server := start(t, "temporal-server", filepath.Join(top.serverDir, "server"), []string{"start"}, env)
	top.logs = append(top.logs, server)
	top.server = server
	top.frontend = loopback(front)

	var err error
	eventually(t, "the Temporal server answers", 2*time.Minute, func() bool {
		select {
		case <-server.done:
			t.Fatalf("the Temporal server exited:\n%s", server.output())
		default:
		}
		if top.temporal == nil {
			top.temporal, err = client.Dial(client.Options{HostPort: top.frontend, Logger: discard})
			if err != nil {
				return false
			}
		}
		_, err = top.temporal.CheckHealth(context.Background(), &client.CheckHealthRequest{})
		return err == nil
	})
	t.Cleanup(top.temporal.Close)
}

// createNamespace runs the temporal-namespace job (twice) and checks the
// namespace's retention and search attributes against the compose file and
// the workflow code.
func (top *topology) createNamespace() {
	t := top.t
	var env map[string]string
	setAddress := func(e map[string]string) {
		require.Equal(t, "temporal:7233", e["TEMPORAL_ADDRESS"])
		e["TEMPORAL_ADDRESS"] = top.frontend
		env = e
	}
	top.job("temporal-namespace", setAddress)
	top.job("temporal-namespace", setAddress)

	ctx := context.Background()
	retention, err := time.ParseDuration(env["NAMESPACE_RETENTION"])
	require.NoError(t, err)
	assert.GreaterOrEqual(t, retention, minRetention, "the README's promise: a failed sync is resumable for 30 days")
	ns, err := top.temporal.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: env["TEMPORAL_NAMESPACE"]})
	require.NoError(t, err)
	assert.Equal(t, retention, ns.GetConfig().GetWorkflowExecutionRetentionTtl().AsDuration(), "the namespace has the compose file's retention")

	want := map[string]string{}
	for name, typ := range workflows.SearchAttributes() {
		want[name] = typ.String()
	}
	got := map[string]string{}
	for _, attr := range strings.Fields(env["SEARCH_ATTRIBUTES"]) {
		name, typ, _ := strings.Cut(attr, "=")
		got[name] = typ
	}
	assert.Equal(t, want, got, "docker-compose.yml registers exactly the search attributes the workflow sets")
	attrs, err := top.temporal.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: env["TEMPORAL_NAMESPACE"]})
	require.NoError(t, err)
	for name, typ := range want {
		assert.Equal(t, typ, attrs.GetCustomAttributes()[name].String(), "search attribute %s registered", name)
	}
}

// prepareInventoryDatabase does what the mysql image does with
// MYSQL_DATABASE, MYSQL_USER and MYSQL_PASSWORD_FILE, on MariaDB: a
// database and a user whose password is the compose secret (it has
// / @ # ? % + in .env.example).
func (top *topology) prepareInventoryDatabase() {
	t := top.t
	mysql := compose.Env(top.service("mysql"))
	password := top.project.Secrets["mysql_password"].Content
	require.True(t, strings.ContainsAny(password, "/@#?%+"), ".env.example's MYSQL_PASSWORD shows that any character works")
	adminURL := testenv.MySQLURL(t)
	u, err := url.Parse(adminURL)
	require.NoError(t, err)
	top.dbName = strings.TrimPrefix(u.Path, "/")
	admin, err := store.Open(context.Background(), adminURL)
	require.NoError(t, err)
	t.Cleanup(func() { _ = admin.Close() })
	// The compose file's user, suffixed: MariaDB users are server-wide, and
	// another run of this test may be using the plain name.
	user := mysql["MYSQL_USER"] + top.dbName[len(top.dbName)-6:]
	top.dbUser = user
	for _, q := range []string{
		"DROP USER IF EXISTS '" + user + "'@'%'",
		"CREATE USER '" + user + "'@'%' IDENTIFIED BY ?",
		"GRANT ALL ON " + top.dbName + ".* TO '" + user + "'@'%'",
	} {
		var args []any
		if strings.Contains(q, "?") {
			args = append(args, password)
		}
		require.NoError(t, admin.DB().Exec(q, args...).Error, q)
	}
	t.Cleanup(func() { admin.DB().Exec("DROP USER IF EXISTS '" + user + "'@'%'") })
	top.adminDB = admin
}

// buildBinaries builds the image's binaries as the Dockerfile does, with
// a version by linker flag.
func (top *topology) buildBinaries() {
	t := top.t
	dir := t.TempDir()
	const version = "v0.0.0-topology"
	cmd := exec.Command("go", "build", "-ldflags", "-X expiry-sync/internal/version.Version="+version, "-o", dir+"/",
		"./worker", "./starter", "./cmd/hwsim")
	cmd.Dir = repo
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	top.bins = map[string]string{}
	for _, b := range []string{"worker", "starter", "hwsim"} {
		top.bins[b] = filepath.Join(dir, b)
	}
	out, err = exec.Command(top.bins["worker"], "--version").CombinedOutput()
	require.NoError(t, err)
	assert.Contains(t, string(out), version, "worker --version prints the linker-set version")
}
