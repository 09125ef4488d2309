// Command codec-server lets the Temporal Web UI (and CLI) show payloads that
// expiry-sync encrypts when EXPIRY_SYNC_PAYLOAD_KEY is set. Point the UI at
// it: `temporal server start-dev --ui-codec-endpoint http://127.0.0.1:8234`,
// or the UI's "Data Encoder" setting. Keep it on a trusted network: whoever
// reaches it can decrypt.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"expiry-sync/internal/codec"
	"expiry-sync/internal/config"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:8234", "address to serve /encode and /decode on")
	origin := flag.String("ui-origin", "http://localhost:8233", "the Web UI's origin, allowed by CORS")
	flag.Parse()
	logCfg, err := config.LoadLog()
	logger := logCfg.NewLogger(os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(2)
	}
	cfg, err := config.LoadTemporal()
	if err == nil && cfg.PayloadKey == "" {
		err = errors.New("EXPIRY_SYNC_PAYLOAD_KEY (or EXPIRY_SYNC_PAYLOAD_KEY_FILE) is not set: nothing to decode")
	}
	var key []byte
	if err == nil {
		key, err = codec.ParseKey(cfg.PayloadKey.Reveal(), "EXPIRY_SYNC_PAYLOAD_KEY")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(2)
	}
	c, err := codec.New(key)
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(2)
	}
	srv := &http.Server{Addr: *listen, Handler: codec.Handler(c, *origin), ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	logger.Info("codec server listening", "addr", *listen, "ui_origin", *origin)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}
