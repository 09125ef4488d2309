// Command codec-server lets the Temporal Web UI (and CLI) show payloads that
// expiry-sync encrypts when EXPIRY_SYNC_PAYLOAD_KEY is set. Point the UI at
// it: `temporal server start-dev --ui-codec-endpoint http://127.0.0.1:8234`,
// or the UI's "Data Encoder" setting. Keep it on a trusted network: whoever
// reaches it can decrypt, unless EXPIRY_SYNC_CODEC_TOKEN requires a bearer
// token (the CLI's --codec-auth).
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"expiry-sync/internal/codec"
	"expiry-sync/internal/config"
)

func main() {
	codecCfg, err := config.LoadCodec()
	listen := flag.String("listen", "127.0.0.1:8234", "address to serve /encode and /decode on")
	origin := flag.String("ui-origin", cmp.Or(codecCfg.Origins, strings.Join(codec.DefaultOrigins, ",")),
		"the Web UI's origins allowed by CORS, comma-separated (EXPIRY_SYNC_CODEC_ORIGINS)")
	flag.Parse()
	logCfg, logErr := config.LoadLog()
	logger := logCfg.NewLogger(os.Stderr)
	err = cmp.Or(logErr, err)
	var opts codec.ServerOptions
	var h http.Handler
	if err == nil {
		opts, err = serverOptions(codecCfg, *origin)
	}
	if err == nil {
		h, err = handler(opts)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(2)
	}
	srv := codec.Server(*listen, h)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	logger.Info("codec server listening", "addr", *listen, "ui_origins", opts.Origins,
		"bearer_required", opts.Token != "")
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func serverOptions(cfg config.Codec, originFlag string) (codec.ServerOptions, error) {
	origins, err := codec.ParseOrigins(originFlag)
	if err != nil {
		return codec.ServerOptions{}, fmt.Errorf("--ui-origin (EXPIRY_SYNC_CODEC_ORIGINS): %w", err)
	}
	return codec.ServerOptions{Origins: origins, Token: cfg.Token.Reveal()}, nil
}

// handler decodes with the payload key of the worker and the starter.
func handler(opts codec.ServerOptions) (http.Handler, error) {
	cfg, err := config.LoadTemporal()
	if err != nil {
		return nil, err
	}
	if cfg.PayloadKey == "" {
		return nil, errors.New(
			"EXPIRY_SYNC_PAYLOAD_KEY (or EXPIRY_SYNC_PAYLOAD_KEY_FILE) is not set: nothing to decode",
		)
	}
	key, err := codec.ParseKey(cfg.PayloadKey.Reveal(), "EXPIRY_SYNC_PAYLOAD_KEY")
	if err != nil {
		return nil, err
	}
	c, err := codec.New(key)
	if err != nil {
		return nil, err
	}
	return codec.Handler(c, opts), nil
}
