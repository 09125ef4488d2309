package cli

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"expiry-sync/internal/contract"
	"expiry-sync/workflows"
)

// renewPoll is how often --wait reads a request's state.
var renewPoll = time.Second

// Bounds of the state query, which needs a worker: a running request's
// (no worker: status falls back to the database, --wait says so and
// goes on), and an ended one's (its result is there without a worker).
const (
	queryTimeout       = 20 * time.Second
	closedQueryTimeout = 10 * time.Second
)

// errNoRequest: Temporal knows no workflow of that id.
var errNoRequest = errors.New("no such request")

// renewRequested is what request prints when it does not wait.
type renewRequested struct {
	RequestID string `json:"request_id" doc:"the request's id, its workflow id: approve, reject and status take it"`
	Account   string `json:"account" doc:"the account's name"`
	Kind      string `json:"kind" doc:"renew, autorenew-on, autorenew-off or to-on-demand"`
	RunID     string `json:"run_id" doc:"the workflow run"`
	Existing  bool   `json:"existing,omitempty" doc:"the same request (account, kind, resources, period, UTC day) was already open: nothing new was started"`
	WebURL    string `json:"web_url" doc:"the request in the Temporal Web UI"`
}

// startRenew starts a RenewResources workflow for in (its id set), or
// finds the same request already open.
func (e *env) startRenew(ctx context.Context, c *conn, in contract.RenewInput) (renewRequested, error) {
	out := renewRequested{RequestID: in.RequestID, Account: in.Account, Kind: in.Kind, WebURL: e.webURL(in.RequestID)}
	desc, err := c.DescribeWorkflow(ctx, in.RequestID, "")
	var notFound *serviceerror.NotFound
	switch {
	case err == nil:
		status := desc.RawResponse.GetWorkflowExecutionInfo().GetStatus()
		out.Existing = status == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
	case !errors.As(err, &notFound):
		return out, fail(fmt.Errorf("request %s: %v", in.RequestID, oneLine(err.Error())))
	}
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:        in.RequestID,
		TaskQueue: e.cfg.Temporal.TaskQueue,
		// The same request asked twice the same day is one request; once
		// it ended, it is not made again that day.
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		// An ended request is refused, not handed back as if it were open
		// (an open one comes back without an error: USE_EXISTING).
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		StaticSummary:                            renewSummary(in),
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.AttrAccount.ValueSet(in.Account),
			workflows.AttrRenewState.ValueSet(contract.RenewPending),
		),
	}, workflows.RenewWorkflowName, in)
	var already *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &already) {
		return out, fmt.Errorf(
			"request %s (the same %s of these resources in account %s) was already made today and has ended: "+
				"nothing started; see 'starter renew status %s'",
			in.RequestID,
			kindText(in.Kind, in.Period, in.Times),
			in.Account,
			in.RequestID,
		)
	}
	if err != nil {
		return out, fail(fmt.Errorf("could not start request %s: %v", in.RequestID, oneLine(err.Error())))
	}
	out.RunID = run.GetRunID()
	return out, nil
}

// renewSummary names a request in the Web UI's list.
func renewSummary(in contract.RenewInput) string {
	return fmt.Sprintf(
		"%s of %d resource(s) of %s, requested by %s",
		kindText(in.Kind, in.Period, in.Times),
		len(in.ResourceIDs),
		in.Account,
		in.Requester,
	)
}

// kindText says what a request does: "renew for 1y", "autorenew-on (3 times)".
func kindText(kind string, p contract.Period, times int) string {
	s := kind
	if kind == contract.RenewKindRenew && p.Num > 0 {
		s += " for " + p.String()
	}
	var details []string
	if kind == contract.RenewKindAutoRenewOn {
		if times > 0 {
			details = append(details, fmt.Sprintf("%d times", times))
		} else {
			details = append(details, "until turned off")
		}
		if p.Num > 0 {
			details = append(details, "period "+p.String())
		}
	}
	if len(details) > 0 {
		s += " (" + strings.Join(details, ", ") + ")"
	}
	return s
}

// queryRenewState asks the workflow for its state.
func queryRenewState(ctx context.Context, c *conn, id, runID string) (contract.RenewState, error) {
	var st contract.RenewState
	v, err := c.QueryWorkflow(ctx, id, runID, contract.RenewStateQuery)
	if err != nil {
		return st, err
	}
	return st, v.Get(&st)
}

// renewLive reads a request from Temporal: the state query while its
// workflow runs, its result (or, failing that, its last state) once it
// ended. errNoRequest when Temporal does not know the id (never made, or
// past the namespace's retention).
func (e *env) renewLive(ctx context.Context, c *conn, id string) (contract.RenewState, error) {
	var st contract.RenewState
	desc, err := c.DescribeWorkflow(ctx, id, "")
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return st, errNoRequest
	}
	if err != nil {
		return st, fail(fmt.Errorf("request %s: %v", id, oneLine(err.Error())))
	}
	info := desc.RawResponse.GetWorkflowExecutionInfo()
	if t := info.GetType().GetName(); t != workflows.RenewWorkflowName {
		return st, fmt.Errorf("%s is not a renewal request: it is a %s workflow", id, t)
	}
	runID := info.GetExecution().GetRunId()
	status := info.GetStatus()
	if status == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		qctx, cancel := context.WithTimeout(ctx, queryTimeout)
		defer cancel()
		st, err = queryRenewState(qctx, c, id, runID)
		if err != nil {
			return st, fail(fmt.Errorf("request %s: its state query failed (is a worker polling task queue %s?): %s",
				id, e.cfg.Temporal.TaskQueue, oneLine(err.Error())))
		}
		return st, nil
	}
	getErr := c.GetWorkflow(ctx, id, runID).Get(ctx, &st)
	if getErr == nil {
		st.Closed = true
		return st, nil
	}
	if ctx.Err() != nil {
		return st, fail(fmt.Errorf("request %s: %v", id, ctx.Err()))
	}
	why := workflows.ErrorText(getErr)
	if status != enumspb.WORKFLOW_EXECUTION_STATUS_FAILED {
		why = "the workflow was " + stateName(status) + ": " + why
	}
	qctx, cancel := context.WithTimeout(ctx, closedQueryTimeout)
	defer cancel()
	if q, qerr := queryRenewState(qctx, c, id, runID); qerr == nil {
		st = q
	} else {
		st = contract.RenewState{RequestID: id}
		attribute(info.GetSearchAttributes().GetIndexedFields(), workflows.AttrAccount.GetName(), &st.Account)
	}
	st.Closed = true
	if slices.Contains(contract.RenewOpenStates, st.State) || st.State == "" {
		// It ended without reaching a final state of its own.
		st.State = contract.RenewFailed
	}
	if st.Message == "" || st.State == contract.RenewFailed {
		st.Message = joinSentences(st.Message, why)
	}
	return st, nil
}

func joinSentences(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "" || strings.Contains(a, b):
		return a
	}
	return a + "; " + b
}

// decideRenew sends approve or reject and returns the state it left.
// The validator's refusals are the user's input (exit 2): not an
// approver, their own request under four-eyes, already approved, not
// waiting for approval.
func (e *env) decideRenew(
	ctx context.Context,
	c *conn,
	id, update string,
	in contract.ApproveInput,
) (contract.RenewState, error) {
	var st contract.RenewState
	h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID:   id,
		UpdateName:   update,
		Args:         []any{in},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err == nil {
		err = h.Get(ctx, &st)
	}
	if err == nil {
		return st, nil
	}
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		return st, fmt.Errorf("%s of request %s refused: %s", update, id, oneLine(app.Message()))
	}
	if ctx.Err() != nil {
		if errors.Is(ctx.Err(), context.Canceled) {
			return st, interrupted{
				fmt.Sprintf(
					"Stopped. The %s of request %s may or may not be recorded: see 'starter renew status %s'",
					update,
					id,
					id,
				),
			}
		}
		return st, fail(fmt.Errorf(
			"%s of request %s: no answer within %s (is a worker polling task queue %s?); it may still be recorded: "+
				"see 'starter renew status %s'",
			update,
			id,
			commandTimeout,
			e.cfg.Temporal.TaskQueue,
			id,
		))
	}
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		live, lerr := e.renewLive(ctx, c, id)
		switch {
		case errors.Is(lerr, errNoRequest):
			return st, fmt.Errorf(
				"no renewal request %q in namespace %s (see 'starter renew list')",
				id,
				e.cfg.Temporal.Namespace,
			)
		case lerr == nil && live.Closed:
			return st, fmt.Errorf(
				"request %s has ended (%s): nothing to %s; see 'starter renew status %s'",
				id,
				live.State,
				update,
				id,
			)
		}
	}
	return st, fail(fmt.Errorf("%s of request %s: %s", update, id, oneLine(err.Error())))
}

// waitRenew reads the request's state every renewPoll until until(st)
// holds or its workflow ends. Ctrl-C stops the waiting, not the request.
func (e *env) waitRenew(
	ctx context.Context,
	c *conn,
	id string,
	until func(contract.RenewState) bool,
) (contract.RenewState, error) {
	tick := time.NewTicker(renewPoll)
	defer tick.Stop()
	var lastErr string
	for {
		st, err := e.renewLive(ctx, c, id)
		if ctx.Err() != nil {
			return st, e.stoppedWaiting(id)
		}
		switch {
		case errors.Is(err, errNoRequest):
			return st, fail(fmt.Errorf("request %s: Temporal no longer knows it", id))
		case err != nil:
			var f failure
			if !errors.As(err, &f) {
				return st, err
			}
			// A query can fail while no worker holds the workflow: say it once, go on.
			if msg := err.Error(); msg != lastErr {
				fmt.Fprintf(e.stderr, "note: %s; still waiting\n", msg)
				lastErr = msg
			}
		case st.Closed || until(st):
			return st, nil
		}
		select {
		case <-ctx.Done():
			return st, e.stoppedWaiting(id)
		case <-tick.C:
		}
	}
}

func (e *env) stoppedWaiting(id string) error {
	return interrupted{fmt.Sprintf("Stopped waiting. Request %s goes on in Temporal:\n"+
		"  follow it:  starter renew status %s\n  Web UI:     %s", id, id, e.webURL(id))}
}

// quoted: a new request has left its opening steps (it is quoted and
// waits for approval, or it was refused).
func quoted(st contract.RenewState) bool { return st.State != "" }

// resting: the request waits for people (an approval, or the payment of
// an unpaid order), or ended; otherwise the worker acts, or Huawei is to
// move the expiry (pay mode: wait for done).
func resting(st contract.RenewState) bool {
	return st.Closed || st.WaitsOn == contract.WaitsApproval || st.WaitsOn == contract.WaitsPayment
}

// endErr is the exit of a command that waited: 1 when the request failed.
func endErr(st contract.RenewState) error {
	if st.State == contract.RenewFailed {
		return fail(fmt.Errorf("request %s failed: %s", st.RequestID, orDash(st.Message)))
	}
	return nil
}
