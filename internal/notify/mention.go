package notify

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode"
)

// Person is how the chat platforms know one owner: the routes file's
// people map owner tag values to them, and a message mentions the owners
// of the resources it names on each platform they have an id on. An owner
// people does not map is shown by its tag value, never mentioned.
type Person struct {
	// DingTalkUserID or, when it is not set, DingTalkMobile: DingTalk
	// mentions by userId or by the mobile number bound to the account.
	DingTalkUserID string `yaml:"dingtalk_user_id"`
	DingTalkMobile string `yaml:"dingtalk_mobile"`
	// FeishuOpenID: the ou_… open_id (custom bots mention by open_id).
	FeishuOpenID string `yaml:"feishu_open_id"`
	// WeComUserID: the member's 账号 (userid) in the WeCom admin console.
	WeComUserID string `yaml:"wecom_userid"`
	// SlackMemberID: the U…/W… member id (profile, "Copy member ID").
	SlackMemberID string `yaml:"slack_member_id"`
}

// idRules are the ids each platform documents; anything else (spaces, <,
// >, newlines, "all") is refused when the file is read, so that an id can
// never carry markup into a message or mention everyone.
var idRules = []struct {
	field, what string
	re          *regexp.Regexp
	get         func(*Person) string
}{
	{"dingtalk_user_id", "a DingTalk userId (letters, digits and _ . -, at most 64)",
		regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`), func(p *Person) string { return p.DingTalkUserID }},
	{"dingtalk_mobile", "a mobile number (digits, an optional leading + and -, e.g. 13800000000 or +86-13800000000)",
		regexp.MustCompile(`^\+?[0-9][0-9-]{4,19}$`), func(p *Person) string { return p.DingTalkMobile }},
	{"feishu_open_id", "a Feishu open_id (ou_ then letters and digits, e.g. ou_7d8a6e6df7621556ce0d21922b676706)",
		regexp.MustCompile(`^ou_[A-Za-z0-9]{1,64}$`), func(p *Person) string { return p.FeishuOpenID }},
	// WeCom: "只能由数字、字母和“_-@.”四种字符组成，且第一个字符必须是数字或字母",
	// 1..64 bytes (通讯录管理, 创建成员: userid).
	{"wecom_userid", "a WeCom userid (letters, digits and _ - @ ., starting with a letter or digit, at most 64)",
		regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_@.-]{0,63}$`), func(p *Person) string { return p.WeComUserID }},
	{"slack_member_id", "a Slack member id (U or W, then capital letters and digits, e.g. U012AB3CD)",
		regexp.MustCompile(`^[UW][A-Z0-9]{2,20}$`), func(p *Person) string { return p.SlackMemberID }},
}

// checkPeople refuses an owner without ids and an id its platform does not
// document; errors name the owner, the field and the value.
func (c *Config) checkPeople() error {
	owners := make([]string, 0, len(c.People))
	for o := range c.People {
		owners = append(owners, o)
	}
	slices.Sort(owners)
	var fields []string
	for _, r := range idRules {
		fields = append(fields, r.field)
	}
	for _, o := range owners {
		p := c.People[o]
		if strings.TrimSpace(o) == "" {
			return fmt.Errorf("people[%q]: an owner tag value cannot be empty", o)
		}
		if p == nil || *p == (Person{}) {
			return fmt.Errorf("people[%q] has no id: give at least one of %s", o, strings.Join(fields, ", "))
		}
		for _, r := range idRules {
			if v := r.get(p); v != "" && (!r.re.MatchString(v) || strings.EqualFold(v, "all")) {
				return fmt.Errorf("people[%q].%s %q is not allowed: use %s", o, r.field, v, r.what)
			}
		}
	}
	return nil
}

// mentioned lists the ids (id picks the platform's) of the people owning
// d's resources, each once, in the order of the resources: a message
// mentions the owners of the resources it names, and no one else.
func (d Digest) mentioned(id func(*Person) string) []string {
	var out []string
	for _, owner := range d.owners() {
		p := d.People[owner]
		if owner == "" || p == nil {
			continue
		}
		if v := id(p); v != "" && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// owners are the owners of the resources a message names, in order (a
// renewal notice: of its route's resources it lists).
func (d Digest) owners() []string {
	if d.Renewal != nil {
		return d.Renewal.routeOwners()
	}
	out := make([]string, len(d.Items))
	for i, it := range d.Items {
		out[i] = it.Owner
	}
	return out
}

// dingTalkID is who DingTalk mentions: by userId, or by mobile for people
// without one.
func dingTalkID(p *Person) string {
	if p.DingTalkUserID != "" {
		return p.DingTalkUserID
	}
	return p.DingTalkMobile
}

// dingTalkAt sorts the ids a DingTalk message mentions (mentioned with
// dingTalkID) into userIds and mobiles.
func (d Digest) dingTalkAt() (userIDs, mobiles []string) {
	seen := map[string]bool{}
	for _, owner := range d.owners() {
		p := d.People[owner]
		if owner == "" || p == nil || dingTalkID(p) == "" || seen[dingTalkID(p)] {
			continue
		}
		seen[dingTalkID(p)] = true
		if p.DingTalkUserID != "" {
			userIDs = append(userIDs, p.DingTalkUserID)
		} else {
			mobiles = append(mobiles, p.DingTalkMobile)
		}
	}
	return userIDs, mobiles
}

// mentionTokens are the mentions of a markdown message on a platform, as
// the platform writes them in the text.
func (d Digest) mentionTokens(typ string) []string {
	if m := channelTypeMust(typ).mentions; m != nil {
		return m(d)
	}
	return nil
}

// dingTalkMentions: DingTalk custom robot, "自定义机器人发送群消息" / "Custom
// robot access" (https://open.dingtalk.com/document/robots/custom-robot-access
// and https://open.dingtalk.com/document/orgapp/custom-bot-send-message-type):
// a markdown text mentions by "@<userId>" or "@<mobile>" in text, and the
// same ids in at.atUserIds / at.atMobiles (dingTalkBody).
func (d Digest) dingTalkMentions() []string { return d.mentionsAs(dingTalkID, "@%s") }

// weComMentions: WeCom group robot, "群机器人配置说明"
// (https://developer.work.weixin.qq.com/document/path/91770): markdown
// content mentions a member by "<@userid>" (mentioned_list is for the text
// msgtype only; markdown has no mention of everyone).
func (d Digest) weComMentions() []string {
	return d.mentionsAs(func(p *Person) string { return p.WeComUserID }, "<@%s>")
}

// slackMentions: Slack, "Formatting text for app surfaces", mentioning
// users (https://api.slack.com/reference/surfaces/formatting#mentioning-users):
// "<@U0123ABC>" in mrkdwn text.
func (d Digest) slackMentions() []string {
	return d.mentionsAs(func(p *Person) string { return p.SlackMemberID }, "<@%s>")
}

// mentionsAs writes each mentioned person's id as format says.
func (d Digest) mentionsAs(id func(*Person) string, format string) []string {
	var out []string
	for _, v := range d.mentioned(id) {
		out = append(out, fmt.Sprintf(format, v))
	}
	return out
}

// feishuAt are the elements that mention the owners in a Feishu post:
// 自定义机器人使用指南 (https://open.feishu.cn/document/ukTMukTMukTM/ucTM5YjL3ETO24yNxkjN),
// rich text (post) "@指定人": {"tag":"at","user_id":"ou_xxx"} with the
// open_id (user_id "all" would mention everyone: ids are checked never to
// be "all").
func (d Digest) feishuAt() []map[string]string {
	var out []map[string]string
	for _, id := range d.mentioned(func(p *Person) string { return p.FeishuOpenID }) {
		out = append(out, map[string]string{"tag": "at", "user_id": id})
	}
	return out
}

// mentionLines lays tokens out after the label in lines of at most max
// characters (Slack's sections are limited).
func mentionLines(label string, tokens []string, max int) []string {
	var lines []string
	line := label
	for _, t := range tokens {
		if line != label && len([]rune(line))+1+len([]rune(t)) > max {
			lines = append(lines, line)
			line = label
		}
		line += " " + t
	}
	if line != label {
		lines = append(lines, line)
	}
	return lines
}

// localize gives d what the channel's routes file says of it: the route's
// time zone and the people to mention. A channel not read from a routes
// file (tests) leaves d as it is.
func (ch *Channel) localize(d Digest) Digest {
	if ch.cfg == nil {
		return d
	}
	if r := ch.cfg.Route(d.Route); r != nil {
		d.Zone = r.loc
	}
	d.People = ch.cfg.People
	return d
}

// Safe rendering of what anyone with tag rights writes (owner tag values,
// resource names): folded to one line, links and mentions defused, then
// escaped for the output's format (mdTag, slackEscape, feishuText,
// html/template).

var wwwPrefix = regexp.MustCompile(`(?i)\b(www)\.`)

// tagValue folds s to one line (newlines and tabs to spaces, runs
// collapsed, trimmed), breaks what platforms auto-link ("http://" becomes
// "http[:]//", "www." "www[.]") and turns an "@" that starts a word into a
// full-width "＠", so that "@all" or "@here" is never read as a mention;
// an "@" inside a word (an e-mail address) is kept.
func tagValue(s string) string {
	s = strings.ReplaceAll(oneLine(s), "://", "[:]//")
	s = wwwPrefix.ReplaceAllString(s, "${1}[.]")
	var b strings.Builder
	prev := ' '
	for _, r := range s {
		if r == '@' && !unicode.IsLetter(prev) && !unicode.IsDigit(prev) {
			b.WriteRune('＠')
		} else {
			b.WriteRune(r)
		}
		prev = r
	}
	return b.String()
}

var mdTagReplacer = strings.NewReplacer("(", `\(`, ")", `\)`)

// mdTag is a tag value in DingTalk and WeCom markdown: mdEscape, and
// parentheses escaped too.
func mdTag(s string) string { return mdTagReplacer.Replace(mdEscape(tagValue(s))) }

var mdCodeReplacer = strings.NewReplacer("`", "'", "<", "＜", ">", "＞")

// mdCode is a value inside a markdown code span (`…`): backslashes are
// literal there, so the only characters to keep out are the backtick that
// would end it and the angle brackets of markup.
func mdCode(s string) string { return mdCodeReplacer.Replace(oneLine(s)) }

// slackCode is a value inside a Slack mrkdwn code span: &, < and > are
// escaped everywhere in mrkdwn, a backtick would end the span.
func slackCode(s string) string { return slackEscape(strings.ReplaceAll(oneLine(s), "`", "'")) }

var feishuReplacer = strings.NewReplacer("<", "＜", ">", "＞")

// feishuText is a value in a Feishu post's text element. The element is
// plain text (no markdown, no markup); "<at user_id=…>" is markup in
// Feishu's text messages, so angle brackets are made full-width anyway:
// a value never carries a mention whatever the message type.
func feishuText(s string) string { return feishuReplacer.Replace(s) }
