package workflows_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"

	"expiry-sync/internal/contract"
	"expiry-sync/internal/inventory"
	"expiry-sync/workflows"
)

// A scope TMS refused goes with every later tag activity (which then asks
// nothing of it) and is noted once, naming the type and the reason, however
// many activities met it at once; the workflow keeps reading tags.
func TestARefusedTagScopeGoesWithEveryLaterGroupAndIsNotedOnce(t *testing.T) {
	env := newEnv(t)
	cloud := newFakeCloud(100)
	refusal := contract.Denial{Scope: "ecs", Reason: "TMS ShowResourceTag: 403 TMS.0004 reading the tags of resource type ecs needs ecs:cloudServers:showServerTags"}
	var (
		mu    sync.Mutex
		known [][]contract.Denial
	)
	env.RegisterActivity(a)
	env.OnActivity(a.FetchTags, mock.Anything, mock.Anything).Return(func(_ context.Context, in contract.FetchTagsInput) (contract.FetchTagsResult, error) {
		mu.Lock()
		defer mu.Unlock()
		known = append(known, in.Denials)
		var out contract.FetchTagsResult
		for _, r := range in.Resources {
			out.Results = append(out.Results, inventory.TagResult{ResourceID: r.ResourceID, Status: inventory.TagsError, Error: refusal.Reason})
		}
		if len(in.Denials) == 0 {
			out.Denials = []contract.Denial{refusal}
		}
		return out, nil
	})
	cloud.register(env)
	in := input() // 3 tag activities at once, 7 resources each: 12 activities

	env.ExecuteWorkflow(workflows.WorkflowName, in)
	require.NoError(t, env.GetWorkflowError())
	require.Len(t, known, 12, "no group is skipped: other scopes would still be read")
	unaware := 0
	for _, k := range known {
		if len(k) == 0 {
			unaware++
			continue
		}
		assert.Equal(t, []contract.Denial{refusal}, k)
	}
	assert.LessOrEqual(t, unaware, in.TagConcurrency, "only the activities started before the first refusal came back")
	var notes []string
	for _, n := range cloud.finish.Notes.Degraded {
		if strings.Contains(n, "TMS type ecs") {
			notes = append(notes, n)
		}
	}
	require.Len(t, notes, 1, "one note per scope: %q", cloud.finish.Notes.Degraded)
	assert.Contains(t, notes[0], "ecs:cloudServers:showServerTags")
	assert.Contains(t, notes[0], "stored tags were kept")

	v, err := env.QueryWorkflow(workflows.ProgressQuery)
	require.NoError(t, err)
	var p workflows.Progress
	require.NoError(t, v.Get(&p))
	assert.Equal(t, refusal.Reason, p.TagsDenied)
	assert.Equal(t, 80, p.TagErrors)
}
