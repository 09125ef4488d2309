package bench

// AccountStat is what one account's sync cost and took; a point of several
// accounts reports each (per_account) beside their sum.
type AccountStat struct {
	Account string `json:"account"`
	Rows    int    `json:"rows"`
	// BSSPages counts the account's BSS calls that BSS answered (listing
	// pages, listed again after a shift, and the re-check by id), TMSCalls
	// its TMS calls likewise: the calls its rate limits pace. Throttled
	// answers are left out (they cost no token).
	BSSPages  int64   `json:"bss_pages"`
	TMSCalls  int64   `json:"tms_calls"`
	Throttled int64   `json:"throttled"`
	FloorS    float64 `json:"floor_s"` // max(BSS pages / BSS limit, TMS calls / TMS limit): this account's API floor
	WallS     float64 `json:"wall_s"`  // its sync, first event to close
	RowsOK    bool    `json:"rows_ok"`
}

// perRate is the least time n calls take at rate calls per second; 0 when
// the rate is unlimited.
func perRate(n int64, rate float64) float64 {
	if rate <= 0 {
		return 0
	}
	return float64(n) / rate
}

// computeFloor fills the floor, its terms, the overlap and the write
// ratios from what the run counted and measured. Each account has its own
// BSS and TMS limits, so the API floor of several accounts synced together
// is the slowest account's; they share one database, so the write floor is
// every row at the raw INSERT rate.
func (r *Result) computeFloor(accounts []AccountStat) {
	r.BSSPages, r.TMSCalls, r.FloorBSSS, r.FloorTMSS = 0, 0, 0, 0
	for i := range accounts {
		a := &accounts[i]
		bss, tms := perRate(a.BSSPages, r.BSSRate), perRate(a.TMSCalls, r.TMSRate)
		a.FloorS = max(bss, tms)
		r.BSSPages += a.BSSPages
		r.TMSCalls += a.TMSCalls
		r.FloorBSSS = max(r.FloorBSSS, bss)
		r.FloorTMSS = max(r.FloorTMSS, tms)
	}
	r.FloorWriteS = 0
	if r.RawRowsPerS > 0 {
		r.FloorWriteS = float64(r.Rows) / r.RawRowsPerS
	}
	r.FloorS, r.FloorBy = r.FloorBSSS, "bss"
	if r.FloorTMSS > r.FloorS {
		r.FloorS, r.FloorBy = r.FloorTMSS, "tms"
	}
	if r.FloorWriteS > r.FloorS {
		r.FloorS, r.FloorBy = r.FloorWriteS, "write"
	}
	r.FloorRatio, r.Overlap = 0, 0
	if r.WallS > 0 {
		r.FloorRatio = r.FloorS / r.WallS
		r.Overlap = (r.ListS + r.TagsS + r.WritesS) / r.WallS
	}
	r.WriteRatio, r.WriteRatioAlone = 0, 0
	if r.RawRowsPerS > 0 {
		r.WriteRatio = r.InSyncRowsPerS / r.RawRowsPerS
		r.WriteRatioAlone = r.DBRowsPerS / r.RawRowsPerS
	}
	r.TagCallsPerS, r.TagRateVsLimit = 0, 0
	if r.TagsS > 0 && r.TagCalls > 0 {
		r.TagCallsPerS = float64(r.TagCalls) / r.TagsS
		if r.TMSRate > 0 { // each account has the limit: accounts synced together may reach their sum
			r.TagRateVsLimit = r.TagCallsPerS / (r.TMSRate * float64(max(1, len(accounts))))
		}
	}
	if len(accounts) > 1 {
		r.PerAccount = accounts
	}
}
