package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"expiry-sync/internal/contract"
)

func (e *env) autorenewCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "autorenew",
		Short: "Turn Huawei's auto-renew on or off through a request a person approves",
		Long: `autorenew asks to turn Huawei's auto-renew of resources on (AutoRenewalResources) or
off (CancelAutoRenewalResources): on the main resource, which Huawei applies to its
attached ones. The request takes the renewals' approval path: approve, reject and
follow it with 'starter renew approve|reject|status'. See docs/renewals.md.`,
		Example: `  starter autorenew request --resource 0a1b2c3d-4e5f-4071-8293-a4b5c6d7e8f9 --on --times 3 --period 1y
  starter autorenew request --resource 0a1b2c3d-4e5f-4071-8293-a4b5c6d7e8f9 --off --reason "decommissioning"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(e.autorenewRequestCommand())
	return cmd
}

func (e *env) autorenewRequestCommand() *cobra.Command {
	r := newRequestFlags()
	period, times := newOnce("", "period"), newOnce("0", "int")
	var on, off bool
	cmd := &cobra.Command{
		Use: "request --resource ID [--resource ID ...] (--on [--times N] [--period P] | --off) " +
			"[--account NAME] [--reason TEXT] [--wait]",
		Short: "Ask to turn auto-renew on or off; approved like a renewal",
		Long: `request starts a RenewResources request of kind autorenew-on (--on) or autorenew-off
(--off). With --on, --times N renews at most N times (1..99; 0, the default: until
turned off) and --period sets the period of each automatic renewal (` + contract.AllowedPeriods + `;
default: Huawei's, the resource's own). Nothing changes at Huawei before approval
('starter renew approve REQUEST_ID'); the worker's mode off makes it a dry run. It
prints the request id; --wait waits until the request is looked up (or refused) and
prints its state.

Huawei charges an auto-renewal at 03:00 seven days before the expiry and retries
daily; renewing by hand does not change the setting.`,
		Example: `  starter autorenew request --resource 0a1b2c3d-4e5f-4071-8293-a4b5c6d7e8f9 --on
  starter autorenew request --resource ID1 --resource ID2 --on --times 2 --period 1y --account prod --wait
  starter autorenew request --resource ID1 --off --reason "ops-1300: to be deleted"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			in, err := autorenewInput(r, on, off, period, times)
			if err != nil {
				return err
			}
			return e.runRenewRequest(cmd, in, r.wait)
		},
	}
	f := cmd.Flags()
	r.add(f, "the id of a main resource (required)", true)
	f.BoolVar(&on, "on", false, "turn auto-renew on")
	f.BoolVar(&off, "off", false, "turn auto-renew off")
	f.Var(
		times,
		"times",
		fmt.Sprintf("with --on: renew at most this many times (0..%d; 0: until turned off)", maxAutoRenew),
	)
	f.Var(period, "period", "with --on: the period of each automatic renewal: "+contract.AllowedPeriods)
	_ = cmd.RegisterFlagCompletionFunc("period", completeWords(periodNames()...))
	describeOutput(cmd, renewRequested{}, "Without --wait")
	describeOutput(cmd, renewView{}, "With --wait: the request's state, as `starter renew status` prints it")
	return cmd
}

// autorenewInput checks the flags of autorenew request.
func autorenewInput(r *requestFlags, on, off bool, period, times *onceValue) (contract.RenewInput, error) {
	switch {
	case on && off:
		return contract.RenewInput{}, errors.New("--on and --off contradict each other: give one")
	case !on && !off:
		return contract.RenewInput{}, errors.New("autorenew request needs --on or --off: turn auto-renew on, or off")
	case off && times.set:
		return contract.RenewInput{}, errors.New("--times goes with --on only: --off turns auto-renew off")
	case off && period.set:
		return contract.RenewInput{}, errors.New("--period goes with --on only: --off turns auto-renew off")
	}
	kind := contract.RenewKindAutoRenewOff
	if on {
		kind = contract.RenewKindAutoRenewOn
	}
	in, err := r.input(kind, renewClock())
	if err != nil {
		return in, err
	}
	if in.Times, err = parseRange("times", times.value, 0, maxAutoRenew); err != nil {
		return in, fmt.Errorf("%v (0: until turned off)", err)
	}
	if period.set {
		if in.Period, err = parsePeriodFlag(period.value); err != nil {
			return in, err
		}
	}
	return in, nil
}
