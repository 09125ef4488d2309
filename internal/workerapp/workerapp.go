// Package workerapp wires a worker: configuration, database, Huawei client,
// Temporal client, the registered workflow and activities, and the HTTP
// listener for metrics and health.
package workerapp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync/atomic"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"golang.org/x/sync/semaphore"

	"expiry-sync/activities"
	"expiry-sync/internal/codec"
	"expiry-sync/internal/config"
	"expiry-sync/internal/huawei"
	"expiry-sync/internal/metrics"
	"expiry-sync/internal/store"
	"expiry-sync/internal/temporalclient"
	"expiry-sync/internal/version"
	"expiry-sync/workflows"
)

// Worker is a started-but-not-running worker and what it holds open.
type Worker struct {
	Client   client.Client
	Store    *store.Store
	Accounts map[string]*activities.Account // by name
	Metrics  *metrics.Recorder              // nil when METRICS_LISTEN is empty
	worker   worker.Worker
	cfg      config.Worker
	logger   *slog.Logger
	identity string
	listener net.Listener // METRICS_LISTEN's, once Start has opened it
	server   *httpServer
	started  atomic.Bool
	closed   atomic.Bool
}

// bulkPagesInFlight bounds the bulk tag pages one worker reads and decodes
// at once, across its accounts (a few MB each at 1,000 resources), so its
// memory does not grow with the project/type pairs listed together; four
// keep TMS's default rate busy (docs/performance.md, "The constants").
const bulkPagesInFlight = 4

// New checks the database (and migrates it), builds the clients and
// registers the workflow and activities.
func New(ctx context.Context, cfg config.Worker, logger *slog.Logger) (*Worker, error) {
	if err := migrate(ctx, cfg); err != nil {
		return nil, err
	}
	var rec *metrics.Recorder
	if cfg.MetricsListen != "" {
		var err error
		if rec, err = metrics.New(version.Version, logger); err != nil {
			return nil, err
		}
	}
	st, err := store.Open(ctx, cfg.DatabaseURL.Reveal())
	if err != nil {
		return nil, err
	}
	st.SetTagMemory(int64(cfg.TagMemoryMB) << 20)
	hwOpts := []huawei.Option{huawei.WithBulkPages(semaphore.NewWeighted(bulkPagesInFlight))}
	if rec != nil {
		hwOpts = append(hwOpts, huawei.WithObserver(rec))
		rec.Registry().MustRegister(metrics.NewDatabase(st.DB(), logger))
	}
	accounts, err := buildAccounts(ctx, cfg, st, hwOpts, logger)
	if err != nil {
		_ = st.Close()
		return nil, err
	}
	conv, err := codec.NewConverters(cfg.Temporal.PayloadKey.Reveal())
	if err != nil {
		_ = st.Close()
		return nil, err
	}
	identity := processIdentity()
	tc, err := temporalclient.Dial(ctx, cfg.Temporal, client.Options{
		Identity:         identity,
		Logger:           tlog.NewStructuredLogger(logger),
		DataConverter:    conv.Data,
		FailureConverter: conv.Failure,
		MetricsHandler:   rec.TemporalHandler(),
	})
	if err != nil {
		_ = st.Close()
		return nil, err
	}
	if err := ensureSearchAttributes(ctx, tc, cfg.Temporal.Namespace); err != nil {
		tc.Close()
		_ = st.Close()
		return nil, err
	}
	var interceptors []interceptor.WorkerInterceptor
	if rec != nil {
		interceptors = append(interceptors, rec.Interceptor())
	}
	w := worker.New(tc, cfg.Temporal.TaskQueue, worker.Options{
		MaxConcurrentActivityExecutionSize: cfg.MaxConcurrentActivities,
		// A page fans out dozens of short activities at once: two fixed
		// pollers would queue them one round trip at a time.
		ActivityTaskPollerBehavior: worker.NewPollerBehaviorAutoscaling(worker.PollerBehaviorAutoscalingOptions{}),
		WorkflowTaskPollerBehavior: worker.NewPollerBehaviorAutoscaling(worker.PollerBehaviorAutoscalingOptions{}),
		Interceptors:               interceptors,
	})
	for name, fn := range map[string]any{
		workflows.WorkflowName:            workflows.SyncExpiringResources,
		workflows.AllAccountsWorkflowName: workflows.SyncAllAccounts,
		workflows.NotifyWorkflowName:      workflows.NotifyExpiring,
		workflows.NotifyTestWorkflowName:  workflows.NotifyTest,
		workflows.RenewWorkflowName:       workflows.RenewResources,
		workflows.RenewQuoteWorkflowName:  workflows.RenewQuote,
	} {
		w.RegisterWorkflowWithOptions(fn, workflow.RegisterOptions{Name: name})
	}
	w.RegisterActivity(
		&activities.Activities{Store: st, Accounts: accounts, HolderRunning: holderRunning(tc), Metrics: rec},
	)
	w.RegisterActivity(
		&activities.Renewer{Store: st, Accounts: accounts, Mode: cfg.RenewMode, PolicyFile: cfg.RenewPolicyFile},
	)
	logger.Info("renewals", "mode", cfg.RenewMode, "policy_file", cfg.RenewPolicyFile)
	w.RegisterActivity(&activities.Notifier{
		Store:      st,
		Accounts:   accountDomains(accounts),
		ConfigFile: cfg.NotifyFile,
		RunRunning: holderRunning(tc),
		Metrics:    rec,
	})
	return &Worker{
		Client:   tc,
		Store:    st,
		Accounts: accounts,
		Metrics:  rec,
		worker:   w,
		cfg:      cfg,
		logger:   logger,
		identity: identity,
	}, nil
}

// processIdentity is the SDK's default identity (pid@host), set explicitly so
// that /readyz can find this process among the task queue's pollers.
func processIdentity() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%d@%s@expiry-sync", os.Getpid(), host)
}

// holderRunning asks Temporal whether the sync holding an account's lease
// still runs: a terminated one's account is taken over at once instead of
// after the lease's TTL.
func holderRunning(tc client.Client) store.HolderRunning {
	return func(ctx context.Context, syncID string) (bool, error) {
		d, err := tc.DescribeWorkflow(ctx, syncID, "")
		var notFound *serviceerror.NotFound
		if errors.As(err, &notFound) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		return d.Status == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, nil
	}
}

// restrictTagTypes keeps the catalog's types that TMS ListProviders serves;
// without an answer every catalog type is read (a refused type then shows
// as a per-resource error).
func restrictTagTypes(ctx context.Context, hw *huawei.Client, logger *slog.Logger) {
	warnings, err := hw.RestrictCatalog(ctx)
	if err != nil {
		logger.Warn("TMS ListProviders failed: reading tags for every type of the catalog", "error", err)
	}
	for _, w := range warnings {
		logger.Warn(w)
	}
}

// migrate applies the migrations as DATABASE_MIGRATION_URL's user when set,
// else as DATABASE_URL's.
func migrate(ctx context.Context, cfg config.Worker) error {
	url := cfg.DatabaseMigrationURL.Reveal()
	if url == "" {
		url = cfg.DatabaseURL.Reveal()
	}
	st, err := store.Open(ctx, url)
	if err != nil {
		return err
	}
	defer st.Close()
	return st.Migrate(ctx)
}

// Run polls until stop is closed (or the worker fails), then stops gracefully.
func (w *Worker) Run(stop <-chan any) error {
	defer w.close()
	if err := w.serveHTTP(); err != nil {
		return err
	}
	// Readiness asks the server whether this process polls: no need to know
	// when the SDK's pollers are up, only that they were started.
	w.started.Store(true)
	defer w.started.Store(false)
	return w.worker.Run(stop)
}

// Start polls in the background (tests); Stop ends it.
func (w *Worker) Start() error {
	if err := w.serveHTTP(); err != nil {
		return err
	}
	if err := w.worker.Start(); err != nil {
		return err
	}
	w.started.Store(true)
	return nil
}

// Stop stops polling, waits for running activities, and closes the clients.
func (w *Worker) Stop() {
	w.started.Store(false)
	w.worker.Stop()
	w.close()
}

func (w *Worker) close() {
	if w.closed.Swap(true) {
		return
	}
	w.server.shutdown()
	w.Client.Close()
	_ = w.Store.Close()
}
