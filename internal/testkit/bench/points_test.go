package bench

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"expiry-sync/workflows"
)

func TestNamedPoints(t *testing.T) {
	all, err := NamedPoints([]string{"all"}, 1)
	require.NoError(t, err)
	require.Len(t, all, 6)
	var names []string
	for _, p := range all {
		names = append(names, p.Name)
		require.NoError(t, p.Validate(), p.Name)
		assert.Equal(t, 20*time.Millisecond, p.Latency, p.Name)
		assert.Equal(t, 10.0, p.BSSRate, "%s: Huawei's BSS limit", p.Name)
		assert.Equal(t, 50.0, p.TMSRate, p.Name)
		assert.Zero(t, p.Scale)
	}
	assert.Equal(t, []string{"10k", "100k", "100k-sqlite", "10k-per-resource", "1m-bulk", "8x12.5k"}, names)

	byName := map[string]Point{}
	for _, p := range all {
		byName[p.Name] = p
	}
	assert.Equal(t, 10_000, byName["10k"].Resources)
	assert.Equal(t, workflows.TagModeAuto, byName["100k"].TagMode)
	assert.Equal(t, DBMySQL, byName["100k"].DB)
	assert.Equal(t, DBSQLite, byName["100k-sqlite"].DB)
	assert.Equal(t, workflows.TagModePerResource, byName["10k-per-resource"].TagMode)
	assert.Equal(t, 1_000_000, byName["1m-bulk"].Resources)
	assert.Equal(t, workflows.TagModeBulk, byName["1m-bulk"].TagMode)
	assert.Equal(t, 8, byName["8x12.5k"].Accounts)
	assert.Equal(t, 12_500, byName["8x12.5k"].Resources)
	assert.Equal(t, 1, byName["10k"].Accounts)
}

func TestNamedPointsListsAndScale(t *testing.T) {
	ps, err := NamedPoints([]string{"100k,10k", " 10k ", "100k"}, 1)
	require.NoError(t, err)
	require.Len(t, ps, 2, "repeats are measured once")
	assert.Equal(t, "100k", ps[0].Name, "in the order given")
	assert.Equal(t, "10k", ps[1].Name)

	ps, err = NamedPoints([]string{"8x12.5k", "1m-bulk"}, 0.01)
	require.NoError(t, err)
	assert.Equal(t, 125, ps[0].Resources)
	assert.Equal(t, 8, ps[0].Accounts, "scale shrinks sizes, not the account count")
	assert.Equal(t, 10_000, ps[1].Resources)
	assert.Equal(t, 0.01, ps[1].Scale)
	assert.Equal(t, "1m-bulk", ps[1].Key(), "a shrunk point keeps its key; its record says scale")

	_, err = NamedPoints([]string{"10k,50k"}, 1)
	require.ErrorContains(t, err, "50k is not a named point")
	assert.ErrorContains(t, err, "8x12.5k")
	_, err = NamedPoints([]string{","}, 1)
	assert.ErrorContains(t, err, "names no point")
	_, err = NamedPoints([]string{"10k"}, 0)
	assert.ErrorContains(t, err, "--scale")
	_, err = NamedPoints([]string{"10k"}, 2)
	assert.ErrorContains(t, err, "--scale")
}

func TestUnnamedPoint(t *testing.T) {
	p := DefaultPoint()
	require.NoError(t, p.Validate())
	assert.Equal(t, 10.0, p.BSSRate)
	p.Resources, p.Latency, p.TMSRate, p.TagMode = 2000, 20*time.Millisecond, 50, "bulk"
	assert.Equal(t, "custom-2000-mysql-bulk-20ms-bss10-tms50", p.Key())
	p.Accounts, p.DB = 3, DBSQLite
	assert.Equal(t, "custom-3x2000-sqlite-bulk-20ms-bss10-tms50", p.Key())

	for _, bad := range []func(*Point){
		func(p *Point) { p.Resources = 0 },
		func(p *Point) { p.Resources = 1_000_001 },
		func(p *Point) { p.Accounts = 0 },
		func(p *Point) { p.DB = "postgres" },
		func(p *Point) { p.BSSRate = -1 },
		func(p *Point) { p.TMSRate = 5000 },
		func(p *Point) { p.TagMode = "fast" },
		func(p *Point) { p.BatchSize = 501 },
	} {
		q := DefaultPoint()
		bad(&q)
		assert.Error(t, q.Validate(), "%+v", q)
	}
}
