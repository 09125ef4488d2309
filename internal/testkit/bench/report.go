package bench

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
)

// Files of a results folder.
const (
	ResultsJSON     = "latest.json"
	ResultsMarkdown = "latest.md"
)

// Records are results keyed by point (Point.Key), as latest.json holds them.
type Records map[string]Result

// Keys lists the records' points in table order: the named points in their
// order, then the others alphabetically.
func (rs Records) Keys() []string {
	keys := slices.Collect(maps.Keys(rs))
	slices.SortFunc(keys, func(a, b string) int { return cmp.Or(cmp.Compare(rank(a), rank(b)), strings.Compare(a, b)) })
	return keys
}

// ReadRecords reads dir/latest.json. A missing file is no record; a file
// of the former format (a list of unnamed points) is dropped with a
// warning; an unreadable one is an error, so that nothing is overwritten.
func ReadRecords(dir string) (Records, string, error) {
	b, err := os.ReadFile(filepath.Join(dir, ResultsJSON))
	if errors.Is(err, fs.ErrNotExist) {
		return Records{}, "", nil
	}
	if err != nil {
		return nil, "", err
	}
	if trimmed := bytes.TrimSpace(b); len(trimmed) > 0 && trimmed[0] == '[' {
		return Records{}, fmt.Sprintf("%s holds the former list of unnamed points: replaced by named points", filepath.Join(dir, ResultsJSON)), nil
	}
	recs := Records{}
	if err := json.Unmarshal(b, &recs); err != nil {
		return nil, "", fmt.Errorf("%s is not a map of point records (fix or remove it): %w", filepath.Join(dir, ResultsJSON), err)
	}
	return recs, "", nil
}

// Merge puts results into recs under their points' keys, replacing only
// those points' earlier records.
func Merge(recs Records, results []Result) Records {
	out := maps.Clone(recs)
	if out == nil {
		out = Records{}
	}
	for _, r := range results {
		out[r.Key()] = r
	}
	return out
}

// Save writes recs to dir/latest.json and their table to dir/latest.md.
func Save(dir string, recs Records) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(recs, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, ResultsJSON), append(b, '\n'), 0o644); err != nil {
		return err
	}
	var md bytes.Buffer
	WriteMarkdown(&md, recs)
	return os.WriteFile(filepath.Join(dir, ResultsMarkdown), md.Bytes(), 0o644)
}

// label names a record in the tables; a shrunk point says so.
func label(key string, r Result) string {
	if r.Scale > 0 && r.Scale < 1 {
		return fmt.Sprintf("%s (scale %g)", key, r.Scale)
	}
	return key
}

func limit(rate float64) string {
	if rate <= 0 {
		return "none"
	}
	return fmt.Sprintf("%g/s", rate)
}

func orDash(ok bool, format string, args ...any) string {
	if !ok {
		return "-"
	}
	return fmt.Sprintf(format, args...)
}

// WriteMarkdown renders the records as bench/results/latest.md: the floor
// beside every wall time, then phases, calls and CPU, then writes.
func WriteMarkdown(w io.Writer, recs Records) {
	keys := recs.Keys()
	fmt.Fprintln(w, "# Benchmark results")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Written by `cmd/bench` (`make bench`, or `go run ./cmd/bench --point NAME --out bench/results --merge`); how to read it: [docs/performance.md](../../docs/performance.md). Each point keeps the record of its latest run (column measured).")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "## Against the floor")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| point | resources | DB | tag mode | latency | BSS limit | TMS limit | floor s | floor by | wall s | floor ratio | overlap | rows exact | 429s | measured | machine |")
	fmt.Fprintln(w, "|---|---:|---|---|---:|---:|---:|---:|---|---:|---:|---:|---|---:|---|---|")
	for _, k := range keys {
		r := recs[k]
		size := fmt.Sprintf("%d", r.Resources)
		if r.Accounts > 1 {
			size = fmt.Sprintf("%d × %d", r.Accounts, r.Resources)
		}
		ok := "yes"
		if !r.RowsOK {
			ok = "NO: " + r.RowsProblem
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %gms | %s | %s | %.1f | %s | %.1f | %.2f | %.2f | %s | %.2f%% | %s | %s |\n",
			label(k, r), size, r.DB, r.TagMode, r.LatencyMS, limit(r.BSSRate), limit(r.TMSRate), r.FloorS, r.FloorBy, r.WallS,
			r.FloorRatio, r.Overlap, ok, r.ThrottledPct, strings.SplitN(r.MeasuredAt, "T", 2)[0], r.Machine)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "floor s = max(BSS pages / BSS limit, TMS calls / TMS limit, rows / raw INSERT rows/s), every term counted or measured in the same run; floor ratio = floor s / wall s (1 = at the floor); overlap = (list s + tags s + writes s) / wall s.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "## Phases, calls and CPU")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| point | floor BSS s | floor TMS s | floor write s | list s | tags s | writes s | BSS pages | TMS calls | tag calls/s | vs TMS limit | retries | runs | max events/run | worker RSS MB | CPU s worker | simulator | Temporal | DB server | machine busy |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, k := range keys {
		r := recs[k]
		fmt.Fprintf(w, "| %s | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %d | %d | %s | %s | %d | %d | %d | %.0f | %.1f | %.1f | %.1f | %s | %.0f%% |\n",
			label(k, r), r.FloorBSSS, r.FloorTMSS, r.FloorWriteS, r.ListS, r.TagsS, r.WritesS, r.BSSPages, r.TMSCalls,
			orDash(r.TagCallsPerS > 0, "%.1f", r.TagCallsPerS), orDash(r.TagRateVsLimit > 0, "%.0f%%", 100*r.TagRateVsLimit),
			r.Retries, r.Runs, r.MaxHistoryEvents, r.WorkerRSSMB, r.WorkerCPUS, r.SimCPUS, r.TemporalCPUS,
			orDash(r.DB == DBMySQL, "%.1f", r.DBCPUS), r.MachineCPUPct)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "CPU seconds are spent during the sync; the simulator's are the bench process's (it serves the simulator meanwhile); the DB server is the whole MariaDB server, other clients included (SQLite runs inside the worker); machine busy is the share of all cores.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "## Writes and baseline")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| point | rows | rows/s in sync | alone | raw INSERT | write ratio (in sync / raw) | alone / raw | DB growth bytes/resource | baseline s | speed-up |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, k := range keys {
		r := recs[k]
		fmt.Fprintf(w, "| %s | %d | %.0f | %.0f | %.0f | %.0f%% | %.0f%% | %.0f | %s | %s |\n",
			label(k, r), r.Rows, r.InSyncRowsPerS, r.DBRowsPerS, r.RawRowsPerS, 100*r.WriteRatio, 100*r.WriteRatioAlone,
			r.DBBytesPerResource, orDash(r.BaselineWallS > 0, "%.0f", r.BaselineWallS), orDash(r.Speedup > 0, "%.1fx", r.Speedup))
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "rows/s in sync: the write transactions during the sync (rows over their summed time), sharing the machine; alone: the same rows through the same write path after the sync; raw: plain multi-row INSERTs of them into a twin table. Baseline: the seed's way (5 tag threads, one INSERT per transaction) on up to 2,000 resources, scaled to the row count.")
	var multi []string
	for _, k := range keys {
		if len(recs[k].PerAccount) > 0 {
			multi = append(multi, k)
		}
	}
	if len(multi) == 0 {
		return
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "## Accounts synced together")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| point | account | rows | BSS pages | TMS calls | 429s | account floor s | account wall s | rows exact |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|---:|---:|---|")
	for _, k := range multi {
		r := recs[k]
		for _, a := range r.PerAccount {
			fmt.Fprintf(w, "| %s | %s | %d | %d | %d | %d | %.1f | %.1f | %s |\n",
				label(k, r), a.Account, a.Rows, a.BSSPages, a.TMSCalls, a.Throttled, a.FloorS, a.WallS, map[bool]string{true: "yes", false: "NO"}[a.RowsOK])
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Each account has its own simulator, so its own BSS and TMS limits: the API floor of accounts synced together is the slowest account's; they share the database, so the write floor is every row at the raw rate.")
}

// Machine describes where the benchmark ran.
func Machine() string {
	return fmt.Sprintf("%d cores, %s/%s, %s", runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, strings.TrimPrefix(runtime.Version(), "go"))
}
