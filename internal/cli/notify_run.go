package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"

	"expiry-sync/workflows"
)

// notifyRunResult is a reminders run started now, and with --wait how
// each route's digests went on each channel.
type notifyRunResult struct {
	WorkflowID string                  `json:"workflow_id"`
	RunID      string                  `json:"run_id"`
	Account    string                  `json:"account" doc:"the account's name; empty: every account"`
	Result     *workflows.NotifyResult `json:"result,omitempty" doc:"with --wait"`
}

func (e *env) notifyRunCommand() *cobra.Command {
	var account, asOf string
	var all, wait bool
	cmd := &cobra.Command{
		Use:   "run [--account NAME | --all-accounts] [--as-of TIME] [--wait]",
		Short: "Send the due reminders now, as the run after a sync would",
		Long: `run starts a reminders run now (the workflow NotifyExpiring) for one account
(--account, default: default) or for every account the workers serve (--all-accounts:
a child run per account). It sends what is due and not yet delivered on each
channel; a second run right after sends nothing new. --as-of TIME (RFC 3339)
counts thresholds from that time instead of now. --wait waits for the run and
prints each route's outcome per channel.`,
		Example: `  starter notify run --wait
  starter notify run --all-accounts --wait -o json
  starter notify run --account prod --as-of 2026-12-24T09:00:00+08:00`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if all && account != "" {
				return errors.New("--account and --all-accounts cannot be given together: name one account, or all")
			}
			in := workflows.NotifyInput{Account: account, AllAccounts: all, IgnoreQuietHours: false}
			if !all && in.Account == "" {
				in.Account, _ = e.notifyAccount("")
			}
			if asOf != "" {
				t, err := time.Parse(time.RFC3339, asOf)
				if err != nil {
					return fmt.Errorf("--as-of=%q is not a time: use RFC 3339, e.g. 2026-12-24T09:00:00Z", asOf)
				}
				in.AsOf = &t
			}
			timeout := commandTimeout
			if wait {
				timeout = 0
			}
			var res notifyRunResult
			err := e.withTemporal(cmd, timeout, func(ctx context.Context, c *conn) (err error) {
				res, err = e.notifyRun(ctx, c, in, wait)
				return err
			})
			if err != nil {
				return err
			}
			if err := e.print(res); err != nil {
				return err
			}
			if res.Result != nil && res.Result.Failed > 0 {
				return fail(fmt.Errorf(
					"%d channel deliveries failed: their reminders are sent again by the next run",
					res.Result.Failed,
				))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&account, "account", "", "the account's name (default: default)")
	cmd.Flags().BoolVar(&all, "all-accounts", false, "remind every account the workers serve")
	cmd.Flags().StringVar(&asOf, "as-of", "", "count thresholds from this time (RFC 3339) instead of now")
	cmd.Flags().BoolVar(&wait, "wait", false, "wait for the run and print each route's outcome per channel")
	describeOutput(cmd, notifyRunResult{})
	return cmd
}

func (e *env) notifyRun(ctx context.Context, c *conn, in workflows.NotifyInput, wait bool) (notifyRunResult, error) {
	res := notifyRunResult{Account: in.Account}
	res.WorkflowID = fmt.Sprintf(
		"notify-run-%s-%s",
		cmp.Or(in.Account, "all"),
		time.Now().UTC().Format("20060102T150405.000Z"),
	)
	run, err := c.ExecuteWorkflow(
		ctx,
		client.StartWorkflowOptions{ID: res.WorkflowID, TaskQueue: e.cfg.Temporal.TaskQueue},
		workflows.NotifyWorkflowName,
		in,
	)
	if err != nil {
		return res, fail(fmt.Errorf("cannot start the reminders run: %v", err))
	}
	res.RunID = run.GetRunID()
	if !wait {
		return res, nil
	}
	var out workflows.NotifyResult
	if err := run.Get(ctx, &out); err != nil {
		return res, fail(errors.New(workflows.ErrorText(err)))
	}
	res.Result = &out
	return res, nil
}

// PrintText lists, per account and route, each digest's sends.
func (r notifyRunResult) PrintText(w io.Writer) error {
	fmt.Fprintf(w, "Reminders run %s started (account %s)\n", r.WorkflowID, cmp.Or(r.Account, "every account"))
	if r.Result == nil {
		fmt.Fprintf(w, "Follow it in the Temporal Web UI (workflow %s), or: starter notify history\n", r.WorkflowID)
		return nil
	}
	results := r.Result.Accounts
	if len(results) == 0 {
		results = []workflows.NotifyResult{*r.Result}
	}
	for _, a := range results {
		fmt.Fprintf(w, "\nAccount %s as of %s\n", cmp.Or(a.Account, a.AccountID), a.AsOf.Format(time.RFC3339))
		if !a.Configured {
			fmt.Fprintln(w, "  reminders are not configured on the worker (EXPIRY_SYNC_NOTIFY_FILE)")
		}
		if len(a.Routes) == 0 && a.Configured {
			fmt.Fprintln(w, "  nothing new is due")
		}
		for _, rt := range a.Routes {
			fmt.Fprintf(w, "  route %s: %s %s\n", rt.Route, rt.Status, rt.Error)
			for _, d := range rt.Digests {
				for _, s := range d.Sends {
					line := fmt.Sprintf(
						"    %-8s %3d resources  %-16s %-10s %-12s %d/%d messages",
						thresholdLabel(d.Threshold),
						d.Resources,
						s.Channel,
						s.Type,
						s.Status,
						s.PartsSent,
						s.Parts,
					)
					if s.Unconfirmed > 0 {
						line += fmt.Sprintf(", %d unconfirmed", s.Unconfirmed)
					}
					if s.Error != "" {
						line += ": " + strings.TrimSpace(s.Error)
					}
					fmt.Fprintln(w, line)
				}
			}
		}
	}
	fmt.Fprintf(
		w,
		"\nsent %d, failed %d, unconfirmed %d (channel deliveries)\n",
		r.Result.Sent,
		r.Result.Failed,
		r.Result.Unconfirmed,
	)
	return nil
}

func thresholdLabel(t int) string {
	if t == 0 {
		return "overdue"
	}
	return fmt.Sprintf("%d-day", t)
}
