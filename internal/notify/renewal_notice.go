package notify

import (
	"bytes"
	"fmt"
	"html/template"
	"slices"
	"sort"
	"strings"
	"time"

	"expiry-sync/internal/contract"
)

// RenewalNotice is a renewal request (issue 23) at a resting point —
// ordered and unpaid, or closed (done, failed, expired, rejected, a dry
// run) — as a route's channels are told of it. A Digest whose Renewal is
// set is rendered as the notice instead of its resource table, on every
// channel type, and sent by the same Channel.Send.
type RenewalNotice struct {
	// The request as its workflow holds it: the webhook's "renewal" object
	// carries these fields as the state query answers them.
	contract.RenewState
	// Owners: the owner tag value of each of its resources that has one.
	Owners map[string]string `json:"owners,omitempty"`
	// RouteResources: its resources that went to the channel's route(s) by
	// their owner (unowned ones to the default route). Messages list them
	// first and mention their owners.
	RouteResources []string `json:"route_resources,omitempty"`
	// omit: how many resources a chat message leaves off, at the end of
	// its list, to fit the platform's size ("… and N more").
	omit int
}

// Bounds of the request's free text in a notice, so that the notice
// without any resource fits the smallest platform (WeCom, 4,096 bytes)
// whatever the text: the webhook's "renewal" object carries it whole.
const (
	noticeMessageRunes = 240
	noticeReasonRunes  = 80
	noticePersonRunes  = 64
	noticeRequestRunes = 128
	noticeCommentRunes = 40
	noticeFailureRunes = 120
	noticeApprovers    = 3
	noticeOrders       = 10
)

var noticeWords = map[string]map[string]string{
	"en": {
		"title":   "[expiry-sync] renewal request %s: %s",
		"request": "Request", "account": "Account", "kind": "Kind", "state": "State", "detail": "Detail",
		"requester": "Requested by", "reason": "Reason", "approvers": "Approved by", "total": "Total",
		"orders": "Orders", "resources": "Resources (%d)", "updated": "Updated",
		"list.price": "list price %s", "times": "%d time(s)", "times.0": "until turned off",
		"expires": "expires %s", "new.expiry": "new expiry %s", "failed": "failed: %s",
		"more": "… and %d more resource(s)", "more.ids": "and %d more",
		"dry.run":    "%s (dry run: nothing ordered)",
		"col.amount": "Amount", "col.new": "New expiry", "col.note": "Note",
		"state.ordered.payment": "ordered, awaiting payment",
	},
	"zh": {
		"title":   "【续费申请】%s：%s",
		"request": "申请", "account": "账号", "kind": "类型", "state": "状态", "detail": "说明",
		"requester": "申请人", "reason": "原因", "approvers": "审批人", "total": "总价",
		"orders": "订单", "resources": "资源（%d 个）", "updated": "更新时间",
		"list.price": "原价 %s", "times": "%d 次", "times.0": "直到关闭",
		"expires": "到期 %s", "new.expiry": "新到期 %s", "failed": "失败：%s",
		"more": "……另有 %d 个资源", "more.ids": "另有 %d 个",
		"dry.run":    "%s（演练：未下单）",
		"col.amount": "金额", "col.new": "新到期时间", "col.note": "备注",
		"state.pending": "待审批", "state.approved": "已批准", "state.ordered": "已下单", "state.ordered.payment": "已下单，待支付",
		"state.paid": "已支付", "state.done": "已完成", "state.rejected": "已拒绝", "state.expired": "已失效", "state.failed": "失败",
		"kind.renew": "续费", "kind.autorenew-on": "开通自动续费", "kind.autorenew-off": "关闭自动续费", "kind.to-on-demand": "到期转按需",
		"period.y": "%d 年", "period.m": "%d 个月",
	},
}

// nw is a notice's word in the digest's language (English when it has none).
func (d Digest) nw(key string) string {
	if s, ok := noticeWords[d.Language][key]; ok {
		return s
	}
	if s, ok := noticeWords["en"][key]; ok {
		return s
	}
	return d.w(key)
}

// nwOr is the word for key, or def when the language has none.
func (d Digest) nwOr(key, def string) string {
	if s, ok := noticeWords[d.Language][key]; ok {
		return s
	}
	return def
}

// noticeState is the request's state in the digest's language: the state
// (en: its name), what an ordered request waits for, a dry run said so.
func (d Digest) noticeState() string {
	st := d.Renewal.RenewState
	s := d.nwOr("state."+st.State, st.State)
	if st.State == contract.RenewOrdered && st.WaitsOn == contract.WaitsPayment {
		s = d.nw("state.ordered.payment")
	}
	if st.DryRun {
		s = fmt.Sprintf(d.nw("dry.run"), s)
	}
	return s
}

// noticeKind is the kind, its period and, for auto-renew, how many times.
func (d Digest) noticeKind() string {
	st := d.Renewal.RenewState
	parts := []string{d.nwOr("kind."+st.Kind, st.Kind)}
	if st.Period.Num > 0 {
		if f, ok := noticeWords[d.Language]["period."+st.Period.Unit]; ok {
			parts = append(parts, fmt.Sprintf(f, st.Period.Num))
		} else {
			parts = append(parts, st.Period.String())
		}
	}
	if st.Kind == contract.RenewKindAutoRenewOn {
		if st.Times > 0 {
			parts = append(parts, fmt.Sprintf(d.nw("times"), st.Times))
		} else {
			parts = append(parts, d.nw("times.0"))
		}
	}
	sep := ", "
	if d.Language == "zh" {
		sep = "，"
	}
	return strings.Join(parts, sep)
}

// renewalTitle names the request and its state.
func (d Digest) renewalTitle() string {
	return fmt.Sprintf(d.nw("title"), clipText(d.Renewal.RequestID, noticeRequestRunes), d.noticeState())
}

// noticeField is one line of a notice's head: ids (each in a code span),
// what people wrote (each folded, defused and escaped) and our own words,
// in that order.
type noticeField struct {
	label string
	codes []string
	users []string
	text  string
}

// clipText folds s to one line and bounds it.
func clipText(s string, n int) string { return truncateRunes(oneLine(s), n) }

// fields are the notice's head, in order; empty ones are left out.
func (d Digest) noticeFields() []noticeField {
	st := d.Renewal.RenewState
	out := []noticeField{
		{label: d.nw("request"), codes: []string{clipText(st.RequestID, noticeRequestRunes)}},
		{label: d.nw("account"), users: []string{clipText(st.Account, noticePersonRunes)}},
		{label: d.nw("kind"), text: d.noticeKind()},
		{label: d.nw("state"), text: d.noticeState()},
	}
	if st.Message != "" {
		out = append(out, noticeField{label: d.nw("detail"), users: []string{clipText(st.Message, noticeMessageRunes)}})
	}
	if st.Requester != "" {
		out = append(
			out,
			noticeField{label: d.nw("requester"), users: []string{clipText(st.Requester, noticePersonRunes)}},
		)
	}
	if st.Reason != "" {
		out = append(out, noticeField{label: d.nw("reason"), users: []string{clipText(st.Reason, noticeReasonRunes)}})
	}
	if len(st.Approvals) > 0 {
		f := noticeField{label: d.nw("approvers")}
		for _, a := range st.Approvals[:min(len(st.Approvals), noticeApprovers)] {
			s := clipText(a.Approver, noticePersonRunes)
			if c := clipText(a.Comment, noticeCommentRunes); c != "" {
				s += " (" + c + ")"
			}
			f.users = append(f.users, s)
		}
		if more := len(st.Approvals) - noticeApprovers; more > 0 {
			f.text = fmt.Sprintf(d.nw("more.ids"), more)
		}
		out = append(out, f)
	}
	if q := st.Quote; q != nil {
		total := strings.TrimSpace(q.Total.String() + " " + tagValue(clipText(q.Currency, 8)))
		if q.Official > q.Total {
			total += " (" + fmt.Sprintf(d.nw("list.price"), q.Official.String()) + ")"
		}
		out = append(out, noticeField{label: d.nw("total"), text: total})
	}
	if len(st.Orders) > 0 {
		f := noticeField{label: d.nw("orders")}
		for _, o := range st.Orders[:min(len(st.Orders), noticeOrders)] {
			f.codes = append(f.codes, clipText(o.OrderID, noticePersonRunes))
		}
		if more := len(st.Orders) - noticeOrders; more > 0 {
			f.text = fmt.Sprintf(d.nw("more.ids"), more)
		}
		out = append(out, f)
	}
	if !st.UpdatedAt.IsZero() {
		out = append(out, noticeField{label: d.nw("updated"), text: d.at(st.UpdatedAt)})
	}
	return out
}

// noticeRow is one resource of the request, as far as it is known.
type noticeRow struct {
	ID, Name, Owner   string
	Expire, NewExpire time.Time
	Amount, Failure   string
}

// rows are the request's resources: those of the route first, then the
// others, each in the request's order.
func (n *RenewalNotice) rows() []noticeRow {
	ids := n.AllResourceIDs()
	mine := func(id string) bool { return slices.Contains(n.RouteResources, id) }
	slices.SortStableFunc(ids, func(a, b string) int {
		switch ma, mb := mine(a), mine(b); {
		case ma && !mb:
			return -1
		case mb && !ma:
			return 1
		}
		return 0
	})
	out := make([]noticeRow, 0, len(ids))
	for _, id := range ids {
		r := noticeRow{ID: id, Owner: n.Owners[id], NewExpire: n.NewExpiry[id]}
		if i := slices.IndexFunc(n.Resources, func(x contract.RenewResource) bool { return x.ID == id }); i >= 0 {
			res := n.Resources[i]
			r.Name, r.Expire = res.Name, res.ExpireTime
		}
		if n.Quote != nil {
			quoted := func(l contract.QuoteLine) bool { return l.ResourceID == id }
			if i := slices.IndexFunc(n.Quote.Lines, quoted); i >= 0 {
				r.Amount = n.Quote.Lines[i].Amount.String()
			}
		}
		failed := func(f contract.ResourceFailure) bool { return f.ResourceID == id }
		if i := slices.IndexFunc(n.Failures, failed); i >= 0 {
			f := n.Failures[i]
			r.Failure = clipText(strings.TrimSpace(f.Code+" "+f.Message), noticeFailureRunes)
		}
		out = append(out, r)
	}
	return out
}

// listed are the rows a message names (all but the omitted ones), and
// how many it leaves off.
func (n *RenewalNotice) listed() ([]noticeRow, int) {
	rows := n.rows()
	omit := min(max(n.omit, 0), len(rows))
	return rows[:len(rows)-omit], omit
}

// routeOwners are the owners of the route's resources the message
// lists, in order: those it mentions.
func (n *RenewalNotice) routeOwners() []string {
	rows, _ := n.listed()
	var out []string
	for _, r := range rows {
		if r.Owner != "" && slices.Contains(n.RouteResources, r.ID) {
			out = append(out, r.Owner)
		}
	}
	return out
}

// noticeFormat writes a notice in one output's syntax.
type noticeFormat struct {
	text func(string) string // free text, folded and defused: escaped
	code func(string) string // an id: a code span
	bold func(string) string
	word func(string) string // our own words: escaped where they could be read as markup
	// paren: an id after a name is in parentheses (outputs without code
	// spans).
	paren bool
}

var (
	same           = func(s string) string { return s }
	plainNotice    = noticeFormat{text: tagValue, code: oneLine, bold: same, word: same, paren: true}
	markdownNotice = noticeFormat{text: mdTag, code: func(s string) string { return "`" + mdCode(s) + "`" },
		bold: func(s string) string { return "**" + s + "**" }, word: mdEscape}
	slackNotice = noticeFormat{
		text: func(s string) string { return slackEscape(tagValue(s)) },
		code: func(s string) string { return "`" + slackCode(s) + "`" },
		bold: func(s string) string { return "*" + s + "*" },
		word: slackEscape,
	}
	feishuNotice = noticeFormat{
		text:  func(s string) string { return feishuText(tagValue(s)) },
		code:  func(s string) string { return feishuText(oneLine(s)) },
		bold:  same,
		word:  feishuText,
		paren: true,
	}
)

// fieldLine is a head line: "label: value".
func (d Digest) fieldLine(f noticeField, fm noticeFormat) string {
	var vals []string
	for _, c := range f.codes {
		vals = append(vals, fm.code(c))
	}
	for _, u := range f.users {
		vals = append(vals, fm.text(u))
	}
	if f.text != "" {
		vals = append(vals, fm.word(f.text))
	}
	sep := ": "
	if d.Language == "zh" {
		sep = "："
	}
	return fm.bold(fm.word(f.label)) + sep + strings.Join(vals, ", ")
}

// rowLine is a resource line, without its list marker.
func (d Digest) rowLine(r noticeRow, fm noticeFormat) string {
	s := fm.code(r.ID)
	switch {
	case r.Name != "" && fm.paren:
		s = fm.bold(fm.text(r.Name)) + " (" + s + ")"
	case r.Name != "":
		s = fm.bold(fm.text(r.Name)) + " " + s
	}
	var facts []string
	if !r.Expire.IsZero() {
		facts = append(facts, fm.word(fmt.Sprintf(d.nw("expires"), d.at(r.Expire))))
	}
	if !r.NewExpire.IsZero() {
		facts = append(facts, fm.word(fmt.Sprintf(d.nw("new.expiry"), d.at(r.NewExpire))))
	}
	if r.Owner == "" {
		facts = append(facts, fm.word(d.w("unowned")))
	} else {
		facts = append(facts, fm.text(r.Owner))
	}
	if r.Amount != "" {
		facts = append(facts, r.Amount)
	}
	if r.Failure != "" {
		facts = append(facts, fmt.Sprintf(fm.word(d.nw("failed")), fm.text(r.Failure)))
	}
	return s + " · " + strings.Join(facts, " · ")
}

// noticeLines are the notice's lines after its title: the head, the
// resources ("- " marked, as many as the message lists) and what it
// leaves off.
func (d Digest) noticeLines(fm noticeFormat, item string) []string {
	var out []string
	for _, f := range d.noticeFields() {
		out = append(out, item+d.fieldLine(f, fm))
	}
	rows, omit := d.Renewal.listed()
	out = append(out, "", fm.bold(fm.word(fmt.Sprintf(d.nw("resources"), len(rows)+omit))))
	for _, r := range rows {
		out = append(out, item+d.rowLine(r, fm))
	}
	if omit > 0 {
		out = append(out, fm.word(fmt.Sprintf(d.nw("more"), omit)))
	}
	return out
}

// renewalText is the plain-text notice (e-mail, webhook).
func (d Digest) renewalText() string {
	return d.renewalTitle() + "\n\n" + strings.Join(d.noticeLines(plainNotice, "- "), "\n") + "\n"
}

// renewalMarkdown is the notice for a markdown chat robot (TypeDingTalk,
// TypeWeCom), the owners of the route's resources it lists mentioned.
func (d Digest) renewalMarkdown(typ string) string {
	var b strings.Builder
	fmt.Fprintf(
		&b,
		"### %s\n\n%s\n",
		mdEscape(d.renewalTitle()),
		strings.Join(d.noticeLines(markdownNotice, "- "), "\n"),
	)
	if m := d.mentionTokens(typ); len(m) > 0 {
		fmt.Fprintf(&b, "\n%s %s\n", d.w("mentions"), strings.Join(m, " "))
	}
	return b.String()
}

// noticeChatLines are the notice's non-empty lines for a chat post that
// lays out its own paragraphs: Feishu's rows, Slack's mrkdwn sections.
func (d Digest) noticeChatLines(f noticeFormat) []string {
	return slices.DeleteFunc(d.noticeLines(f, "• "), func(l string) bool { return l == "" })
}

var htmlNotice = template.Must(template.New("notice").Parse(`<!DOCTYPE html>
<html lang="{{.Lang}}"><head><meta charset="utf-8"><title>{{.Title}}</title></head>
<body style="font-family:-apple-system,'Segoe UI','PingFang SC','Microsoft YaHei','Noto Sans CJK SC',sans-serif;` +
	`color:#1f2328;margin:24px">
<h2 style="margin:0 0 12px;font-size:20px">{{.Title}}</h2>
<table style="border-collapse:collapse;font-size:14px;margin:0 0 16px">
{{range .Fields}}<tr>` +
	`<th style="text-align:left;padding:4px 12px 4px 0;color:#59636e;font-weight:normal;white-space:nowrap">` +
	`{{.Label}}</th>
<td style="padding:4px 0">{{range $i, $c := .Codes}}{{if $i}}, {{end}}` +
	`<code style="font-size:13px">{{$c}}</code>{{end}}{{if and .Codes .Text}}, {{end}}{{.Text}}</td></tr>
{{end}}</table>
<h3 style="margin:0 0 8px;font-size:16px">{{.Resources}}</h3>
{{if .Rows}}<table style="border-collapse:collapse;font-size:14px">
<tr style="background:#f6f8fa">{{range .Cols}}` +
	`<th style="text-align:left;padding:6px 10px;border:1px solid #d1d9e0">{{.}}</th>{{end}}</tr>
{{range .Rows}}<tr>
<td style="padding:6px 10px;border:1px solid #d1d9e0">{{if .Name}}<b>{{.Name}}</b><br>{{end}}` +
	`<code style="font-size:12px;color:#59636e">{{.ID}}</code></td>
<td style="padding:6px 10px;border:1px solid #d1d9e0;white-space:nowrap">{{.Expires}}</td>
<td style="padding:6px 10px;border:1px solid #d1d9e0;white-space:nowrap">` +
	`{{if .NewExpiry}}<b>{{.NewExpiry}}</b>{{end}}</td>
<td style="padding:6px 10px;border:1px solid #d1d9e0">{{.Owner}}</td>
<td style="padding:6px 10px;border:1px solid #d1d9e0">{{.Amount}}</td>
<td style="padding:6px 10px;border:1px solid #d1d9e0;color:#d1242f">{{.Failure}}</td>
</tr>{{end}}
</table>{{end}}
{{if .More}}<p style="margin-top:8px">{{.More}}</p>{{end}}
<p style="margin-top:16px;font-size:12px;color:#59636e">expiry-sync</p>
</body></html>
`))

// renewalHTML is the notice's e-mail HTML part.
func (d Digest) renewalHTML() string {
	type field struct {
		Label, Text string
		Codes       []string
	}
	type row struct{ Name, ID, Expires, NewExpiry, Owner, Amount, Failure string }
	data := struct {
		Lang, Title, Resources, More string
		Fields                       []field
		Cols                         []string
		Rows                         []row
	}{Lang: d.Language, Title: d.renewalTitle()}
	for _, f := range d.noticeFields() {
		codes := make([]string, len(f.codes))
		for i, c := range f.codes {
			codes[i] = oneLine(c)
		}
		text := f.text
		if len(f.users) > 0 {
			var users []string
			for _, u := range f.users {
				users = append(users, tagValue(u))
			}
			if f.text != "" {
				users = append(users, f.text)
			}
			text = strings.Join(users, ", ")
		}
		data.Fields = append(data.Fields, field{Label: f.label, Text: text, Codes: codes})
	}
	rows, omit := d.Renewal.listed()
	data.Resources = fmt.Sprintf(d.nw("resources"), len(rows)+omit)
	if omit > 0 {
		data.More = fmt.Sprintf(d.nw("more"), omit)
	}
	data.Cols = []string{
		d.w("col.resource"),
		d.w("col.expires"),
		d.nw("col.new"),
		d.w("col.owner"),
		d.nw("col.amount"),
		d.nw("col.note"),
	}
	for _, r := range rows {
		hr := row{
			Name:   tagValue(r.Name),
			ID:     oneLine(r.ID),
			Owner:  tagValue(d.owner(Item{Owner: r.Owner})),
			Amount: r.Amount,
		}
		if !r.Expire.IsZero() {
			hr.Expires = d.at(r.Expire)
		}
		if !r.NewExpire.IsZero() {
			hr.NewExpiry = d.at(r.NewExpire)
		}
		if r.Failure != "" {
			hr.Failure = fmt.Sprintf(d.nw("failed"), tagValue(r.Failure))
		}
		data.Rows = append(data.Rows, hr)
	}
	var b bytes.Buffer
	_ = htmlNotice.Execute(&b, data) // the template and its data cannot fail
	return b.String()
}

// fitRenewal lists as many of a notice's resources as one message of the
// channel's platform takes (and MaxItems), the rest said as "… and N
// more": a notice is one message on every channel. Webhooks and e-mail
// take it whole.
func (ch *Channel) fitRenewal(d Digest) Digest {
	fits := ch.fits()
	if d.Renewal == nil || fits == nil {
		return d
	}
	n := len(d.Renewal.AllResourceIDs()) // one row each
	with := func(k int) Digest {
		r := *d.Renewal
		r.omit = n - k
		out := d
		out.Renewal = &r
		return out
	}
	most := n
	if ch.MaxItems > 0 {
		most = min(n, ch.MaxItems)
	}
	// The first count that does not fit; a message only grows with them.
	k := sort.Search(most+1, func(k int) bool { return !fits(with(k)) }) - 1
	return with(max(k, 0))
}
