// Package e2e runs whole syncs on the real parts: the Temporal CLI's dev
// server, MariaDB, the Huawei API simulator over HTTP with the official SDK,
// the worker, and the starter's command line.
package e2e

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"

	"expiry-sync/internal/cli"
	"expiry-sync/internal/config"
	"expiry-sync/internal/store"
	"expiry-sync/internal/testkit/hwsim"
	"expiry-sync/internal/testkit/testenv"
	"expiry-sync/internal/workerapp"
	"expiry-sync/workflows"
)

const (
	testAK     = "E2ETESTACCESSKEY0001"
	testSK     = "e2e-secret-Zq8vX2pL9wK4mN7rT1yU"
	testDomain = "d0e2e0000000000000000000000000e2"
)

// devServer is one Temporal dev server for the whole package, with its Web
// UI at webUI.
var (
	devServer *testsuite.DevServer
	webUI     string
)

var queueSeq atomic.Int64

func TestMain(m *testing.M) {
	os.Exit(runWithDevServer(m))
}

func runWithDevServer(m *testing.M) int {
	path := testenv.FindTemporalCLI()
	if path == "" {
		fmt.Fprintln(os.Stderr, "e2e:", testenv.MissingTemporalCLI)
		if testenv.RequireAll() {
			return 1
		}
		return 0
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	uiPort, err := freeTCPPort()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	webUI = "http://127.0.0.1:" + uiPort
	devServer, err = testsuite.StartDevServer(ctx, testsuite.DevServerOptions{
		ExistingPath: path,
		EnableUI:     true,
		UIPort:       uiPort,
		LogLevel:     "error",
		ClientOptions: &client.Options{
			Logger: tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))),
		},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: cannot start the Temporal dev server:", err)
		return 1
	}
	defer func() { _ = devServer.Stop() }()
	return m.Run()
}

// stack is one test's world: its own simulator, database, task queue and worker.
type stack struct {
	t          *testing.T
	workers    int      // worker processes started
	workerLogs []string // their log files
	sim        *hwsim.Simulator
	simURL     string
	dbURL      string
	store      *store.Store
	cfg        config.Worker
	worker     *workerapp.Worker
	proxy      *tcpProxy
	client     client.Client
}

type stackOptions struct {
	resources int
	seed      int64
	dbURL     func(testing.TB) string
	knobs     hwsim.Knobs
	tmsRate   float64
	// workerSecret overrides the SK the worker signs with (default: the right one).
	workerSecret string
	// workerProcess: the test starts worker processes itself (startWorkerProcess)
	// instead of the in-process worker.
	workerProcess bool
	// httpTimeout overrides the worker's HUAWEI_HTTP_TIMEOUT (default 5s).
	httpTimeout time.Duration
	// tmsEndpoint overrides the simulator as the worker's TMS endpoint.
	tmsEndpoint string
	// dbProxy puts a TCP proxy the test controls between worker and MariaDB.
	dbProxy bool
	// payloadKey turns on payload encryption (base64 of 32 bytes).
	payloadKey string
	// migrationURL: the worker migrates as this user (DATABASE_MIGRATION_URL).
	migrationURL string
	// parallel: the test runs beside others (t.Parallel), so it sets no
	// environment for the in-process starter and uses the client only.
	parallel bool
	// temporal changes the worker's connection (e.g. through a TLS frontend).
	temporal func(*config.Temporal)
	// noTagMemory: the worker holds no staged tags in memory
	// (WORKER_TAG_MEMORY_MB=0): every tag read is staged one row per
	// resource.
	noTagMemory bool
	// wire wraps the simulator's handler, to see requests on the wire.
	wire func(http.Handler) http.Handler
}

func newStack(t *testing.T, o stackOptions) *stack {
	t.Helper()
	if o.dbURL == nil {
		o.dbURL = testenv.MySQLURL
	}
	// Each test syncs its own account: the one-sync-per-account rule then
	// never couples two tests through the shared Temporal server.
	domain := fmt.Sprintf("%s%08x", testDomain[:24], queueSeq.Add(1))
	sim, err := hwsim.New(hwsim.Options{Seed: o.seed, Resources: o.resources, AccessKey: testAK, SecretKey: testSK, DomainID: domain, Knobs: o.knobs, FullCatalog: true})
	require.NoError(t, err)
	handler := sim.Handler()
	if o.wire != nil {
		handler = o.wire(handler)
	}
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)

	s := &stack{t: t, sim: sim, simURL: srv.URL, dbURL: o.dbURL(t)}
	s.cfg = config.Worker{
		Huawei: config.Huawei{
			AccessKey: testAK, SecretKey: config.Secret(cmp.Or(o.workerSecret, testSK)), DomainID: domain,
			BSSEndpoint: srv.URL, TMSEndpoint: cmp.Or(o.tmsEndpoint, srv.URL), HTTPTimeout: cmp.Or(o.httpTimeout, 5*time.Second), BSSRate: 0, TMSRate: o.tmsRate,
		},
		Temporal: config.Temporal{
			Address: devServer.FrontendHostPort(), Namespace: "default",
			TaskQueue: fmt.Sprintf("e2e-%s-%d", strings.ToLower(t.Name()), queueSeq.Add(1)), UIURL: "http://localhost:8233",
			PayloadKey: config.Secret(o.payloadKey),
		},
		DatabaseURL:             config.Secret(s.dbURL),
		NotifyFile:              os.Getenv("EXPIRY_SYNC_NOTIFY_FILE"), // as a worker process would read it
		DatabaseMigrationURL:    config.Secret(o.migrationURL),
		MaxConcurrentActivities: 64,
		TagMemoryMB:             store.DefaultTagMemory >> 20,
	}
	if o.noTagMemory {
		s.cfg.TagMemoryMB = 0
	}
	if o.temporal != nil {
		o.temporal(&s.cfg.Temporal)
	}
	if o.dbProxy {
		s.proxy = newTCPProxy(t, s.dbURL)
		s.cfg.DatabaseURL = config.Secret(s.proxy.url(s.dbURL))
	}
	if o.workerProcess {
		// Open the test's own view of the database; migrate it unless the
		// worker is to, as DATABASE_MIGRATION_URL's user.
		st, err := store.Open(context.Background(), s.dbURL)
		require.NoError(t, err)
		if o.migrationURL == "" {
			require.NoError(t, st.Migrate(context.Background()))
		}
		t.Cleanup(func() { _ = st.Close() })
		s.store = st
	} else {
		s.startWorker()
		s.store = s.worker.Store
		if o.dbProxy {
			st, err := store.Open(context.Background(), s.dbURL)
			require.NoError(t, err)
			t.Cleanup(func() { _ = st.Close() })
			s.store = st
		}
	}
	s.client = devServer.Client()
	if o.parallel {
		return s
	}
	for k, v := range map[string]string{
		"TEMPORAL_ADDRESS": s.cfg.Temporal.Address, "TEMPORAL_NAMESPACE": "default",
		"TEMPORAL_TASK_QUEUE": s.cfg.Temporal.TaskQueue, "HUAWEI_DOMAIN_ID": domain,
		"EXPIRY_SYNC_PAYLOAD_KEY": o.payloadKey,
	} {
		t.Setenv(k, v)
	}
	return s
}

func (s *stack) startWorker() {
	// Activity failures are the point of several tests: keep the log to what
	// is not expected.
	w, err := workerapp.New(context.Background(), s.cfg, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError + 4})))
	require.NoError(s.t, err)
	require.NoError(s.t, w.Start())
	s.worker = w
	s.t.Cleanup(w.Stop)
}

// starter runs the starter's command line in-process.
func (s *stack) starter(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	code = cli.Execute(ctx, args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// syncIDFrom finds the sync id the starter printed.
func syncIDFrom(t *testing.T, stdout string) string {
	for _, line := range strings.Split(stdout, "\n") {
		if rest, ok := strings.CutPrefix(line, "Started sync "); ok {
			return strings.Fields(rest)[0]
		}
	}
	t.Fatalf("no sync id in starter output:\n%s", stdout)
	return ""
}

// expected lists the simulator's resources that a sync with this log's
// window must store, by resource id.
func (s *stack) expected(log store.SyncLog) map[string]hwsim.Resource {
	want := map[string]hwsim.Resource{}
	for _, r := range s.sim.Resources() {
		inWindow := !r.ExpireTime.Before(log.WindowBegin) && !r.ExpireTime.After(log.WindowEnd)
		if inWindow && slices.Contains(workflows.DefaultStatuses, int(r.Status)) {
			want[r.ResourceID] = r
		}
	}
	return want
}

// rows reads every stored resource of the test's account by resource id,
// failing on a duplicate.
func (s *stack) rows() map[string]store.ExpiringResource {
	var all []store.ExpiringResource
	require.NoError(s.t, s.store.DB().Where("account_id = ?", s.cfg.Huawei.DomainID).Find(&all).Error)
	m := make(map[string]store.ExpiringResource, len(all))
	for _, r := range all {
		_, dup := m[r.ResourceID]
		require.False(s.t, dup, "resource %s stored twice", r.ResourceID)
		m[r.ResourceID] = r
	}
	return m
}

func (s *stack) syncLog(id string) store.SyncLog {
	log, err := s.store.GetSyncLog(context.Background(), id)
	require.NoError(s.t, err)
	return log
}

func freeTCPPort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port), nil
}

// discard is an SDK logger that drops everything.
var discard = tlog.NewStructuredLogger(slog.New(slog.DiscardHandler))
