// Command bench measures whole syncs on the real stack (Temporal dev server,
// a worker process, the Huawei API simulator, MariaDB) against their bounds
// and against the seed's naive way. `make bench` runs the matrix; one point:
//
//	go run ./cmd/bench --resources 10000 --latency 20ms --tms-rate 50 --tag-mode bulk --json
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"expiry-sync/internal/bench"
	"expiry-sync/internal/testenv"
	"expiry-sync/workflows"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := newCommand().ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func newCommand() *cobra.Command {
	p := bench.Point{Seed: 42}
	var (
		asJSON, matrix bool
		out            string
	)
	cmd := &cobra.Command{
		Use:          "bench",
		Short:        "Measure syncs on the real stack against their bounds and the naive baseline",
		SilenceUsage: true,
		Args:         cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := check(p); err != nil && !matrix {
				return err
			}
			logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
			cli := testenv.FindTemporalCLI()
			if cli == "" {
				return fmt.Errorf("%s", testenv.MissingTemporalCLI)
			}
			stack, err := bench.StartStack(cmd.Context(), cli, testenv.MySQLServerURL(), logger)
			if err != nil {
				return err
			}
			defer stack.Close()
			points := []bench.Point{p}
			if matrix {
				points = bench.Matrix()
			}
			var results []bench.Result
			for _, pt := range points {
				logger.Info("measuring", "resources", pt.Resources, "latency", pt.Latency, "tms_rate", pt.TMSRate, "tag_mode", pt.TagMode, "tags_per_activity", pt.TagsPerActivity)
				r, err := stack.Run(cmd.Context(), pt)
				if err != nil {
					return err
				}
				logger.Info("measured", "wall_s", r.WallS, "resources_per_s", r.ResourcesPerS, "rows_ok", r.RowsOK)
				results = append(results, r)
				if asJSON && !matrix {
					enc := json.NewEncoder(os.Stdout)
					enc.SetIndent("", "  ")
					return enc.Encode(r)
				}
			}
			if !matrix {
				bench.WriteMarkdown(os.Stdout, results, bench.Machine())
				return nil
			}
			return save(out, results)
		},
	}
	f := cmd.Flags()
	f.IntVar(&p.Resources, "resources", 1000, "account size of the simulator (1..1,000,000)")
	f.DurationVar(&p.Latency, "latency", 0, "simulator latency per call, e.g. 20ms")
	f.Float64Var(&p.TMSRate, "tms-rate", 0, "TMS calls/s the simulator allows (and the worker's limiter keeps to); 0 = unlimited")
	f.StringVar(&p.TagMode, "tag-mode", workflows.TagModePerResource, "per-resource, bulk or auto")
	f.IntVar(&p.TagsPerActivity, "tags-per-activity", workflows.DefaultTagsPerActivity, "resources per tag activity")
	f.IntVar(&p.TagConcurrency, "tag-concurrency", workflows.DefaultTagConcurrency, "tag activities in flight")
	f.IntVar(&p.BatchSize, "batch-size", workflows.DefaultBatchSize, "rows per transaction")
	f.IntVar(&p.BaselineMax, "baseline-max", 2000, "resources the naive baseline syncs (scaled to the size); 0 = no baseline")
	f.Int64Var(&p.Seed, "seed", 42, "dataset seed")
	f.BoolVar(&asJSON, "json", false, "print one JSON record")
	f.BoolVar(&matrix, "matrix", false, "run the whole matrix and write bench/results/")
	f.StringVar(&out, "out", "bench/results", "where --matrix writes latest.json and latest.md")
	return cmd
}

func check(p bench.Point) error {
	in := workflows.SyncInput{ExpireDays: 400, LookbackDays: 40, BatchSize: p.BatchSize, TagConcurrency: p.TagConcurrency,
		TagsPerActivity: p.TagsPerActivity, TagMode: p.TagMode}
	if err := in.WithDefaults().Validate(); err != nil {
		return err
	}
	if p.Resources < 1 || p.Resources > 1_000_000 {
		return fmt.Errorf("--resources=%d is out of range: allowed 1..1000000", p.Resources)
	}
	return nil
}

func save(dir string, results []bench.Result) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(results, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "latest.json"), append(b, '\n'), 0o644); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(dir, "latest.md"))
	if err != nil {
		return err
	}
	defer f.Close()
	bench.WriteMarkdown(f, results, bench.Machine())
	fmt.Fprintf(os.Stderr, "wrote %s and %s at %s\n", filepath.Join(dir, "latest.json"), filepath.Join(dir, "latest.md"), time.Now().Format(time.RFC3339))
	bench.WriteMarkdown(os.Stdout, results, bench.Machine())
	return nil
}
