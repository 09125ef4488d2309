// Package cli is the starter: the command line that starts, follows and
// resumes syncs. Exit codes: 0 done, 1 the run or a service failed, 2 bad input.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"

	"expiry-sync/internal/codec"
	"expiry-sync/internal/config"
)

// Exit codes.
const (
	ExitOK       = 0
	ExitFailure  = 1 // the sync failed, or Temporal/the database could not be reached
	ExitBadInput = 2 // a flag, an argument or a setting is invalid
)

// failure marks an error that is not the user's input (exit 1).
type failure struct{ err error }

func (f failure) Error() string { return f.err.Error() }
func (f failure) Unwrap() error { return f.err }

func fail(err error) error { return failure{err} }

// env is what every command shares.
type env struct {
	stdout, stderr io.Writer
	temporal       config.Temporal
	isTTY          bool
}

// Execute runs the starter with args and returns the process exit code.
func Execute(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	e := &env{stdout: stdout, stderr: stderr, isTTY: isTerminal(stdout)}
	root := &cobra.Command{
		Use:           "starter",
		Short:         "Start and follow expiry-sync runs on Temporal",
		Long:          "starter starts syncs of the Huawei Cloud resources that are about to expire, and follows them.\nTemporal settings come from TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_TASK_QUEUE and TEMPORAL_UI_URL.",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(*cobra.Command, []string) error {
			t, err := config.LoadTemporal()
			e.temporal = t
			return err
		},
	}
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return fmt.Errorf("%w (see '%s --help')", err, c.CommandPath())
	})
	root.AddCommand(newSyncCommand(e), newResumeCommand(e), newStatusCommand(e), newListCommand(e), newCancelCommand(e),
		newScheduleCommand(e), newReportCommand(e), newNotifyCommand(e))
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	fmt.Fprintln(stderr, "error: "+strings.TrimSpace(err.Error()))
	var f failure
	if errors.As(err, &f) {
		return ExitFailure
	}
	return ExitBadInput
}

// dial connects to Temporal, failing fast with the address in the message.
func (e *env) dial(ctx context.Context) (client.Client, error) {
	dc, err := codec.NewDataConverter(e.temporal.PayloadKey.Reveal())
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c, err := client.DialContext(ctx, client.Options{
		HostPort: e.temporal.Address, Namespace: e.temporal.Namespace, Logger: tlog.NewStructuredLogger(slog.New(slog.DiscardHandler)), DataConverter: dc,
	})
	if err != nil {
		return nil, fail(fmt.Errorf("cannot reach Temporal at %s (TEMPORAL_ADDRESS): %v", e.temporal.Address, err))
	}
	return c, nil
}

// webURL links a workflow in the Temporal Web UI.
func (e *env) webURL(workflowID string) string {
	return fmt.Sprintf("%s/namespaces/%s/workflows/%s", strings.TrimRight(e.temporal.UIURL, "/"), e.temporal.Namespace, workflowID)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
