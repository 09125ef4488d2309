// Command worker runs expiry-sync's Temporal worker. Its configuration comes
// from the environment (see the README); it stops gracefully on SIGINT/SIGTERM.
// `worker check` checks the deployment instead (internal/doctor) and exits
// non-zero when anything fails.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"go.temporal.io/sdk/worker"

	"expiry-sync/internal/config"
	"expiry-sync/internal/doctor"
	"expiry-sync/internal/workerapp"
)

func main() {
	switch {
	case len(os.Args) == 2 && os.Args[1] == "check":
		os.Exit(check())
	case len(os.Args) > 1:
		fmt.Fprintf(os.Stderr, "worker: unexpected argument %q; usage: worker [check]\n", os.Args[1])
		os.Exit(2)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	cfg, err := config.LoadWorker()
	if err != nil {
		logger.Error("bad configuration", "error", err)
		os.Exit(2)
	}
	w, err := workerapp.New(context.Background(), cfg, logger)
	if err != nil {
		logger.Error("worker cannot start", "error", err)
		os.Exit(1)
	}
	logger.Info("worker started", "task_queue", cfg.Temporal.TaskQueue, "namespace", cfg.Temporal.Namespace, "database", w.Store.Dialect())
	if err := w.Run(worker.InterruptCh()); err != nil {
		logger.Error("worker stopped", "error", err)
		os.Exit(1)
	}
	logger.Info("worker stopped")
}

// check runs `worker check`: one line per check, exit status 1 on any failure.
func check() int {
	cfg, err := config.LoadWorker()
	report := doctor.Run(context.Background(), cfg, err)
	if werr := report.Write(os.Stdout); werr != nil || report.Failed() {
		return 1
	}
	return 0
}
