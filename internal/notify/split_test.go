package notify

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// randomDigest makes n resources with names of every length the inventory
// keeps (up to 512 characters), CJK, markdown and mention markup among
// them, of 30 owners, two thirds of them mapped to chat ids (people).
func randomDigest(rng *rand.Rand, n int, lang string) Digest {
	asOf := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	d := Digest{Account: "acc", Route: "ops", Threshold: 7, Language: lang, AsOf: asOf, People: map[string]*Person{}}
	for k := 1; k < 30; k++ {
		switch k % 3 {
		case 1:
			d.People[strings.Repeat("负责人", k)] = &Person{DingTalkUserID: fmt.Sprintf("user-%02d", k), FeishuOpenID: fmt.Sprintf("ou_%032d", k),
				WeComUserID: fmt.Sprintf("wc.%02d", k), SlackMemberID: fmt.Sprintf("U%08d", k)}
		case 2:
			d.People[strings.Repeat("负责人", k)] = &Person{DingTalkMobile: fmt.Sprintf("+86-138000000%02d", k), SlackMemberID: fmt.Sprintf("W%08d", k)}
		}
	}
	pieces := []string{"web", "数据库", "*bold*", "_x_", "[link](http://x)", "`code`", "<b>", "#h", " ", "\n", "@all", "<@U999>", `<at user_id="all">`}
	for i := range n {
		var name strings.Builder
		for l := rng.IntN(40); l > 0 && len([]rune(name.String())) < 500; l-- {
			name.WriteString(pieces[rng.IntN(len(pieces))])
		}
		if rng.IntN(10) == 0 { // an over-long name, as long as the inventory keeps
			name.WriteString(strings.Repeat("名", 512-len([]rune(name.String()))))
		}
		policy := rng.IntN(6)
		it := Item{ResourceID: fmt.Sprintf("res-%05d-%x", i, rng.Uint32()), Name: name.String(), Service: "hws.service.type.ec2",
			Region: "cn-north-4", Owner: strings.Repeat("负责人", rng.IntN(30)), ExpireTime: asOf.Add(time.Duration(rng.IntN(7*24)) * time.Hour),
			DaysLeft: rng.IntN(8), ExpirePolicy: &policy}
		// Its renewal: an open request (ids up to their column's 128
		// characters), or the command naming an account of up to 64.
		switch rng.IntN(3) {
		case 0:
			it.RenewalRequestID = "renew-" + strings.Repeat("账", rng.IntN(60)) + fmt.Sprintf("-%010x-20261201", rng.Uint64()>>24)
			it.RenewalKind = []string{"renew", "autorenew-on", "autorenew-off", "to-on-demand"}[rng.IntN(4)]
			it.RenewalState = []string{"pending", "approved", "ordered", "paid"}[rng.IntN(4)]
		case 1:
			it.RenewCommand = RenewCommand(it.ResourceID, strings.Repeat("账号`*_<", rng.IntN(9)))
		}
		d.Items = append(d.Items, it)
	}
	return d
}

// messageOf renders a part as the channel sends it, mentions included,
// and says whether the platform's documented limit takes it.
func messageOf(t *testing.T, ch *Channel, d Digest) (string, bool) {
	switch ch.Type {
	case TypeDingTalk:
		var m struct{ Markdown struct{ Text string } }
		b := dingTalkBody(d)
		require.NoError(t, json.Unmarshal(b, &m))
		return string(b), len(m.Markdown.Text) <= 20000
	case TypeWeCom:
		var m struct{ Markdown struct{ Content string } }
		b := weComBody(d)
		require.NoError(t, json.Unmarshal(b, &m))
		return string(b), len(m.Markdown.Content) <= 4096
	case TypeFeishu:
		b := feishuBody(d, time.Now().Unix(), FeishuSign("secret", time.Now().Unix()))
		return string(b), len(b) <= 20<<10
	case TypeSlack:
		blocks := slackBlocks(d)
		ok := len(blocks) <= 50
		for _, b := range blocks {
			text := b["text"].(map[string]any)["text"].(string)
			ok = ok && len([]rune(text)) <= 3000
		}
		body, err := json.Marshal(map[string]any{"text": d.Title(), "blocks": blocks})
		require.NoError(t, err)
		return string(body), ok
	}
	return d.Text(), true
}

// mentionsDue are the ids a part must mention: its mapped owners', once
// each, in order.
func mentionsDue(typ string, d Digest) []string {
	var out []string
	for _, it := range d.Items {
		p := d.People[it.Owner]
		if p == nil {
			continue
		}
		id := map[string]string{TypeDingTalk: cmp.Or(p.DingTalkUserID, p.DingTalkMobile), TypeFeishu: p.FeishuOpenID,
			TypeWeCom: p.WeComUserID, TypeSlack: p.SlackMemberID}[typ]
		if id != "" && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// Invariant: a digest split for a channel names every resource in exactly
// one message, in order, each message within the platform's documented
// limit (its mentions included) and MaxItems: nothing is left out of what
// is claimed as sent; each message mentions the owners of its resources,
// no one else.
func TestPartsNameEveryResourceOnceWithinTheLimits(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	for round := range 60 {
		typ := []string{TypeDingTalk, TypeWeCom, TypeFeishu, TypeSlack, TypeWebhook, TypeEmail}[round%6]
		ch := &Channel{Name: "c", Type: typ, MaxItems: []int{1, 7, 50, 500}[rng.IntN(4)]}
		d := randomDigest(rng, rng.IntN(700), []string{"en", "zh"}[rng.IntN(2)])
		parts := ch.Parts(d)
		var seen []string
		for i, p := range parts {
			assert.Equal(t, i+1, p.Part)
			assert.Equal(t, len(parts), p.Parts)
			if ch.fits() != nil {
				assert.LessOrEqual(t, len(p.Items), ch.MaxItems, "%s part %d", typ, p.Part)
			}
			msg, ok := messageOf(t, ch, p)
			assert.True(t, ok, "%s part %d of %d (%d resources) is over the platform's limit", typ, p.Part, p.Parts, len(p.Items))
			for _, it := range p.Items {
				assert.Contains(t, msg, it.ResourceID, "%s part %d names its resource", typ, p.Part)
				seen = append(seen, it.ResourceID)
			}
			if ch.fits() != nil {
				ids, _ := mentionsOf(t, typ, []byte(msg))
				assert.Equal(t, mentionsDue(typ, p), ids, "%s part %d mentions its owners", typ, p.Part)
			}
			if len(parts) > 1 {
				assert.Contains(t, p.Title(), fmt.Sprintf("%d/%d", p.Part, p.Parts))
			}
		}
		var want []string
		for _, it := range d.Items {
			want = append(want, it.ResourceID)
		}
		assert.Equal(t, want, seen, "%s: every resource once, in order", typ)
	}
}

// The default 50 on WeCom: 520 resources take as many messages as 4,096
// bytes need, never fewer than 11.
func TestWeComSplitsAtItsDocumentedSize(t *testing.T) {
	ch := &Channel{Name: "w", Type: TypeWeCom, URL: "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k"}
	require.NoError(t, ch.check())
	d := randomDigest(rand.New(rand.NewPCG(1, 2)), 520, "zh")
	parts := ch.Parts(d)
	assert.GreaterOrEqual(t, len(parts), 11)
	for _, p := range parts {
		assert.LessOrEqual(t, len(p.markdownFor(TypeWeCom)), 4096)
	}
}
