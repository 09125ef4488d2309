package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// robotServer answers every chat robot with success and keeps the last
// body posted to each path.
type robotServer struct {
	*httptest.Server
	mu     sync.Mutex
	bodies map[string][]byte
}

func newRobotServer(t *testing.T) *robotServer {
	s := &robotServer{bodies: map[string][]byte{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.bodies[r.URL.Path] = b
		s.mu.Unlock()
		_, _ = w.Write([]byte(`{"errcode":0,"code":0,"errmsg":"ok"}`))
	}))
	t.Cleanup(s.Close)
	return s
}

// routesWithPeople: alice has an id on every platform, bob on DingTalk (by
// mobile) and Slack only, carol none.
const routesWithPeople = `
default_route: ops
time_zone: Asia/Shanghai
people:
  alice: {dingtalk_user_id: ding-alice, dingtalk_mobile: "13800000001", feishu_open_id: ou_alice0001, wecom_userid: wc.alice, slack_member_id: UALICE001}
  bob: {dingtalk_mobile: "13800000002", slack_member_id: UBOB00002}
channels:
  ding: {type: dingtalk, url: "%[1]s/ding", secret: "env:T_SECRET"}
  feishu: {type: feishu, url: "%[1]s/feishu", secret: "env:T_SECRET"}
  wecom: {type: wecom, url: "%[1]s/wecom"}
  slack: {type: slack, url: "%[1]s/slack"}
routes:
  - {name: ops, channels: [ding, feishu, wecom, slack]}
  - {name: utc, owners: [zed], time_zone: UTC, channels: [wecom]}
`

// wantIDs is who a message naming resources of these owners must mention
// on a platform, written out by hand from routesWithPeople.
var wantIDs = map[string]map[string]string{
	TypeDingTalk: {"alice": "ding-alice", "bob": "13800000002"},
	TypeFeishu:   {"alice": "ou_alice0001"},
	TypeWeCom:    {"alice": "wc.alice"},
	TypeSlack:    {"alice": "UALICE001", "bob": "UBOB00002"},
}

func peopleConfig(t *testing.T, srv *robotServer) *Config {
	t.Setenv("T_SECRET", "s3cr3t")
	c, err := Parse(fmt.Appendf(nil, routesWithPeople, srv.URL))
	require.NoError(t, err)
	return c
}

// sent sends d on the channel and returns the request body.
func sent(t *testing.T, srv *robotServer, ch *Channel, d Digest) []byte {
	require.NoError(t, ch.Send(context.Background(), Message{ID: "m", Digest: d}))
	srv.mu.Lock()
	defer srv.mu.Unlock()
	return srv.bodies["/"+ch.Name]
}

var (
	textMention  = regexp.MustCompile(`(?:^|\s)@([^\s]+)`) // DingTalk: "@id" in text
	angleMention = regexp.MustCompile(`<([@!#][^>]*)>`)    // WeCom, Slack: <@id>, Slack <!here>
)

// mentionsOf decodes a robot's request body: the ids it mentions, as the
// platform reads them, and all its visible text.
func mentionsOf(t *testing.T, typ string, body []byte) (ids []string, text string) {
	t.Helper()
	switch typ {
	case TypeDingTalk:
		var m struct {
			Markdown struct{ Text string }
			At       *struct {
				AtUserIds, AtMobiles []string
				IsAtAll              bool
			}
		}
		require.NoError(t, json.Unmarshal(body, &m))
		var inText []string
		for _, g := range textMention.FindAllStringSubmatch(m.Markdown.Text, -1) {
			inText = append(inText, g[1])
		}
		if m.At == nil {
			assert.Empty(t, inText, "no at: nobody named in text")
			return nil, m.Markdown.Text
		}
		assert.False(t, m.At.IsAtAll)
		at := append(slices.Clone(m.At.AtUserIds), m.At.AtMobiles...)
		assert.ElementsMatch(t, at, inText, "DingTalk: the text names exactly who at lists")
		return inText, m.Markdown.Text
	case TypeWeCom:
		var m struct{ Markdown struct{ Content string } }
		require.NoError(t, json.Unmarshal(body, &m))
		for _, g := range angleMention.FindAllStringSubmatch(m.Markdown.Content, -1) {
			require.True(t, strings.HasPrefix(g[1], "@"), "WeCom: %s", g[0])
			ids = append(ids, g[1][1:])
		}
		return ids, m.Markdown.Content
	case TypeFeishu:
		var m struct {
			MsgType string `json:"msg_type"`
			Content struct {
				Post map[string]struct {
					Title   string
					Content [][]map[string]string
				}
			}
		}
		require.NoError(t, json.Unmarshal(body, &m))
		require.Equal(t, "post", m.MsgType)
		for _, p := range m.Content.Post {
			text += p.Title + "\n"
			for _, para := range p.Content {
				for _, el := range para {
					switch el["tag"] {
					case "at":
						ids = append(ids, el["user_id"])
					case "text":
						text += el["text"]
					default:
						t.Fatalf("Feishu: unexpected element %v", el)
					}
				}
				text += "\n"
			}
		}
		return ids, text
	case TypeSlack:
		var m struct {
			Text   string
			Blocks []struct{ Text struct{ Text string } }
		}
		require.NoError(t, json.Unmarshal(body, &m))
		text = m.Text + "\n"
		for _, b := range m.Blocks {
			text += b.Text.Text + "\n"
		}
		for _, g := range angleMention.FindAllStringSubmatch(text, -1) {
			require.True(t, strings.HasPrefix(g[1], "@"), "Slack: %s is a special mention", g[0])
			ids = append(ids, g[1][1:])
		}
		return ids, text
	}
	t.Fatalf("no robot %s", typ)
	return nil, ""
}

// want lists the ids of the owners of items, each once, in order.
func want(typ string, items []Item) []string {
	var out []string
	for _, it := range items {
		if id, ok := wantIDs[typ][it.Owner]; ok && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

func item(id, owner string, expire time.Time) Item {
	p := 1
	return Item{ResourceID: id, Name: "vm-" + id, Service: "hws.service.type.ec2", Region: "cn-north-4", Owner: owner, ExpireTime: expire, DaysLeft: 3, ExpirePolicy: &p}
}

// Each platform's payload mentions the mapped owners of its resources, in
// the platform's documented form, and nobody else: carol (no mapping) is
// shown by her tag value only.
func TestEachRobotMentionsTheMappedOwners(t *testing.T) {
	srv := newRobotServer(t)
	c := peopleConfig(t, srv)
	asOf := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	d := Digest{Account: "acc", Route: "ops", Threshold: 7, Language: "en", AsOf: asOf, Items: []Item{
		item("r1", "alice", asOf.Add(72*time.Hour)), item("r2", "bob", asOf.Add(72*time.Hour)),
		item("r3", "carol", asOf.Add(72*time.Hour)), item("r4", "alice", asOf.Add(72*time.Hour)),
	}}
	for typ, expect := range map[string][]string{
		TypeDingTalk: {"ding-alice", "13800000002"},
		TypeFeishu:   {"ou_alice0001"},
		TypeWeCom:    {"wc.alice"},
		TypeSlack:    {"UALICE001", "UBOB00002"},
	} {
		t.Run(typ, func(t *testing.T) {
			body := sent(t, srv, c.Channels[map[string]string{TypeDingTalk: "ding", TypeFeishu: "feishu", TypeWeCom: "wecom", TypeSlack: "slack"}[typ]], d)
			ids, text := mentionsOf(t, typ, body)
			assert.Equal(t, expect, ids)
			assert.Contains(t, text, "carol", "an unmapped owner is shown by its tag value")
			if typ == TypeDingTalk {
				var m struct{ At map[string]any }
				require.NoError(t, json.Unmarshal(body, &m))
				assert.Equal(t, []any{"ding-alice"}, m.At["atUserIds"], "alice by userId (preferred to her mobile)")
				assert.Equal(t, []any{"13800000002"}, m.At["atMobiles"], "bob by mobile")
			}
		})
	}
	// Nobody mapped: no mention, and DingTalk has no at.
	d.Items = []Item{item("r3", "carol", asOf.Add(time.Hour))}
	body := sent(t, srv, c.Channels["ding"], d)
	assert.NotContains(t, string(body), `"at"`)
}

// A digest split into parts mentions, in each part, the owners of that
// part's resources only; the mentions count towards each part's size.
func TestEachPartMentionsItsOwnOwners(t *testing.T) {
	srv := newRobotServer(t)
	c := peopleConfig(t, srv)
	asOf := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	owners := []string{"alice", "alice", "carol", "bob", "carol", "carol", "bob", "alice", "carol"}
	d := Digest{Account: "acc", Route: "ops", Threshold: 7, Language: "zh", AsOf: asOf}
	for i, o := range owners {
		d.Items = append(d.Items, item(fmt.Sprintf("r%d", i), o, asOf.Add(time.Hour)))
	}
	for _, name := range []string{"ding", "feishu", "wecom", "slack"} {
		ch := c.Channels[name]
		ch.MaxItems = 2
		parts := ch.Parts(d)
		require.Len(t, parts, 5)
		var mentioned [][]string
		for _, p := range parts {
			ids, _ := mentionsOf(t, ch.Type, sent(t, srv, ch, p))
			assert.Equal(t, want(ch.Type, p.Items), ids, "%s part %d (%v)", name, p.Part, p.Items)
			mentioned = append(mentioned, ids)
		}
		if ch.Type == TypeSlack {
			assert.Equal(t, [][]string{{"UALICE001"}, {"UBOB00002"}, nil, {"UBOB00002", "UALICE001"}, nil}, mentioned)
		}
	}
}

// Whoever can set a tag must not be able to ping anyone: mention markup
// in owner tag values and names mentions nobody on any platform, links in
// them are not clickable, and a value stays on its line.
func TestTagValuesNeverMention(t *testing.T) {
	srv := newRobotServer(t)
	c := peopleConfig(t, srv)
	asOf := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	evil := []string{"<@U999>", "@all", `<at user_id="all"></at>`, "@here", "<!channel>", "<!here|here>", "<@ding-alice>"}
	d := Digest{Account: "acc", Route: "ops", Threshold: 7, Language: "en", AsOf: asOf}
	for i, o := range evil {
		it := item(fmt.Sprintf("r%d", i), o, asOf.Add(time.Hour))
		it.Name = o + " see http://evil.example/x and www.evil.example\n### heading\n- fake `code` *bold* [link](https://evil.example)"
		d.Items = append(d.Items, it)
	}
	d.Items = append(d.Items, item("legit", "alice", asOf.Add(time.Hour)))
	for _, name := range []string{"ding", "feishu", "wecom", "slack"} {
		ch := c.Channels[name]
		ids, text := mentionsOf(t, ch.Type, sent(t, srv, ch, d))
		assert.Equal(t, want(ch.Type, d.Items[len(d.Items)-1:]), ids, "%s: only alice, the mapped owner", name)
		for _, bad := range []string{"<@U999", "@all", "@here", "<at", "<!", "http://", "https://", "www.evil", "\n### heading", "\n- fake"} {
			assert.NotContains(t, text, bad, "%s", name)
		}
	}
	for _, bad := range []string{"http://", "https://", "www.evil", "\n### heading", "\n- fake"} {
		assert.NotContains(t, d.Text(), bad, "plain text (e-mail, webhook): links defused, one line")
		assert.NotContains(t, d.HTML(), bad)
	}
	for _, bad := range []string{"<at", "<@", "<!channel"} {
		assert.NotContains(t, d.HTML(), bad)
	}
	assert.Contains(t, d.HTML(), "&lt;at user_id=&#34;all&#34;&gt;", "HTML escapes markup")
	assert.Contains(t, d.Text(), "＠all see http[:]//evil.example/x and www[.]evil.example ### heading - fake", "folded to one line, defused")
}

// Escaping per platform: DingTalk/WeCom markdown, Slack mrkdwn, Feishu text.
func TestNamesAreEscapedPerPlatform(t *testing.T) {
	d := Digest{Route: "r", Language: "en", Items: []Item{{ResourceID: "id`<x>", Name: "a*b_c [d](e) #f <g> & h", Owner: "o_1"}}}
	md := d.markdownFor(TypeWeCom)
	assert.Contains(t, md, `**a\*b\_c \[d\]\(e\) \#f ＜g＞ & h**`)
	assert.Contains(t, md, "`id'＜x＞`")
	assert.Contains(t, md, `o\_1`)
	var slack strings.Builder
	for _, b := range slackBlocks(d) {
		slack.WriteString(b["text"].(map[string]any)["text"].(string))
	}
	assert.Contains(t, slack.String(), "*a*b_c [d](e) #f &lt;g&gt; &amp; h*")
	assert.Contains(t, slack.String(), "`id'&lt;x&gt;`")
	_, text := mentionsOf(t, TypeFeishu, feishuBody(d, 1, "s"))
	assert.Contains(t, text, "a*b_c [d](e) #f ＜g＞ & h (id`＜x＞)")
	assert.Contains(t, d.HTML(), "a*b_c [d](e) #f &lt;g&gt; &amp; h")
}

// Expire times are written in the route's zone, with its offset; the
// file's time_zone is the routes' default; quiet hours without a timezone
// are in the route's.
func TestTimesAreInTheRouteZone(t *testing.T) {
	srv := newRobotServer(t)
	c := peopleConfig(t, srv)
	asOf := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	expire := time.Date(2026, 12, 8, 8, 0, 0, 0, time.UTC)
	zh := Digest{Account: "acc", Route: "ops", Threshold: 7, Language: "zh", AsOf: asOf, Items: []Item{item("r1", "carol", expire)}}
	assert.Equal(t, "Asia/Shanghai", c.Route("ops").TimeZone, "the file's default")
	_, text := mentionsOf(t, TypeWeCom, sent(t, srv, c.Channels["wecom"], zh))
	assert.Contains(t, text, "2026-12-08 16:00 UTC+08:00")
	assert.Contains(t, text, "统计时间 2026-12-01 08:00 UTC+08:00")
	assert.NotContains(t, text, "08:00 UTC ")
	_, text = mentionsOf(t, TypeSlack, sent(t, srv, c.Channels["slack"], zh))
	assert.Contains(t, text, "2026-12-08 16:00 UTC+08:00")
	_, text = mentionsOf(t, TypeFeishu, sent(t, srv, c.Channels["feishu"], zh))
	assert.Contains(t, text, "2026-12-08 16:00 UTC+08:00")
	_, text = mentionsOf(t, TypeDingTalk, sent(t, srv, c.Channels["ding"], zh))
	assert.Contains(t, text, "2026-12-08 16:00 UTC+08:00")

	utc := zh
	utc.Route = "utc"
	_, text = mentionsOf(t, TypeWeCom, sent(t, srv, c.Channels["wecom"], utc))
	assert.Contains(t, text, "2026-12-08 08:00 UTC")
	assert.NotContains(t, text, "+08:00")

	zh.Zone = c.Route("ops").Location()
	assert.Contains(t, zh.Text(), "2026-12-08 16:00 UTC+08:00")
	assert.Contains(t, html.UnescapeString(zh.HTML()), "2026-12-08 16:00 UTC+08:00")
	zh.Zone = nil
	assert.Contains(t, zh.Text(), "2026-12-08 08:00 UTC", "no zone: UTC")

	c2, err := Parse([]byte(strings.Replace(minimal, "channels: [hook]}", "channels: [hook], time_zone: Asia/Shanghai, quiet_hours: {start: '22:00', end: '08:00'}}", 1) +
		"  - {name: b, channels: [hook], time_zone: Asia/Shanghai, quiet_hours: {start: '22:00', end: '08:00', timezone: Europe/Berlin}}\n"))
	require.NoError(t, err)
	q := c2.Route("ops").QuietHours
	assert.Equal(t, "Asia/Shanghai", q.TimeZone, "quiet hours take the route's zone")
	sh := c2.Route("ops").Location()
	assert.Equal(t, time.Date(2026, 12, 2, 8, 0, 0, 0, sh).UTC(), q.Until(time.Date(2026, 12, 1, 23, 30, 0, 0, sh)))
	assert.Equal(t, "Europe/Berlin", c2.Route("b").QuietHours.TimeZone, "their own timezone wins")
	assert.Equal(t, "UTC", c.Route("utc").Location().String())
}

func TestParseRefusesBadZonesAndIDs(t *testing.T) {
	person := func(p string) string { return minimal + "people:\n  alice: " + p + "\n" }
	for name, tc := range map[string]struct{ yaml, want string }{
		"file zone":       {minimal + "time_zone: Mars/Olympus\n", `time_zone "Mars/Olympus" is unknown: use an IANA name`},
		"route zone":      {strings.Replace(minimal, "channels: [hook]}", "channels: [hook], time_zone: Asia/Shanghia}", 1), `routes[0] (ops): time_zone "Asia/Shanghia" is unknown`},
		"host zone":       {minimal + "time_zone: Local\n", `time_zone "Local" is unknown`},
		"slack space":     {person(`{slack_member_id: "U12 34"}`), `people["alice"].slack_member_id "U12 34" is not allowed: use a Slack member id`},
		"slack special":   {person(`{slack_member_id: "!here"}`), `people["alice"].slack_member_id "!here" is not allowed`},
		"wecom angle":     {person(`{wecom_userid: "<@all>"}`), `people["alice"].wecom_userid "<@all>" is not allowed`},
		"wecom all":       {person(`{wecom_userid: "@all"}`), `people["alice"].wecom_userid "@all" is not allowed`},
		"ding newline":    {person(`{dingtalk_user_id: "a\nb"}`), `people["alice"].dingtalk_user_id "a\nb" is not allowed`},
		"ding all":        {person(`{dingtalk_user_id: "ALL"}`), `people["alice"].dingtalk_user_id "ALL" is not allowed`},
		"ding mobile":     {person(`{dingtalk_mobile: "138 0000 0000"}`), `people["alice"].dingtalk_mobile "138 0000 0000" is not allowed`},
		"feishu all":      {person(`{feishu_open_id: all}`), `people["alice"].feishu_open_id "all" is not allowed: use a Feishu open_id`},
		"feishu markup":   {person(`{feishu_open_id: "ou_1\"><at user_id=\"all"}`), `people["alice"].feishu_open_id`},
		"unknown id kind": {person(`{dingtalk_userid: x}`), "field dingtalk_userid not found"},
		"no id":           {person(`{}`), `people["alice"] has no id: give at least one of dingtalk_user_id`},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse([]byte(tc.yaml))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}
