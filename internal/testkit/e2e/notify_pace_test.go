package e2e

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"expiry-sync/workflows"
)

// TestRoutesSharingARobotStayUnderItsRateLimit: four routes, each on its
// own channel name, all post to one DingTalk robot, in parallel, more
// messages than the robot takes in a minute. The receiver enforces
// DingTalk's limit as a sliding window (a 21st message inside any 60 s is
// refused with 130101 and blocks the robot for 10 minutes): none is
// refused, and every due resource is named in exactly one accepted
// message.
func TestRoutesSharingARobotStayUnderItsRateLimit(t *testing.T) {
	dingSecret := "SEC" + randomToken()
	ding := newReceiver(t, "dingtalk", dingSecret)
	t.Setenv("T_DING_SECRET", dingSecret)
	t.Setenv("T_DING_URL", ding.url())
	routes := func(maxItems int) string {
		var channels []string
		for _, route := range []string{"alice", "zhangsan", "storage", "ops"} {
			channels = append(channels, fmt.Sprintf(`  ding-%s: {type: dingtalk, url: "env:T_DING_URL", secret: "env:T_DING_SECRET", max_items: %d}`, route, maxItems))
		}
		return fmt.Sprintf(`
after_sync: false
owner_keys: [owner, 负责人, team]
default_route: ops
channels:
%s
routes:
  - {name: alice, owners: [alice], channels: [ding-alice]}
  - {name: zhangsan, owners: [张三], channels: [ding-zhangsan]}
  - {name: storage, match: ["storage-*"], channels: [ding-storage]}
  - {name: ops, channels: [ding-ops]}
`, strings.Join(channels, "\n"))
	}
	routesFile := writeRoutes(t, routes(500))

	s := newStack(t, stackOptions{resources: 300, seed: 41})
	rows := syncAndTagOwners(t, s)
	thresholds := []int{30, 7, 1, 0}
	want := expectedDigests(rows, time.Now().UTC(), thresholds)
	maxItems, messages := itemsForMessages(want, 24)
	require.Greater(t, messages, 20, "more messages than DingTalk takes in a minute (%d due digests)", len(want))
	require.NoError(t, os.WriteFile(routesFile, []byte(routes(maxItems)), 0o600))

	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	run, err := s.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "notify-pace-" + s.cfg.Huawei.DomainID, TaskQueue: s.cfg.Temporal.TaskQueue},
		workflows.NotifyWorkflowName, workflows.NotifyInput{AccountID: s.cfg.Huawei.DomainID, IgnoreQuietHours: true})
	require.NoError(t, err)
	var res workflows.NotifyResult
	err = run.Get(ctx, &res)
	require.Zero(t, ding.throttles(), "the robot was sent to faster than DingTalk allows: %v", ding.refused)
	require.NoError(t, err)

	want = expectedDigests(rows, res.AsOf, thresholds)
	var wantIDs, gotIDs []string
	for _, ids := range want {
		wantIDs = append(wantIDs, ids...)
	}
	for _, m := range ding.messages() {
		gotIDs = append(gotIDs, idsIn(m, rows)...)
	}
	sort.Strings(wantIDs)
	sort.Strings(gotIDs)
	assert.Equal(t, wantIDs, gotIDs, "every due resource of every route named in exactly one accepted message")
	assert.GreaterOrEqual(t, len(ding.messages()), 21, "more than a minute's worth of messages went to the robot")
	assert.Equal(t, len(ding.messages()), ding.requestCount(), "no message was refused or sent twice")
	for _, r := range res.Routes {
		assert.Equal(t, workflows.RouteSent, r.Status, "route %s: %+v", r.Route, r)
	}
}

// itemsForMessages is the smallest max_items that splits the due digests
// into at most limit messages, and how many messages that makes.
func itemsForMessages(want map[digestKey][]string, limit int) (maxItems, messages int) {
	for maxItems = 1; ; maxItems++ {
		messages = 0
		for _, ids := range want {
			messages += (len(ids) + maxItems - 1) / maxItems
		}
		if messages <= limit {
			return maxItems, messages
		}
	}
}
