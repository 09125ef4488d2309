package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"expiry-sync/internal/contract"
)

var noticeAt = time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)

const noticeID = "renew-prod-1a2b3c4d5e-20261201"

// orderedNotice is a renewal of two resources, ordered and unpaid, one
// of them (alice's, the route's) with its new expiry known.
func orderedNotice() *RenewalNotice {
	st := contract.RenewState{RequestID: noticeID, Account: "prod", Kind: contract.RenewKindRenew, State: contract.RenewOrdered,
		WaitsOn: contract.WaitsPayment, ResourceIDs: []string{"i-web", "i-db"}, Period: contract.Period{Unit: "y", Num: 1},
		Requester: "carol@laptop", Reason: "ops-1234",
		Resources: []contract.RenewResource{{ID: "i-web", Name: "web-1", ExpireTime: noticeAt.Add(72 * time.Hour)},
			{ID: "i-db", Name: "db-1", ExpireTime: noticeAt.Add(96 * time.Hour)}},
		Quote: &contract.RenewQuote{Currency: "CNY", Total: 820_000000, Official: 900_000000,
			Lines: []contract.QuoteLine{{ResourceID: "i-web", Amount: 410_000000}, {ResourceID: "i-db", Amount: 410_000000}}},
		Approvals: []contract.Approval{{Approver: "dave@desk", Comment: "budget ok", At: noticeAt, Total: 820_000000}},
		Orders:    []contract.OrderRef{{OrderID: "CS2612010800ABCDE", ResourceIDs: []string{"i-web", "i-db"}, Amount: 820_000000}},
		NewExpiry: map[string]time.Time{"i-db": noticeAt.AddDate(1, 0, 4)},
		Message:   "ordered, not paid: pay CS2612010800ABCDE in Huawei's console", CreatedAt: noticeAt, UpdatedAt: noticeAt}
	return &RenewalNotice{RenewState: st, Owners: map[string]string{"i-web": "bob", "i-db": "alice"}, RouteResources: []string{"i-db"}}
}

func noticeDigest(lang string, n *RenewalNotice) Digest {
	return Digest{Account: "prod", Route: "ops", Language: lang, AsOf: noticeAt, Renewal: n,
		People: map[string]*Person{"alice": {DingTalkUserID: "ding-alice", FeishuOpenID: "ou_alice0001", WeComUserID: "wc.alice", SlackMemberID: "UALICE001"},
			"bob": {DingTalkUserID: "ding-bob", SlackMemberID: "UBOB00002"}}}
}

// What every format of a notice says, by language: the request, its
// account, kind and period, state and message, who asked and approved,
// the total, the order and each resource with its new expiry when known.
var noticeSays = map[string][]string{
	"en": {noticeID, "prod", "renew, 1y", "ordered, awaiting payment", "pay CS2612010800ABCDE in Huawei", "carol@laptop", "ops-1234",
		"dave@desk", "budget ok", "820.00 CNY", "900.00", "CS2612010800ABCDE", "i-web", "web-1", "i-db", "db-1",
		"new expiry 2027-12-05 08:00 UTC", "expires 2026-12-04 08:00 UTC", "410.00"},
	"zh": {noticeID, "prod", "续费，1 年", "已下单，待支付", "pay CS2612010800ABCDE in Huawei", "carol@laptop", "ops-1234",
		"dave@desk", "budget ok", "820.00 CNY", "原价 900.00", "CS2612010800ABCDE", "i-web", "web-1", "i-db", "db-1",
		"新到期 2027-12-05 08:00 UTC", "到期 2026-12-04 08:00 UTC", "410.00"},
}

// receiver keeps each request's body and headers.
type receiver struct {
	*httptest.Server
	bodies  [][]byte
	headers []http.Header
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.bodies, r.headers = append(r.bodies, b), append(r.headers, req.Header.Clone())
		_, _ = w.Write([]byte(`{"errcode":0,"code":0,"errmsg":"ok"}`))
	}))
	t.Cleanup(r.Close)
	return r
}

// Every channel type renders the notice, in English and Chinese, as the
// channel sends it: the robots' payloads, the webhook's JSON (a "renewal"
// object with the state's fields) and the mail's parts. The owners of
// the route's resources are mentioned, no one else's.
func TestRenewalNoticeIsRenderedForEveryType(t *testing.T) {
	t.Setenv("T_NOTICE_SECRET", "whsec_"+"c2VjcmV0LXNlY3JldC1zZWNyZXQ=")
	for _, lang := range []string{"en", "zh"} {
		t.Run(lang, func(t *testing.T) {
			d := noticeDigest(lang, orderedNotice())
			says := func(format, msg string) {
				t.Helper()
				for _, s := range noticeSays[lang] {
					if strings.HasPrefix(format, "html") || strings.HasSuffix(format, "html") { // a table: times without their words
						if _, at, ok := strings.Cut(s, map[string]string{"en": "expiry ", "zh": "到期 "}[lang]); ok {
							s = at
						}
						s = strings.TrimPrefix(s, "expires ")
						s = strings.ReplaceAll(s, "'", "&#39;")
					}
					assert.Contains(t, msg, s, "%s %s", lang, format)
				}
				assert.NotContains(t, msg, map[string]string{"en": "more", "zh": "另有"}[lang], "%s %s: nothing left off", lang, format)
			}
			says("text", d.Text())
			says("html", d.HTML())
			assert.Contains(t, d.Title(), noticeID)

			for _, typ := range []string{TypeDingTalk, TypeWeCom, TypeFeishu, TypeSlack} {
				srv := newReceiver(t)
				ch := &Channel{Name: "c", Type: typ, URL: Ref(srv.URL + "/robot?access_token=tok"), Secret: "env:T_NOTICE_SECRET"}
				require.NoError(t, ch.check())
				require.NoError(t, ch.Send(context.Background(), Message{ID: "m-1", Digest: d}))
				require.Len(t, srv.bodies, 1)
				ids, text := mentionsOf(t, typ, srv.bodies[0])
				says(typ, text)
				assert.Equal(t, want(typ, []Item{{Owner: "alice"}}), ids, "%s: the owner of the route's resource, not bob", typ)
				if typ == TypeDingTalk || typ == TypeWeCom {
					assert.Contains(t, text, "`"+noticeID+"`", "ids in code spans")
				}
			}

			srv := newReceiver(t)
			hook := &Channel{Name: "hook", Type: TypeWebhook, URL: Ref(srv.URL + "/hook"), Secret: "env:T_NOTICE_SECRET"}
			require.NoError(t, hook.check())
			require.NoError(t, hook.Send(context.Background(), Message{ID: "renewal-x-1", Digest: d}))
			require.Len(t, srv.bodies, 1)
			assert.Equal(t, "renewal-x-1", srv.headers[0].Get("webhook-id"))
			var ev struct {
				Type string
				Data struct {
					Route     string
					Language  string
					Resources []any
					Renewal   map[string]any
					Title     string
					Text      string
				}
			}
			require.NoError(t, json.Unmarshal(srv.bodies[0], &ev))
			assert.Equal(t, "expiry.renewal", ev.Type)
			assert.Equal(t, lang, ev.Data.Language)
			assert.NotNil(t, ev.Data.Resources, "resources is an empty list, not null")
			assert.Empty(t, ev.Data.Resources)
			r := ev.Data.Renewal
			assert.Equal(t, noticeID, r["request_id"])
			assert.Equal(t, "ordered", r["state"])
			assert.Equal(t, "payment", r["waits_on"])
			assert.Equal(t, "prod", r["account"])
			assert.Equal(t, "carol@laptop", r["requester"])
			assert.Equal(t, "820.00", r["quote"].(map[string]any)["total"])
			assert.Equal(t, "CS2612010800ABCDE", r["orders"].([]any)[0].(map[string]any)["order_id"])
			assert.Equal(t, "2027-12-05T08:00:00Z", r["new_expiry"].(map[string]any)["i-db"])
			assert.Equal(t, map[string]any{"i-web": "bob", "i-db": "alice"}, r["owners"])
			assert.Equal(t, []any{"i-db"}, r["route_resources"])
			assert.NotContains(t, r, "omit")
			says("webhook text", ev.Data.Text)

			relay := startRelay(t, &testRelay{mode: "none"})
			c, err := Parse([]byte(mailRoutes(relay, ``)))
			require.NoError(t, err)
			md := d
			md.Route = "r"
			require.NoError(t, c.Channels["mail"].Send(context.Background(), Message{ID: "renewal-x-2", Digest: md}))
			_, mails := relay.seen()
			require.Len(t, mails, 1)
			subject, parts := mailParts(t, mails[0])
			assert.Contains(t, subject, noticeID)
			require.Len(t, parts, 2)
			says("mail text", parts["text/plain"])
			says("mail html", parts["text/html"])
		})
	}
}

// mailParts decodes a mail's subject and its parts by content type.
func mailParts(t *testing.T, raw []byte) (string, map[string]string) {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	require.NoError(t, err)
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	require.NoError(t, err)
	_, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	require.NoError(t, err)
	out := map[string]string{}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		typ, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		b, err := io.ReadAll(p)
		require.NoError(t, err)
		out[typ] = string(b)
	}
	return subject, out
}

// States read as the request ended; a dry run says nothing was ordered;
// an auto-renew request says its times.
func TestRenewalNoticeSaysHowTheRequestEnded(t *testing.T) {
	for _, c := range []struct {
		lang  string
		edit  func(*contract.RenewState)
		title string
	}{
		{"en", func(s *contract.RenewState) { s.State, s.WaitsOn, s.Closed = contract.RenewDone, "", true }, "renewal request " + noticeID + ": done"},
		{"zh", func(s *contract.RenewState) { s.State, s.WaitsOn, s.Closed = contract.RenewDone, "", true }, "【续费申请】" + noticeID + "：已完成"},
		{"en", func(s *contract.RenewState) { s.State, s.WaitsOn = contract.RenewRejected, "" }, ": rejected"},
		{"zh", func(s *contract.RenewState) { s.State, s.WaitsOn = contract.RenewRejected, "" }, "：已拒绝"},
		{"en", func(s *contract.RenewState) { s.State, s.WaitsOn = contract.RenewExpired, "" }, ": expired"},
		{"zh", func(s *contract.RenewState) { s.State, s.WaitsOn = contract.RenewExpired, "" }, "：已失效"},
		{"en", func(s *contract.RenewState) { s.State, s.WaitsOn = contract.RenewFailed, "" }, ": failed"},
		{"zh", func(s *contract.RenewState) { s.State, s.WaitsOn = contract.RenewFailed, "" }, "：失败"},
		{"en", func(s *contract.RenewState) { s.State, s.WaitsOn, s.DryRun = contract.RenewApproved, "", true }, ": approved (dry run: nothing ordered)"},
		{"zh", func(s *contract.RenewState) { s.State, s.WaitsOn, s.DryRun = contract.RenewApproved, "", true }, "：已批准（演练：未下单）"},
	} {
		n := orderedNotice()
		c.edit(&n.RenewState)
		d := noticeDigest(c.lang, n)
		assert.Contains(t, d.Title(), c.title)
		assert.Contains(t, d.Text(), c.title)
	}
	n := orderedNotice()
	n.Kind, n.Times, n.Period = contract.RenewKindAutoRenewOn, 2, contract.Period{Unit: "m", Num: 3}
	assert.Contains(t, noticeDigest("en", n).Text(), "Kind: autorenew-on, 3m, 2 time(s)")
	assert.Contains(t, noticeDigest("zh", n).Text(), "类型：开通自动续费，3 个月，2 次")
	n.Times = 0
	assert.Contains(t, noticeDigest("en", n).Text(), "until turned off")

	// A failed resource says Huawei's code.
	n = orderedNotice()
	n.Failures = []contract.ResourceFailure{{ResourceID: "i-web", Code: "CBC.30000052", Message: "resource frozen"}}
	assert.Contains(t, noticeDigest("en", n).Text(), "failed: CBC.30000052 resource frozen")
}

// What anyone may write (names, owners, the reason, a message quoting
// Huawei) neither formats a notice nor pings anyone.
func TestRenewalNoticeDefusesWhatPeopleWrote(t *testing.T) {
	n := orderedNotice()
	n.Reason = "@all see http://evil.example\n### heading"
	n.Resources[0].Name = "<@U999> *bold* [x](https://evil.example)"
	n.Owners["i-db"] = "<at user_id=\"all\"></at>"
	d := noticeDigest("en", n)
	md := d.markdownFor(TypeDingTalk)
	assert.Contains(t, md, `＠all see http\[:\]//evil.example \#\#\# heading`)
	assert.NotContains(t, md, "\n### heading")
	for _, s := range []string{slackText(t, d), md, string(feishuBody(d, 1, "s"))} {
		for _, bad := range []string{"<@U999", "http://", "https://", "<at"} {
			assert.NotContains(t, s, bad)
		}
	}
}

// longNotice is a request of n resources with names and owners of every
// length the inventory keeps, CJK and markup among them, every free text
// at its longest (each is bounded in a notice), and owners mapped to chat
// ids.
func longNotice(rng *rand.Rand, n int, lang string) Digest {
	d := randomDigest(rng, n, lang)
	long := func(r string, k int) string { return strings.Repeat(r, k) }
	st := contract.RenewState{RequestID: "renew-" + long("账", 64) + "-1a2b3c4d5e-20261201", Account: long("账", 64), Kind: contract.RenewKindRenew,
		State: contract.RenewFailed, Period: contract.Period{Unit: "y", Num: 3}, Requester: long("请", 300), Reason: long("因", 2000),
		Message: long("错", 5000), Quote: &contract.RenewQuote{Currency: "CNY", Total: 999999999_999999, Official: 999999999_999999 + 1},
		NewExpiry: map[string]time.Time{}, UpdatedAt: noticeAt}
	for range 7 {
		st.Approvals = append(st.Approvals, contract.Approval{Approver: long("审", 300), Comment: long("注", 1000)})
	}
	for i := range 15 {
		st.Orders = append(st.Orders, contract.OrderRef{OrderID: fmt.Sprintf("CS%030d", i)})
	}
	owners := map[string]string{}
	var route []string
	for i, it := range d.Items {
		st.ResourceIDs = append(st.ResourceIDs, it.ResourceID)
		st.Resources = append(st.Resources, contract.RenewResource{ID: it.ResourceID, Name: it.Name, Service: it.Service, Region: it.Region, ExpireTime: it.ExpireTime})
		st.Quote.Lines = append(st.Quote.Lines, contract.QuoteLine{ResourceID: it.ResourceID, Amount: 999999999_999999})
		st.Failures = append(st.Failures, contract.ResourceFailure{ResourceID: it.ResourceID, Code: "CBC.99999999", Message: long("败", 600)})
		if i%2 == 0 {
			st.NewExpiry[it.ResourceID] = it.ExpireTime.AddDate(3, 0, 0)
		}
		if it.Owner != "" {
			owners[it.ResourceID] = it.Owner
		}
		if i%3 != 0 {
			route = append(route, it.ResourceID)
		}
	}
	d.Items = nil
	d.Renewal = &RenewalNotice{RenewState: st, Owners: owners, RouteResources: route}
	return d
}

// A notice is one message on every channel: up to 100 resources (and
// more) it lists as many as the platform's documented size and the
// channel's max_items take, in order, the route's first, and says how
// many it leaves off; webhooks and e-mail list them all. Its head alone
// fits the smallest platform whatever people wrote.
func TestRenewalNoticeOf100ResourcesIsOneMessageWithinTheLimits(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 5))
	for round := range 48 {
		typ := []string{TypeDingTalk, TypeWeCom, TypeFeishu, TypeSlack, TypeWebhook, TypeEmail}[round%6]
		lang := []string{"en", "zh"}[round/6%2]
		size := []int{100, 1, 0, 250}[round/12]
		ch := &Channel{Name: "c", Type: typ, MaxItems: []int{50, 500, 7}[round%3]}
		d := longNotice(rng, size, lang)
		parts := ch.Parts(d)
		require.Len(t, parts, 1, "%s: one message", typ)
		p := parts[0]
		msg, ok := messageOf(t, ch, p)
		assert.True(t, ok, "%s %s (%d resources): over the platform's limit", typ, lang, size)
		assert.Contains(t, msg, p.Renewal.RequestID)
		rows, omit := p.Renewal.listed()
		assert.Equal(t, size, len(rows)+omit)
		more := map[string]string{"en": fmt.Sprintf("and %d more resource(s)", omit), "zh": fmt.Sprintf("另有 %d 个资源", omit)}[lang]
		if omit > 0 {
			assert.Contains(t, msg, more, "%s %s: says what it left off", typ, lang)
		} else {
			assert.NotContains(t, msg, map[string]string{"en": "more resource(s)", "zh": "个资源"}[lang])
		}
		if ch.fits() == nil {
			assert.Zero(t, omit, "%s takes it whole", typ)
		} else {
			assert.LessOrEqual(t, len(rows), ch.MaxItems)
		}
		others := false
		for _, r := range rows {
			assert.Contains(t, msg, r.ID, "%s lists %s", typ, r.ID)
			mine := slices.Contains(p.Renewal.RouteResources, r.ID)
			assert.False(t, mine && others, "%s: the route's resources come first", typ)
			others = others || !mine
		}
		if ch.fits() != nil {
			ids, _ := mentionsOf(t, typ, []byte(msg))
			assert.Equal(t, mentionsDue(typ, Digest{People: p.People, Items: ownerItems(p.Renewal.routeOwners())}), ids, "%s mentions the owners of the route's resources it lists", typ)
		}
	}
	// At least one resource would fit WeCom were its head long: the cut
	// keeps it within 4,096 bytes and still says how many.
	d := longNotice(rand.New(rand.NewPCG(1, 1)), 100, "zh")
	ch := &Channel{Name: "w", Type: TypeWeCom, MaxItems: 50}
	msg := ch.Parts(d)[0].markdownFor(TypeWeCom)
	assert.LessOrEqual(t, len(msg), weComMaxBytes)
	assert.Contains(t, msg, "个资源")
}

func ownerItems(owners []string) []Item {
	out := make([]Item, len(owners))
	for i, o := range owners {
		out[i] = Item{Owner: o}
	}
	return out
}

// Ordinary names: 100 resources fit DingTalk whole when max_items allows,
// and WeCom cuts them, saying how many more.
func TestRenewalNoticeOf100PlainResources(t *testing.T) {
	n := orderedNotice()
	n.ResourceIDs, n.Resources, n.RouteResources = nil, nil, nil
	for i := range 100 {
		id := fmt.Sprintf("0a1b2c3d-4e5f-4071-8293-%012d", i)
		n.ResourceIDs = append(n.ResourceIDs, id)
		n.Resources = append(n.Resources, contract.RenewResource{ID: id, Name: fmt.Sprintf("ecs-web-%03d", i), ExpireTime: noticeAt.Add(72 * time.Hour)})
	}
	d := noticeDigest("en", n)
	ding := &Channel{Name: "d", Type: TypeDingTalk, MaxItems: 500}
	rows, omit := ding.Parts(d)[0].Renewal.listed()
	assert.Len(t, rows, 100)
	assert.Zero(t, omit)
	ding.MaxItems = 50
	p := ding.Parts(d)[0]
	assert.Contains(t, p.markdownFor(TypeDingTalk), "… and 50 more resource(s)")
	wecom := &Channel{Name: "w", Type: TypeWeCom, MaxItems: 50}
	p = wecom.Parts(d)[0]
	rows, omit = p.Renewal.listed()
	assert.Positive(t, len(rows))
	assert.Equal(t, 100, len(rows)+omit)
	assert.Contains(t, p.markdownFor(TypeWeCom), fmt.Sprintf("… and %d more resource(s)", omit))
	assert.LessOrEqual(t, len(p.markdownFor(TypeWeCom)), weComMaxBytes)
	assert.Contains(t, d.Text(), "ecs-web-099", "e-mail and webhooks list them all")
}
