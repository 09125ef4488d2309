package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"expiry-sync/internal/contract"
	"expiry-sync/internal/store"
)

// lapseResult is what lapse prints: the decision on the record and the
// requests it started.
type lapseResult struct {
	Account    string           `json:"account" doc:"the account's name"`
	AccountID  string           `json:"account_id" doc:"its domain id, which keys the rows"`
	ResourceID string           `json:"resource_id"`
	ExpireTime time.Time        `json:"expire_time" doc:"the expiry let lapse, as the last sync stored it: reminders stop for it; a later expiry is reminded again"`
	Reason     string           `json:"reason"`
	DecidedBy  string           `json:"decided_by"`
	DecidedAt  time.Time        `json:"decided_at"`
	Requests   []renewRequested `json:"requests,omitempty" doc:"with --autorenew-off or --to-on-demand: the request started (approve it with 'starter renew approve')"`
}

func (e *env) lapseCommand() *cobra.Command {
	resource, reason := newOnce("", "string"), newOnce("", "string")
	account, requester := newOnce(contract.DefaultAccount, "string"), newOnce("", "string")
	var autorenewOff, toOnDemand bool
	cmd := &cobra.Command{
		Use:   "lapse --resource ID --reason TEXT [--account NAME] [--autorenew-off] [--to-on-demand]",
		Short: "Decide to let a resource's expiry lapse: reminders stop for it, the report shows it",
		Long: `lapse records a decision not to renew a resource's current expiry (in the database,
DATABASE_URL, as report reads it): who (--requester, default <os user>@<host>), when
and why. The reminders stop for that expiry and the report shows the decision; if the
resource is renewed after all, its next expiry is reminded again. The resource must be
in the inventory: run a sync first.

Optionally it also starts a request, approved like a renewal ('starter renew approve
REQUEST_ID'): --autorenew-off turns Huawei's auto-renew off (CancelAutoRenewalResources),
so it does not renew by itself; --to-on-demand converts the resource to pay-per-use at
its expiry (UpdatePeriodToOnDemand SET_UP) rather than letting Huawei freeze and then
delete it. It prints the request ids. These need the Temporal settings as well.`,
		Example: `  starter lapse --resource 0a1b2c3d-4e5f-4071-8293-a4b5c6d7e8f9 ` +
			`--reason "ops-1300: replaced by the new cluster"
  starter lapse --resource 0a1b2c3d-4e5f-4071-8293-a4b5c6d7e8f9 --reason "test box" --account staging --autorenew-off
  starter lapse --resource 0a1b2c3d-4e5f-4071-8293-a4b5c6d7e8f9 --reason "keep it by the hour" --to-on-demand -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			in := contract.RenewInput{Account: account.value, Requester: requester.value, Reason: reason.value}
			if !resource.set {
				return errors.New(
					"--resource is required: the id of the resource whose expiry lapses, as 'starter report' lists it",
				)
			}
			if err := checkResourceID(resource.value); err != nil {
				return err
			}
			in.ResourceIDs = []string{resource.value}
			if strings.TrimSpace(in.Reason) == "" {
				return errors.New(
					"--reason is required: say why the expiry may lapse (one line, kept with the decision)",
				)
			}
			if err := checkText("reason", in.Reason); err != nil {
				return err
			}
			if err := checkAccountFlag(in.Account); err != nil {
				return err
			}
			if !requester.set {
				in.Requester = whoAmI()
			} else if err := checkIdentity("requester", in.Requester); err != nil {
				return err
			}
			var kinds []string
			if autorenewOff {
				kinds = append(kinds, contract.RenewKindAutoRenewOff)
			}
			if toOnDemand {
				kinds = append(kinds, contract.RenewKindToOnDemand)
			}
			if len(kinds) > 0 {
				if err := e.cfg.Temporal.Validate(); err != nil {
					return err // before anything is written
				}
			}
			return e.runLapse(cmd, in, kinds)
		},
	}
	f := cmd.Flags()
	f.Var(resource, "resource", "the resource whose current expiry lapses (required; one)")
	f.Var(reason, "reason", "why (required; one line, kept with the decision)")
	addAccountOnce(f, account)
	f.Var(requester, "requester", "who decides, as the record names them (default: <os user>@<host>)")
	f.BoolVar(
		&autorenewOff,
		"autorenew-off",
		false,
		"also request turning Huawei's auto-renew off (approved like a renewal)",
	)
	f.BoolVar(
		&toOnDemand,
		"to-on-demand",
		false,
		"also request converting it to pay-per-use at expiry (approved like a renewal)",
	)
	describeOutput(cmd, lapseResult{})
	return cmd
}

func (e *env) runLapse(cmd *cobra.Command, in contract.RenewInput, kinds []string) error {
	now := renewClock()
	ctx, cancel := context.WithTimeout(cmd.Context(), commandTimeout)
	defer cancel()
	s, name, err := e.openNotifyStore(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	accountID, err := s.AccountDomainID(ctx, in.Account)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return fmt.Errorf(
			"--account=%s has no resources in database %s: "+
				"name an account a sync has run for (its name in the accounts file, or default)",
			in.Account,
			name,
		)
	case err != nil:
		return renewDBError(name, err)
	}
	l, err := s.RecordLapse(ctx, accountID, in.Account, in.ResourceIDs[0], in.Reason, in.Requester, now)
	switch {
	case errors.Is(err, store.ErrUnknownResource):
		return errors.New(oneLine(err.Error())) // the id is the user's: exit 2
	case err != nil:
		return renewDBError(name, err)
	}
	res := lapseResult{Account: in.Account, AccountID: l.AccountID, ResourceID: l.ResourceID, ExpireTime: l.ExpireTime,
		Reason: l.Reason, DecidedBy: l.DecidedBy, DecidedAt: l.DecidedAt}
	if len(kinds) == 0 {
		return e.print(res)
	}
	var startErr error
	err = e.withTemporal(cmd, commandTimeout, func(ctx context.Context, c *conn) error {
		for _, kind := range kinds {
			req := in
			req.Kind, req.Reason = kind, "lapse: "+in.Reason
			req.RequestID = contract.RenewRequestID(req, now)
			started, err := e.startRenew(ctx, c, req)
			if err != nil {
				startErr = err
				return nil
			}
			res.Requests = append(res.Requests, started)
		}
		return nil
	})
	if err == nil {
		err = startErr
	}
	if perr := e.print(res); perr != nil {
		return perr
	}
	if err != nil {
		return fail(fmt.Errorf("the lapse is recorded, but a request could not be started: %s; "+
			"run the same lapse again: it keeps the decision and starts what is missing",
			err.Error()))
	}
	return nil
}

// PrintText says what was decided and what to approve.
func (r lapseResult) PrintText(w io.Writer) error {
	fmt.Fprintf(
		w,
		"Recorded: the expiry of %s on %s (account %s) lapses.\n",
		r.ResourceID,
		utc(r.ExpireTime),
		r.Account,
	)
	fmt.Fprintf(w, "  decided by %s at %s: %s\n", r.DecidedBy, utc(r.DecidedAt), r.Reason)
	fmt.Fprintln(w, "  Reminders stop for this expiry; the report shows the decision.")
	for _, q := range r.Requests {
		fmt.Fprintln(w)
		if err := q.PrintText(w); err != nil {
			return err
		}
	}
	return nil
}
