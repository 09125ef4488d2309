package bench

import (
	"os"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseProcStat(t *testing.T) {
	st, err := parseProcStat("4242 (my (odd) cmd) S 17 4242 4242 0 -1 4194304 100 0 0 0 250 50 0 0 20 0 8 0 100 0 0")
	require.NoError(t, err)
	assert.Equal(t, "my (odd) cmd", st.comm)
	assert.Equal(t, 17, st.ppid)
	assert.InDelta(t, 3.0, st.cpuS, 1e-9, "(250 + 50) ticks")

	for _, bad := range []string{"", "12 temporal S 1", "12 (temporal) S 1 2 3"} {
		_, err := parseProcStat(bad)
		assert.Error(t, err, bad)
	}
}

func TestParseMachineCPU(t *testing.T) {
	m, err := parseMachineCPU("cpu  100 10 50 800 40 5 5 0 30 0\ncpu0 50 5 25 400 20 2 3 0 0 0\n")
	require.NoError(t, err)
	assert.Equal(t, 1010.0, m.total, "guest time is already in user time")
	assert.Equal(t, 170.0, m.busy, "idle and iowait are not busy")
	assert.InDelta(t, 50.0, busyPct(machineCPU{busy: 100, total: 1000}, machineCPU{busy: 200, total: 1200}), 1e-9)
	assert.Equal(t, 0.0, busyPct(m, m))
	_, err = parseMachineCPU("intr 1 2 3\n")
	assert.Error(t, err)
}

func TestCPUOfThisProcess(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("/proc is Linux's")
	}
	st, err := readProcStat(os.Getpid())
	require.NoError(t, err)
	assert.NotEmpty(t, st.comm)
	assert.Equal(t, os.Getppid(), st.ppid)
	assert.Equal(t, 0.0, cpuSeconds(0))
	assert.Equal(t, 0.0, cpuSeconds(1<<30), "a process that does not exist")
	assert.Greater(t, readMachineCPU().total, 0.0)
}
