// Package cli is the starter: the command line that starts, follows,
// resumes, schedules and reports syncs. Exit codes: 0 done, 1 the run or a
// service failed, 2 bad input, 130 interrupted while waiting (the sync goes on).
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"expiry-sync/internal/config"
	"expiry-sync/internal/printer"
	"expiry-sync/internal/version"
)

// Exit codes.
const (
	ExitOK          = 0
	ExitFailure     = 1   // the sync failed, or Temporal/the database could not be reached
	ExitBadInput    = 2   // a flag, an argument or a setting is invalid
	ExitInterrupted = 130 // Ctrl-C while waiting: the starter stopped, the sync did not
)

// failure marks an error that is not the user's input (exit 1).
type failure struct{ err error }

func (f failure) Error() string { return f.err.Error() }
func (f failure) Unwrap() error { return f.err }

func fail(err error) error { return failure{err} }

// interrupted ends a command that was waiting when the user pressed Ctrl-C;
// its text says what goes on and how to follow it (exit 130).
type interrupted struct{ text string }

func (i interrupted) Error() string { return i.text }

// env is what every command shares.
type env struct {
	stdout, stderr io.Writer
	cfg            config.Starter
	output         formatFlag
	json           bool
	out            printer.Printer
}

// flagAliases are the other names a flag answers to: the official temporal
// CLI's spellings and the starter's earlier ones. They are hidden from the
// help; errors name the flag by its documented name.
var flagAliases = map[string]string{
	"within-days": "expire-days", // report's earlier name for the same window
	"format":      "output",      // report --format table|csv|json
	"every":       "interval",
	"timezone":    "time-zone",
	"overlap":     "overlap-policy",
	"note":        "notes",
	"reason":      "notes", // temporal schedule toggle --reason
}

// normalizeFlag maps an alias to its flag where the command has that flag:
// `schedule pause --reason` is --notes, while renew request and lapse have a
// --reason of their own.
func normalizeFlag(f *pflag.FlagSet, name string) pflag.NormalizedName {
	if canonical, ok := flagAliases[name]; ok && hasFlag(f, canonical) {
		return pflag.NormalizedName(canonical)
	}
	return pflag.NormalizedName(name)
}

// hasFlag looks name up without normalizing it (Lookup would call
// normalizeFlag again).
func hasFlag(f *pflag.FlagSet, name string) bool {
	found := false
	f.VisitAll(func(fl *pflag.Flag) { found = found || fl.Name == name })
	return found
}

// Execute runs the starter with args and returns the process exit code.
func Execute(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	e := &env{stdout: stdout, stderr: stderr, output: formatFlag(printer.Text)}
	root := e.rootCommand()
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	var stopped interrupted
	var f failure
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &stopped):
		fmt.Fprintln(stderr, stopped.text)
		return ExitInterrupted
	}
	fmt.Fprintln(stderr, "error: "+strings.TrimSpace(err.Error()))
	if errors.As(err, &f) {
		return ExitFailure
	}
	return ExitBadInput
}

// Command is the starter's whole command tree (help, completion and
// --version included, which cobra otherwise adds when it runs), for the
// generated CLI reference and the docs tests.
func Command() *cobra.Command {
	e := &env{stdout: io.Discard, stderr: io.Discard, output: formatFlag(printer.Text)}
	root := e.rootCommand()
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	root.InitDefaultVersionFlag()
	return root
}

func (e *env) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "starter",
		Short: "Start, follow, schedule and report expiry-sync runs on Temporal",
		Long: `starter starts syncs of the Huawei Cloud resources that are about to expire, follows
them, runs them on Temporal Schedules, and reports what the inventory holds.
Settings come from the environment: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
TEMPORAL_TASK_QUEUE, TEMPORAL_UI_URL, EXPIRY_SYNC_PAYLOAD_KEY, HUAWEI_DOMAIN_ID (for
notify), DATABASE_URL and EXPIRY_SYNC_NOTIFY_FILE (see the README's configuration
table). Accounts are named as the workers' accounts file names them (--account); the
HUAWEI_* environment's account is "default".

Output: -o text (the default) prints tables and aligned fields for people; json,
jsonl and csv print the fields each command's reference lists, for programs.
Exit codes: 0 done, 1 a sync or a service failed, 2 bad input (one line on stderr
naming the value and what is allowed; nothing is started or written), 130
interrupted while waiting (the sync goes on).`,
		Version:       version.String(), // set at build time: internal/version
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return e.setup(cmd)
		},
	}
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return fmt.Errorf("%w (see '%s --help')", err, c.CommandPath())
	})
	pf := root.PersistentFlags()
	pf.VarP(&e.output, "output", "o", "output format: "+printer.Names())
	pf.BoolVar(&e.json, "json", false, "same as --output json")
	_ = pf.MarkHidden("json")
	_ = root.RegisterFlagCompletionFunc("output", completeWords(formatNames()...))
	root.AddCommand(
		e.syncCommand(),
		e.resumeCommand(),
		e.statusCommand(),
		e.listCommand(),
		e.cancelCommand(),
		e.scheduleCommand(),
		e.reportCommand(),
		e.notifyCommand(),
		e.renewCommand(),
		e.autorenewCommand(),
		e.lapseCommand(),
	)
	root.SetGlobalNormalizationFunc(normalizeFlag)
	return root
}

// setup reads the configuration and the output format before a command runs.
func (e *env) setup(cmd *cobra.Command) error {
	cfg, err := config.LoadStarter()
	if err != nil {
		return err
	}
	e.cfg = cfg
	format := printer.Format(e.output)
	if e.json {
		if cmd.Flags().Changed("output") && format != printer.JSON {
			return fmt.Errorf("--json and --output %s contradict each other: give one", format)
		}
		format = printer.JSON
	}
	e.out = printer.Printer{Out: e.stdout, Format: format}
	return nil
}

// print writes a command's result in the chosen format.
func (e *env) print(r printer.Result) error {
	if err := e.out.Print(r); err != nil {
		return fail(fmt.Errorf("writing the output: %v", err))
	}
	return nil
}

// formatFlag is -o/--output.
type formatFlag printer.Format

func (f *formatFlag) String() string { return string(*f) }
func (f *formatFlag) Type() string   { return "format" }
func (f *formatFlag) Set(s string) error {
	format, err := printer.ParseFormat(s)
	if err != nil {
		return err
	}
	*f = formatFlag(format)
	return nil
}

func formatNames() []string {
	names := make([]string, len(printer.Formats))
	for i, f := range printer.Formats {
		names[i] = string(f)
	}
	return names
}

// webURL links a workflow in the Temporal Web UI.
func (e *env) webURL(workflowID string) string {
	return fmt.Sprintf(
		"%s/namespaces/%s/workflows/%s",
		strings.TrimRight(e.cfg.Temporal.UIURL, "/"),
		e.cfg.Temporal.Namespace,
		workflowID,
	)
}

// scheduleURL links a schedule in the Temporal Web UI.
func (e *env) scheduleURL(id string) string {
	return fmt.Sprintf(
		"%s/namespaces/%s/schedules/%s",
		strings.TrimRight(e.cfg.Temporal.UIURL, "/"),
		e.cfg.Temporal.Namespace,
		id,
	)
}

// utc formats a time for the text output.
func utc(t time.Time) string { return t.UTC().Format(time.RFC3339) }
