package notify

import (
	"context"
	"encoding/json"
	"time"
)

// TypeWeCom is a WeCom (企业微信) group robot.
const TypeWeCom = "wecom"

const (
	// WeComFrequencyLimited: 45009 "api freq out of limit" (global error
	// codes); a group robot sends at most 20 messages a minute.
	WeComFrequencyLimited = 45009
	// weComMaxBytes: markdown.content is at most 4,096 bytes in UTF-8
	// (群机器人配置说明).
	weComMaxBytes = 4096
)

// weCom: unsigned (the key in its URL is its credential), at most once,
// paced at 19 a minute below the 20 of 群机器人配置说明.
func weCom() channelType {
	return channelType{
		name: TypeWeCom, atMostOnce: true,
		pace:     Pace{PerSecond: 19.0 / 60, Block: time.Minute},
		fits:     func(d Digest) bool { return len(d.markdownFor(TypeWeCom)) <= weComMaxBytes },
		mentions: Digest.weComMentions,
		send:     (*Channel).sendWeCom,
	}
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
	body, _ := json.Marshal(map[string]any{
		"msgtype":  "markdown",
		"markdown": map[string]string{"content": d.markdownFor(TypeWeCom)},
	})
	return body
}
