package notify

import (
	"context"
	"time"
)

// channelType is everything a channel type brings. A new type is its own
// file (its send, and its checks, splitting and mentions when it has them)
// plus one entry in channelTypes; the routes file, pacing, splitting and
// delivery semantics follow from the entry.
type channelType struct {
	name string
	// signed: its requests are signed with the channel's secret, which is
	// then required.
	signed bool
	// atMostOnce: a message whose answer was lost is never sent again (a
	// chat robot's receiver cannot drop a duplicate); otherwise it is sent
	// again with its stable id (webhook-id, Message-ID): at least once.
	atMostOnce bool
	// pace is the platform's documented limit for one robot (zero: none).
	pace Pace
	// check validates the type's own settings; nil: a url (and no smtp).
	check func(ch *Channel) error
	// fits says whether a digest makes one message the platform takes; nil:
	// it takes a digest whole.
	fits func(d Digest) bool
	// mentions writes the owners' mentions in its markdown; nil: none.
	mentions func(d Digest) []string
	send     func(ch *Channel, ctx context.Context, m Message) error
}

// Paces of the chat robots, from their platforms' docs:
//   - DingTalk custom robot: 20 messages a minute, then the robot is
//     throttled for 10 minutes (消息发送频率限制);
//   - WeCom group robot: 20 messages a minute (群机器人配置说明);
//   - Feishu custom bot: 100 a minute and 5 a second (自定义机器人使用指南);
//     paced evenly at 100 a minute, it never sends 5 in one second;
//   - Slack incoming webhook: about one message a second (rate limits),
//     with Retry-After on a 429.
//
// Robots are paced one message a minute below their limit: messages leave
// evenly spaced, but the network does not deliver them so, and a platform
// counting any 60 seconds would otherwise see a 21st (DingTalk then blocks
// the robot for 10 minutes). With the margin a message must arrive more
// than 3 s late before a window holds one too many.
var channelTypes []channelType

// ChannelTypes lists the channel types a routes file may use.
var ChannelTypes []string

// The table refers to functions that read it (mentions): set at init.
func init() {
	channelTypes = []channelType{
		{name: TypeWebhook, signed: true, send: (*Channel).sendWebhook},
		{name: TypeDingTalk, signed: true, atMostOnce: true, pace: Pace{PerSecond: 19.0 / 60, Block: 10 * time.Minute},
			fits:     func(d Digest) bool { return len(d.markdownFor(TypeDingTalk)) <= dingTalkMaxBytes },
			mentions: Digest.dingTalkMentions, send: (*Channel).sendDingTalk},
		{name: TypeFeishu, signed: true, atMostOnce: true, pace: Pace{PerSecond: 95.0 / 60, Block: time.Minute},
			fits: func(d Digest) bool { return len(feishuBody(d, 1e9, placeholderSign)) <= feishuMaxBytes },
			send: (*Channel).sendFeishu},
		{name: TypeWeCom, atMostOnce: true, pace: Pace{PerSecond: 19.0 / 60, Block: time.Minute},
			fits:     func(d Digest) bool { return len(d.markdownFor(TypeWeCom)) <= weComMaxBytes },
			mentions: Digest.weComMentions, send: (*Channel).sendWeCom},
		{name: TypeSlack, atMostOnce: true, pace: Pace{PerSecond: 1, Block: time.Second},
			fits:     func(d Digest) bool { return len(slackBlocks(d)) <= slackMaxBlocks },
			mentions: Digest.slackMentions, send: (*Channel).sendSlack},
		{name: TypeEmail, check: (*Channel).checkSMTP, send: (*Channel).sendEmail},
	}
	for _, t := range channelTypes {
		ChannelTypes = append(ChannelTypes, t.name)
	}
}

func channelTypeOf(name string) (channelType, bool) {
	for _, t := range channelTypes {
		if t.name == name {
			return t, true
		}
	}
	return channelType{}, false
}

// channelTypeMust is the type of a channel the routes file checked.
func channelTypeMust(name string) channelType {
	t, _ := channelTypeOf(name)
	return t
}
