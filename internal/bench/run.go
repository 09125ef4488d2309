package bench

import (
	"context"
	"expiry-sync/internal/contract"
	"fmt"
	"path/filepath"
	"time"

	"go.temporal.io/sdk/client"

	"expiry-sync/internal/hwsim"
	"expiry-sync/internal/store"
	"expiry-sync/workflows"
)

// Point is one measured configuration.
type Point struct {
	Resources       int           `json:"resources"`
	Latency         time.Duration `json:"-"`
	TMSRate         float64       `json:"tms_rate"`
	TagMode         string        `json:"tag_mode"`
	TagsPerActivity int           `json:"tags_per_activity"`
	TagConcurrency  int           `json:"tag_concurrency"`
	BatchSize       int           `json:"batch_size"`
	Seed            int64         `json:"seed"`
	// BaselineMax caps the resources the naive baseline syncs; its time is
	// scaled to Resources (0: no baseline).
	BaselineMax int `json:"-"`
}

// Result is one JSON record of the benchmark.
type Result struct {
	Point
	LatencyMS        float64 `json:"latency_ms"`
	Rows             int     `json:"rows"`
	WallS            float64 `json:"wall_s"`
	ResourcesPerS    float64 `json:"resources_per_s"`
	ListS            float64 `json:"list_s"`
	TagsS            float64 `json:"tags_s"`
	WritesS          float64 `json:"writes_s"`
	FinalizeS        float64 `json:"finalize_s"`
	APICalls         int64   `json:"api_calls"`
	TagCalls         int64   `json:"tag_calls"`
	Throttled        int64   `json:"throttled"`
	ThrottledPct     float64 `json:"throttled_pct"`
	Retries          int     `json:"retries"`
	Runs             int     `json:"runs"`
	MaxHistoryEvents int     `json:"max_history_events"`
	WorkerRSSMB      float64 `json:"worker_rss_mb"`
	// DBRowsPerS: our write path (CommitBatch: staged tags, upsert,
	// checkpoint, one transaction per 500 rows) replayed alone on the same
	// rows; RawRowsPerS: plain multi-row INSERTs of them, alone too.
	DBRowsPerS  float64 `json:"db_rows_per_s"`
	RawRowsPerS float64 `json:"raw_rows_per_s"`
	WriteRatio  float64 `json:"write_ratio"`
	// InSyncRowsPerS: the same path during the sync, sharing the 2 cores
	// with the tag phase, Temporal and the simulator.
	InSyncRowsPerS float64 `json:"db_rows_per_s_in_sync"`
	TagBoundS      float64 `json:"tag_bound_s,omitempty"`
	TagRatio       float64 `json:"tag_ratio,omitempty"`
	BoundS         float64 `json:"bound_s"`
	BoundRatio     float64 `json:"bound_ratio"`
	BaselineWallS  float64 `json:"baseline_wall_s,omitempty"`
	BaselineFrom   int     `json:"baseline_from,omitempty"`
	Speedup        float64 `json:"speedup,omitempty"`
	RowsOK         bool    `json:"rows_ok"`
	RowsProblem    string  `json:"rows_problem,omitempty"`
}

const (
	benchAK     = "BENCHACCESSKEY000001"
	benchSK     = "bench-secret-key-not-a-real-one"
	benchDomain = "be0c0000000000000000000000000001"
)

// Run measures one point: a fresh simulator, database and worker, one sync,
// then the raw write bound and the baseline.
func (s *Stack) Run(ctx context.Context, p Point) (Result, error) {
	res := Result{Point: p, LatencyMS: float64(p.Latency) / float64(time.Millisecond)}
	sim, err := hwsim.New(hwsim.Options{Seed: p.Seed, Resources: p.Resources, AccessKey: benchAK, SecretKey: benchSK,
		DomainID: benchDomain, Knobs: hwsim.Knobs{Latency: p.Latency, TMSRate: p.TMSRate}})
	if err != nil {
		return res, err
	}
	srv, err := sim.Start(ctx, "127.0.0.1:0")
	if err != nil {
		return res, err
	}
	defer srv.Close()

	name := fmt.Sprintf("expiry_bench_%d", time.Now().UnixNano()%1e12)
	dbURL, drop, err := s.newDatabase(ctx, name)
	if err != nil {
		return res, err
	}
	defer drop()

	queue := "bench-" + name
	worker, err := s.startWorker(ctx, []string{
		"HUAWEI_ACCESS_KEY=" + benchAK, "HUAWEI_SECRET_KEY=" + benchSK, "HUAWEI_DOMAIN_ID=" + benchDomain,
		"HUAWEI_BSS_ENDPOINT=" + srv.URL, "HUAWEI_TMS_ENDPOINT=" + srv.URL, "HUAWEI_BSS_RATE=0",
		fmt.Sprintf("HUAWEI_TMS_RATE=%g", p.TMSRate), "DATABASE_URL=" + dbURL,
		"TEMPORAL_ADDRESS=" + s.dev.FrontendHostPort(), "TEMPORAL_TASK_QUEUE=" + queue,
		"WORKER_MAX_CONCURRENT_ACTIVITIES=256",
	}, filepath.Join(s.dir, queue+".log"))
	if err != nil {
		return res, err
	}
	defer worker.stop()

	in := workflows.SyncInput{ExpireDays: 400, LookbackDays: 40, BatchSize: p.BatchSize, TagConcurrency: p.TagConcurrency,
		TagsPerActivity: p.TagsPerActivity, TagMode: p.TagMode}
	c := s.dev.Client()
	start := time.Now()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "bench-" + name, TaskQueue: queue}, workflows.WorkflowName, in)
	if err != nil {
		return res, err
	}
	firstRun := run.GetRunID() // Get follows continue-as-new and moves the handle's run id
	var summary contract.Summary
	if err := run.Get(ctx, &summary); err != nil {
		return res, fmt.Errorf("sync failed: %w (worker log %s)", err, filepath.Join(s.dir, queue+".log"))
	}
	res.WallS = time.Since(start).Seconds()
	res.WorkerRSSMB = worker.peakRSSMB()
	res.Rows = summary.TotalResources
	res.ResourcesPerS = float64(res.Rows) / res.WallS

	if err := s.measureHistory(ctx, run.GetID(), firstRun, &res); err != nil {
		return res, err
	}
	stats := sim.Stats()
	total := stats.Total()
	res.APICalls, res.Throttled = total.Requests, total.Throttled
	res.TagCalls = stats.APIs[hwsim.APITMSShow].Requests + stats.APIs[hwsim.APITMSFilter].Requests
	if res.TagCalls > 0 {
		res.ThrottledPct = 100 * float64(stats.APIs[hwsim.APITMSShow].Throttled+stats.APIs[hwsim.APITMSFilter].Throttled) / float64(res.TagCalls)
	}

	st, err := store.Open(ctx, dbURL)
	if err != nil {
		return res, err
	}
	defer st.Close()
	res.RowsOK, res.RowsProblem = checkRows(ctx, st, sim, run.GetID())
	if res.RawRowsPerS, err = rawInsertRate(ctx, st); err != nil {
		return res, err
	}
	if res.DBRowsPerS, err = s.writePathRate(ctx, st); err != nil {
		return res, err
	}
	res.WriteRatio = res.DBRowsPerS / res.RawRowsPerS
	res.computeBounds()
	if p.BaselineMax > 0 {
		if err := s.baseline(ctx, p, srv.URL, &res); err != nil {
			return res, fmt.Errorf("baseline: %w", err)
		}
	}
	return res, nil
}

// computeBounds: the tag phase cannot beat tag calls / min(rate limit,
// concurrency / latency); the write phase cannot beat the raw INSERT rate.
func (r *Result) computeBounds() {
	rate := 0.0
	if r.TMSRate > 0 {
		rate = r.TMSRate
	}
	if r.Latency > 0 {
		byLatency := float64(r.TagConcurrency) / r.Latency.Seconds()
		if rate == 0 || byLatency < rate {
			rate = byLatency
		}
	}
	if rate > 0 && r.TagCalls > 0 {
		r.TagBoundS = float64(r.TagCalls) / rate
		if r.TagsS > 0 {
			r.TagRatio = r.TagBoundS / r.TagsS
		}
	}
	r.BoundS = r.TagBoundS + float64(r.Rows)/r.RawRowsPerS
	r.BoundRatio = r.BoundS / r.WallS
}
