package workerapp

import (
	"math"
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/require"

	"expiry-sync/internal/config"
)

func TestTheMemoryLimitFollowsTheTagBudgetUnlessGOMEMLIMITSetsOne(t *testing.T) {
	before := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(before) })

	t.Setenv("GOMEMLIMIT", "")
	require.Equal(t, int64(224<<20), SetMemoryLimit(config.Worker{TagMemoryMB: 64}))
	require.Equal(t, int64(224<<20), debug.SetMemoryLimit(-1), "the runtime's limit")
	require.Equal(t, int64(96<<20), SetMemoryLimit(config.Worker{TagMemoryMB: 0}))

	debug.SetMemoryLimit(math.MaxInt64)
	t.Setenv("GOMEMLIMIT", "1GiB") // the runtime read it at start; here it only says "set"
	require.Equal(t, int64(math.MaxInt64), SetMemoryLimit(config.Worker{TagMemoryMB: 64}), "GOMEMLIMIT's limit stays")
}
