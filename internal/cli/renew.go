package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"expiry-sync/internal/contract"
	"expiry-sync/internal/store"
	"expiry-sync/workflows"
)

// The renewal commands (issue 23, docs/renewals.md): quote, request,
// approve, reject, status and list. A request is one RenewResources
// workflow; nothing is ordered at Huawei before a person's approval is in
// its history.

func (e *env) renewCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "renew",
		Short: "Renew resources through a request a person approves: quote, request, approve, reject, status, list",
		Long: `renew prices, requests and follows renewals of yearly/monthly resources. A request is
one RenewResources workflow (its id is renew-<account>-<hash>-<UTC day>): it looks the
resources up, quotes them (ListRenewRateOnPeriod) and waits for approval under the
account's renewal policy (approvers, four eyes, a second approval above an amount,
max_amount, periods). Once approved it quotes again (a higher price asks again),
then, as the worker's EXPIRY_SYNC_RENEW mode allows, stops there (off, the default:
a dry run), places an unpaid order (order) or also pays it (pay), and watches for
the new expiry.

Huawei's rules apply: main resources only (attached disks and EIPs renew with their
server), periods 1m..11m or 1y..3y, at most 10 ids per Huawei call (the worker
splits larger requests), the customer's own credentials (a partner's cannot renew).
See docs/renewals.md.`,
		Example: `  starter renew quote --resource 0a1b2c3d-4e5f-4071-8293-a4b5c6d7e8f9 --period 1y --account prod
  starter renew request --resource 0a1b2c3d-4e5f-4071-8293-a4b5c6d7e8f9 --period 1y --account prod ` +
			`--reason "ops-1234: keep the build server"
  starter renew approve renew-prod-3f9a0c1b2d-20261126 --comment "budget ok" --wait
  starter renew status renew-prod-3f9a0c1b2d-20261126
  starter renew list --state pending`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(e.renewQuoteCommand(), e.renewRequestCommand(), e.renewApproveCommand(), e.renewRejectCommand(),
		e.renewStatusCommand(), e.renewListCommand())
	return cmd
}

// oneRequestID is cobra.ExactArgs(1) naming what is missing.
func oneRequestID(cmd *cobra.Command, args []string) error {
	if err := cobra.ExactArgs(1)(cmd, args); err != nil {
		return fmt.Errorf("%s needs exactly one REQUEST_ID: %v (see 'starter renew list')", cmd.CommandPath(), err)
	}
	return checkRequestID(args[0])
}

// ---- quote

func (e *env) renewQuoteCommand() *cobra.Command {
	var resources []string
	account, period := newOnce(contract.DefaultAccount, "string"), newOnce("", "period")
	cmd := &cobra.Command{
		Use:   "quote --resource ID [--resource ID ...] --period P [--account NAME]",
		Short: "Price renewing resources for a period, now; read-only: nothing is requested or ordered",
		Long: `quote asks Huawei (ListRenewRateOnPeriod, through the worker, which holds the
account's keys) what renewing the resources for the period costs: each main resource's
amount (its attached resources included), the total and the currency, and the
resources Huawei refused with its error code. It is read-only: it requests and orders
nothing. Exit 1 when Huawei refused a resource.

-o json prints the quote as the request records it; amounts are integers in
millionths of the currency's unit (1234.5 is 1234500000).`,
		Example: `  starter renew quote --resource 0a1b2c3d-4e5f-4071-8293-a4b5c6d7e8f9 --period 1y
  starter renew quote --resource ID1 --resource ID2 --period 3m --account prod -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			in := contract.QuoteInput{Account: account.value}
			if err := checkAccountFlag(in.Account); err != nil {
				return err
			}
			var err error
			if in.ResourceIDs, err = resourceIDs(resources); err != nil {
				return err
			}
			if !period.set {
				return fmt.Errorf("--period is required: allowed %s", contract.AllowedPeriods)
			}
			if in.Period, err = parsePeriodFlag(period.value); err != nil {
				return err
			}
			var q contract.RenewQuote
			err = e.withTemporal(cmd, commandTimeout, func(ctx context.Context, c *conn) (err error) {
				q, err = e.runQuote(ctx, c, in)
				return err
			})
			if err != nil {
				return err
			}
			if err := e.print(quoteView{RenewQuote: q, account: in.Account, period: in.Period}); err != nil {
				return err
			}
			if len(q.Failures) > 0 {
				return fail(fmt.Errorf(
					"%d of %d resource(s) could not be quoted: Huawei refused them (see the list above)",
					len(q.Failures),
					len(in.ResourceIDs),
				))
			}
			return nil
		},
	}
	f := cmd.Flags()
	addResourceFlag(f, &resources, "the id of a main resource to quote (required)")
	f.Var(period, "period", "the renewal period: "+contract.AllowedPeriods+" (required)")
	addAccountOnce(f, account)
	_ = cmd.RegisterFlagCompletionFunc("period", completeWords(periodNames()...))
	describeOutput(cmd, quoteView{})
	return cmd
}

// runQuote executes a RenewQuote workflow and waits for its answer.
func (e *env) runQuote(ctx context.Context, c *conn, in contract.QuoteInput) (contract.RenewQuote, error) {
	var q contract.RenewQuote
	id := fmt.Sprintf("renew-quote-%s-%d", in.Account, renewClock().UnixNano())
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:        id,
		TaskQueue: e.cfg.Temporal.TaskQueue,
		StaticSummary: fmt.Sprintf(
			"Quote of renewing %d resource(s) of %s for %s (read-only)",
			len(in.ResourceIDs),
			in.Account,
			in.Period,
		),
		TypedSearchAttributes: temporal.NewSearchAttributes(workflows.AttrAccount.ValueSet(in.Account)),
	}, workflows.RenewQuoteWorkflowName, in)
	if err != nil {
		return q, fail(fmt.Errorf("could not start the quote: %s", oneLine(err.Error())))
	}
	err = run.Get(ctx, &q)
	switch {
	case err == nil:
		return q, nil
	case errors.Is(ctx.Err(), context.Canceled):
		return q, interrupted{fmt.Sprintf("Stopped waiting for the quote (%s); it orders nothing.", id)}
	case ctx.Err() != nil:
		return q, fail(fmt.Errorf(
			"quote %s: no answer within %s: is a worker polling task queue %s?",
			id,
			commandTimeout,
			e.cfg.Temporal.TaskQueue,
		))
	}
	return q, fail(fmt.Errorf("quote %s failed: %s", id, workflows.ErrorText(err)))
}

// ---- request

func (e *env) renewRequestCommand() *cobra.Command {
	r := newRequestFlags()
	period := newOnce("", "period")
	cmd := &cobra.Command{
		Use:   "request --resource ID [--resource ID ...] --period P [--account NAME] [--reason TEXT] [--wait]",
		Short: "Ask to renew resources for a period; it is quoted, then waits for a person's approval",
		Long: `request starts a renewal request: a RenewResources workflow that looks the resources
up, quotes them and waits for approval ('starter renew approve'), until its deadline
(--deadline, default: the policy's deadline_before the earliest expiry, 72h unless
set), when it ends expired with nothing ordered. It prints the request id.

The id is renew-<account>-<hash of kind, period and resources>-<UTC day>: asking
again the same day for the same resources and period finds the same request
(existing: true) rather than a second one; once that request has ended, the same
request is refused until the next day. A resource is in at most one open request:
the worker refuses a request for a resource another open request holds.

--wait waits until the request is quoted (or refused) and prints its state. Exit 1
when it failed.`,
		Example: `  starter renew request --resource 0a1b2c3d-4e5f-4071-8293-a4b5c6d7e8f9 --period 1y ` +
			`--reason "ops-1234"
  starter renew request --resource ID1,ID2 --period 6m --account prod --requester alice@example.com --wait
  starter renew request --resource ID1 --period 1y --deadline 2026-12-20T18:00:00+08:00 -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			in, err := r.input(contract.RenewKindRenew, renewClock())
			if err != nil {
				return err
			}
			if !period.set {
				return fmt.Errorf("--period is required: allowed %s", contract.AllowedPeriods)
			}
			if in.Period, err = parsePeriodFlag(period.value); err != nil {
				return err
			}
			return e.runRenewRequest(cmd, in, r.wait)
		},
	}
	f := cmd.Flags()
	r.add(f, "the id of a main resource to renew (required)", true)
	f.Var(period, "period", "the renewal period: "+contract.AllowedPeriods+" (required)")
	_ = cmd.RegisterFlagCompletionFunc("period", completeWords(periodNames()...))
	describeOutput(cmd, renewRequested{}, "Without --wait")
	describeOutput(cmd, renewView{}, "With --wait: the request's state, as `starter renew status` prints it")
	return cmd
}

// runRenewRequest starts the request (its id from in and today) and,
// with wait, follows it until it is quoted.
func (e *env) runRenewRequest(cmd *cobra.Command, in contract.RenewInput, wait bool) error {
	in.RequestID = contract.RenewRequestID(in, renewClock())
	timeout := commandTimeout
	if wait {
		timeout = noTimeout
	}
	return e.withTemporal(cmd, timeout, func(ctx context.Context, c *conn) error {
		started, err := e.startRenew(ctx, c, in)
		if err != nil {
			return err
		}
		if !wait {
			return e.print(started)
		}
		e.out.Textf("%s", started.text())
		st, err := e.waitRenew(ctx, c, in.RequestID, quoted)
		if err != nil {
			return err
		}
		if err := e.print(e.liveView(st)); err != nil {
			return err
		}
		return endErr(st)
	})
}

func (r renewRequested) text() string {
	var b strings.Builder
	if r.Existing {
		fmt.Fprintf(&b, "Request %s is already open (the same %s today): nothing new started.\n", r.RequestID, r.Kind)
	} else {
		fmt.Fprintf(&b, "Requested %s: %s (run %s)\n", r.Kind, r.RequestID, r.RunID)
	}
	fmt.Fprintf(&b, "  status:   starter renew status %s\n", r.RequestID)
	fmt.Fprintf(&b, "  approve:  starter renew approve %s\n", r.RequestID)
	fmt.Fprintf(&b, "  Web UI:   %s", r.WebURL)
	return b.String()
}

func (r renewRequested) PrintText(w io.Writer) error {
	_, err := fmt.Fprintln(w, r.text())
	return err
}

// ---- approve, reject

func (e *env) renewApproveCommand() *cobra.Command {
	d := &decisionFlags{}
	cmd := &cobra.Command{
		Use:   "approve REQUEST_ID [--comment TEXT] [--approver WHO] [--wait]",
		Short: "Approve a request: it quotes again, then orders (and pays) as the worker's mode allows",
		Long: `approve records an approval of a pending request (a Temporal Update named approve):
who (--approver, default <os user>@<host>), when, the comment and the total approved,
which becomes the ceiling: if the new quote is higher the request asks again. The
account's policy decides in the workflow's validator, before anything is recorded:
only its approvers (if it names some), never the requester under four_eyes (the
default), never twice by the same person; a total above second_approval_above needs
two different approvers. A refusal exits 2 and says why; nothing is recorded.

--wait then follows the request until it rests: ordered (order mode: pay the order in
Huawei's console), done (pay mode: paid and the new expiry seen), approved (off
mode: a dry run, nothing ordered), pending (a second approval is needed, or the price
rose), rejected, expired or failed (exit 1). Ctrl-C stops the waiting, not the
request (exit 130).`,
		Example: `  starter renew approve renew-prod-3f9a0c1b2d-20261126 --comment "budget ok"
  starter renew approve renew-prod-3f9a0c1b2d-20261126 --approver bob@example.com --wait -o json`,
		Args:              oneRequestID,
		ValidArgsFunction: e.completeRequestIDs(true),
		RunE: func(cmd *cobra.Command, args []string) error {
			in, err := d.input()
			if err != nil {
				return err
			}
			return e.runDecision(cmd, args[0], contract.RenewApproveName, in, d.wait)
		},
	}
	d.add(cmd.Flags(), "approval")
	cmd.Flags().BoolVar(&d.wait, "wait", false,
		"follow the request until it rests (ordered, done, a dry run, pending again, or ended) and print its state")
	describeOutput(cmd, renewView{}, "The request's state after the approval (with --wait: where it rests)")
	return cmd
}

func (e *env) renewRejectCommand() *cobra.Command {
	d := &decisionFlags{}
	cmd := &cobra.Command{
		Use:   "reject REQUEST_ID [--comment TEXT] [--approver WHO]",
		Short: "Reject a pending request: it ends rejected, with nothing ordered",
		Long: `reject records a rejection of a pending request (a Temporal Update named reject) by
--approver (default <os user>@<host>) with its comment; the request ends rejected and
orders nothing. The policy's approvers may reject, and the requester may withdraw their own
request. A refusal exits 2 and says why.`,
		Example: `  starter renew reject renew-prod-3f9a0c1b2d-20261126 ` +
			`--comment "decommissioned next month"`,
		Args:              oneRequestID,
		ValidArgsFunction: e.completeRequestIDs(true),
		RunE: func(cmd *cobra.Command, args []string) error {
			in, err := d.input()
			if err != nil {
				return err
			}
			return e.runDecision(cmd, args[0], contract.RenewRejectName, in, false)
		},
	}
	d.add(cmd.Flags(), "rejection")
	describeOutput(cmd, renewView{}, "The request's state after the rejection")
	return cmd
}

func (e *env) runDecision(cmd *cobra.Command, id, update string, in contract.ApproveInput, wait bool) error {
	timeout := commandTimeout
	if wait {
		timeout = noTimeout
	}
	return e.withTemporal(cmd, timeout, func(ctx context.Context, c *conn) error {
		st, err := e.decideRenew(ctx, c, id, update, in)
		if err != nil {
			return err
		}
		if wait && !resting(st) {
			e.out.Textf(
				"Approved request %s as %s; following it until it rests (Ctrl-C stops the waiting, not the request).",
				id,
				in.Approver,
			)
			if st, err = e.waitRenew(ctx, c, id, resting); err != nil {
				return err
			}
		}
		if err := e.print(e.liveView(st)); err != nil {
			return err
		}
		return endErr(st)
	})
}

// ---- status

func (e *env) renewStatusCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "status REQUEST_ID",
		Short: "Show a request: state, approvals, quote, orders, new expiry, events",
		Long: `status shows a request as its workflow knows it (the state query; its result once
it ended): state, requester, deadline, approvals (who, when, comment, total), the
quote, the orders at Huawei (id, amount, paid), each resource's new expiry, and the
message saying why it ended or what it waits for. The events come from the database
(DATABASE_URL, as report reads it) when it is reachable. When Temporal no longer has
the workflow (past the namespace's retention), the database's record is shown.`,
		Example: `  starter renew status renew-prod-3f9a0c1b2d-20261126
  starter renew status renew-prod-3f9a0c1b2d-20261126 -o json`,
		Args:              oneRequestID,
		ValidArgsFunction: e.completeRequestIDs(false),
		RunE:              func(cmd *cobra.Command, args []string) error { return e.runRenewStatus(cmd, args[0]) },
	}
	describeOutput(cmd, renewView{})
	return cmd
}

func (e *env) runRenewStatus(cmd *cobra.Command, id string) error {
	if err := e.cfg.Temporal.Validate(); err != nil {
		return err
	}
	var live contract.RenewState
	liveErr := e.withTemporal(cmd, commandTimeout, func(ctx context.Context, c *conn) (err error) {
		live, err = e.renewLive(ctx, c, id)
		return err
	})
	var tFail failure
	if liveErr != nil && !errors.Is(liveErr, errNoRequest) && !errors.As(liveErr, &tFail) {
		return liveErr // not a renewal request
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), commandTimeout)
	defer cancel()
	rec, events, dbErr := e.renewalRecord(ctx, id)
	switch {
	case liveErr == nil:
		if dbErr != nil && !errors.Is(dbErr, store.ErrRenewalNotFound) && !errors.Is(dbErr, errNoDatabase) {
			fmt.Fprintf(e.stderr, "note: events not shown: %s\n", dbErr)
		}
		v := e.liveView(live)
		v.Events = eventViews(events)
		return e.print(v)
	case dbErr == nil:
		if !errors.Is(liveErr, errNoRequest) {
			fmt.Fprintf(e.stderr, "note: %s: showing the database's record, which may be behind\n", liveErr)
		}
		return e.print(renewView{RenewState: rec, Source: sourceDatabase, Events: eventViews(events)})
	case errors.Is(liveErr, errNoRequest) &&
		(errors.Is(dbErr, store.ErrRenewalNotFound) || errors.Is(dbErr, errNoDatabase)):
		return fmt.Errorf(
			"no renewal request %q in namespace %s nor in database %s (see 'starter renew list')",
			id,
			e.cfg.Temporal.Namespace,
			databaseName(e.cfg.DatabaseURL.Reveal()),
		)
	case errors.Is(liveErr, errNoRequest):
		return dbErr
	}
	return liveErr
}

// errNoDatabase: DATABASE_URL is unset and the default SQLite file does
// not exist: a starter that only talks to Temporal.
var errNoDatabase = errors.New("no database")

// renewalRecord reads a request and its events from the database.
func (e *env) renewalRecord(ctx context.Context, id string) (contract.RenewState, []contract.RenewEvent, error) {
	dbURL := e.cfg.DatabaseURL.Reveal()
	if _, missing := store.MissingSQLiteFile(dbURL); missing && dbURL == "" {
		return contract.RenewState{}, nil, errNoDatabase
	}
	s, name, err := e.openNotifyStore(ctx)
	if err != nil {
		return contract.RenewState{}, nil, err
	}
	defer s.Close()
	st, events, err := s.Renewal(ctx, id)
	if err != nil && !errors.Is(err, store.ErrRenewalNotFound) {
		err = renewDBError(name, err)
	}
	return st, events, err
}

func renewDBError(name string, err error) error {
	if errors.Is(err, store.ErrNoTables) || strings.Contains(err.Error(), "no such table") ||
		strings.Contains(err.Error(), "1146") {
		return fail(fmt.Errorf("database %s has no renewal tables: "+
			"start the worker (a version with renewals) once with this DATABASE_URL to migrate it", name))
	}
	return fail(fmt.Errorf("reading database %s: %s", name, oneLine(err.Error())))
}

// ---- list

func (e *env) renewListCommand() *cobra.Command {
	account, state, resource := newOnce("", "string"), newOnce("", "state"), newOnce("", "string")
	limit := rawInt{"50"}
	cmd := &cobra.Command{
		Use:   "list [--account NAME] [--state STATE] [--resource ID]",
		Short: "List renewal requests from the database, newest first",
		Long: `list reads the renewal requests the worker recorded (renewal_requests in DATABASE_URL,
as report reads it), newest first: their id, account, kind, state, resources, quoted
total, requester and last change. --state keeps one state: ` + strings.Join(contract.RenewStates, ", ") + `,
or open: every request that has not ended (pending, approved, ordered or paid).`,
		Example: `  starter renew list
  starter renew list --account prod --state pending
  starter renew list --resource 0a1b2c3d-4e5f-4071-8293-a4b5c6d7e8f9 -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f := store.RenewalFilter{Account: account.value, State: state.value, ResourceID: resource.value}
			if account.set {
				if err := checkAccountFlag(f.Account); err != nil {
					return err
				}
			}
			if state.set && !slices.Contains(listRenewStates(), f.State) {
				return fmt.Errorf(
					"--state=%s is not allowed: use one of %s",
					quote(f.State),
					strings.Join(listRenewStates(), ", "),
				)
			}
			if resource.set {
				if err := checkResourceID(f.ResourceID); err != nil {
					return err
				}
			}
			var err error
			if f.Limit, err = parseRange("limit", limit.raw, 1, 1000); err != nil {
				return err
			}
			return e.runRenewList(cmd.Context(), f)
		},
	}
	fl := cmd.Flags()
	fl.Var(account, "account", "only the requests of this account (as the accounts file names it)")
	fl.Var(state, "state", "only the requests in this state: "+strings.Join(listRenewStates(), ", "))
	fl.Var(resource, "resource", "only the requests holding this resource")
	fl.Var(&limit, "limit", "at most this many requests (1..1000)")
	_ = cmd.RegisterFlagCompletionFunc("state", completeWords(listRenewStates()...))
	describeOutput(cmd, renewList{})
	return cmd
}

// listRenewStates are the --state values of list: the states, and open.
func listRenewStates() []string {
	return append(slices.Clone(contract.RenewStates), store.RenewalsOpen)
}

func (e *env) runRenewList(ctx context.Context, f store.RenewalFilter) error {
	ctx, cancel := context.WithTimeout(ctx, commandTimeout)
	defer cancel()
	s, name, err := e.openNotifyStore(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	rows, err := s.Renewals(ctx, f)
	if err != nil {
		return renewDBError(name, err)
	}
	if err := e.print(renewList(rows)); err != nil {
		return err
	}
	if len(rows) == f.Limit {
		fmt.Fprintf(
			e.stderr,
			"note: the newest %d requests are shown; there may be more (raise --limit, up to 1000)\n",
			f.Limit,
		)
	}
	return nil
}

// completeRequestIDs completes REQUEST_ID with recent requests: those
// waiting for approval (pending), or any.
func (e *env) completeRequestIDs(pending bool) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return e.completeTemporal(cmd, func(ctx context.Context, c *conn) ([]string, error) {
			query := fmt.Sprintf("WorkflowType = '%s'", workflows.RenewWorkflowName)
			if pending {
				query += fmt.Sprintf(
					" AND ExecutionStatus = 'Running' AND %s = '%s'",
					workflows.AttrRenewState.GetName(),
					contract.RenewPending,
				)
			}
			req := &workflowservice.ListWorkflowExecutionsRequest{
				Namespace: e.cfg.Temporal.Namespace,
				Query:     query,
				PageSize:  50,
			}
			resp, err := c.ListWorkflow(ctx, req)
			var ids []string
			for _, info := range resp.GetExecutions() {
				if id := info.GetExecution().GetWorkflowId(); strings.HasPrefix(id, toComplete) &&
					!slices.Contains(ids, id) {
					ids = append(ids, id)
				}
			}
			return ids, err
		})
	}
}
