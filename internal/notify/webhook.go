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

// TypeWebhook is a generic HTTPS webhook, signed the Standard Webhooks way.
const TypeWebhook = "webhook"

// webhook: signed, at least once (its receiver drops a duplicate by
// webhook-id), not paced.
func webhook() channelType {
	return channelType{name: TypeWebhook, signed: true, send: (*Channel).sendWebhook}
}

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
	target, secret, err := ch.resolveSigned()
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
