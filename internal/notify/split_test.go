package notify

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// randomDigest makes n resources with names of every length the inventory
// keeps (up to 512 characters), CJK and markdown among them.
func randomDigest(rng *rand.Rand, n int, lang string) Digest {
	asOf := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	d := Digest{Account: "acc", Route: "ops", Threshold: 7, Language: lang, AsOf: asOf}
	pieces := []string{"web", "数据库", "*bold*", "_x_", "[link](http://x)", "`code`", "<b>", "#h", " ", "\n"}
	for i := range n {
		var name strings.Builder
		for l := rng.IntN(40); l > 0 && len([]rune(name.String())) < 500; l-- {
			name.WriteString(pieces[rng.IntN(len(pieces))])
		}
		if rng.IntN(10) == 0 { // an over-long name, as long as the inventory keeps
			name.WriteString(strings.Repeat("名", 512-len([]rune(name.String()))))
		}
		policy := rng.IntN(6)
		d.Items = append(d.Items, Item{ResourceID: fmt.Sprintf("res-%05d-%x", i, rng.Uint32()), Name: name.String(), Service: "hws.service.type.ec2",
			Region: "cn-north-4", Owner: strings.Repeat("负责人", rng.IntN(30)), ExpireTime: asOf.Add(time.Duration(rng.IntN(7*24)) * time.Hour),
			DaysLeft: rng.IntN(8), ExpirePolicy: &policy})
	}
	return d
}

// messageOf renders a part as the channel sends it, and says whether the
// platform's documented limit takes it.
func messageOf(t *testing.T, ch *Channel, d Digest) (string, bool) {
	switch ch.Type {
	case TypeDingTalk:
		s := d.Markdown()
		return s, len(s) <= 20000
	case TypeWeCom:
		s := d.Markdown()
		return s, len(s) <= 4096
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
		body, err := json.Marshal(blocks)
		require.NoError(t, err)
		return string(body), ok
	}
	return d.Text(), true
}

// Invariant: a digest split for a channel names every resource in exactly
// one message, in order, each message within the platform's documented
// limit and MaxItems: nothing is left out of what is claimed as sent.
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
		assert.LessOrEqual(t, len(p.Markdown()), 4096)
	}
}
