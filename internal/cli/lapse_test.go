package cli

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"expiry-sync/internal/testkit/reporttest"
	"expiry-sync/internal/testkit/testenv"
)

func TestLapseRecordsTheDecision(t *testing.T) {
	t.Setenv("TEMPORAL_ADDRESS", "127.0.0.1:1")
	url := testenv.SQLiteURL(t)
	reporttest.Open(t, url)
	t.Setenv("DATABASE_URL", url)
	renewClock = func() time.Time { return reporttest.Now }
	t.Cleanup(func() { renewClock = time.Now })

	code, out, errOut := runCLI(t, "lapse", "--resource", "soon-1", "--reason", "replaced by the new cluster", "--account", "prod", "--requester", "alice@ops-1")
	require.Equal(t, ExitOK, code, errOut)
	assert.Equal(t, "Recorded: the expiry of soon-1 on 2026-11-27T08:00:00Z (account prod) lapses.\n"+
		"  decided by alice@ops-1 at 2026-11-26T08:00:00Z: replaced by the new cluster\n"+
		"  Reminders stop for this expiry; the report shows the decision.\n", out)

	code, out, errOut = runCLI(t, "lapse", "--resource", "soon-1", "--reason", "changed my mind: still lapse", "--account", "prod", "--requester", "bob@ops-2", "-o", "json")
	require.Equal(t, ExitOK, code, errOut)
	var got map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &got))
	assert.Equal(t, map[string]any{"account": "prod", "account_id": reporttest.Account, "resource_id": "soon-1", "expire_time": "2026-11-27T08:00:00Z",
		"reason": "changed my mind: still lapse", "decided_by": "bob@ops-2", "decided_at": "2026-11-26T08:00:00Z"}, got)

	// The resource and the account are the user's input: exit 2, nothing written.
	code, out, errOut = runCLI(t, "lapse", "--resource", "no-such-resource", "--reason", "x", "--account", "prod")
	assert.Equal(t, ExitBadInput, code)
	assert.Empty(t, out)
	assert.Contains(t, errOut, `has no resource "no-such-resource": run a sync first, or check the id`)
	code, _, errOut = runCLI(t, "lapse", "--resource", "soon-1", "--reason", "x", "--account", "staging")
	assert.Equal(t, ExitBadInput, code)
	assert.Contains(t, errOut, "--account=staging has no resources in database")

	// The request it also asks for cannot start (Temporal unreachable): the
	// decision stands, the command says so and exits 1.
	code, out, errOut = runCLI(t, "lapse", "--resource", "soon-2", "--reason", "test box", "--account", "prod", "--autorenew-off")
	assert.Equal(t, ExitFailure, code)
	assert.Contains(t, out, "Recorded: the expiry of soon-2")
	assert.Contains(t, errOut, "the lapse is recorded, but a request could not be started: cannot connect to Temporal at 127.0.0.1:1")
	assert.Contains(t, errOut, "run the same lapse again")
}
