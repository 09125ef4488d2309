package cli

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/jedib0t/go-pretty/v6/table"
	"github.com/jedib0t/go-pretty/v6/text"

	"expiry-sync/internal/contract"
)

// Sources of a request's state.
const (
	sourceWorkflow = "workflow" // the live state query, or the ended workflow's result
	sourceDatabase = "database" // renewal_requests: the workflow is past Temporal's retention
)

// renewView is a request as status, approve, reject and request --wait
// print it: the workflow's state (contract.RenewState, as is), where it
// was read, and the events the database recorded.
type renewView struct {
	contract.RenewState
	Source string       `json:"source" doc:"workflow: the request's state query (or its result once ended); database: the renewal_requests row, when Temporal no longer has the workflow"`
	WebURL string       `json:"web_url,omitempty" doc:"the request in the Temporal Web UI"`
	Events []renewEvent `json:"events,omitempty" doc:"status: the renewal_events rows, oldest first"`
}

// renewEvent is a contract.RenewEvent as the database records it: the
// state after it is one word (renewal_events.state).
type renewEvent struct {
	RequestID string    `json:"request_id"`
	Seq       int       `json:"seq" doc:"the request's count of events: 1, 2, ..."`
	At        time.Time `json:"at"`
	Kind      string    `json:"kind" doc:"opened, waiting, approved, refused, price-rose, rejected, ordered, paid, done, expired, failed, ..."`
	Actor     string    `json:"actor,omitempty" doc:"who: the requester, an approver; empty for the worker"`
	Detail    string    `json:"detail,omitempty" doc:"a sentence, or Huawei's answer"`
	State     string    `json:"state" doc:"the request's state after it"`
}

func eventViews(events []contract.RenewEvent) []renewEvent {
	out := make([]renewEvent, 0, len(events))
	for _, ev := range events {
		out = append(out, renewEvent{
			RequestID: ev.RequestID,
			Seq:       ev.Seq,
			At:        ev.At,
			Kind:      ev.Kind,
			Actor:     ev.Actor,
			Detail:    ev.Detail,
			State:     ev.State.State,
		})
	}
	return out
}

func (e *env) liveView(st contract.RenewState) renewView {
	return renewView{RenewState: st, Source: sourceWorkflow, WebURL: e.webURL(st.RequestID)}
}

// PrintText shows the request: its fields, resources, quote, approvals,
// orders and events.
func (v renewView) PrintText(w io.Writer) error {
	st := v.RenewState
	k := newKV(w)
	k.row("Request", st.RequestID)
	k.row("Account", orDash(st.Account))
	k.row("Kind", orDash(kindText(st.Kind, st.Period, st.Times)))
	state := orDash(st.State)
	if st.State == "" {
		state = "opening (not quoted yet)"
	}
	if st.Closed {
		state += " (ended)"
	}
	k.row("State", state)
	if note := renewNote(st); note != "" {
		k.row("", note)
	}
	if st.Message != "" {
		k.row("Message", st.Message)
	}
	k.row("Requester", fmt.Sprintf("%s at %s", orDash(st.Requester), timeText(st.CreatedAt)))
	if st.Reason != "" {
		k.row("Reason", st.Reason)
	}
	if !st.Deadline.IsZero() {
		k.row("Deadline", utc(st.Deadline)+" (approve before, or it ends expired)")
	}
	if st.Needed > 0 {
		k.row("Approvals", fmt.Sprintf("%d of %d needed", len(st.Approvals), st.Needed))
	}
	if st.Approved > 0 {
		k.row("Approved up to", st.Approved.String()+" "+quoteCurrency(st.Quote)+" (a higher quote asks again)")
	}
	if st.Mode != "" {
		k.row("Worker mode", st.Mode)
	}
	k.row("Updated", timeText(st.UpdatedAt))
	if v.Source == sourceDatabase {
		k.row("Read from", "the database (Temporal no longer has the workflow)")
	}
	if v.WebURL != "" {
		k.row("Web UI", v.WebURL)
	}
	if err := k.flush(); err != nil {
		return err
	}
	printRenewResources(w, st)
	if st.Quote != nil {
		fmt.Fprintln(w)
		printQuote(w, "Quote", *st.Quote)
	}
	printApprovals(w, st)
	printOrders(w, st)
	if len(st.Failures) > 0 && (st.Quote == nil || !slices.Equal(st.Failures, st.Quote.Failures)) {
		fmt.Fprintln(w, "\nRefused by Huawei:")
		printFailures(w, st.Failures)
	}
	printEvents(w, v.Events)
	return nil
}

// renewNote says in a sentence what the request waits for, when its
// message does not say it already.
func renewNote(st contract.RenewState) string {
	switch {
	case st.State == contract.RenewPending && !st.Closed:
		return fmt.Sprintf(
			"waiting for approval (%d of %d): starter renew approve %s, or reject it",
			len(st.Approvals),
			max(st.Needed, 1),
			st.RequestID,
		)
	case st.State == contract.RenewApproved && st.DryRun && !strings.Contains(st.Message, "EXPIRY_SYNC_RENEW=off"):
		return "renewals are off on this worker (EXPIRY_SYNC_RENEW=off): nothing was ordered"
	case st.State == contract.RenewOrdered && st.Mode == contract.RenewModeOrder && !st.Closed &&
		!strings.Contains(st.Message, "console"):
		return "ordered, unpaid: pay the order in Huawei's console; " +
			"the request watches for the payment and the new expiry"
	}
	return ""
}

func timeText(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return utc(t)
}

func quoteCurrency(q *contract.RenewQuote) string {
	if q == nil {
		return ""
	}
	return q.Currency
}

// printRenewResources lists the request's resources: as BSS looked them
// up once opened, else their ids; with the new expiry once seen.
func printRenewResources(w io.Writer, st contract.RenewState) {
	fmt.Fprintf(w, "\nResources (%d):\n", len(st.ResourceIDs))
	t := newTable(w)
	t.AppendHeader(table.Row{"RESOURCE", "NAME", "SERVICE", "REGION", "EXPIRES (UTC)", "NEW EXPIRY (UTC)"})
	seen := map[string]bool{}
	for _, r := range st.Resources {
		seen[r.ID] = true
		t.AppendRow(table.Row{
			r.ID,
			orDash(oneLineName(r.Name)),
			orDash(r.Service),
			orDash(r.Region),
			dayTime(r.ExpireTime),
			newExpiry(st, r.ID),
		})
	}
	for _, id := range st.ResourceIDs {
		if !seen[id] {
			seen[id] = true
			t.AppendRow(table.Row{id, "-", "-", "-", "-", newExpiry(st, id)})
		}
	}
	for _, id := range slices.Sorted(maps.Keys(st.NewExpiry)) {
		if !seen[id] {
			t.AppendRow(table.Row{id, "-", "-", "-", "-", newExpiry(st, id)})
		}
	}
	t.Render()
}

func newExpiry(st contract.RenewState, id string) string {
	if t, ok := st.NewExpiry[id]; ok {
		return dayTime(t)
	}
	return "-"
}

func dayTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04")
}

// printQuote shows one amount a resource, the total, the list price and
// the resources Huawei would not quote.
func printQuote(w io.Writer, title string, q contract.RenewQuote) {
	when := ""
	if !q.QuotedAt.IsZero() {
		when = ", quoted at " + utc(q.QuotedAt)
	}
	fmt.Fprintf(w, "%s (%s%s):\n", title, orDash(q.Currency), when)
	t := newTable(w)
	t.SetColumnConfigs([]table.ColumnConfig{
		{Number: 2, Align: text.AlignRight, AlignHeader: text.AlignRight, AlignFooter: text.AlignRight},
	})
	t.AppendHeader(table.Row{"RESOURCE", "AMOUNT", "CURRENCY"})
	for _, l := range q.Lines {
		t.AppendRow(table.Row{l.ResourceID, l.Amount.String(), q.Currency})
	}
	t.AppendFooter(table.Row{"TOTAL", q.Total.String(), q.Currency})
	t.Render()
	if q.Official > 0 && q.Official != q.Total {
		fmt.Fprintf(w, "List price: %s %s (the total is after the account's discounts)\n", q.Official, q.Currency)
	}
	if len(q.Failures) > 0 {
		fmt.Fprintf(w, "Not quoted: Huawei refused %d resource(s):\n", len(q.Failures))
		printFailures(w, q.Failures)
	}
}

func printFailures(w io.Writer, fs []contract.ResourceFailure) {
	for _, f := range fs {
		fmt.Fprintf(w, "  %s: %s %s\n", f.ResourceID, orDash(f.Code), oneLineName(f.Message))
	}
}

func printApprovals(w io.Writer, st contract.RenewState) {
	if len(st.Approvals) == 0 {
		return
	}
	fmt.Fprintln(w, "\nApprovals:")
	t := newTable(w)
	t.AppendHeader(table.Row{"APPROVER", "AT (UTC)", "TOTAL APPROVED", "COMMENT"})
	for _, a := range st.Approvals {
		t.AppendRow(table.Row{
			a.Approver,
			a.At.UTC().Format(time.DateTime),
			strings.TrimSpace(a.Total.String() + " " + quoteCurrency(st.Quote)),
			orDash(a.Comment),
		})
	}
	t.Render()
}

func printOrders(w io.Writer, st contract.RenewState) {
	if len(st.Orders) == 0 {
		return
	}
	fmt.Fprintln(w, "\nOrders at Huawei:")
	t := newTable(w)
	t.AppendHeader(table.Row{"ORDER", "AMOUNT", "PAID", "FOUND BY LOOK-UP", "RESOURCES"})
	for _, o := range st.Orders {
		amount := "-"
		if o.Amount > 0 {
			amount = strings.TrimSpace(o.Amount.String() + " " + quoteCurrency(st.Quote))
		}
		t.AppendRow(table.Row{o.OrderID, amount, yesNo(o.Paid), yesNo(o.Adopted), idsText(o.ResourceIDs, 3)})
	}
	t.Render()
}

func printEvents(w io.Writer, events []renewEvent) {
	if len(events) == 0 {
		return
	}
	fmt.Fprintln(w, "\nEvents:")
	t := newTable(w)
	t.AppendHeader(table.Row{"#", "AT (UTC)", "EVENT", "ACTOR", "STATE", "DETAIL"})
	for _, ev := range events {
		t.AppendRow(table.Row{
			ev.Seq,
			ev.At.UTC().Format(time.DateTime),
			ev.Kind,
			orDash(ev.Actor),
			orDash(ev.State),
			orDash(oneLineName(ev.Detail)),
		})
	}
	t.Render()
}

// idsText shows up to n ids, then how many more.
func idsText(ids []string, n int) string {
	if len(ids) <= n {
		return orDash(strings.Join(ids, ", "))
	}
	return fmt.Sprintf("%s +%d", strings.Join(ids[:n], ", "), len(ids)-n)
}

// quoteView is what quote prints: the contract.RenewQuote as is (JSON),
// with what was asked for the text's title.
type quoteView struct {
	contract.RenewQuote
	account string
	period  contract.Period
}

func (q quoteView) PrintText(w io.Writer) error {
	printQuote(w, fmt.Sprintf("Renewal for %s of account %s, read-only", q.period, q.account), q.RenewQuote)
	return nil
}

// renewList is what list prints, newest first.
type renewList []contract.RenewState

func (l renewList) Rows() any { return []contract.RenewState(l) }

func (l renewList) PrintText(w io.Writer) error {
	if len(l) == 0 {
		fmt.Fprintln(w, "No renewal requests match.")
		return nil
	}
	t := newTable(w)
	t.AppendHeader(table.Row{"REQUEST", "ACCOUNT", "KIND", "STATE", "RESOURCES", "TOTAL", "REQUESTER", "UPDATED (UTC)"})
	for _, st := range l {
		total := "-"
		if st.Quote != nil {
			total = st.Quote.Total.String() + " " + st.Quote.Currency
		}
		t.AppendRow(table.Row{
			st.RequestID,
			st.Account,
			kindText(st.Kind, st.Period, st.Times),
			st.State,
			idsText(st.ResourceIDs, 2),
			total,
			st.Requester,
			st.UpdatedAt.UTC().Format(time.DateTime),
		})
	}
	t.Render()
	return nil
}
