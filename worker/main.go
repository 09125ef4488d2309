// Command worker runs expiry-sync's Temporal worker. Its configuration comes
// from the environment (see the README); it stops gracefully on SIGINT/SIGTERM.
package main

import (
	"context"
	"log/slog"
	"os"

	"go.temporal.io/sdk/worker"

	"expiry-sync/internal/config"
	"expiry-sync/internal/workerapp"
)

func main() {
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
