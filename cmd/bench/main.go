// Command bench measures whole syncs on the real stack (Temporal dev server,
// a worker process, the Huawei API simulator, MariaDB or SQLite) against the
// floor Huawei's rate limits allow, and against the seed's naive way.
// `make bench` measures every named point into bench/results; one point:
//
//	go run ./cmd/bench --point 10k --out bench/results --merge
//	go run ./cmd/bench --resources 2000 --latency 20ms --tms-rate 50 --json
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"expiry-sync/internal/testkit/bench"
	"expiry-sync/internal/testkit/testenv"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := newCommand().ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

// options are the command's flags.
type options struct {
	point         bench.Point // the unnamed point the knob flags make
	points        []string
	scale         float64
	asJSON, merge bool
	matrix        bool
	out           string
}

// knobFlags shape an unnamed point; a named point is fixed, so they are
// refused beside --point.
var knobFlags = []string{
	"resources",
	"accounts",
	"db",
	"latency",
	"bss-rate",
	"tms-rate",
	"tag-mode",
	"tags-per-activity",
	"tag-concurrency",
	"batch-size",
}

func newCommand() *cobra.Command {
	o := options{point: bench.DefaultPoint()}
	return command(&o, func(ctx context.Context, points []bench.Point, stdout io.Writer) error {
		return run(ctx, o, points, stdout)
	})
}

// command builds the command line into o; measure runs the points.
func command(o *options, measure func(context.Context, []bench.Point, io.Writer) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure syncs on the real stack against the floor Huawei's rate limits allow and the naive baseline",
		Long: "Measure syncs on the real stack against the floor Huawei's rate limits allow " +
			"and the naive baseline.\n\n" +
			"--point NAME runs a named point (" + strings.Join(bench.PointNames(), ", ") + ", or all); " +
			"without it the flags make one point.\n" +
			"--out DIR --merge merges the measured points into DIR/latest.json (keyed by point) " +
			"and rewrites DIR/latest.md.",
		SilenceUsage: true,
		Args:         cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			points, err := o.resolve(cmd.Flags())
			if err != nil {
				return err
			}
			return measure(cmd.Context(), points, cmd.OutOrStdout())
		},
	}
	p := &o.point
	f := cmd.Flags()
	f.StringSliceVar(
		&o.points,
		"point",
		nil,
		"named point(s) to measure, repeatable or comma-separated: "+strings.Join(bench.PointNames(), ", ")+" or all",
	)
	f.IntVar(&p.Resources, "resources", p.Resources, "account size of the simulator (1..1,000,000), per account")
	f.IntVar(
		&p.Accounts,
		"accounts",
		p.Accounts,
		"accounts synced together (all-accounts workflow), each with its own simulator and limits",
	)
	f.StringVar(
		&p.DB,
		"db",
		p.DB,
		"database: mysql (MariaDB, TEST_MYSQL_URL's server) or sqlite (a file, pure-Go glebarez/sqlite)",
	)
	f.DurationVar(&p.Latency, "latency", 0, "simulator latency per call, e.g. 20ms")
	f.Float64Var(
		&p.BSSRate,
		"bss-rate",
		p.BSSRate,
		"BSS calls/s per account the simulator allows (429 above) and the worker keeps to (HUAWEI_BSS_RATE); "+
			"Huawei's limit is 10; 0 = unlimited",
	)
	f.Float64Var(
		&p.TMSRate,
		"tms-rate",
		0,
		"TMS calls/s per account the simulator allows (429 above) and the worker keeps to "+
			"(HUAWEI_TMS_RATE); 0 = unlimited",
	)
	f.StringVar(&p.TagMode, "tag-mode", p.TagMode, "per-resource, bulk or auto")
	f.IntVar(&p.TagsPerActivity, "tags-per-activity", p.TagsPerActivity, "resources per tag activity")
	f.IntVar(&p.TagConcurrency, "tag-concurrency", p.TagConcurrency, "tag activities in flight")
	f.IntVar(&p.BatchSize, "batch-size", p.BatchSize, "rows per transaction")
	f.IntVar(
		&p.BaselineMax,
		"baseline-max",
		p.BaselineMax,
		"resources the naive baseline syncs (scaled to the size); 0 = no baseline",
	)
	f.Int64Var(&p.Seed, "seed", p.Seed, "dataset seed (account i takes seed+i)")
	f.Float64Var(
		&o.scale,
		"scale",
		1,
		"shrink named points to this share of their size, for smoke tests (records say so)",
	)
	_ = f.MarkHidden("scale")
	f.BoolVar(&o.asJSON, "json", false, "print the JSON records (one object for one point, a list for several)")
	f.StringVar(&o.out, "out", "bench/results", "results folder of --merge")
	f.BoolVar(
		&o.merge,
		"merge",
		false,
		"merge the measured points into OUT/latest.json, keeping the other points' records, and rewrite OUT/latest.md",
	)
	f.BoolVar(&o.matrix, "matrix", false, "every named point, merged into OUT (same as --point all --merge)")
	_ = f.MarkDeprecated("matrix", "use --point all --merge")
	return cmd
}

// resolve turns the flags into the points to measure.
func (o *options) resolve(f *pflag.FlagSet) ([]bench.Point, error) {
	if o.matrix {
		o.points, o.merge = append(o.points, bench.PointAll), true
	}
	if f.Changed("out") && !o.merge {
		return nil, errors.New("--out is where --merge writes: add --merge (it keeps the other points' records)")
	}
	if len(o.points) == 0 {
		if f.Changed("scale") {
			return nil, errors.New("--scale shrinks named points: use it with --point")
		}
		if err := o.point.Validate(); err != nil {
			return nil, err
		}
		return []bench.Point{o.point}, nil
	}
	for _, name := range knobFlags {
		if f.Changed(name) {
			return nil, fmt.Errorf(
				"--%s changes a point's knobs, and a named point's are fixed: drop --%s or --point",
				name,
				name,
			)
		}
	}
	points, err := bench.NamedPoints(o.points, o.scale)
	if err != nil {
		return nil, err
	}
	for i := range points {
		if f.Changed("seed") {
			points[i].Seed = o.point.Seed
		}
		if f.Changed("baseline-max") {
			points[i].BaselineMax = o.point.BaselineMax
		}
	}
	return points, nil
}

// run measures the points on one stack; with --merge what was measured is
// saved even when a later point fails.
func run(ctx context.Context, o options, points []bench.Point, stdout io.Writer) error {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	var recs bench.Records
	if o.merge { // read first: an unreadable file stops the run before it starts
		var warning string
		var err error
		if recs, warning, err = bench.ReadRecords(o.out); err != nil {
			return err
		}
		if warning != "" {
			logger.Warn(warning)
		}
	}
	cli := testenv.FindTemporalCLI()
	if cli == "" {
		return fmt.Errorf("%s", testenv.MissingTemporalCLI)
	}
	stack, err := bench.StartStack(ctx, cli, testenv.MySQLServerURL(), logger)
	if err != nil {
		return err
	}
	defer stack.Close()
	var results []bench.Result
	var runErr error
	for _, pt := range points {
		logger.Info("measuring", "point", pt.Key(), "resources", pt.Resources, "accounts", pt.Accounts, "db", pt.DB,
			"latency", pt.Latency, "bss_rate", pt.BSSRate, "tms_rate", pt.TMSRate, "tag_mode", pt.TagMode)
		r, err := stack.Run(ctx, pt)
		if err != nil {
			runErr = fmt.Errorf("point %s: %w", pt.Key(), err)
			break
		}
		logger.Info("measured", "point", pt.Key(), "wall_s", r.WallS, "floor_s", r.FloorS, "floor_ratio", r.FloorRatio,
			"rows_ok", r.RowsOK)
		results = append(results, r)
	}
	if o.merge && len(results) > 0 {
		if err := bench.Save(o.out, bench.Merge(recs, results)); err != nil {
			return errors.Join(runErr, err)
		}
		logger.Info("merged into "+o.out, "points", len(results))
	}
	if err := printResults(stdout, o.asJSON, results); err != nil {
		return errors.Join(runErr, err)
	}
	return runErr
}

func printResults(w io.Writer, asJSON bool, results []bench.Result) error {
	if len(results) == 0 {
		return nil
	}
	if !asJSON {
		bench.WriteMarkdown(w, bench.Merge(nil, results))
		return nil
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if len(results) == 1 {
		return enc.Encode(results[0])
	}
	return enc.Encode(results)
}
