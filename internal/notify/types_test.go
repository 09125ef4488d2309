package notify

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A routes file is checked by each type's entry: signed types need their
// secret, robots are paced and sent at most once, webhooks and e-mail at
// least once.
func TestEachChannelTypeIsCheckedByItsEntry(t *testing.T) {
	for typ, signed := range map[string]bool{TypeWebhook: true, TypeDingTalk: true, TypeFeishu: true, TypeWeCom: false, TypeSlack: false} {
		routes := func(secret string) string {
			return fmt.Sprintf("default_route: r\nchannels:\n  c: {type: %s, url: \"https://robot.example/hook\"%s}\nroutes:\n  - {name: r, channels: [c]}\n", typ, secret)
		}
		_, err := Parse([]byte(routes("")))
		if signed {
			require.Error(t, err, typ)
			assert.Contains(t, err.Error(), "secret is not set", typ)
		} else {
			require.NoError(t, err, typ)
		}
		c, err := Parse([]byte(routes(`, secret: "env:T_SECRET"`)))
		require.NoError(t, err, typ)
		ch := c.Channels["c"]
		robot := typ != TypeWebhook
		assert.Equal(t, robot, ch.AtMostOnce(), typ)
		assert.Equal(t, robot, ch.Pace().PerSecond > 0, typ)
	}
	_, err := Parse([]byte("default_route: r\nchannels:\n  c: {type: pigeon, url: \"https://x.example\"}\nroutes:\n  - {name: r, channels: [c]}\n"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "use one of webhook, dingtalk, feishu, wecom, slack, email")
}
