package workerapp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
)

// probeTimeout bounds each readiness check.
const probeTimeout = 3 * time.Second

// pollerFreshness is how recently the server must have seen this worker
// poll: a long poll lasts about a minute before it is renewed.
const pollerFreshness = 2 * time.Minute

type httpServer struct{ srv *http.Server }

func (s *httpServer) shutdown() {
	if s == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = s.srv.Shutdown(ctx)
}

// serveHTTP opens METRICS_LISTEN (when set) with /metrics, /healthz and /readyz.
func (w *Worker) serveHTTP() error {
	if w.cfg.MetricsListen == "" || w.server != nil {
		return nil
	}
	l, err := net.Listen("tcp", w.cfg.MetricsListen)
	if err != nil {
		return fmt.Errorf("METRICS_LISTEN=%s: %w", w.cfg.MetricsListen, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", w.Metrics.Handler())
	mux.HandleFunc("GET /healthz", func(rw http.ResponseWriter, _ *http.Request) { fmt.Fprintln(rw, "ok") })
	mux.Handle("GET /readyz", w.readiness())
	w.listener = l
	w.server = &httpServer{srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}}
	go func() {
		if err := w.server.srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			w.logger.Error("metrics listener stopped", "addr", l.Addr().String(), "error", err)
		}
	}()
	w.logger.Info("serving /metrics, /healthz and /readyz", "addr", l.Addr().String())
	return nil
}

// MetricsAddr is the address /metrics is served on ("" when off).
func (w *Worker) MetricsAddr() string {
	if w.listener == nil {
		return ""
	}
	return w.listener.Addr().String()
}

// readiness answers 200 when the database and Temporal answer and the
// server sees this worker polling its task queue; else 503. Either way the
// body says each check's result (ready.go).
func (w *Worker) readiness() *readiness {
	return &readiness{logger: w.logger, ttl: readyTTL, checks: []readyCheck{
		{"database", w.Store.Ping},
		{"temporal", func(ctx context.Context) error {
			_, err := w.Client.CheckHealth(ctx, &client.CheckHealthRequest{})
			return err
		}},
		{"polling", w.polling},
	}}
}

// polling asks the server whether it saw this process poll the workflow
// task queue recently: the SDK says it started, the server says it works.
func (w *Worker) polling(ctx context.Context) error {
	if !w.started.Load() {
		return errNotStarted
	}
	resp, err := w.Client.DescribeTaskQueue(ctx, w.cfg.Temporal.TaskQueue, enumspb.TASK_QUEUE_TYPE_WORKFLOW)
	if err != nil {
		return err
	}
	for _, p := range resp.GetPollers() {
		if p.GetIdentity() == w.identity && time.Since(p.GetLastAccessTime().AsTime()) < pollerFreshness {
			return nil
		}
	}
	return fmt.Errorf("%w: %s on task queue %s", errNotPolling, w.identity, w.cfg.Temporal.TaskQueue)
}
