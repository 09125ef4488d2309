package notify

import "context"

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

// Robots are paced one message a minute below their platform's limit
// (each type's entry cites it): messages leave evenly spaced, but the
// network does not deliver them so, and a platform counting any 60 seconds
// would otherwise see a 21st (DingTalk then blocks the robot for 10
// minutes). With the margin a message must arrive more than 3 s late
// before a window holds one too many.
var channelTypes []channelType

// ChannelTypes lists the channel types a routes file may use.
var ChannelTypes []string

// The registry: one line per type, each defined in its own file. It is
// set at init because entries refer to functions that read it (mentions).
func init() {
	channelTypes = []channelType{webhook(), dingTalk(), feishu(), weCom(), slack(), email()}
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
