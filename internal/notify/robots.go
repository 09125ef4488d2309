package notify

import (
	"context"
	"encoding/json"
	"net/http"
)

// busy is the "system busy, retry" code DingTalk and WeCom share.
const busy = -1

// postRobot posts to a robot that answers HTTP 200 with a JSON code
// (codeField) that is 0 on success.
func (ch *Channel) postRobot(ctx context.Context, rawURL string, body []byte, codeField string, tooFast int) error {
	target, err := parseHTTPURL(rawURL)
	if err != nil {
		return configError(ch, err)
	}
	r, err := ch.post(ctx, target, body, http.Header{})
	if err != nil {
		return err
	}
	if r.status != http.StatusOK {
		return ch.statusError(r, "")
	}
	var ans map[string]any
	if err := json.Unmarshal(r.body, &ans); err != nil {
		return ch.rejected(-1, "the answer is not JSON")
	}
	code, _ := ans[codeField].(float64)
	msg, _ := ans["errmsg"].(string)
	if m, ok := ans["msg"].(string); ok && msg == "" {
		msg = m
	}
	switch int(code) {
	case 0:
		return nil
	case tooFast:
		return ch.rateLimited(int(code), msg)
	case busy:
		text := "channel " + ch.Name + " (" + ch.Type + "): busy: " + short(msg)
		return &SendError{Class: ClassUnavailable, Msg: text}
	}
	return ch.rejected(int(code), msg)
}
