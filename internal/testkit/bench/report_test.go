package bench

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func record(name string, wall, floor float64) Result {
	return Result{Point: Point{Name: name, Resources: 10_000, Accounts: 1, DB: DBMySQL, TagMode: "auto", BSSRate: 10, TMSRate: 50},
		LatencyMS: 20, MeasuredAt: "2026-12-02T10:00:00Z", Machine: "2 cores", Rows: 10_000, WallS: wall, FloorS: floor,
		FloorBy: "bss", FloorRatio: floor / wall, RowsOK: true}
}

func TestMergeKeepsOtherPoints(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, Save(dir, Merge(nil, []Result{record("10k", 5, 2), record("100k", 30, 20)})))

	recs, warning, err := ReadRecords(dir)
	require.NoError(t, err)
	assert.Empty(t, warning)
	require.Equal(t, []string{"10k", "100k"}, recs.Keys())

	// A later run of 100k alone replaces 100k only.
	require.NoError(t, Save(dir, Merge(recs, []Result{record("100k", 25, 20), record("8x12.5k", 12, 3)})))
	recs, _, err = ReadRecords(dir)
	require.NoError(t, err)
	assert.Equal(t, []string{"10k", "100k", "8x12.5k"}, recs.Keys(), "table order, not alphabetical")
	assert.Equal(t, 5.0, recs["10k"].WallS, "the other point's earlier record is kept")
	assert.Equal(t, 25.0, recs["100k"].WallS)

	md, err := os.ReadFile(filepath.Join(dir, ResultsMarkdown))
	require.NoError(t, err)
	assert.Contains(t, string(md), "| floor s | floor by | wall s | floor ratio |", "the floor beside every wall time")
	assert.Contains(t, string(md), "| 100k | 10000 | mysql | auto | 20ms | 10/s | 50/s | 20.0 | bss | 25.0 | 0.80 |")
	assert.Contains(t, string(md), "| 10k | 10000 |")
}

func TestMergeUnnamedAndScaled(t *testing.T) {
	custom := record("", 3, 1)
	scaled := record("1m-bulk", 3, 1)
	scaled.Scale, scaled.Resources = 0.01, 10_000
	recs := Merge(Records{"10k": record("10k", 5, 2)}, []Result{custom, scaled})
	assert.Equal(t, []string{"10k", "1m-bulk", "custom-10000-mysql-auto-0ms-bss10-tms50"}, recs.Keys())
	var md bytes.Buffer
	WriteMarkdown(&md, recs)
	assert.Contains(t, md.String(), "| 1m-bulk (scale 0.01) |")
}

func TestReadRecordsFormerAndBadFiles(t *testing.T) {
	dir := t.TempDir()
	recs, warning, err := ReadRecords(dir)
	require.NoError(t, err, "no file yet")
	assert.Empty(t, recs)
	assert.Empty(t, warning)

	require.NoError(t, os.WriteFile(filepath.Join(dir, ResultsJSON), []byte(`[{"resources": 1000}]`), 0o644))
	recs, warning, err = ReadRecords(dir)
	require.NoError(t, err)
	assert.Empty(t, recs)
	assert.Contains(t, warning, "former list")

	require.NoError(t, os.WriteFile(filepath.Join(dir, ResultsJSON), []byte(`{"10k": 3`), 0o644))
	_, _, err = ReadRecords(dir)
	assert.ErrorContains(t, err, "fix or remove it")
}

func TestMarkdownAccounts(t *testing.T) {
	r := record("8x12.5k", 12, 3)
	r.Accounts, r.Resources = 2, 12_500
	r.PerAccount = []AccountStat{{Account: "acct01", Rows: 12_500, BSSPages: 26, TMSCalls: 70, FloorS: 2.6, WallS: 11, RowsOK: true},
		{Account: "acct02", Rows: 12_500, BSSPages: 26, TMSCalls: 150, FloorS: 3, WallS: 12, RowsOK: false}}
	var md bytes.Buffer
	WriteMarkdown(&md, Records{"8x12.5k": r})
	out := md.String()
	assert.Contains(t, out, "| 8x12.5k | 2 × 12500 |")
	assert.Contains(t, out, "## Accounts synced together")
	assert.Contains(t, out, "| 8x12.5k | acct02 | 12500 | 26 | 150 | 0 | 3.0 | 12.0 | NO |")
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "|") {
			assert.NotContains(t, line, "%!", "formatting verb mismatch in %q", line)
		}
	}
}
