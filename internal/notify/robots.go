package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
)

// Rate-limit codes the Chinese robots answer inside an HTTP 200.
const (
	// DingTalkTooFast: "send too fast, exceed 20 times per minute"; a robot
	// sends at most 20 messages a minute and is then throttled for 10
	// minutes (custom robot docs, "消息发送频率限制").
	DingTalkTooFast = 130101
	// FeishuFrequencyLimited: 11232, a custom bot sends at most 100
	// messages a minute and 5 a second (自定义机器人使用指南).
	FeishuFrequencyLimited = 11232
	// WeComFrequencyLimited: 45009 "api freq out of limit" (global error
	// codes); a group robot sends at most 20 messages a minute.
	WeComFrequencyLimited = 45009
	// busy is the "system busy, retry" code DingTalk and WeCom share.
	busy = -1
)

// DingTalkSign is the sign of a DingTalk custom robot with 加签 (signed
// requests), as DingTalk documents it
// (https://open.dingtalk.com/document/robots/custom-robot-access, 安全设置 加签):
// base64(HmacSHA256(key = secret, message = timestamp + "\n" + secret)),
// with timestamp in milliseconds; the caller URL-encodes it into the query.
func DingTalkSign(secret string, timestampMS int64) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(strconv.FormatInt(timestampMS, 10) + "\n" + secret))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// sendDingTalk posts a markdown message to a DingTalk custom robot
// (https://open.dingtalk.com/document/robots/custom-robot-access):
// {"msgtype":"markdown","markdown":{"title","text"}} to the robot's URL
// with timestamp and sign added to its query. DingTalk answers HTTP 200
// with {"errcode":0,"errmsg":"ok"}; errcode 130101 (too fast) is retried
// after rate_limit_wait, -1 (busy) with backoff, any other (310000 sign
// not match, 300001 bad token, keywords not found) is permanent.
func (ch *Channel) sendDingTalk(ctx context.Context, m Message) error {
	target, err := ch.resolveURL()
	if err != nil {
		return err
	}
	secret, err := ch.resolveSecret()
	if err != nil {
		return err
	}
	ts := now().UnixMilli()
	q := target.Query()
	q.Set("timestamp", strconv.FormatInt(ts, 10))
	q.Set("sign", DingTalkSign(secret, ts))
	target.RawQuery = q.Encode()
	return ch.postRobot(ctx, target.String(), dingTalkBody(m.Digest), "errcode", DingTalkTooFast)
}

// dingTalkBody is the markdown message; the owners it mentions are in
// text ("@<userId>", "@<mobile>") and in at (自定义机器人发送群消息,
// https://open.dingtalk.com/document/orgapp/custom-bot-send-message-type:
// "at": {"atMobiles", "atUserIds", "isAtAll"}), never everyone.
func dingTalkBody(d Digest) []byte {
	msg := map[string]any{"msgtype": "markdown", "markdown": map[string]string{"title": d.Title(), "text": d.markdownFor(TypeDingTalk)}}
	if users, mobiles := d.dingTalkAt(); len(users)+len(mobiles) > 0 {
		msg["at"] = map[string]any{"atUserIds": nonNil(users), "atMobiles": nonNil(mobiles), "isAtAll": false}
	}
	body, _ := json.Marshal(msg)
	return body
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// FeishuSign is the sign of a Feishu/Lark custom bot with signature
// verification (签名校验), as the 自定义机器人使用指南 documents it
// (https://open.feishu.cn/document/ukTMukTMukTM/ucTM5YjL3ETO24yNxkjN):
// base64(HmacSHA256(key = timestamp + "\n" + secret, message = "")), with
// timestamp in seconds, no more than an hour from Feishu's clock.
func FeishuSign(secret string, timestamp int64) string {
	mac := hmac.New(sha256.New, []byte(strconv.FormatInt(timestamp, 10)+"\n"+secret))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// sendFeishu posts a rich-text ("post") message to a Feishu/Lark custom
// bot: {"timestamp","sign","msg_type":"post","content":{"post":{...}}}.
// Feishu answers {"code":0,"msg":"success"}; 11232 (frequency limited) is
// retried, 19021 (sign match fail), 19022 (IP not allowed), 19024
// (keywords), 9499 (bad request) and any other code are permanent.
func (ch *Channel) sendFeishu(ctx context.Context, m Message) error {
	target, err := ch.resolveURL()
	if err != nil {
		return err
	}
	secret, err := ch.resolveSecret()
	if err != nil {
		return err
	}
	ts := now().Unix()
	body := feishuBody(m.Digest, ts, FeishuSign(secret, ts))
	return ch.postRobot(ctx, target.String(), body, "code", FeishuFrequencyLimited)
}

// feishuBody is a post message with every resource of the digest, then a
// paragraph mentioning their owners with the post's at elements.
func feishuBody(d Digest, ts int64, sign string) []byte {
	lang := "en_us"
	if d.Language == "zh" {
		lang = "zh_cn"
	}
	line := func(s string) []map[string]string { return []map[string]string{{"tag": "text", "text": s}} }
	var rows [][]map[string]string
	if d.Renewal != nil {
		rows = d.renewalFeishuRows(line)
	} else {
		rows = append(rows, line(d.intro()))
	}
	for _, it := range d.Items {
		text := "• " + feishuText(tagValue(it.Name)) + " (" + feishuText(oneLine(it.ResourceID)) + ") " + d.at(it.ExpireTime) + ", " + d.When(it) +
			" · " + feishuText(tagValue(d.owner(it))) + " · " + d.policy(it.ExpirePolicy)
		if r := d.renewal(it, func(s string) string { return feishuText(oneLine(s)) }); r != "" {
			text += " · " + r
		}
		rows = append(rows, line(text))
	}
	if at := d.feishuAt(); len(at) > 0 {
		rows = append(rows, append(line(d.w("mentions")+" "), at...))
	}
	body, _ := json.Marshal(map[string]any{
		"timestamp": strconv.FormatInt(ts, 10), "sign": sign, "msg_type": "post",
		"content": map[string]any{"post": map[string]any{lang: map[string]any{"title": d.Title(), "content": rows}}},
	})
	return body
}

// sendWeCom posts a markdown message to a WeCom (企业微信) group robot
// (https://developer.work.weixin.qq.com/document/path/91770):
// {"msgtype":"markdown","markdown":{"content"}}, content at most 4,096
// bytes. The robot's key in the URL is its only credential: WeCom robots
// are not signed. WeCom answers {"errcode":0,"errmsg":"ok"}; 45009 (api
// freq out of limit) is retried, -1 (busy) too, others are permanent.
func (ch *Channel) sendWeCom(ctx context.Context, m Message) error {
	target, err := ch.resolveURL()
	if err != nil {
		return err
	}
	return ch.postRobot(ctx, target.String(), weComBody(m.Digest), "errcode", WeComFrequencyLimited)
}

// weComBody is the markdown message; its content mentions the owners with
// "<@userid>" (mentionTokens).
func weComBody(d Digest) []byte {
	body, _ := json.Marshal(map[string]any{"msgtype": "markdown", "markdown": map[string]string{"content": d.markdownFor(TypeWeCom)}})
	return body
}

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
		return &SendError{Class: ClassUnavailable, Msg: "channel " + ch.Name + " (" + ch.Type + "): busy: " + short(msg)}
	}
	return ch.rejected(int(code), msg)
}
