package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// now is the signing clock; tests pin it.
var now = time.Now

// WebhookEvent is the JSON body of the generic webhook.
type WebhookEvent struct {
	Type      string    `json:"type"` // "expiry.reminder", "expiry.test" or "expiry.renewal"
	Timestamp time.Time `json:"timestamp"`
	Data      struct {
		Digest
		Title string `json:"title"`
		Text  string `json:"text"`
	} `json:"data"`
}

// sendWebhook posts the digest as JSON, signed the Standard Webhooks way
// (https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md,
// version 1.0.0): headers webhook-id (the delivery id, the same on every
// attempt, for the receiver to drop duplicates), webhook-timestamp (Unix
// seconds) and webhook-signature "v1,<base64 HMAC-SHA256 of
// id.timestamp.body>". A secret "whsec_<base64>" is used base64-decoded, as
// the spec says; any other secret as its bytes.
func (ch *Channel) sendWebhook(ctx context.Context, m Message) error {
	target, err := ch.resolveURL()
	if err != nil {
		return err
	}
	secret, err := ch.resolveSecret()
	if err != nil {
		return err
	}
	ev := WebhookEvent{Type: "expiry.reminder", Timestamp: now().UTC().Truncate(time.Second)}
	switch {
	case m.Digest.Test:
		ev.Type = "expiry.test"
	case m.Digest.Renewal != nil:
		ev.Type = "expiry.renewal"
		if m.Digest.Items == nil {
			m.Digest.Items = []Item{}
		}
	}
	ev.Data.Digest, ev.Data.Title, ev.Data.Text = m.Digest, m.Digest.Title(), m.Digest.Text()
	body, _ := json.Marshal(ev) // plain structs: cannot fail
	ts := strconv.FormatInt(now().Unix(), 10)
	h := http.Header{}
	h.Set("webhook-id", m.ID)
	h.Set("webhook-timestamp", ts)
	h.Set("webhook-signature", "v1,"+StandardWebhookSignature(secret, m.ID, ts, body))
	r, err := ch.post(ctx, target, body, h)
	if err != nil {
		return err
	}
	if r.status < 200 || r.status > 299 {
		return ch.statusError(r, "")
	}
	return nil
}

// StandardWebhookSignature is base64(HMAC-SHA256(key, id "." timestamp "."
// body)).
func StandardWebhookSignature(secret, id, timestamp string, body []byte) string {
	key := []byte(secret)
	if b64, ok := strings.CutPrefix(secret, "whsec_"); ok {
		if k, err := base64.StdEncoding.DecodeString(b64); err == nil {
			key = k
		}
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + timestamp + "."))
	mac.Write(body)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// sendSlack posts to a Slack incoming webhook
// (https://api.slack.com/messaging/webhooks): a JSON body with "text" (the
// notification fallback) and "blocks" in mrkdwn. The URL itself is the
// credential; Slack does not sign incoming webhooks. Slack answers 200
// "ok"; errors are 400 invalid_payload / no_text, 403 action_prohibited,
// 404 channel_not_found, 410 channel_is_archived (not retried), 429 with
// Retry-After (https://api.slack.com/docs/rate-limits: about one message
// per second) and 5xx (retried).
func (ch *Channel) sendSlack(ctx context.Context, m Message) error {
	target, err := ch.resolveURL()
	if err != nil {
		return err
	}
	body, _ := json.Marshal(map[string]any{"text": m.Digest.Title(), "blocks": slackBlocks(m.Digest)})
	r, err := ch.post(ctx, target, body, http.Header{})
	if err != nil {
		return err
	}
	if r.status != http.StatusOK {
		return ch.statusError(r, short(string(r.body)))
	}
	return nil
}

// slackBlocks lay every resource of the digest out in mrkdwn sections, then
// the mentions of their owners ("<@U…>"); a section's text holds at most
// 3,000 characters, so lines are grouped.
func slackBlocks(d Digest) []map[string]any {
	blocks := []map[string]any{
		{"type": "header", "text": map[string]any{"type": "plain_text", "text": truncateRunes(d.Title(), 150)}},
	}
	var lines []string
	if d.Renewal != nil {
		lines = d.renewalSlackLines()
	} else {
		blocks = append(blocks, map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": slackEscape(d.intro())}})
	}
	for _, it := range d.Items {
		l := "• *" + slackEscape(tagValue(it.Name)) + "* `" + slackCode(it.ResourceID) + "` " + d.at(it.ExpireTime) + " (" + d.When(it) + ") · " +
			slackEscape(tagValue(d.owner(it))) + " · " + d.policy(it.ExpirePolicy)
		if r := d.renewal(it, func(s string) string { return "`" + slackCode(s) + "`" }); r != "" {
			l += " · " + r
		}
		lines = append(lines, l)
	}
	lines = append(lines, mentionLines(slackEscape(d.w("mentions")), d.mentionTokens(TypeSlack), slackSectionChars/2)...)
	var buf string
	for _, l := range lines {
		if buf != "" && len([]rune(buf))+len([]rune(l)) > slackSectionChars {
			blocks = append(blocks, map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": buf}})
			buf = ""
		}
		buf += l + "\n"
	}
	if buf != "" {
		blocks = append(blocks, map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": buf}})
	}
	return blocks
}

var slackReplacer = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// slackEscape escapes the three characters Slack's mrkdwn reserves.
func slackEscape(s string) string { return slackReplacer.Replace(s) }

func truncateRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
