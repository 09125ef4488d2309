package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"

	"expiry-sync/internal/report"
	"expiry-sync/internal/store"
	"expiry-sync/workflows"
)

// notifyHistoryResult lists what was sent, when and to whom: one row per
// send.
type notifyHistoryResult struct {
	Sends []notifyHistoryLine
}

func (r notifyHistoryResult) Rows() any { return r.Sends }

type notifyHistoryLine struct {
	CreatedAt time.Time  `json:"created_at"`
	SentAt    *time.Time `json:"sent_at,omitempty"`
	AccountID string     `json:"account_id"`
	Route     string     `json:"route"`
	Threshold int        `json:"threshold_days"`
	Resources int        `json:"resources"`
	Channel   string     `json:"channel"`
	Type      string     `json:"type"`
	Recipient string     `json:"recipient"`
	Status    string     `json:"status"`
	Attempts  int        `json:"attempts"`
	Error     string     `json:"error,omitempty"`
	DigestID  string     `json:"digest_id"`
}

func (e *env) notifyHistoryCommand() *cobra.Command {
	var account, route string
	var limit int
	cmd := &cobra.Command{
		Use:   "history [--account A] [--route R] [--limit N]",
		Short: "List the reminders sent: when, which route and threshold, to whom, and how it went",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if limit < 1 || limit > report.MaxLimit {
				return fmt.Errorf("--limit=%d is out of range: allowed 1..%d", limit, report.MaxLimit)
			}
			res, err := e.notifyHistory(
				cmd.Context(),
				store.HistoryFilter{AccountID: account, Route: route, Limit: limit},
			)
			if err != nil {
				return err
			}
			return e.print(res)
		},
	}
	cmd.Flags().StringVar(&account, "account", "", "only this account (its name)")
	cmd.Flags().StringVar(&route, "route", "", "only this route")
	cmd.Flags().IntVar(&limit, "limit", 50,
		fmt.Sprintf("at most this many sends, newest first (1..%d)", report.MaxLimit))
	describeOutput(cmd, notifyHistoryResult{})
	return cmd
}

func (e *env) notifyHistory(ctx context.Context, f store.HistoryFilter) (notifyHistoryResult, error) {
	res := notifyHistoryResult{Sends: []notifyHistoryLine{}}
	s, name, err := e.openNotifyStore(ctx)
	if err != nil {
		return res, err
	}
	defer s.Close()
	if f.AccountID != "" {
		if f.AccountID, err = accountDomainID(ctx, s, name, f.AccountID); err != nil {
			return res, err
		}
	}
	recs, err := s.NotifyHistory(ctx, f)
	if err != nil {
		return res, dbReadError(name, err)
	}
	for _, r := range recs {
		res.Sends = append(res.Sends, notifyHistoryLine{
			CreatedAt: r.CreatedAt.UTC(), SentAt: r.SentAt, AccountID: r.AccountID, Route: r.Route,
			Threshold: r.ThresholdDays, Resources: r.Resources, Channel: r.Channel, Type: r.ChannelType,
			Recipient: r.Recipient, Status: r.Status, Attempts: r.Attempts, Error: r.ErrorMessage, DigestID: r.DigestID,
		})
	}
	return res, nil
}

// PrintText is a table of the sends.
func (r notifyHistoryResult) PrintText(w io.Writer) error {
	if len(r.Sends) == 0 {
		fmt.Fprintln(w, "No reminder was sent yet.")
		return nil
	}
	t := newTable(w)
	t.AppendHeader([]any{"WHEN", "ROUTE", "THRESHOLD", "RESOURCES", "CHANNEL", "TO", "STATUS", "ATTEMPTS"})
	for _, s := range r.Sends {
		status := s.Status
		if s.Error != "" {
			status += ": " + truncateText(s.Error, 60)
		}
		threshold := "overdue"
		if s.Threshold > 0 {
			threshold = fmt.Sprintf("%d days", s.Threshold)
		}
		t.AppendRow([]any{
			s.CreatedAt.Format("2006-01-02 15:04:05"),
			s.Route,
			threshold,
			s.Resources,
			s.Channel,
			s.Recipient,
			status,
			s.Attempts,
		})
	}
	t.Render()
	return nil
}

func truncateText(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// notifyScheduleResult says what the schedule command did.
type notifyScheduleResult struct {
	ScheduleID string `json:"schedule_id"`
	Action     string `json:"action" doc:"created, updated or deleted"`
	Every      string `json:"every,omitempty"`
	Account    string `json:"account" doc:"the account's name; empty: every account"`
}

func (r notifyScheduleResult) PrintText(w io.Writer) error {
	every := ""
	if r.Every != "" {
		every = ", every " + r.Every
	}
	account := r.Account
	if account == "" {
		account = "every account"
	}
	_, err := fmt.Fprintf(w, "Schedule %s %s (%s%s)\n", r.ScheduleID, r.Action, account, every)
	return err
}

func (e *env) notifyScheduleCommand() *cobra.Command {
	var account string
	var all bool
	var every time.Duration
	var remove bool
	cmd := &cobra.Command{
		Use: "schedule --interval D [--account NAME | --all-accounts] | --delete",
		Short: "Send the due reminders of an account, or of every account, " +
			"on a schedule of their own (a Temporal Schedule)",
		Long: `schedule creates (or updates) the Temporal Schedule notify-<account> (notify-all with
--all-accounts: each run reminds every account the workers serve, a child run each),
which runs NotifyExpiring every --interval, besides the run after each sync.
--delete removes it.`,
		Example: `  starter notify schedule --interval 6h
  starter notify schedule --all-accounts --interval 6h
  starter notify schedule --delete`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if all && account != "" {
				return errors.New("--account and --all-accounts cannot be given together: name one account, or all")
			}
			if !all {
				account, _ = e.notifyAccount(account)
			}
			if !remove && (every < time.Minute || every > 31*24*time.Hour) {
				return fmt.Errorf("--interval=%s is out of range: allowed 1m..744h", every)
			}
			var res notifyScheduleResult
			err := e.withTemporal(cmd, commandTimeout, func(ctx context.Context, c *conn) (err error) {
				res, err = e.notifySchedule(ctx, c, account, every, remove)
				return err
			})
			if err != nil {
				return err
			}
			return e.print(res)
		},
	}
	cmd.Flags().StringVar(&account, "account", "", "the account's name (default: default)")
	cmd.Flags().BoolVar(&all, "all-accounts", false, "remind every account the workers serve")
	cmd.Flags().DurationVar(&every, "interval", 0, "how often to run, e.g. 6h (1m..744h)")
	cmd.Flags().BoolVar(&remove, "delete", false, "delete the schedule")
	describeOutput(cmd, notifyScheduleResult{})
	return cmd
}

func (e *env) notifySchedule(
	ctx context.Context,
	c *conn,
	account string,
	every time.Duration,
	remove bool,
) (notifyScheduleResult, error) {
	res := notifyScheduleResult{ScheduleID: "notify-" + cmp.Or(account, "all"), Account: account}
	sc := c.ScheduleClient()
	if remove {
		if err := sc.GetHandle(ctx, res.ScheduleID).Delete(ctx); err != nil {
			return res, fail(fmt.Errorf("cannot delete schedule %s: %v", res.ScheduleID, err))
		}
		res.Action = "deleted"
		return res, nil
	}
	res.Every = every.String()
	spec := client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: every}}}
	action := workflows.NotifyScheduleAction(res.ScheduleID, e.cfg.Temporal.TaskQueue, account)
	_, err := sc.Create(ctx, client.ScheduleOptions{ID: res.ScheduleID, Spec: spec, Action: action})
	if err == nil {
		res.Action = "created"
		return res, nil
	}
	err = sc.GetHandle(ctx, res.ScheduleID).Update(ctx, client.ScheduleUpdateOptions{
		DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
			s := in.Description.Schedule
			s.Spec, s.Action = &spec, action
			return &client.ScheduleUpdate{Schedule: &s}, nil
		},
	})
	if err != nil {
		return res, fail(fmt.Errorf("cannot create or update schedule %s: %v", res.ScheduleID, err))
	}
	res.Action = "updated"
	return res, nil
}
