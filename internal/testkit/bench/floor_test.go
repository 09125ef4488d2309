package bench

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPerRate(t *testing.T) {
	assert.Equal(t, 20.0, perRate(200, 10))
	assert.Equal(t, 0.0, perRate(200, 0), "an unlimited API sets no floor")
	assert.Equal(t, 0.0, perRate(0, 50))
}

// The 100,000-resource point of issue 13: 200 pages at 10/s bound it.
func TestFloorOneAccount(t *testing.T) {
	r := Result{Point: Point{BSSRate: 10, TMSRate: 50}, Rows: 100_000, WallS: 25, ListS: 19.5, TagsS: 21.4, WritesS: 21.7,
		RawRowsPerS: 20_000, InSyncRowsPerS: 16_000, DBRowsPerS: 18_000, TagCalls: 500, Throttled: 2}
	r.computeFloor([]AccountStat{{Account: "default", Rows: 100_000, BSSPages: 201, TMSCalls: 579}})
	assert.InDelta(t, 20.1, r.FloorBSSS, 1e-9)
	assert.InDelta(t, 11.58, r.FloorTMSS, 1e-9)
	assert.InDelta(t, 5.0, r.FloorWriteS, 1e-9)
	assert.InDelta(t, 20.1, r.FloorS, 1e-9)
	assert.Equal(t, "bss", r.FloorBy)
	assert.InDelta(t, 20.1/25, r.FloorRatio, 1e-9)
	assert.InDelta(t, (19.5+21.4+21.7)/25, r.Overlap, 1e-9)
	assert.InDelta(t, 0.8, r.WriteRatio, 1e-9, "write ratio is the in-sync rate over the raw rate")
	assert.InDelta(t, 0.9, r.WriteRatioAlone, 1e-9)
	assert.Equal(t, int64(201), r.BSSPages)
	assert.Equal(t, int64(579), r.TMSCalls)
	assert.InDelta(t, 500/21.4, r.TagCallsPerS, 1e-9)
	assert.InDelta(t, 500/21.4/50, r.TagRateVsLimit, 1e-9)
	assert.Nil(t, r.PerAccount, "one account has no per-account list")
}

func TestFloorTermsPick(t *testing.T) {
	// Per-resource tags at 50/s: 7,000 calls take 140 s.
	r := Result{Point: Point{BSSRate: 10, TMSRate: 50}, Rows: 10_000, WallS: 150, RawRowsPerS: 20_000}
	r.computeFloor([]AccountStat{{BSSPages: 21, TMSCalls: 7000}})
	assert.Equal(t, "tms", r.FloorBy)
	assert.InDelta(t, 140, r.FloorS, 1e-9)

	// No API limit at all: the database bounds.
	r = Result{Point: Point{}, Rows: 10_000, WallS: 4, RawRowsPerS: 5_000}
	r.computeFloor([]AccountStat{{BSSPages: 21, TMSCalls: 7000}})
	assert.Equal(t, 0.0, r.FloorBSSS)
	assert.Equal(t, 0.0, r.FloorTMSS, "unlimited TMS: 0")
	assert.Equal(t, "write", r.FloorBy)
	assert.InDelta(t, 2.0, r.FloorS, 1e-9)
	assert.InDelta(t, 0.5, r.FloorRatio, 1e-9)

	// Nothing measured: no division by zero.
	r = Result{}
	r.computeFloor(nil)
	assert.Equal(t, 0.0, r.FloorS)
	assert.Equal(t, 0.0, r.FloorRatio)
	assert.Equal(t, 0.0, r.WriteRatio)
}

// Accounts have their own limits: the API floor is the slowest account's,
// not the sum; the database is shared: every row counts for the write floor.
func TestFloorSeveralAccounts(t *testing.T) {
	r := Result{Point: Point{BSSRate: 10, TMSRate: 50, Accounts: 3}, Rows: 30_000, WallS: 10, RawRowsPerS: 10_000, TagCalls: 300, TagsS: 4}
	accounts := []AccountStat{
		{Account: "a", Rows: 10_000, BSSPages: 26, TMSCalls: 60},
		{Account: "b", Rows: 10_000, BSSPages: 30, TMSCalls: 80},
		{Account: "c", Rows: 10_000, BSSPages: 22, TMSCalls: 200},
	}
	r.computeFloor(accounts)
	assert.InDelta(t, 3.0, r.FloorBSSS, 1e-9)
	assert.InDelta(t, 4.0, r.FloorTMSS, 1e-9)
	assert.InDelta(t, 3.0, r.FloorWriteS, 1e-9)
	assert.InDelta(t, 4.0, r.FloorS, 1e-9)
	assert.Equal(t, "tms", r.FloorBy)
	assert.Equal(t, int64(78), r.BSSPages)
	assert.Equal(t, int64(340), r.TMSCalls)
	assert.InDelta(t, 75.0/150, r.TagRateVsLimit, 1e-9, "three accounts may read 3 × 50 tags/s")
	require.Len(t, r.PerAccount, 3)
	assert.InDelta(t, 2.6, r.PerAccount[0].FloorS, 1e-9)
	assert.InDelta(t, 3.0, r.PerAccount[1].FloorS, 1e-9)
	assert.InDelta(t, 4.0, r.PerAccount[2].FloorS, 1e-9)
}
