package bench

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"expiry-sync/internal/testkit/testenv"
	"expiry-sync/workflows"
)

// TestSmoke measures two tiny points on the real stack (Temporal dev
// server, worker process, simulator, MariaDB and SQLite): one account with
// per-resource tags on MariaDB, and two accounts synced together in bulk on
// SQLite. It checks that every field the floor needs is counted or
// measured, not how fast the machine is. It skips when a service is missing,
// unless EXPIRY_SYNC_REQUIRE_ALL=1.
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the worker and starts the stack")
	}
	cli := testenv.TemporalCLI(t)
	testenv.MySQLURL(t) // skips (or fails) when MariaDB is not there
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	stack, err := StartStack(ctx, cli, testenv.MySQLServerURL(), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	defer stack.Close()

	one := DefaultPoint()
	one.Resources, one.TMSRate, one.TagMode, one.BaselineMax = 300, 50, workflows.TagModePerResource, 50
	r, err := stack.Run(ctx, one)
	require.NoError(t, err)
	t.Logf("one account: wall %.1f s, floor %.1f s (%s), ratio %.2f, overlap %.2f", r.WallS, r.FloorS, r.FloorBy, r.FloorRatio, r.Overlap)
	assert.True(t, r.RowsOK, r.RowsProblem)
	assert.Positive(t, r.Rows)
	assert.Positive(t, r.BSSPages)
	assert.Positive(t, r.TMSCalls)
	assert.Equal(t, "tms", r.FloorBy, "per-resource tags at 50/s bound a small account")
	assert.InDelta(t, float64(r.TMSCalls)/50, r.FloorTMSS, 1e-9)
	assert.InDelta(t, float64(r.BSSPages)/10, r.FloorBSSS, 1e-9)
	assert.Positive(t, r.FloorWriteS)
	assert.Greater(t, r.FloorRatio, 0.0)
	assert.LessOrEqual(t, r.FloorRatio, 1.1, "a sync cannot beat the rate limits by more than their burst")
	assert.Positive(t, r.Overlap)
	assert.Positive(t, r.TagRateVsLimit)
	assert.Less(t, r.ThrottledPct, 5.0)
	assert.Positive(t, r.WorkerCPUS)
	assert.Positive(t, r.TemporalCPUS, "the dev server is found among the bench's children")
	assert.Positive(t, r.MachineCPUPct)
	assert.Positive(t, r.DBBytesPerResource)
	assert.Positive(t, r.RawRowsPerS)
	assert.Positive(t, r.DBRowsPerS)
	assert.Positive(t, r.WriteRatio)
	assert.Positive(t, r.BaselineWallS)
	assert.Equal(t, 1, r.Runs)
	assert.Empty(t, r.PerAccount)

	two := DefaultPoint()
	two.Resources, two.Accounts, two.DB, two.TMSRate, two.TagMode, two.BaselineMax = 400, 2, DBSQLite, 50, workflows.TagModeBulk, 0
	r, err = stack.Run(ctx, two)
	require.NoError(t, err)
	t.Logf("two accounts: wall %.1f s, floor %.1f s (%s), ratio %.2f", r.WallS, r.FloorS, r.FloorBy, r.FloorRatio)
	assert.True(t, r.RowsOK, r.RowsProblem)
	require.Len(t, r.PerAccount, 2)
	rows := 0
	for _, a := range r.PerAccount {
		assert.True(t, a.RowsOK, a.Account)
		assert.Positive(t, a.Rows, a.Account)
		assert.Positive(t, a.BSSPages, a.Account)
		assert.Positive(t, a.FloorS, a.Account)
		assert.Positive(t, a.WallS, a.Account)
		assert.LessOrEqual(t, a.WallS, r.WallS, a.Account)
		rows += a.Rows
	}
	assert.Equal(t, r.Rows, rows)
	assert.Equal(t, 3, r.Runs, "the all-accounts parent and two children")
	assert.Zero(t, r.DBCPUS, "SQLite runs inside the worker")
	assert.Positive(t, r.DBBytesPerResource)
	assert.Positive(t, r.RawRowsPerS)
	assert.LessOrEqual(t, r.FloorRatio, 1.1)
	assert.Zero(t, r.BaselineWallS)
}
