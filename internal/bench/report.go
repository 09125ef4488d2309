package bench

import (
	"fmt"
	"io"
	"runtime"
	"strings"
	"time"
)

// Matrix is what `make bench` measures: the sizes, latencies and rate limit
// of the targets, per-resource and bulk. Per-resource at 50 calls/s is left
// out at 100,000 resources: its bound alone is 25 minutes.
func Matrix() []Point {
	base := Point{TagMode: "per-resource", TagsPerActivity: 10, TagConcurrency: 20, BatchSize: 500, Seed: 42, BaselineMax: 2000}
	at := func(n int, latency time.Duration, rate float64, mode string, k int) Point {
		p := base
		p.Resources, p.Latency, p.TMSRate, p.TagMode, p.TagsPerActivity = n, latency, rate, mode, k
		return p
	}
	return []Point{
		at(1_000, 20*time.Millisecond, 50, "per-resource", 10),
		at(10_000, 20*time.Millisecond, 50, "per-resource", 10),
		at(10_000, 20*time.Millisecond, 50, "bulk", 10),
		at(1_000, 200*time.Millisecond, 50, "per-resource", 10),
		at(10_000, 200*time.Millisecond, 50, "bulk", 10),
		at(10_000, 0, 0, "per-resource", 1),
		at(100_000, 0, 0, "per-resource", 25),
		at(100_000, 20*time.Millisecond, 50, "bulk", 10),
	}
}

// WriteMarkdown renders results as the README's table.
func WriteMarkdown(w io.Writer, results []Result, machine string) {
	fmt.Fprintf(w, "Measured %s on %s.\n\n", time.Now().UTC().Format("2006-01-02"), machine)
	fmt.Fprintln(w, "| resources | latency | TMS limit | tag mode | per activity | wall s | resources/s | list s | tags s | writes s | API calls | 429s | retries | max events/run | worker RSS MB | DB rows/s in sync | DB rows/s alone | raw rows/s | bound s | tag phase vs bound | baseline s | speed-up | rows ok |")
	fmt.Fprintln(w, "|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
	for _, r := range results {
		limit := "none"
		if r.TMSRate > 0 {
			limit = fmt.Sprintf("%g/s", r.TMSRate)
		}
		tagRatio := "-"
		if r.TagRatio > 0 {
			tagRatio = fmt.Sprintf("%.0f%%", 100*r.TagRatio)
		}
		ok := "yes"
		if !r.RowsOK {
			ok = "NO: " + r.RowsProblem
		}
		fmt.Fprintf(w, "| %d | %gms | %s | %s | %d | %.1f | %.0f | %.1f | %.1f | %.1f | %d | %d | %d | %d | %.0f | %.0f | %.0f | %.0f | %.1f | %s | %.0f | %.1fx | %s |\n",
			r.Resources, r.LatencyMS, limit, r.TagMode, r.TagsPerActivity, r.WallS, r.ResourcesPerS, r.ListS, r.TagsS, r.WritesS,
			r.APICalls, r.Throttled, r.Retries, r.MaxHistoryEvents, r.WorkerRSSMB, r.InSyncRowsPerS, r.DBRowsPerS, r.RawRowsPerS, r.BoundS,
			tagRatio, r.BaselineWallS, r.Speedup, ok)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Bound: tag calls / min(TMS limit, tag concurrency / latency) plus rows / raw INSERT rate. Tag phase vs bound: the bound's tag time over the measured tag phase (100% = at the limit). DB rows/s in sync: CommitBatch during the sync, sharing the machine with the tag phase, Temporal and the simulator; alone: the same rows through the same write path after the sync, like the raw INSERT bound. Baseline: the seed's way (5 tag threads, one INSERT per transaction) on up to 2,000 resources, scaled to the row count.")
}

// Machine describes where the benchmark ran.
func Machine() string {
	return fmt.Sprintf("%d cores, %s/%s, %s", runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, strings.TrimPrefix(runtime.Version(), "go"))
}
