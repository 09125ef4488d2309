// Command starter starts, follows, schedules and reports expiry-sync runs:
// `starter --help`. `starter --version` prints internal/version, set at
// build time (make build, the Dockerfile).
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // schedules name time zones; do not depend on the host having them

	"expiry-sync/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop() // the first Ctrl-C stops the waiting; a second one kills at once
	}()
	code := cli.Execute(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
