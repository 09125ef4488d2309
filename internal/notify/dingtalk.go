package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"time"
)

// TypeDingTalk is a DingTalk custom robot (钉钉自定义机器人).
const TypeDingTalk = "dingtalk"

const (
	// DingTalkTooFast: "send too fast, exceed 20 times per minute"; a robot
	// sends at most 20 messages a minute and is then throttled for 10
	// minutes (custom robot docs, "消息发送频率限制").
	DingTalkTooFast = 130101
	// dingTalkMaxBytes: DingTalk's markdown text is limited to about
	// 20,000 bytes (custom robot docs); a margin is kept.
	dingTalkMaxBytes = 18000
)

// dingTalk: signed, at most once, paced at 19 a minute below the 20 after
// which DingTalk blocks the robot for 10 minutes.
func dingTalk() channelType {
	return channelType{
		name: TypeDingTalk, signed: true, atMostOnce: true,
		pace:     Pace{PerSecond: 19.0 / 60, Block: 10 * time.Minute},
		fits:     func(d Digest) bool { return len(d.markdownFor(TypeDingTalk)) <= dingTalkMaxBytes },
		mentions: Digest.dingTalkMentions,
		send:     (*Channel).sendDingTalk,
	}
}

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
	target, secret, err := ch.resolveSigned()
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
	msg := map[string]any{
		"msgtype":  "markdown",
		"markdown": map[string]string{"title": d.Title(), "text": d.markdownFor(TypeDingTalk)},
	}
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
