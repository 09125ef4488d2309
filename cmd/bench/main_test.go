package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"expiry-sync/internal/testkit/bench"
)

// parse runs the command line without measuring: it returns the points and
// options the bench would measure with.
func parse(t *testing.T, args ...string) ([]bench.Point, options, error) {
	t.Helper()
	o := options{point: bench.DefaultPoint()}
	var got []bench.Point
	cmd := command(&o, func(_ context.Context, points []bench.Point, _ io.Writer) error {
		got = points
		return nil
	})
	cmd.SetArgs(args)
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	err := cmd.ExecuteContext(context.Background())
	return got, o, err
}

func TestUnnamedPointFromFlags(t *testing.T) {
	ps, o, err := parse(t)
	require.NoError(t, err)
	require.Len(t, ps, 1)
	assert.Equal(t, 10.0, ps[0].BSSRate, "Huawei's BSS limit by default")
	assert.Equal(t, 0.0, ps[0].TMSRate)
	assert.Equal(t, "auto", ps[0].TagMode, "the sync's default tag mode")
	assert.Equal(t, bench.DBMySQL, ps[0].DB)
	assert.Equal(t, 1, ps[0].Accounts)
	assert.False(t, o.merge)

	ps, _, err = parse(t, "--resources", "2000", "--latency", "20ms", "--bss-rate", "5", "--tms-rate", "50",
		"--db", "sqlite", "--accounts", "3", "--tag-mode", "bulk")
	require.NoError(t, err)
	assert.Equal(t, 2000, ps[0].Resources)
	assert.Equal(t, 20*time.Millisecond, ps[0].Latency)
	assert.Equal(t, 5.0, ps[0].BSSRate)
	assert.Equal(t, 50.0, ps[0].TMSRate)
	assert.Equal(t, bench.DBSQLite, ps[0].DB)
	assert.Equal(t, 3, ps[0].Accounts)
	assert.Equal(t, "bulk", ps[0].TagMode)
}

func TestNamedPointFlags(t *testing.T) {
	ps, o, err := parse(t, "--point", "10k,100k", "--point", "8x12.5k", "--seed", "7", "--baseline-max", "0", "--out", "/tmp/r", "--merge")
	require.NoError(t, err)
	require.Len(t, ps, 3)
	assert.Equal(t, []string{"10k", "100k", "8x12.5k"}, []string{ps[0].Name, ps[1].Name, ps[2].Name})
	for _, p := range ps {
		assert.Equal(t, int64(7), p.Seed)
		assert.Zero(t, p.BaselineMax)
	}
	assert.True(t, o.merge)
	assert.Equal(t, "/tmp/r", o.out)

	ps, o, err = parse(t, "--matrix")
	require.NoError(t, err)
	assert.Len(t, ps, len(bench.PointNames()), "--matrix is every named point")
	assert.True(t, o.merge)
	assert.Equal(t, "bench/results", o.out)

	ps, _, err = parse(t, "--point", "1m-bulk", "--scale", "0.001")
	require.NoError(t, err)
	assert.Equal(t, 1000, ps[0].Resources)
	assert.Equal(t, 0.001, ps[0].Scale)
}

func TestRefusedFlags(t *testing.T) {
	for args, want := range map[string][]string{
		"--resources beside a named point": {"--point", "10k", "--resources", "5"},
		"--tms-rate":                       {"--point", "10k", "--tms-rate", "20"},
		"is not a named point":             {"--point", "50k"},
		"add --merge":                      {"--out", "/tmp/r"},
		"--scale shrinks named points":     {"--scale", "0.5"},
		"--db=postgres":                    {"--db", "postgres"},
		"--resources=0":                    {"--resources", "0"},
		"--bss-rate=-1":                    {"--bss-rate", "-1"},
	} {
		_, _, err := parse(t, want...)
		require.Error(t, err, args)
		if args == "--resources beside a named point" {
			assert.ErrorContains(t, err, "--resources changes a point's knobs")
			continue
		}
		assert.ErrorContains(t, err, args)
	}
}

func TestPrint(t *testing.T) {
	r := bench.Result{Point: bench.Point{Name: "10k", Resources: 10_000}, WallS: 4, FloorS: 2, FloorRatio: 0.5, RowsOK: true}
	var out bytes.Buffer
	require.NoError(t, printResults(&out, true, []bench.Result{r}))
	var one map[string]any
	require.NoError(t, json.Unmarshal(out.Bytes(), &one), "one point: one object")
	assert.Equal(t, "10k", one["point"])
	assert.Equal(t, 2.0, one["floor_s"])
	for _, field := range []string{"bss_pages", "floor_bss_s", "floor_tms_s", "floor_write_s", "floor_ratio", "overlap", "throttled_pct",
		"worker_cpu_s", "sim_cpu_s", "temporal_cpu_s", "db_cpu_s", "write_ratio", "bss_rate", "tms_rate"} {
		assert.Contains(t, one, field)
	}

	out.Reset()
	require.NoError(t, printResults(&out, true, []bench.Result{r, r}))
	var list []map[string]any
	require.NoError(t, json.Unmarshal(out.Bytes(), &list), "several points: a list")
	assert.Len(t, list, 2)

	out.Reset()
	require.NoError(t, printResults(&out, false, []bench.Result{r}))
	assert.Contains(t, out.String(), "| 10k |")
}
