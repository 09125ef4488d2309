package cli

import (
	"fmt"
	"os"
	"os/user"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/spf13/pflag"

	"expiry-sync/internal/contract"
)

// Limits of the renewal commands' free text.
const (
	maxIdentityLen = 128  // --approver, --requester
	maxTextLen     = 1000 // --reason, --comment
	maxResourceLen = 128  // a resource id (Huawei's are 32..64)
	maxAutoRenew   = 99   // AutoRenewalResources' auto_renew_times
)

// renewClock is the renewal commands' "now" (request ids name the UTC
// day); tests pin it.
var renewClock = time.Now

// whoAmI is the default --approver and --requester: <os user>@<hostname>.
var whoAmI = defaultWhoAmI

func defaultWhoAmI() string {
	name := os.Getenv("USER")
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	if name == "" {
		name = "unknown"
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	return name + "@" + host
}

// onceValue is a flag that may be given once: pflag would silently keep
// the last of two values, and a renewal must not run on the one the user
// did not mean.
type onceValue struct {
	value string
	set   bool
	typ   string
}

func newOnce(def, typ string) *onceValue { return &onceValue{value: def, typ: typ} }

func (o *onceValue) String() string { return o.value }
func (o *onceValue) Type() string   { return o.typ }
func (o *onceValue) Set(s string) error {
	if o.set {
		return fmt.Errorf("given twice (%s, then %s): give it once", quote(o.value), quote(s))
	}
	o.value, o.set = s, true
	return nil
}

// periodNames are the periods Huawei allows, for completion.
func periodNames() []string {
	var names []string
	for n := 1; n <= 11; n++ {
		names = append(names, fmt.Sprintf("%dm", n))
	}
	for n := 1; n <= 3; n++ {
		names = append(names, fmt.Sprintf("%dy", n))
	}
	return names
}

func parsePeriodFlag(raw string) (contract.Period, error) {
	p, err := contract.ParsePeriod(raw)
	if err != nil {
		return p, fmt.Errorf("--period: %v", err)
	}
	return p, nil
}

// resourceIDs checks the --resource values and drops repeats, keeping the
// order given.
func resourceIDs(ids []string) ([]string, error) {
	if len(ids) == 0 {
		return nil, fmt.Errorf(
			"--resource is required: the id of a main resource, as 'starter report' lists it (repeat for several)",
		)
	}
	var out []string
	for _, id := range ids {
		if err := checkResourceID(id); err != nil {
			return nil, err
		}
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out, nil
}

func checkResourceID(id string) error {
	ok := utf8.ValidString(id) && id != "" && len(id) <= maxResourceLen &&
		!strings.ContainsFunc(
			id,
			func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) || r == '\'' || r == '"' },
		)
	if !ok {
		return fmt.Errorf(
			"--resource=%q is not a resource id: allowed 1..%d printable characters without spaces or quotes, "+
				"e.g. 0a1b2c3d-4e5f-4071-8293-a4b5c6d7e8f9",
			id,
			maxResourceLen,
		)
	}
	return nil
}

// checkIdentity refuses an --approver or --requester that would not read
// as one name in the record.
func checkIdentity(flag, v string) error {
	ok := utf8.ValidString(v) && strings.TrimSpace(v) == v && v != "" && utf8.RuneCountInString(v) <= maxIdentityLen &&
		!strings.ContainsFunc(v, unicode.IsControl)
	if !ok {
		return fmt.Errorf(
			"--%s=%q is not allowed: "+
				"1..%d printable characters, no leading or trailing space (default: <os user>@<host>, here %s)",
			flag,
			v,
			maxIdentityLen,
			whoAmI(),
		)
	}
	return nil
}

// checkText refuses a --reason or --comment that is not one line of text.
func checkText(flag, v string) error {
	if !utf8.ValidString(v) || strings.ContainsFunc(v, unicode.IsControl) {
		return fmt.Errorf(
			"--%s=%q is not allowed: one line of printable text (no newlines or control characters)",
			flag,
			v,
		)
	}
	if n := utf8.RuneCountInString(v); n > maxTextLen {
		return fmt.Errorf("--%s is %d characters long: allowed at most %d", flag, n, maxTextLen)
	}
	return nil
}

// parseDeadline reads --deadline: RFC 3339, in the future.
func parseDeadline(raw string, now time.Time) (*time.Time, error) {
	if raw == "" {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339, raw)
	if err != nil {
		return nil, fmt.Errorf(
			"--deadline=%s is not a time: allowed RFC 3339, e.g. 2026-11-30T18:00:00+08:00",
			quote(raw),
		)
	}
	if !t.After(now) {
		return nil, fmt.Errorf(
			"--deadline=%s is not in the future: give a time after %s",
			raw,
			now.UTC().Format(time.RFC3339),
		)
	}
	t = t.UTC()
	return &t, nil
}

// requestIDPattern is contract.RenewRequestID's shape:
// renew-<account>-<10 hex>-<YYYYMMDD>.
var requestIDPattern = regexp.MustCompile(`^renew-[A-Za-z0-9][A-Za-z0-9._-]{0,63}-[0-9a-f]{10}-[0-9]{8}$`)

// checkRequestID refuses what cannot be a request id before asking Temporal.
func checkRequestID(id string) error {
	if !requestIDPattern.MatchString(id) {
		return fmt.Errorf(
			"request id %q is not valid: allowed the id 'starter renew request' printed, "+
				"renew-<account>-<10 hex digits>-<YYYYMMDD> (see 'starter renew list')",
			id,
		)
	}
	return nil
}

// requestFlags are the flags every request shares (renew request,
// autorenew request, lapse's requests).
type requestFlags struct {
	resources []string
	account   *onceValue
	reason    *onceValue
	requester *onceValue
	deadline  *onceValue
	wait      bool
}

func newRequestFlags() *requestFlags {
	return &requestFlags{account: newOnce(contract.DefaultAccount, "string"), reason: newOnce("", "string"),
		requester: newOnce("", "string"), deadline: newOnce("", "time")}
}

func addResourceFlag(f *pflag.FlagSet, ids *[]string, what string) {
	f.StringSliceVar(ids, "resource", nil, what+"; repeat, or separate ids with commas")
}

func addAccountOnce(f *pflag.FlagSet, account *onceValue) {
	f.Var(account, "account", "the account, as the workers' accounts file names it")
}

// add declares the flags of a request; withDeadline adds --deadline and
// --wait.
func (r *requestFlags) add(f *pflag.FlagSet, resourceUsage string, withDeadline bool) {
	addResourceFlag(f, &r.resources, resourceUsage)
	addAccountOnce(f, r.account)
	f.Var(r.reason, "reason", "why: free text kept with the request (one line)")
	f.Var(r.requester, "requester", "who asks, as the record names them (default: <os user>@<host>)")
	if withDeadline {
		f.Var(
			r.deadline,
			"deadline",
			"end the request as expired if not approved by then "+
				"(RFC 3339; default: the policy's deadline_before the earliest expiry)",
		)
		f.BoolVar(&r.wait, "wait", false, "wait until the request is quoted (or refused) and print its state")
	}
}

// input checks the shared flags and fills what they give of a request.
func (r *requestFlags) input(kind string, now time.Time) (contract.RenewInput, error) {
	in := contract.RenewInput{
		Kind:      kind,
		Account:   r.account.value,
		Reason:    r.reason.value,
		Requester: r.requester.value,
	}
	if err := checkAccountFlag(in.Account); err != nil {
		return in, err
	}
	ids, err := resourceIDs(r.resources)
	if err != nil {
		return in, err
	}
	in.ResourceIDs = ids
	if err := checkText("reason", in.Reason); err != nil {
		return in, err
	}
	if !r.requester.set {
		in.Requester = whoAmI()
	} else if err := checkIdentity("requester", in.Requester); err != nil {
		return in, err
	}
	if in.Deadline, err = parseDeadline(r.deadline.value, now); err != nil {
		return in, err
	}
	return in, nil
}

// decisionFlags are those of approve and reject.
type decisionFlags struct {
	comment  *onceValue
	approver *onceValue
	wait     bool
}

func (d *decisionFlags) add(f *pflag.FlagSet, verb string) {
	d.comment, d.approver = newOnce("", "string"), newOnce("", "string")
	f.Var(d.comment, "comment", "a comment kept with the "+verb+" (one line)")
	f.Var(d.approver, "approver", "who decides, as the policy's approvers name them (default: <os user>@<host>)")
}

func (d *decisionFlags) input() (contract.ApproveInput, error) {
	in := contract.ApproveInput{Approver: d.approver.value, Comment: d.comment.value}
	if err := checkText("comment", in.Comment); err != nil {
		return in, err
	}
	if !d.approver.set {
		in.Approver = whoAmI()
	} else if err := checkIdentity("approver", in.Approver); err != nil {
		return in, err
	}
	return in, nil
}
