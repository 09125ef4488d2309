package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"

	"expiry-sync/internal/contract"
	"expiry-sync/internal/notify"
	"expiry-sync/internal/report"
	"expiry-sync/internal/store"
	"expiry-sync/workflows"
)

// Each notify command builds one typed result; the printer renders it
// (-o text|json|jsonl|csv).

// notifyClock is preview's "now"; tests pin it.
var notifyClock = time.Now

func (e *env) notifyCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "notify",
		Short: "Renewal reminders: preview what is due, send a test, read the history, schedule runs",
		Long: `notify works with the renewal reminders the worker sends after each sync and on
a schedule (docs/notify.md). The routes file is the one EXPIRY_SYNC_NOTIFY_FILE
names; preview and history read DATABASE_URL like report.`,
	}
	cmd.AddCommand(
		e.notifyPreviewCommand(),
		e.notifyRunCommand(),
		e.notifyTestCommand(),
		e.notifyHistoryCommand(),
		e.notifyScheduleCommand(),
	)
	return cmd
}

// notifyAccount is --account: an account's name, as every command takes
// it (default: the account "default").
func (e *env) notifyAccount(account string) (string, error) {
	if account == "" {
		return contract.DefaultAccount, nil
	}
	return account, nil
}

// accountDomainID finds the domain id that keys an account's rows, from
// the name its syncs recorded (a domain id is taken as it is).
func accountDomainID(ctx context.Context, s *store.Store, dbName, account string) (string, error) {
	id, err := s.AccountDomainID(ctx, account)
	if errors.Is(err, store.ErrNotFound) {
		return "", fail(fmt.Errorf(
			"account %q has no resources in database %s: "+
				"name an account a sync has run for (its name in the accounts file, or default)",
			account,
			dbName,
		))
	}
	if err != nil {
		return "", dbReadError(dbName, err)
	}
	return id, nil
}

// openNotifyStore opens DATABASE_URL for reading, with report's messages.
func (e *env) openNotifyStore(ctx context.Context) (*store.Store, string, error) {
	dbURL := e.cfg.DatabaseURL.Reveal()
	if err := store.CheckURL(dbURL); err != nil {
		return nil, "", err
	}
	name := databaseName(dbURL)
	if path, missing := store.MissingSQLiteFile(dbURL); missing {
		return nil, name, fail(fmt.Errorf(
			"database %s has no expiry-sync tables (the file %s does not exist): "+
				"start the worker once with this DATABASE_URL, then run a sync",
			name,
			path,
		))
	}
	s, err := store.Open(ctx, dbURL)
	if err != nil {
		return nil, name, fail(errors.New(oneLine(err.Error())))
	}
	return s, name, nil
}

func dbReadError(name string, err error) error {
	if errors.Is(err, store.ErrNoTables) || strings.Contains(err.Error(), "no such table") ||
		strings.Contains(err.Error(), "1146") {
		return fail(fmt.Errorf("database %s has no reminder tables: "+
			"start the worker once with this DATABASE_URL to migrate it", name))
	}
	return fail(fmt.Errorf("reading database %s: %s", name, oneLine(err.Error())))
}

// notifyPreviewResult is what a run would send now.
type notifyPreviewResult struct {
	Account    string               `json:"account"`
	AccountID  string               `json:"account_id"`
	AsOf       time.Time            `json:"as_of"`
	WithinDays int                  `json:"expire_days,omitempty" doc:"--expire-days"`
	Routes     []notifyPreviewRoute `json:"routes"`
}

type notifyPreviewRoute struct {
	Route      string                `json:"route"`
	Language   string                `json:"language"`
	Channels   []string              `json:"channels"`
	QuietUntil *time.Time            `json:"quiet_until,omitempty"`
	Digests    []notifyPreviewDigest `json:"digests"`
}

type notifyPreviewDigest struct {
	Threshold int           `json:"threshold_days"` // 0 = overdue
	Title     string        `json:"title"`
	Resources []notify.Item `json:"resources"`
}

func (e *env) notifyPreviewCommand() *cobra.Command {
	var account string
	var within int
	cmd := &cobra.Command{
		Use:   "preview [--account NAME] [--expire-days N]",
		Short: "Print what would be sent now, per route, without sending",
		Long: `preview plans the reminders of an account as a run would now, from the routes
file and the database, and prints each route's digests: their title and resources.
It sends nothing and records nothing. --expire-days N keeps the resources expiring
within N days (expired ones included).`,
		Example: `  EXPIRY_SYNC_NOTIFY_FILE=notify.yaml starter notify preview --account prod
  starter notify preview --account prod --expire-days 7 -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			account, err := e.notifyAccount(account)
			if err != nil {
				return err
			}
			if cmd.Flags().Changed("expire-days") && (within < 1 || within > report.MaxDays) {
				return fmt.Errorf("--expire-days=%d is out of range: allowed 1..%d", within, report.MaxDays)
			}
			res, err := e.notifyPreview(cmd.Context(), account, within)
			if err != nil {
				return err
			}
			return e.print(res)
		},
	}
	cmd.Flags().StringVar(&account, "account", "", "the account's name (default: default)")
	cmd.Flags().IntVar(&within, "expire-days", 0,
		fmt.Sprintf("only resources expiring within this many days (1..%d)", report.MaxDays))
	describeOutput(cmd, notifyPreviewResult{})
	return cmd
}

func (e *env) loadNotifyConfig() (*notify.Config, error) {
	if e.cfg.NotifyFile == "" {
		return nil, errors.New(notify.ConfigEnv + " is not set: name the routes file (see docs/notify.md)")
	}
	return notify.Load(e.cfg.NotifyFile)
}

func (e *env) notifyPreview(ctx context.Context, account string, within int) (notifyPreviewResult, error) {
	res := notifyPreviewResult{Account: account, AsOf: notifyClock().UTC().Truncate(time.Second), WithinDays: within}
	cfg, err := e.loadNotifyConfig()
	if err != nil {
		return res, err
	}
	s, name, err := e.openNotifyStore(ctx)
	if err != nil {
		return res, err
	}
	defer s.Close()
	if account, err = accountDomainID(ctx, s, name, account); err != nil {
		return res, err
	}
	res.AccountID = account
	rows, err := s.NotifyCandidates(ctx, account, cfg.Horizon(res.AsOf))
	if err != nil {
		return res, dbReadError(name, err)
	}
	if within > 0 {
		rows = slices.DeleteFunc(rows, func(r store.ExpiringResource) bool {
			return r.ExpireTime.After(res.AsOf.Add(time.Duration(within) * 24 * time.Hour))
		})
	}
	notified := map[store.NotifyKey][]string{}
	if len(rows) > 0 {
		if notified, err = s.NotifiedKeys(ctx, account, rows[0].ExpireTime); err != nil {
			return res, dbReadError(name, err)
		}
	}
	for _, p := range cfg.Plan(rows, notified, res.AsOf, nil) {
		if len(res.Routes) == 0 || res.Routes[len(res.Routes)-1].Route != p.Route.Name {
			pr := notifyPreviewRoute{Route: p.Route.Name, Language: p.Route.Language}
			for _, c := range p.Route.Channels {
				pr.Channels = append(pr.Channels, c+" ("+cfg.Channels[c].Recipient()+")")
			}
			if until := p.Route.QuietHours.Until(res.AsOf); !until.IsZero() {
				pr.QuietUntil = &until
			}
			res.Routes = append(res.Routes, pr)
		}
		d := notify.Digest{
			Account:   account,
			Route:     p.Route.Name,
			Threshold: p.Threshold,
			Language:  p.Route.Language,
			AsOf:      res.AsOf,
			Items:     p.Items,
		}
		last := &res.Routes[len(res.Routes)-1]
		last.Digests = append(
			last.Digests,
			notifyPreviewDigest{Threshold: p.Threshold, Title: d.Title(), Resources: p.Items},
		)
	}
	return res, nil
}

// PrintText lists each route's digests.
func (r notifyPreviewResult) PrintText(w io.Writer) error {
	fmt.Fprintf(w, "Reminders due for account %s as of %s (nothing is sent)\n", r.Account, r.AsOf.Format(time.RFC3339))
	if len(r.Routes) == 0 {
		fmt.Fprintln(w, "\nNothing is due: every resource in a threshold was already reminded, or none is near expiry.")
		return nil
	}
	for _, rt := range r.Routes {
		fmt.Fprintf(w, "\nRoute %s (%s) → %s\n", rt.Route, rt.Language, strings.Join(rt.Channels, ", "))
		if rt.QuietUntil != nil {
			fmt.Fprintf(w, "  in quiet hours: a run waits until %s\n", rt.QuietUntil.Format(time.RFC3339))
		}
		for _, d := range rt.Digests {
			fmt.Fprintf(w, "  %s\n", d.Title)
			for _, it := range d.Resources {
				owner := it.Owner
				if owner == "" {
					owner = "-"
				}
				fmt.Fprintf(
					w,
					"    %-40s %s  %4dd  %s  %s\n",
					it.ResourceID,
					it.ExpireTime.Format("2006-01-02 15:04"),
					it.DaysLeft,
					owner,
					oneLineName(it.Name),
				)
			}
		}
	}
	return nil
}

func oneLineName(s string) string { return strings.Join(strings.Fields(s), " ") }

// notifyTestResult is how each channel of a route took a test message.
type notifyTestResult struct {
	Route      string                 `json:"route"`
	WorkflowID string                 `json:"workflow_id"`
	Channels   []contract.SendOutcome `json:"channels"`
}

func (e *env) notifyTestCommand() *cobra.Command {
	var route string
	cmd := &cobra.Command{
		Use:   "test --route R",
		Short: "Send one test message on each channel of a route, through the worker",
		Long: `test asks the worker (which holds the channels' secrets) to send one test message
on each channel of the route, once, and prints how each went. Exit 1 when one failed.`,
		Example: `  starter notify test --route team-storage`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if route == "" {
				return errors.New("--route is required: the name of a route in the routes file")
			}
			var res notifyTestResult
			err := e.withTemporal(cmd, commandTimeout, func(ctx context.Context, c *conn) (err error) {
				res, err = e.notifyTest(ctx, c, route)
				return err
			})
			if err != nil {
				return err
			}
			if err := e.print(res); err != nil {
				return err
			}
			for _, c := range res.Channels {
				if c.Status != contract.SendSent {
					return fail(fmt.Errorf("channel %s did not take the test message", c.Channel))
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&route, "route", "", "the route to test (required)")
	describeOutput(cmd, notifyTestResult{})
	return cmd
}

func (e *env) notifyTest(ctx context.Context, c *conn, route string) (notifyTestResult, error) {
	res := notifyTestResult{Route: route, WorkflowID: fmt.Sprintf("notify-test-%d", time.Now().UnixMilli())}
	run, err := c.ExecuteWorkflow(
		ctx,
		client.StartWorkflowOptions{ID: res.WorkflowID, TaskQueue: e.cfg.Temporal.TaskQueue},
		workflows.NotifyTestWorkflowName,
		workflows.NotifyTestInput{Route: route},
	)
	if err != nil {
		return res, fail(fmt.Errorf("cannot start the test: %v", err))
	}
	if err := run.Get(ctx, &res.Channels); err != nil {
		return res, fail(errors.New(workflows.ErrorText(err)))
	}
	return res, nil
}

// PrintText says how each channel took the test message.
func (r notifyTestResult) PrintText(w io.Writer) error {
	fmt.Fprintf(w, "Test message on route %s (%s)\n", r.Route, r.WorkflowID)
	for _, c := range r.Channels {
		line := fmt.Sprintf("  %-20s %-8s %-40s %s", c.Channel, c.Type, c.Recipient, c.Status)
		if c.Error != "" {
			line += ": " + c.Error
		}
		fmt.Fprintln(w, line)
	}
	return nil
}
