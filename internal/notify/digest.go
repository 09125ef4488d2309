package notify

import (
	"bytes"
	"cmp"
	"fmt"
	"html/template"
	"math"
	"strings"
	"time"

	"expiry-sync/internal/contract"
	"expiry-sync/internal/store"
)

// Item is one resource of a digest.
type Item struct {
	ResourceID   string    `json:"resource_id"`
	Name         string    `json:"resource_name"`
	Service      string    `json:"service_type_code"`
	ResourceType string    `json:"resource_type_code"`
	Region       string    `json:"region_code"`
	ProjectID    string    `json:"project_id"`
	Owner        string    `json:"owner,omitempty"`
	ExpireTime   time.Time `json:"expire_time"`
	DaysLeft     int       `json:"days_left"`     // negative once expired
	ExpirePolicy *int      `json:"expire_policy"` // nil: unknown
	// RenewalRequestID, RenewalKind and RenewalState: the open renewal
	// request naming the resource (issue 23), empty when none; then
	// RenewCommand is the command that requests its renewal.
	RenewalRequestID string `json:"renewal_request_id,omitempty" doc:"the open renewal request naming it; absent when none"`
	RenewalKind      string `json:"renewal_kind,omitempty" doc:"that request's kind: renew, autorenew-on, autorenew-off or to-on-demand"`
	RenewalState     string `json:"renewal_state,omitempty" doc:"that request's state: pending, approved, ordered or paid"`
	RenewCommand     string `json:"renew_command,omitempty" doc:"when it is in no open request: the command that requests its renewal for a year"`
	// Channels: the channels of its route that still owe it the reminder.
	Channels []string `json:"-"`
}

// NewItem describes a stored resource at asOf, with its open renewal
// request (r.Decision) or, when it has none, the command to request one.
func NewItem(r store.ExpiringResource, owner string, asOf time.Time) Item {
	it := Item{
		ResourceID: r.ResourceID, Name: r.ResourceName, Service: r.ServiceTypeCode, ResourceType: r.ResourceTypeCode,
		Region: r.RegionCode, ProjectID: r.ProjectID, Owner: owner, ExpireTime: r.ExpireTime.UTC(),
		DaysLeft: DaysLeft(r.ExpireTime, asOf), ExpirePolicy: r.ExpirePolicy,
	}
	if d := r.Decision; d != nil && d.Open() {
		it.RenewalRequestID, it.RenewalKind, it.RenewalState = d.RequestID, d.Kind, d.State
	} else {
		it.RenewCommand = RenewCommand(r.ResourceID, cmp.Or(r.AccountName, contract.DefaultAccount))
	}
	return it
}

// RenewPeriod is the period the reminders' renew command proposes.
const RenewPeriod = "1y"

// RenewCommand is the command that requests the renewal of a resource of
// an account (its name), for a year.
func RenewCommand(resourceID, account string) string {
	return "starter renew request --resource " + shellWord(resourceID) + " --period " + RenewPeriod +
		" --account " + shellWord(account)
}

// shellWord quotes s for a POSIX shell when it holds anything but the
// characters of ids and names.
func shellWord(s string) string {
	s = oneLine(s)
	if s != "" && !strings.ContainsFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
			strings.ContainsRune("-_.:/@=+,", r))
	}) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// DaysLeft counts whole days to expiry (0: within a day); once expired,
// minus the whole days since, at least 1.
func DaysLeft(expire, asOf time.Time) int {
	if d := expire.Sub(asOf); d < 0 {
		return -max(1, int(math.Floor(-d.Hours()/24)))
	}
	return int(math.Floor(expire.Sub(asOf).Hours() / 24))
}

// Digest is one message: a route's resources for one threshold.
type Digest struct {
	Account   string    `json:"account_id"`
	Route     string    `json:"route"`
	Threshold int       `json:"threshold_days"` // 0 = overdue
	Language  string    `json:"language"`
	AsOf      time.Time `json:"as_of"`
	Items     []Item    `json:"resources"`
	Test      bool      `json:"test,omitempty"`
	// Part of Parts: the digest's message on a channel whose limits split it.
	Part  int `json:"part,omitempty"`
	Parts int `json:"parts,omitempty"`
	// Zone: the route's time zone, times are written in it (nil: UTC);
	// People: who to mention (Config.People). Channel.Send and
	// Channel.Parts set them from the channel's routes file.
	Zone   *time.Location     `json:"-"`
	People map[string]*Person `json:"-"`
	// Renewal: the message tells of a renewal request instead (its Items
	// are empty); every format renders the notice (renewal_notice.go).
	Renewal *RenewalNotice `json:"renewal,omitempty"`
}

var words = map[string]map[string]string{
	"en": {
		"title.within":  "[expiry-sync] %d resource(s) of route %s expire within %d day(s)",
		"title.overdue": "[expiry-sync] %d resource(s) of route %s have expired and are not renewed",
		"title.test":    "[expiry-sync] test message for route %s",
		"intro":         "Account %s, as of %s. Renew them, or let them go on purpose.",
		"test":          "This is a test message from expiry-sync. Reminders of route %s will arrive here.",
		"part":          " (%d/%d)",
		"left.future":   "in %d day(s)",
		"left.today":    "today",
		"left.past":     "expired %d day(s) ago",
		"col.resource":  "Resource", "col.expires": "Expires", "col.left": "When", "col.owner": "Owner",
		"col.service": "Service", "col.region": "Region", "col.policy": "At expiry",
		"policy.0": "grace period", "policy.1": "to pay-per-use", "policy.2": "auto-delete",
		"policy.3": "auto-renew", "policy.4": "freeze", "policy.5": "delete",
		"policy.unknown": "unknown", "unowned": "(no owner tag)",
		"mentions":    "Owners:",
		"col.renewal": "Renewal", "renewal.request": "renewal request %s: %s", "renewal.command": "to renew: %s",
	},
	"zh": {
		"title.within":  "【到期提醒】路由 %[2]s：%[1]d 个资源将在 %[3]d 天内到期",
		"title.overdue": "【到期提醒】路由 %[2]s：%[1]d 个资源已过期且未续费",
		"title.test":    "【到期提醒】路由 %s 的测试消息",
		"intro":         "账号 %s，统计时间 %s。请及时续费，或确认不再需要。",
		"test":          "这是 expiry-sync 的测试消息。路由 %s 的到期提醒将发送到这里。",
		"part":          "（%d/%d）",
		"left.future":   "%d 天后到期",
		"left.today":    "今天到期",
		"left.past":     "已过期 %d 天",
		"col.resource":  "资源", "col.expires": "到期时间", "col.left": "剩余", "col.owner": "负责人",
		"col.service": "服务", "col.region": "区域", "col.policy": "到期后",
		"policy.0": "进入宽限期", "policy.1": "转按需", "policy.2": "自动删除",
		"policy.3": "自动续费", "policy.4": "冻结", "policy.5": "释放",
		"policy.unknown": "未知", "unowned": "（无负责人标签）",
		"mentions":    "负责人：",
		"col.renewal": "续费", "renewal.request": "续费申请 %s：%s", "renewal.command": "申请续费：%s",
		"state.pending": "待审批", "state.approved": "已批准", "state.ordered": "已下单，待支付", "state.paid": "已支付",
		"kind.autorenew-on": "开通自动续费", "kind.autorenew-off": "关闭自动续费", "kind.to-on-demand": "到期转按需",
	},
}

func (d Digest) w(key string) string {
	if s, ok := words[d.Language][key]; ok {
		return s
	}
	return words["en"][key]
}

// Title is the subject line: it counts the resources of this message, and
// numbers it when the digest takes several.
func (d Digest) Title() string {
	if d.Renewal != nil {
		return d.renewalTitle()
	}
	var t string
	switch {
	case d.Test:
		return fmt.Sprintf(d.w("title.test"), d.Route)
	case d.Threshold == Overdue:
		t = fmt.Sprintf(d.w("title.overdue"), len(d.Items), d.Route)
	default:
		t = fmt.Sprintf(d.w("title.within"), len(d.Items), d.Route, d.Threshold)
	}
	if d.Parts > 1 {
		t += fmt.Sprintf(d.w("part"), d.Part, d.Parts)
	}
	return t
}

func (d Digest) intro() string {
	if d.Test {
		return fmt.Sprintf(d.w("test"), d.Route)
	}
	return fmt.Sprintf(d.w("intro"), d.Account, d.at(d.AsOf))
}

// When says how far an item is from its expiry.
func (d Digest) When(it Item) string {
	switch {
	case it.DaysLeft > 0:
		return fmt.Sprintf(d.w("left.future"), it.DaysLeft)
	case it.DaysLeft == 0:
		return d.w("left.today")
	}
	return fmt.Sprintf(d.w("left.past"), -it.DaysLeft)
}

// renewalState is an open request's state (and its kind, unless a
// renewal), in the digest's language.
func (d Digest) renewalState(it Item) string {
	state := it.RenewalState
	if w, ok := words[d.Language]["state."+state]; ok {
		state = w
	}
	if it.RenewalKind != "" && it.RenewalKind != contract.RenewKindRenew {
		kind := it.RenewalKind
		if w, ok := words[d.Language]["kind."+kind]; ok {
			kind = w
		}
		state = kind + ", " + state
	}
	return state
}

// renewal says, in plain text, the item's open renewal request and its
// state, or the command to request one; "" when the item has neither.
// code formats an id or a command for the output (a code span).
func (d Digest) renewal(it Item, code func(string) string) string {
	switch {
	case it.RenewalRequestID != "":
		return fmt.Sprintf(d.w("renewal.request"), code(it.RenewalRequestID), d.renewalState(it))
	case it.RenewCommand != "":
		return fmt.Sprintf(d.w("renewal.command"), code(it.RenewCommand))
	}
	return ""
}

func (d Digest) owner(it Item) string {
	if it.Owner == "" {
		return d.w("unowned")
	}
	return it.Owner
}

func (d Digest) policy(p *int) string {
	if p == nil {
		return d.w("policy.unknown")
	}
	if s, ok := words[d.Language][fmt.Sprintf("policy.%d", *p)]; ok {
		return s
	}
	return fmt.Sprint(*p)
}

// at writes an instant in the digest's time zone, with its offset:
// "2026-12-08 16:00 UTC+08:00" (Asia/Shanghai), "2026-12-08 08:00 UTC".
func (d Digest) at(t time.Time) string {
	if d.Zone == nil || d.Zone == time.UTC {
		return t.UTC().Format("2006-01-02 15:04 UTC")
	}
	return t.In(d.Zone).Format("2006-01-02 15:04 UTC-07:00")
}

// Text is the plain-text digest (e-mail, webhook).
func (d Digest) Text() string {
	if d.Renewal != nil {
		return d.renewalText()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n%s\n\n", d.Title(), d.intro())
	for _, it := range d.Items {
		fmt.Fprintf(
			&b,
			"- %s (%s) %s, %s: %s · %s · %s · %s: %s\n",
			tagValue(it.Name),
			oneLine(it.ResourceID),
			d.at(it.ExpireTime),
			d.When(it),
			tagValue(d.owner(it)),
			it.Service,
			it.Region,
			d.w("col.policy"),
			d.policy(it.ExpirePolicy),
		)
		if r := d.renewal(it, oneLine); r != "" {
			fmt.Fprintf(&b, "  %s\n", r)
		}
	}
	return b.String()
}

// Markdown is the markdown message without mentions.
func (d Digest) Markdown() string { return d.markdownFor("") }

// markdownFor is the message for a markdown chat robot (typ: TypeDingTalk,
// TypeWeCom): every resource of the digest (Channel.Parts splits a digest
// into messages that fit), then the platform's mentions of their owners.
func (d Digest) markdownFor(typ string) string {
	if d.Renewal != nil {
		return d.renewalMarkdown(typ)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "### %s\n\n%s\n\n", mdEscape(d.Title()), mdEscape(d.intro()))
	for _, it := range d.Items {
		owner := mdEscape(d.w("unowned"))
		if it.Owner != "" {
			owner = mdTag(it.Owner)
		}
		fmt.Fprintf(
			&b,
			"- **%s** `%s` %s (%s) · %s · %s",
			mdTag(it.Name),
			mdCode(it.ResourceID),
			d.at(it.ExpireTime),
			d.When(it),
			owner,
			d.policy(it.ExpirePolicy),
		)
		if r := d.renewal(it, func(s string) string { return "`" + mdCode(s) + "`" }); r != "" {
			b.WriteString(" · " + r)
		}
		b.WriteString("\n")
	}
	if m := d.mentionTokens(typ); len(m) > 0 {
		fmt.Fprintf(&b, "\n%s %s\n", d.w("mentions"), strings.Join(m, " "))
	}
	return b.String()
}

var htmlDigest = template.Must(template.New("digest").Parse(`<!DOCTYPE html>
<html lang="{{.Lang}}"><head><meta charset="utf-8"><title>{{.Title}}</title></head>
<body style="font-family:-apple-system,'Segoe UI','PingFang SC','Microsoft YaHei','Noto Sans CJK SC',sans-serif;` +
	`color:#1f2328;margin:24px">
<h2 style="margin:0 0 8px;font-size:20px">{{.Title}}</h2>
<p style="margin:0 0 16px;color:#59636e">{{.Intro}}</p>
{{if .Rows}}<table style="border-collapse:collapse;font-size:14px">
<tr style="background:#f6f8fa">{{range .Cols}}` +
	`<th style="text-align:left;padding:6px 10px;border:1px solid #d1d9e0">{{.}}</th>{{end}}</tr>
{{range .Rows}}<tr>
<td style="padding:6px 10px;border:1px solid #d1d9e0"><b>{{.Name}}</b><br>` +
	`<code style="font-size:12px;color:#59636e">{{.ID}}</code></td>
<td style="padding:6px 10px;border:1px solid #d1d9e0;white-space:nowrap">{{.Expires}}</td>
<td style="padding:6px 10px;border:1px solid #d1d9e0;white-space:nowrap;color:{{.Color}}"><b>{{.When}}</b></td>
<td style="padding:6px 10px;border:1px solid #d1d9e0">{{.Owner}}</td>
<td style="padding:6px 10px;border:1px solid #d1d9e0">{{.Service}}<br>` +
	`<span style="color:#59636e">{{.Region}}</span></td>
<td style="padding:6px 10px;border:1px solid #d1d9e0">{{.Policy}}</td>
<td style="padding:6px 10px;border:1px solid #d1d9e0">{{if .Request}}` +
	`<code style="font-size:12px">{{.Request}}</code><br>{{.State}}` +
	`{{else if .Command}}<code style="font-size:12px">{{.Command}}</code>{{end}}</td>
</tr>{{end}}
</table>{{end}}
<p style="margin-top:16px;font-size:12px;color:#59636e">expiry-sync</p>
</body></html>
`))

// HTML is the e-mail's HTML part.
func (d Digest) HTML() string {
	if d.Renewal != nil {
		return d.renewalHTML()
	}
	type row struct{ Name, ID, Expires, When, Color, Owner, Service, Region, Policy, Request, State, Command string }
	data := struct {
		Lang, Title, Intro string
		Cols               []string
		Rows               []row
	}{Lang: d.Language, Title: d.Title(), Intro: d.intro()}
	for _, c := range []string{
		"col.resource", "col.expires", "col.left", "col.owner", "col.service", "col.policy", "col.renewal",
	} {
		data.Cols = append(data.Cols, d.w(c))
	}
	for _, it := range d.Items {
		color := "#9a6700"
		if it.DaysLeft < 1 {
			color = "#d1242f"
		}
		r := row{
			tagValue(it.Name),
			oneLine(it.ResourceID),
			d.at(it.ExpireTime),
			d.When(it),
			color,
			tagValue(d.owner(it)),
			it.Service,
			it.Region,
			d.policy(it.ExpirePolicy),
			"",
			"",
			"",
		}
		if it.RenewalRequestID != "" {
			r.Request, r.State = oneLine(it.RenewalRequestID), d.renewalState(it)
		} else if it.RenewCommand != "" {
			r.Command = oneLine(it.RenewCommand)
		}
		data.Rows = append(data.Rows, r)
	}
	var b bytes.Buffer
	_ = htmlDigest.Execute(&b, data) // the template and its data cannot fail
	return b.String()
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

var mdReplacer = strings.NewReplacer(`\`, `\\`, "*", `\*`, "_", `\_`, "`", "'", "[", `\[`, "]", `\]`,
	"<", "＜", ">", "＞", "#", `\#`)

// mdEscape keeps names and tag values from being read as markdown (DingTalk
// and WeCom): emphasis, links, headings, code and markup.
func mdEscape(s string) string { return mdReplacer.Replace(s) }
