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

// TypeFeishu is a Feishu/Lark custom bot (飞书自定义机器人).
const TypeFeishu = "feishu"

const (
	// FeishuFrequencyLimited: 11232, a custom bot sends at most 100
	// messages a minute and 5 a second (自定义机器人使用指南).
	FeishuFrequencyLimited = 11232
	// feishuMaxBytes: a custom bot's request body must stay under 20 KB
	// (自定义机器人使用指南, 20 KB).
	feishuMaxBytes = 18000
	// placeholderSign has the length of a real Feishu sign (base64 of 32
	// bytes), so a message measured with it is as long as the one sent.
	placeholderSign = "0000000000000000000000000000000000000000000="
)

// feishu: signed, at most once, paced evenly at 95 a minute, below the 100
// a minute and never 5 in one second.
func feishu() channelType {
	return channelType{
		name: TypeFeishu, signed: true, atMostOnce: true,
		pace: Pace{PerSecond: 95.0 / 60, Block: time.Minute},
		fits: func(d Digest) bool { return len(feishuBody(d, 1e9, placeholderSign)) <= feishuMaxBytes },
		send: (*Channel).sendFeishu,
	}
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
	target, secret, err := ch.resolveSigned()
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
		for _, l := range d.noticeChatLines(feishuNotice) {
			rows = append(rows, line(l))
		}
	} else {
		rows = append(rows, line(d.intro()))
	}
	for _, it := range d.Items {
		text := "• " + feishuText(tagValue(it.Name)) + " (" + feishuText(oneLine(it.ResourceID)) + ") " +
			d.at(it.ExpireTime) + ", " + d.When(it) +
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
