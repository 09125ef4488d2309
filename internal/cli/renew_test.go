package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"expiry-sync/internal/contract"
	"expiry-sync/internal/printer"
	"expiry-sync/internal/testkit/reporttest"
	"expiry-sync/internal/testkit/testenv"
)

// These tests are in package cli to print the renewal views directly and
// pin the identity and the clock; the real-stack tests are internal/testkit/e2e's.

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Execute(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

const someRequest = "renew-prod-0a1b2c3d4e-20261126"

func TestRenewBadInputExitsTwoBeforeDialing(t *testing.T) {
	// Nothing listens on port 1: a dial, or a database opened, would exit 1.
	t.Setenv("TEMPORAL_ADDRESS", "127.0.0.1:1")
	t.Setenv("DATABASE_URL", "mysql://root:hunter2@127.0.0.1:1/nothing")
	renewClock = func() time.Time { return time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC) }
	t.Cleanup(func() { renewClock = time.Now })
	for _, c := range []struct {
		args []string
		want string
	}{
		// quote
		{[]string{"renew", "quote", "--period", "1y"}, "--resource is required: the id of a main resource"},
		{[]string{"renew", "quote", "--resource", "r1"}, "--period is required: allowed 1m..11m or 1y..3y"},
		{[]string{"renew", "quote", "--resource", "r1", "--period", "13m"}, `--period: period "13m" is not allowed: 1m..11m or 1y..3y`},
		{[]string{"renew", "quote", "--resource", "r1", "--period", "0m"}, `--period: period "0m" is not allowed: 1m..11m or 1y..3y`},
		{[]string{"renew", "quote", "--resource", "r1", "--period", "4y"}, `--period: period "4y" is not allowed: 1m..11m or 1y..3y`},
		{[]string{"renew", "quote", "--resource", "r1", "--period", "1w"}, `--period: period "1w" is not allowed: 1m..11m or 1y..3y`},
		{[]string{"renew", "quote", "--resource", "r1", "--period", ""}, `--period: period "" is not allowed: 1m..11m or 1y..3y`},
		{[]string{"renew", "quote", "--resource", "r1", "--period", "1y", "--period", "2y"}, `invalid argument "2y" for "--period" flag: given twice (1y, then 2y): give it once`},
		{[]string{"renew", "quote", "--resource", "r 1", "--period", "1y"}, `--resource="r 1" is not a resource id: allowed 1..128 printable characters without spaces or quotes`},
		{[]string{"renew", "quote", "--resource", "r1'; DROP TABLE x", "--period", "1y"}, `is not a resource id`},
		{[]string{"renew", "quote", "--resource", "r1", "--period", "1y", "--account", "x y"}, `--account="x y" is not an account name`},
		{[]string{"renew", "quote", "--resource", "r1", "--period", "1y", "--account", "a", "--account", "b"}, `invalid argument "b" for "--account" flag: given twice (a, then b): give it once`},
		{[]string{"renew", "quote", "extra", "--resource", "r1", "--period", "1y"}, `unknown command "extra" for "starter renew quote"`},
		// request
		{[]string{"renew", "request", "--period", "1y"}, "--resource is required"},
		{[]string{"renew", "request", "--resource", "r1"}, "--period is required: allowed 1m..11m or 1y..3y"},
		{[]string{"renew", "request", "--resource", "r1", "--period", "12m"}, `--period: period "12m" is not allowed: 1m..11m or 1y..3y`},
		{[]string{"renew", "request", "--resource", "r1,", "--period", "1y"}, `--resource="" is not a resource id`},
		{[]string{"renew", "request", "--resource", "r1", "--period", "1y", "--reason", "a\nb"}, `--reason="a\nb" is not allowed: one line of printable text`},
		{[]string{"renew", "request", "--resource", "r1", "--period", "1y", "--reason", "a", "--reason", "b"}, `for "--reason" flag: given twice (a, then b)`},
		{[]string{"renew", "request", "--resource", "r1", "--period", "1y", "--reason", strings.Repeat("x", 1001)}, "--reason is 1001 characters long: allowed at most 1000"},
		{[]string{"renew", "request", "--resource", "r1", "--period", "1y", "--requester", " bob"}, `--requester=" bob" is not allowed: 1..128 printable characters`},
		{[]string{"renew", "request", "--resource", "r1", "--period", "1y", "--requester", ""}, `--requester="" is not allowed`},
		{[]string{"renew", "request", "--resource", "r1", "--period", "1y", "--deadline", "tomorrow"}, `--deadline=tomorrow is not a time: allowed RFC 3339`},
		{[]string{"renew", "request", "--resource", "r1", "--period", "1y", "--deadline", "2026-11-25T00:00:00Z"}, `--deadline=2026-11-25T00:00:00Z is not in the future: give a time after 2026-11-26T08:00:00Z`},
		{[]string{"renew", "request", "--resource", "r1", "--period", "1y", "--notes", "x"}, `unknown flag: --notes`},
		// approve, reject, status
		{[]string{"renew", "approve"}, "starter renew approve needs exactly one REQUEST_ID: accepts 1 arg(s), received 0"},
		{[]string{"renew", "approve", "a", "b"}, "needs exactly one REQUEST_ID: accepts 1 arg(s), received 2"},
		{[]string{"renew", "approve", "expiry-sync-prod-20261126T083500.000Z"}, `request id "expiry-sync-prod-20261126T083500.000Z" is not valid: allowed the id 'starter renew request' printed`},
		{[]string{"renew", "approve", "renew-prod-0a1b2c3d4e-2026112"}, `request id "renew-prod-0a1b2c3d4e-2026112" is not valid`},
		{[]string{"renew", "approve", "renew-pr od-0a1b2c3d4e-20261126"}, `is not valid`},
		{[]string{"renew", "approve", "\xff"}, `request id "\xff" is not valid`},
		{[]string{"renew", "approve", someRequest, "--comment", "a", "--comment", "b"}, `for "--comment" flag: given twice (a, then b)`},
		{[]string{"renew", "approve", someRequest, "--comment", "ok\x1b[31m"}, `--comment="ok\x1b[31m" is not allowed: one line of printable text`},
		{[]string{"renew", "approve", someRequest, "--approver", "bob\n"}, `--approver="bob\n" is not allowed`},
		{[]string{"renew", "reject", someRequest, "--wait"}, "unknown flag: --wait"},
		{[]string{"renew", "reject", "x"}, `request id "x" is not valid`},
		{[]string{"renew", "status"}, "starter renew status needs exactly one REQUEST_ID"},
		{[]string{"renew", "status", "renew-"}, `request id "renew-" is not valid`},
		// list
		{[]string{"renew", "list", "--state", "paying"}, `--state=paying is not allowed: use one of pending, approved, ordered, paid, done, rejected, expired, failed, open`},
		{[]string{"renew", "list", "--state", ""}, `--state="" is not allowed`},
		{[]string{"renew", "list", "--state", "pending", "--state", "done"}, `for "--state" flag: given twice (pending, then done)`},
		{[]string{"renew", "list", "--account", "-x"}, `--account=-x is not an account name`},
		{[]string{"renew", "list", "--limit", "0"}, `--limit=0 is out of range: allowed 1..1000`},
		{[]string{"renew", "list", "--resource", "a b"}, `--resource="a b" is not a resource id`},
		// autorenew
		{[]string{"autorenew", "request", "--resource", "r1", "--on", "--off"}, "--on and --off contradict each other: give one"},
		{[]string{"autorenew", "request", "--resource", "r1"}, "autorenew request needs --on or --off"},
		{[]string{"autorenew", "request", "--on"}, "--resource is required"},
		{[]string{"autorenew", "request", "--resource", "r1", "--on", "--times", "100"}, "--times=100 is out of range: allowed 0..99 (0: until turned off)"},
		{[]string{"autorenew", "request", "--resource", "r1", "--on", "--times", "-1"}, "--times=-1 is out of range: allowed 0..99"},
		{[]string{"autorenew", "request", "--resource", "r1", "--on", "--times", "three"}, "--times=three is not a whole number: allowed 0..99"},
		{[]string{"autorenew", "request", "--resource", "r1", "--on", "--times", "1", "--times", "2"}, `for "--times" flag: given twice (1, then 2)`},
		{[]string{"autorenew", "request", "--resource", "r1", "--off", "--times", "3"}, "--times goes with --on only"},
		{[]string{"autorenew", "request", "--resource", "r1", "--off", "--period", "1y"}, "--period goes with --on only"},
		{[]string{"autorenew", "request", "--resource", "r1", "--on", "--period", "5y"}, `--period: period "5y" is not allowed: 1m..11m or 1y..3y`},
		// lapse
		{[]string{"lapse", "--reason", "x"}, "--resource is required: the id of the resource whose expiry lapses"},
		{[]string{"lapse", "--resource", "r1"}, "--reason is required: say why the expiry may lapse"},
		{[]string{"lapse", "--resource", "r1", "--reason", "  "}, "--reason is required"},
		{[]string{"lapse", "--resource", "r1", "--resource", "r2", "--reason", "x"}, `invalid argument "r2" for "--resource" flag: given twice (r1, then r2): give it once`},
		{[]string{"lapse", "--resource", "r1", "--reason", "x", "--account", "a b"}, `--account="a b" is not an account name`},
		{[]string{"lapse", "--resource", "r1", "--reason", "x\ty"}, `--reason="x\ty" is not allowed`},
		{[]string{"lapse", "--resource", "r1", "--reason", "x", "--period", "1y"}, "unknown flag: --period"},
	} {
		code, out, errOut := runCLI(t, c.args...)
		assert.Equal(t, ExitBadInput, code, "%q: %s", c.args, errOut)
		assert.Contains(t, errOut, c.want, "%q", c.args)
		assert.Empty(t, out, "%q: nothing on stdout", c.args)
		assert.Equal(t, 1, strings.Count(strings.TrimSpace(errOut), "\n")+1, "%q: one line: %q", c.args, errOut)
	}
}

func TestRenewBadTemporalSettingExitsTwo(t *testing.T) {
	t.Setenv("TEMPORAL_NAMESPACE", " ")
	for _, args := range [][]string{
		{"renew", "quote", "--resource", "r1", "--period", "1y"},
		{"renew", "approve", someRequest},
		{"renew", "status", someRequest},
		{"lapse", "--resource", "r1", "--reason", "x", "--autorenew-off"},
	} {
		code, out, errOut := runCLI(t, args...)
		assert.Equal(t, ExitBadInput, code, "%q", args)
		assert.Contains(t, errOut, "TEMPORAL_NAMESPACE is empty", "%q", args)
		assert.Empty(t, out)
	}
}

func TestRenewUnreachableTemporalExitsOne(t *testing.T) {
	t.Setenv("TEMPORAL_ADDRESS", "127.0.0.1:1")
	for _, args := range [][]string{
		{"renew", "quote", "--resource", "r1", "--period", "1y"},
		{"renew", "request", "--resource", "r1", "--period", "1y"},
		{"renew", "approve", someRequest, "--comment", "ok"},
		{"renew", "reject", someRequest},
		{"autorenew", "request", "--resource", "r1", "--off"},
	} {
		code, out, errOut := runCLI(t, args...)
		assert.Equal(t, ExitFailure, code, "%q: %s", args, errOut)
		assert.Contains(t, errOut, "cannot connect to Temporal at 127.0.0.1:1", "%q", args)
		assert.Empty(t, out)
	}
}

func TestRequestIDIsDeterministic(t *testing.T) {
	morning := time.Date(2026, 11, 26, 0, 0, 1, 0, time.UTC)
	evening := time.Date(2026, 11, 26, 23, 59, 59, 0, time.UTC)
	in := contract.RenewInput{Account: "prod", Kind: contract.RenewKindRenew, ResourceIDs: []string{"b", "a"}, Period: contract.Period{Unit: "y", Num: 1}}
	id := contract.RenewRequestID(in, morning)
	require.NoError(t, checkRequestID(id), "the CLI takes the ids the contract makes")
	assert.Regexp(t, `^renew-prod-[0-9a-f]{10}-20261126$`, id)

	same := in
	same.ResourceIDs = []string{"a", "b", "a"}
	same.Requester, same.Reason = "someone-else@host", "other words"
	assert.Equal(t, id, contract.RenewRequestID(same, evening), "order, repeats, requester and reason do not change the request")
	cst := time.FixedZone("CST", 8*3600)
	assert.Equal(t, id, contract.RenewRequestID(in, time.Date(2026, 11, 27, 7, 0, 0, 0, cst)), "the UTC day, not the local one")
	assert.NotEqual(t, id, contract.RenewRequestID(in, time.Date(2026, 11, 26, 7, 0, 0, 0, cst)), "the UTC day before")

	for name, other := range map[string]contract.RenewInput{
		"another day":      in,
		"another period":   {Account: "prod", Kind: in.Kind, ResourceIDs: in.ResourceIDs, Period: contract.Period{Unit: "m", Num: 12 - 1}},
		"another resource": {Account: "prod", Kind: in.Kind, ResourceIDs: []string{"a", "c"}, Period: in.Period},
		"another kind":     {Account: "prod", Kind: contract.RenewKindAutoRenewOff, ResourceIDs: in.ResourceIDs},
		"another account":  {Account: "staging", Kind: in.Kind, ResourceIDs: in.ResourceIDs, Period: in.Period},
	} {
		at := morning
		if name == "another day" {
			at = morning.AddDate(0, 0, 1)
		}
		assert.NotEqual(t, id, contract.RenewRequestID(other, at), name)
	}

	// The flags build the same input whatever their order and spelling.
	parse := func(args ...string) contract.RenewInput {
		r := newRequestFlags()
		fs := pflag.NewFlagSet("request", pflag.ContinueOnError)
		r.add(fs, "", true)
		require.NoError(t, fs.Parse(args))
		got, err := r.input(contract.RenewKindRenew, morning)
		require.NoError(t, err)
		got.Period = in.Period
		return got
	}
	a := parse("--resource", "b,a", "--account", "prod", "--requester", "alice@host")
	b := parse("--account=prod", "--resource", "a", "--resource", "b", "--resource", "a", "--requester", "bob@host")
	assert.Equal(t, []string{"b", "a"}, a.ResourceIDs, "repeats dropped, order kept")
	assert.Equal(t, contract.RenewRequestID(a, morning), contract.RenewRequestID(b, evening))
	assert.Equal(t, id, contract.RenewRequestID(a, morning))
}

func TestIdentityDefaultsToUserAtHost(t *testing.T) {
	whoAmI = func() string { return "alice@ops-1" }
	t.Cleanup(func() { whoAmI = defaultWhoAmI })
	r := newRequestFlags()
	r.resources = []string{"r1"}
	in, err := r.input(contract.RenewKindRenew, time.Now())
	require.NoError(t, err)
	assert.Equal(t, "alice@ops-1", in.Requester)
	assert.Equal(t, contract.DefaultAccount, in.Account)
	d := &decisionFlags{}
	d.add(pflag.NewFlagSet("approve", pflag.ContinueOnError), "approval")
	a, err := d.input()
	require.NoError(t, err)
	assert.Equal(t, contract.ApproveInput{Approver: "alice@ops-1"}, a)

	me := defaultWhoAmI()
	assert.Regexp(t, `^[^@\s]+@[^@\s]+$`, me)
}

var (
	at0 = time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC)
	at1 = at0.Add(10 * time.Minute)
)

func sampleState() contract.RenewState {
	return contract.RenewState{
		RequestID: someRequest, Account: "prod", Kind: contract.RenewKindRenew, State: contract.RenewOrdered,
		ResourceIDs: []string{"ecs-1", "ecs-2"}, Period: contract.Period{Unit: "y", Num: 1},
		Requester: "alice@ops-1", Reason: "ops-1234: keep the build servers",
		Resources: []contract.RenewResource{
			{ID: "ecs-1", Name: "build-1", Service: "hws.service.type.ec2", Region: "cn-north-4", ExpireTime: at0.AddDate(0, 0, 10)},
			{ID: "ecs-2", Name: "build\n2", Service: "hws.service.type.ec2", Region: "cn-north-4", ExpireTime: at0.AddDate(0, 0, 12)},
		},
		Deadline: at0.AddDate(0, 0, 7),
		Quote: &contract.RenewQuote{Currency: "CNY", Total: 2469_500000, Official: 3000_000000, QuotedAt: at0,
			Lines: []contract.QuoteLine{{ResourceID: "ecs-1", Amount: 1234_500000}, {ResourceID: "ecs-2", Amount: 1235_000000}}},
		Approved:  2469_500000,
		Approvals: []contract.Approval{{Approver: "bob@ops-2", Comment: "budget ok", At: at1, Total: 2469_500000}},
		Needed:    1,
		Orders:    []contract.OrderRef{{OrderID: "CS2611260800ABCDE", ResourceIDs: []string{"ecs-1", "ecs-2"}, Amount: 2469_500000, Adopted: true}},
		Failures:  []contract.ResourceFailure{{ResourceID: "evs-9", Code: "CBC.99003651", Message: "the resource is an attached resource"}},
		NewExpiry: map[string]time.Time{"ecs-1": at0.AddDate(1, 0, 10)},
		Mode:      contract.RenewModeOrder,
		Message:   "ordered CS2611260800ABCDE: unpaid; pay it in Huawei's console (this worker's EXPIRY_SYNC_RENEW=order)",
		CreatedAt: at0, UpdatedAt: at1,
	}
}

func printed(t *testing.T, format printer.Format, r printer.Result) string {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, printer.Printer{Out: &b, Format: format}.Print(r))
	return b.String()
}

func TestRenewStatePrintsTextForPeople(t *testing.T) {
	st := sampleState()
	events := []contract.RenewEvent{
		{RequestID: st.RequestID, Seq: 1, At: at0, Kind: "opened", Actor: "alice@ops-1", Detail: st.Reason, State: contract.RenewState{State: ""}},
		{RequestID: st.RequestID, Seq: 2, At: at0, Kind: "approved", Actor: "bob@ops-2", Detail: "approval 1 of 1, for 2469.50 CNY", State: contract.RenewState{State: contract.RenewPending}},
		{RequestID: st.RequestID, Seq: 3, At: at1, Kind: "ordered", Detail: "CS2611260800ABCDE", State: contract.RenewState{State: contract.RenewOrdered}},
	}
	text := printed(t, printer.Text, renewView{RenewState: st, Source: sourceWorkflow, WebURL: "http://ui/x", Events: eventViews(events)})
	for _, want := range []string{
		"Request         " + someRequest,
		"Kind            renew for 1y",
		"State           ordered",
		"Message         ordered CS2611260800ABCDE: unpaid; pay it in Huawei's console",
		"Requester       alice@ops-1 at 2026-11-26T08:00:00Z",
		"Reason          ops-1234: keep the build servers",
		"Deadline        2026-12-03T08:00:00Z",
		"Approvals       1 of 1 needed",
		"Approved up to  2469.50 CNY",
		"Worker mode     order",
		"Web UI          http://ui/x",
		"Resources (2):",
		"│ ecs-1    │ build-1 │ hws.service.type.ec2 │ cn-north-4 │ 2026-12-06 08:00 │ 2027-12-06 08:00 │",
		"│ ecs-2    │ build 2 │", // one line per resource
		"Quote (CNY, quoted at 2026-11-26T08:00:00Z):",
		"│ ecs-1    │ 1234.50 │ CNY      │",
		"│ TOTAL    │ 2469.50 │ CNY      │",
		"List price: 3000.00 CNY",
		"│ bob@ops-2 │ 2026-11-26 08:10:00 │ 2469.50 CNY    │ budget ok │",
		"│ CS2611260800ABCDE │ 2469.50 CNY │ no   │ yes              │ ecs-1, ecs-2 │",
		"Refused by Huawei:\n  evs-9: CBC.99003651 the resource is an attached resource",
		"│ 3 │ 2026-11-26 08:10:00 │ ordered  │ -           │ ordered │ CS2611260800ABCDE                │",
	} {
		assert.Contains(t, text, want)
	}
	assert.NotContains(t, text, "Read from")
	assert.NotContains(t, text, "waiting for approval")

	db := printed(t, printer.Text, renewView{RenewState: st, Source: sourceDatabase})
	assert.Contains(t, db, "Read from       the database (Temporal no longer has the workflow)")
}

func TestRenewStateNotes(t *testing.T) {
	pending := contract.RenewState{RequestID: someRequest, State: contract.RenewPending, Needed: 2,
		Approvals: []contract.Approval{{Approver: "bob", At: at1}}}
	assert.Contains(t, printed(t, printer.Text, renewView{RenewState: pending}), "waiting for approval (1 of 2): starter renew approve "+someRequest)

	dry := contract.RenewState{RequestID: someRequest, State: contract.RenewApproved, DryRun: true, Closed: true}
	text := printed(t, printer.Text, renewView{RenewState: dry})
	assert.Regexp(t, `(?m)^State\s+approved \(ended\)$`, text)
	assert.Contains(t, text, "renewals are off on this worker (EXPIRY_SYNC_RENEW=off): nothing was ordered")

	opening := printed(t, printer.Text, renewView{RenewState: contract.RenewState{RequestID: someRequest, ResourceIDs: []string{"r1"}}})
	assert.Regexp(t, `(?m)^State\s+opening \(not quoted yet\)$`, opening)
	assert.Contains(t, opening, "│ r1       │ -    │")
}

func TestRenewStatePrintsTheContractAsJSON(t *testing.T) {
	st := sampleState()
	ev := contract.RenewEvent{RequestID: st.RequestID, Seq: 1, At: at0, Kind: "opened", Actor: "alice@ops-1", State: contract.RenewState{State: contract.RenewPending}}
	out := printed(t, printer.JSON, renewView{RenewState: st, Source: sourceWorkflow, WebURL: "http://ui/x", Events: eventViews([]contract.RenewEvent{ev})})

	var back contract.RenewState
	require.NoError(t, json.Unmarshal([]byte(out), &back))
	assert.Equal(t, st, back, "the state's fields, as the contract names them")
	var fields map[string]json.RawMessage
	require.NoError(t, json.Unmarshal([]byte(out), &fields))
	assert.JSONEq(t, `"workflow"`, string(fields["source"]))
	assert.JSONEq(t, `"http://ui/x"`, string(fields["web_url"]))
	assert.JSONEq(t, `"2469.50"`, string(fields["approved_total"]), "amounts as Huawei writes them")
	assert.JSONEq(t, `[{"request_id":"`+someRequest+`","seq":1,"at":"2026-11-26T08:00:00Z","kind":"opened","actor":"alice@ops-1","state":"pending"}]`,
		string(fields["events"]), "an event's state is the word the database records")
	want, err := json.Marshal(st)
	require.NoError(t, err)
	var wantFields map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(want, &wantFields))
	for k, v := range wantFields {
		assert.JSONEq(t, string(v), string(fields[k]), k)
	}
	assert.Len(t, fields, len(wantFields)+3, "the contract's fields, plus source, web_url and events")
}

func TestQuotePrints(t *testing.T) {
	q := contract.RenewQuote{Currency: "CNY", Total: 1234_560000, Official: 1500_000000, QuotedAt: at0,
		Lines:    []contract.QuoteLine{{ResourceID: "ecs-1", Amount: 1000_000000}, {ResourceID: "ecs-2", Amount: 234_560000}},
		Failures: []contract.ResourceFailure{{ResourceID: "evs-1", Code: "CBC.99003651", Message: "attached\nresource"}}}
	v := quoteView{RenewQuote: q, account: "prod", period: contract.Period{Unit: "m", Num: 3}}
	text := printed(t, printer.Text, v)
	for _, want := range []string{
		"Renewal for 3m of account prod, read-only (CNY, quoted at 2026-11-26T08:00:00Z):",
		"│ RESOURCE │  AMOUNT │ CURRENCY │",
		"│ ecs-1    │ 1000.00 │ CNY      │",
		"│ ecs-2    │  234.56 │ CNY      │",
		"│ TOTAL    │ 1234.56 │ CNY      │",
		"List price: 1500.00 CNY",
		"Not quoted: Huawei refused 1 resource(s):\n  evs-1: CBC.99003651 attached resource",
	} {
		assert.Contains(t, text, want)
	}

	out := printed(t, printer.JSON, v)
	var back contract.RenewQuote
	require.NoError(t, json.Unmarshal([]byte(out), &back))
	assert.Equal(t, q, back)
	want, err := json.MarshalIndent(q, "", "  ")
	require.NoError(t, err)
	assert.JSONEq(t, string(want), out, "exactly the contract's quote")
}

func TestRequestedPrints(t *testing.T) {
	r := renewRequested{RequestID: someRequest, Account: "prod", Kind: contract.RenewKindRenew, RunID: "run-1", WebURL: "http://ui/x"}
	text := printed(t, printer.Text, r)
	assert.Contains(t, text, "Requested renew: "+someRequest+" (run run-1)")
	assert.Contains(t, text, "approve:  starter renew approve "+someRequest)
	r.Existing = true
	assert.Contains(t, printed(t, printer.Text, r), "is already open (the same renew today): nothing new started")
	assert.JSONEq(t, `{"request_id":"`+someRequest+`","account":"prod","kind":"renew","run_id":"run-1","existing":true,"web_url":"http://ui/x"}`,
		printed(t, printer.JSON, r))
}

func TestRestingStates(t *testing.T) {
	for _, c := range []struct {
		name string
		st   contract.RenewState
		want bool
	}{
		{"waits for an approval", contract.RenewState{State: contract.RenewPending, WaitsOn: contract.WaitsApproval}, true},
		{"approved enough: the worker goes on", contract.RenewState{State: contract.RenewPending}, false},
		{"ordered, unpaid", contract.RenewState{State: contract.RenewOrdered, WaitsOn: contract.WaitsPayment}, true},
		{"ordered, the worker pays", contract.RenewState{State: contract.RenewOrdered}, false},
		{"paid: the new expiry is not seen yet", contract.RenewState{State: contract.RenewPaid, WaitsOn: contract.WaitsExpiry}, false},
		{"dry run", contract.RenewState{State: contract.RenewApproved, DryRun: true, Closed: true}, true},
		{"ended", contract.RenewState{State: contract.RenewRejected, Closed: true}, true},
	} {
		assert.Equal(t, c.want, resting(c.st), c.name)
	}
	assert.False(t, quoted(contract.RenewState{}))
	assert.True(t, quoted(contract.RenewState{State: contract.RenewPending}))
	assert.True(t, quoted(contract.RenewState{State: contract.RenewFailed}))
}

// status and list read the database: the workflow gone (here: Temporal
// unreachable), status shows the database's record and says so.
func TestRenewListAndStatusReadTheDatabase(t *testing.T) {
	t.Setenv("TEMPORAL_ADDRESS", "127.0.0.1:1")
	url := testenv.SQLiteURL(t)
	s := reporttest.Open(t, url)
	t.Setenv("DATABASE_URL", url)

	code, out, errOut := runCLI(t, "renew", "list")
	assert.Equal(t, ExitOK, code, errOut)
	assert.Equal(t, "No renewal requests match.\n", out)
	code, out, _ = runCLI(t, "renew", "list", "-o", "json")
	assert.Equal(t, ExitOK, code)
	assert.Equal(t, "[]\n", out)

	st := sampleState()
	st.Account = reporttest.AccountName
	for i, state := range []string{contract.RenewPending, contract.RenewOrdered} {
		snap := st
		snap.State = state
		snap.Orders = st.Orders[:i]
		require.NoError(t, s.RecordRenewal(context.Background(), reporttest.Account,
			contract.RenewEvent{RequestID: st.RequestID, Seq: i + 1, At: at0.Add(time.Duration(i) * time.Minute), Kind: state, Actor: "alice@ops-1", State: snap}))
	}

	code, out, errOut = runCLI(t, "renew", "list", "--account", "prod", "--state", "ordered")
	assert.Equal(t, ExitOK, code, errOut)
	assert.Contains(t, out, someRequest)
	assert.Contains(t, out, "2469.50 CNY")
	code, out, _ = runCLI(t, "renew", "list", "--state", "pending")
	assert.Equal(t, ExitOK, code)
	assert.Equal(t, "No renewal requests match.\n", out)
	code, out, _ = runCLI(t, "renew", "list", "--resource", "ecs-2", "-o", "json")
	assert.Equal(t, ExitOK, code)
	var rows []contract.RenewState
	require.NoError(t, json.Unmarshal([]byte(out), &rows))
	require.Len(t, rows, 1)
	assert.Equal(t, contract.RenewOrdered, rows[0].State)

	code, out, errOut = runCLI(t, "renew", "status", someRequest)
	assert.Equal(t, ExitOK, code, errOut)
	assert.Contains(t, errOut, "note: cannot connect to Temporal at 127.0.0.1:1")
	assert.Contains(t, errOut, "showing the database's record, which may be behind")
	assert.Contains(t, out, "Read from       the database")
	assert.Contains(t, out, "│ 2 │ 2026-11-26 08:01:00 │ ordered │ alice@ops-1 │ ordered │")
	code, out, _ = runCLI(t, "renew", "status", someRequest, "-o", "json")
	assert.Equal(t, ExitOK, code)
	var v struct {
		contract.RenewState
		Source string       `json:"source"`
		Events []renewEvent `json:"events"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &v))
	assert.Equal(t, sourceDatabase, v.Source)
	assert.Equal(t, contract.RenewOrdered, v.State)
	assert.Len(t, v.Events, 2)

	// Neither Temporal (unreachable) nor the database knows it: Temporal's error.
	code, _, errOut = runCLI(t, "renew", "status", "renew-prod-ffffffffff-20261126")
	assert.Equal(t, ExitFailure, code)
	assert.Contains(t, errOut, "cannot connect to Temporal at 127.0.0.1:1")
}

// Shell completion of the renewal flags' enumerations needs no service.
func TestRenewCompletesEnumValues(t *testing.T) {
	periods := []string{"1m", "2m", "3m", "4m", "5m", "6m", "7m", "8m", "9m", "10m", "11m", "1y", "2y", "3y"}
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"__complete", "renew", "list", "--state", ""}, []string{"pending", "approved", "ordered", "paid", "done", "rejected", "expired", "failed", "open"}},
		{[]string{"__complete", "renew", "quote", "--period", ""}, periods},
		{[]string{"__complete", "renew", "request", "--period", ""}, periods},
		{[]string{"__complete", "autorenew", "request", "--period", ""}, periods},
	} {
		code, out, _ := runCLI(t, c.args...)
		assert.Equal(t, ExitOK, code, "%q", c.args)
		assert.Equal(t, append(c.want, ":4"), strings.Split(strings.TrimSpace(out), "\n"), "%q", c.args)
	}
}
