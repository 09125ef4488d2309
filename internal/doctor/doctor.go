// Package doctor checks a worker's deployment before it is trusted (`worker
// check`): configuration, database, Temporal, Huawei credentials and the IAM
// permissions each API needs. Every check says ok, what failed and how to
// fix it, or warns of what it could not check or what the worker copes
// with; only a failure fails the report. None of them changes anything.
package doctor

import (
	"context"
	"fmt"
	"io"
	"time"

	"expiry-sync/internal/config"
	"expiry-sync/internal/huawei"
)

// Check is the outcome of one check.
type Check struct {
	Name    string
	OK      bool
	Skipped bool // not run: an earlier check it depends on failed
	// Warning: not a failure. The check could not run (nothing to probe
	// with), or found something the worker copes with (no bulk tag API,
	// migrations its start-up applies, ListProviders refused).
	Warning bool
	Detail  string // what was found (ok), or what failed or is off
	Fix     string // what to do about a failure or a warning
}

// Report is every check in the order run.
type Report struct {
	Checks []Check
}

// Failed reports whether any check failed: warnings do not, and a skipped
// check was skipped because one it depends on failed.
func (r Report) Failed() bool {
	for _, c := range r.Checks {
		if !c.OK && !c.Warning && !c.Skipped {
			return true
		}
	}
	return false
}

// Write prints one line per check.
func (r Report) Write(w io.Writer) error {
	for _, c := range r.Checks {
		var line string
		switch {
		case c.OK:
			line = fmt.Sprintf("ok    %s: %s", c.Name, c.Detail)
		case c.Skipped:
			line = fmt.Sprintf("skip  %s: %s", c.Name, c.Detail)
		case c.Warning:
			line = fmt.Sprintf("warn  %s: %s", c.Name, c.Detail)
			if c.Fix != "" {
				line += "; to do: " + c.Fix
			}
		default:
			line = fmt.Sprintf("FAIL  %s: %s", c.Name, c.Detail)
			if c.Fix != "" {
				line += "; fix: " + c.Fix
			}
		}
		if _, err := fmt.Fprintln(w, line); err != nil {
			return err
		}
	}
	return nil
}

func (r *Report) add(c ...Check) { r.Checks = append(r.Checks, c...) }

// checkTimeout bounds each check, so that an unreachable service fails the
// check instead of hanging the command.
const checkTimeout = 15 * time.Second

func ok(name, format string, args ...any) Check {
	return Check{Name: name, OK: true, Detail: fmt.Sprintf(format, args...)}
}

func fail(name, fix, format string, args ...any) Check {
	return Check{Name: name, Detail: fmt.Sprintf(format, args...), Fix: fix}
}

func skip(name, why string) Check { return Check{Name: name, Skipped: true, Detail: why} }

func warn(name, todo, format string, args ...any) Check {
	return Check{Name: name, Warning: true, Detail: fmt.Sprintf(format, args...), Fix: todo}
}

// Run checks a worker's deployment. loadErr is config.LoadWorker's error:
// with one, only the configuration check runs (every other check depends on
// it).
func Run(ctx context.Context, cfg config.Worker, loadErr error) Report {
	var r Report
	if loadErr == nil {
		_, _, loadErr = huawei.SiteEndpoints(cfg.Huawei.Site)
	}
	if loadErr != nil {
		r.add(fail(
			"configuration",
			"set the variable as the message says (see the README's configuration table)",
			"%v",
			loadErr,
		))
		for _, name := range []string{
			"database", "migrations", "temporal", "namespace", "search attributes",
			checkBSS, checkTMS, checkShowTags, checkListResource,
		} {
			r.add(skip(name, "needs a valid configuration"))
		}
		return r
	}
	if cfg.AccountsFile == "" {
		r.add(ok(
			"configuration",
			"task queue %s, namespace %s, Huawei site %s",
			cfg.Temporal.TaskQueue,
			cfg.Temporal.Namespace,
			cfg.Huawei.Site,
		))
	} else {
		r.add(ok(
			"configuration",
			"task queue %s, namespace %s, %d accounts from %s",
			cfg.Temporal.TaskQueue,
			cfg.Temporal.Namespace,
			len(cfg.Accounts),
			cfg.AccountsFile,
		))
	}
	r.add(Database(ctx, cfg)...)
	r.add(Temporal(ctx, cfg.Temporal)...)
	for _, acc := range cfg.ServedAccounts() {
		checks := Huawei(ctx, acc.Huawei)
		for i := range checks {
			if cfg.AccountsFile != "" { // name the account among several
				checks[i].Name = "account " + acc.Name + ": " + checks[i].Name
			}
		}
		r.add(checks...)
	}
	return r
}
