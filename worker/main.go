// Command worker runs expiry-sync's Temporal worker. Its configuration comes
// from the environment (see the README); it stops gracefully on SIGINT/SIGTERM.
//
//	worker check         check the deployment (internal/doctor), one line
//	                     per check; exit 1 on any failure (not on a warning)
//	worker               run
//	worker --version     print the version
//	worker healthcheck   exit 0 when METRICS_LISTEN's /readyz answers 200
//	                     (the container's healthcheck: the image has no curl)
package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"go.temporal.io/sdk/worker"

	"expiry-sync/internal/config"
	"expiry-sync/internal/doctor"
	"expiry-sync/internal/version"
	"expiry-sync/internal/workerapp"
)

func main() {
	if len(os.Args) > 1 {
		os.Exit(subcommand(os.Args[1]))
	}
	os.Exit(run())
}

func subcommand(name string) int {
	switch name {
	case "--version", "version":
		fmt.Println("worker", version.String())
		return 0
	case "healthcheck":
		return healthcheck()
	case "check":
		return check()
	}
	fmt.Fprintf(
		os.Stderr,
		"error: unknown argument %q: allowed --version, check or healthcheck (no argument runs the worker)\n",
		name,
	)
	return 2
}

func run() int {
	logCfg, err := config.LoadLog()
	logger := logCfg.NewLogger(os.Stderr)
	if err != nil {
		logger.Error("bad configuration", "error", err)
		return 2
	}
	cfg, err := config.LoadWorker()
	if err != nil {
		logger.Error("bad configuration", "error", err)
		return 2
	}
	memLimit := workerapp.SetMemoryLimit(cfg)
	w, err := workerapp.New(context.Background(), cfg, logger)
	if err != nil {
		logger.Error("worker cannot start", "error", err)
		return 1
	}
	logger.Info("worker started", "version", version.Version, "task_queue", cfg.Temporal.TaskQueue,
		"namespace", cfg.Temporal.Namespace, "database", w.Store.Dialect(), "metrics", cfg.MetricsListen,
		"memory_limit_mb", memLimit>>20)
	if err := w.Run(worker.InterruptCh()); err != nil {
		logger.Error("worker stopped", "error", err)
		return 1
	}
	logger.Info("worker stopped")
	return 0
}

// healthcheck asks this container's worker for /readyz.
func healthcheck() int {
	listen := os.Getenv("METRICS_LISTEN")
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		fmt.Fprintf(
			os.Stderr,
			"METRICS_LISTEN=%q is not host:port: the healthcheck needs the worker's listener\n",
			listen,
		)
		return 2
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	c := http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get("http://" + net.JoinHostPort(host, port) + "/readyz")
	if err != nil {
		fmt.Fprintln(os.Stderr, "not ready:", err)
		return 1
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintln(os.Stderr, "not ready:", resp.Status)
		return 1
	}
	return 0
}

// check runs `worker check`: one line per check, exit status 1 on any
// failure; warnings (what it could not check, what the worker copes with)
// leave it 0.
func check() int {
	cfg, err := config.LoadWorker()
	report := doctor.Run(context.Background(), cfg, err)
	if werr := report.Write(os.Stdout); werr != nil || report.Failed() {
		return 1
	}
	return 0
}
