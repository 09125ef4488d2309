package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/client"

	"expiry-sync/internal/contract"
	"expiry-sync/internal/store"
	"expiry-sync/internal/testkit/hwsim"
	"expiry-sync/workflows"
)

// Point is one measured configuration. A point of several accounts syncs
// them together, Resources each, every account with its own simulator and
// so its own BSS and TMS limits.
type Point struct {
	// Name is the named point's (see NamedPoints); empty for one made of flags.
	Name            string        `json:"point,omitempty"`
	Resources       int           `json:"resources"` // per account
	Accounts        int           `json:"accounts"`
	Latency         time.Duration `json:"-"`
	BSSRate         float64       `json:"bss_rate"` // calls/s per account, enforced by the simulator and kept by the worker; 0 = unlimited
	TMSRate         float64       `json:"tms_rate"` // likewise for TMS
	TagMode         string        `json:"tag_mode"`
	TagsPerActivity int           `json:"tags_per_activity"`
	TagConcurrency  int           `json:"tag_concurrency"`
	BatchSize       int           `json:"batch_size"`
	DB              string        `json:"db"` // DBMySQL or DBSQLite
	Seed            int64         `json:"seed"`
	// Scale, below 1, says the named point was shrunk to Scale of its size
	// (a smoke test): its numbers are not the point's.
	Scale float64 `json:"scale,omitempty"`
	// BaselineMax caps the resources the naive baseline syncs; its time is
	// scaled to the rows (0: no baseline).
	BaselineMax int `json:"-"`
}

// Result is one JSON record of the benchmark. Every term of the floor is
// counted or measured in the same run.
type Result struct {
	Point
	LatencyMS  float64 `json:"latency_ms"`
	MeasuredAt string  `json:"measured_at"`
	Machine    string  `json:"machine"`

	Rows          int     `json:"rows"`
	WallS         float64 `json:"wall_s"`
	ResourcesPerS float64 `json:"resources_per_s"`
	// Phases: the union of their activities' spans (scheduled to closed).
	ListS     float64 `json:"list_s"`
	TagsS     float64 `json:"tags_s"`
	WritesS   float64 `json:"writes_s"`
	FinalizeS float64 `json:"finalize_s"`
	// Overlap is (list_s + tags_s + writes_s) / wall_s: 1 when the phases
	// run one after the other and fill the sync, above 1 as they overlap.
	Overlap float64 `json:"overlap"`

	// The floor: the least time Huawei's limits and the database allow.
	BSSPages    int64   `json:"bss_pages"`     // BSS calls answered (pages, pages listed again, re-checks by id)
	TMSCalls    int64   `json:"tms_calls"`     // TMS calls answered (tag reads, providers)
	FloorBSSS   float64 `json:"floor_bss_s"`   // BSS pages / bss_rate (the slowest account's)
	FloorTMSS   float64 `json:"floor_tms_s"`   // TMS calls / tms_rate (0 if unlimited)
	FloorWriteS float64 `json:"floor_write_s"` // rows / raw INSERT rows/s
	FloorS      float64 `json:"floor_s"`       // the largest of the three
	FloorBy     string  `json:"floor_by"`      // which: bss, tms or write
	FloorRatio  float64 `json:"floor_ratio"`   // floor_s / wall_s: 1 = at the floor

	APICalls     int64   `json:"api_calls"`     // every request, throttled ones too
	TagCalls     int64   `json:"tag_calls"`     // TMS tag reads answered (ShowResourceTag, ListResource)
	Throttled    int64   `json:"throttled"`     // 429 (and TMS.0006) answers
	ThrottledPct float64 `json:"throttled_pct"` // their share of every API call, %
	// TagCallsPerS: tag reads per second of the tag phase; TagRateVsLimit
	// that over the TMS limit (1 = the tag phase runs at the limit).
	TagCallsPerS     float64 `json:"tag_calls_per_s,omitempty"`
	TagRateVsLimit   float64 `json:"tag_rate_vs_limit,omitempty"`
	Retries          int     `json:"retries"`
	Runs             int     `json:"runs"`
	MaxHistoryEvents int     `json:"max_history_events"`
	WorkerRSSMB      float64 `json:"worker_rss_mb"` // peak (VmHWM)

	// CPU seconds during the sync: the worker process, the simulator (this
	// process, which meanwhile only serves it), the Temporal dev server,
	// the database server (MariaDB, whole server; SQLite is inside the
	// worker: 0); MachineCPUPct: busy share of all cores, %.
	WorkerCPUS    float64 `json:"worker_cpu_s"`
	SimCPUS       float64 `json:"sim_cpu_s"`
	TemporalCPUS  float64 `json:"temporal_cpu_s"`
	DBCPUS        float64 `json:"db_cpu_s"`
	MachineCPUPct float64 `json:"machine_cpu_pct"`

	// DBGrowthBytes: data + indexes after the sync minus before it (after
	// the migrations), every table; DBBytesPerResource: that per row.
	DBGrowthBytes      int64   `json:"db_growth_bytes"`
	DBBytesPerResource float64 `json:"db_bytes_per_resource"`

	// InSyncRowsPerS: the write path during the sync (rows over the time
	// its transactions took), sharing the machine with everything else;
	// DBRowsPerS: the same rows through the same path alone after it;
	// RawRowsPerS: plain multi-row INSERTs of them, alone, into a twin table.
	InSyncRowsPerS  float64 `json:"db_rows_per_s_in_sync"`
	DBRowsPerS      float64 `json:"db_rows_per_s"`
	RawRowsPerS     float64 `json:"raw_rows_per_s"`
	WriteRatio      float64 `json:"write_ratio"`       // in sync / raw
	WriteRatioAlone float64 `json:"write_ratio_alone"` // alone / raw

	BaselineWallS float64 `json:"baseline_wall_s,omitempty"`
	BaselineFrom  int     `json:"baseline_from,omitempty"`
	Speedup       float64 `json:"speedup,omitempty"`

	RowsOK      bool          `json:"rows_ok"`
	RowsProblem string        `json:"rows_problem,omitempty"`
	PerAccount  []AccountStat `json:"per_account,omitempty"`
}

const (
	benchAK     = "BENCHACCESSKEY000001"
	benchSK     = "bench-secret-key-not-a-real-one"
	benchDomain = "be0c0000000000000000000000000001"
)

// benchAccount is one simulated Huawei account of a run.
type benchAccount struct {
	name, ak, sk, domain string
	sim                  *hwsim.Simulator
	srv                  *hwsim.Server
	syncID, firstRun     string
	rows                 int // the sync's summary
	hist                 history
}

// newAccounts starts one simulator per account: each has its own dataset
// (seed), keys, domain and rate limiters, as Huawei accounts do.
func newAccounts(ctx context.Context, p Point) ([]*benchAccount, error) {
	n := max(1, p.Accounts)
	var out []*benchAccount
	for i := range n {
		a := &benchAccount{name: contract.DefaultAccount, ak: benchAK, sk: benchSK, domain: benchDomain}
		if n > 1 {
			a.name = fmt.Sprintf("acct%02d", i+1)
			a.ak = fmt.Sprintf("BENCHACCESSKEY%06d", i+1)
			a.sk = fmt.Sprintf("bench-secret-key-%02d", i+1)
			a.domain = fmt.Sprintf("be0c%028d", i+1)
		}
		sim, err := hwsim.New(hwsim.Options{Seed: p.Seed + int64(i), Resources: p.Resources, AccessKey: a.ak, SecretKey: a.sk,
			DomainID: a.domain, Knobs: hwsim.Knobs{Latency: p.Latency, BSSRate: p.BSSRate, TMSRate: p.TMSRate}})
		if err != nil {
			return out, err
		}
		a.sim = sim
		if a.srv, err = sim.Start(ctx, "127.0.0.1:0"); err != nil {
			return out, err
		}
		out = append(out, a)
	}
	return out, nil
}

// workerEnv is the worker's configuration: the HUAWEI_* variables for one
// account, an accounts file (keys in variables) for several.
func (s *Stack) workerEnv(p Point, accounts []*benchAccount, dbURL, queue string) ([]string, error) {
	env := []string{"DATABASE_URL=" + dbURL, "TEMPORAL_ADDRESS=" + s.dev.FrontendHostPort(), "TEMPORAL_TASK_QUEUE=" + queue,
		"WORKER_MAX_CONCURRENT_ACTIVITIES=256"}
	if len(accounts) == 1 {
		a := accounts[0]
		return append(env, "HUAWEI_ACCESS_KEY="+a.ak, "HUAWEI_SECRET_KEY="+a.sk, "HUAWEI_DOMAIN_ID="+a.domain,
			"HUAWEI_BSS_ENDPOINT="+a.srv.URL, "HUAWEI_TMS_ENDPOINT="+a.srv.URL,
			fmt.Sprintf("HUAWEI_BSS_RATE=%g", p.BSSRate), fmt.Sprintf("HUAWEI_TMS_RATE=%g", p.TMSRate)), nil
	}
	var file strings.Builder
	file.WriteString("accounts:\n")
	for i, a := range accounts {
		ak, sk := fmt.Sprintf("BENCH_AK_%02d", i+1), fmt.Sprintf("BENCH_SK_%02d", i+1)
		env = append(env, ak+"="+a.ak, sk+"="+a.sk)
		fmt.Fprintf(&file, "  - {name: %s, domain_id: %s, access_key_env: %s, secret_key_env: %s, bss_endpoint: %q, tms_endpoint: %q, bss_rate: %g, tms_rate: %g}\n",
			a.name, a.domain, ak, sk, a.srv.URL, a.srv.URL, p.BSSRate, p.TMSRate)
	}
	path := filepath.Join(s.dir, queue+"-accounts.yaml")
	if err := os.WriteFile(path, []byte(file.String()), 0o600); err != nil {
		return nil, err
	}
	return append(env, "EXPIRY_SYNC_ACCOUNTS_FILE="+path), nil
}

// Run measures one point: fresh simulators, database and worker, one sync
// (of every account at once, through the all-accounts workflow, when the
// point has several), then the raw write bound, the write path alone and
// the baseline.
func (s *Stack) Run(ctx context.Context, p Point) (Result, error) {
	p.Accounts = max(1, p.Accounts)
	if p.DB == "" {
		p.DB = DBMySQL
	}
	res := Result{Point: p, LatencyMS: float64(p.Latency) / float64(time.Millisecond),
		MeasuredAt: time.Now().UTC().Format(time.RFC3339), Machine: Machine()}
	accounts, err := newAccounts(ctx, p)
	defer func() {
		for _, a := range accounts {
			_ = a.srv.Close()
		}
	}()
	if err != nil {
		return res, err
	}

	dbURL, drop, err := s.newDatabase(ctx, p.DB, "sync")
	if err != nil {
		return res, err
	}
	defer drop()
	queue := "bench-" + dbName("q")[len(dbPrefix):]
	env, err := s.workerEnv(p, accounts, dbURL, queue)
	if err != nil {
		return res, err
	}
	logPath := filepath.Join(s.dir, queue+".log")
	worker, err := s.startWorker(ctx, env, logPath)
	if err != nil {
		return res, err
	}
	defer worker.stop()

	st, err := store.Open(ctx, dbURL)
	if err != nil {
		return res, err
	}
	defer st.Close()
	sizeBefore, err := dbSize(ctx, st) // the worker migrated before it started polling
	if err != nil {
		return res, fmt.Errorf("database size: %w", err)
	}

	cpu := newCPUMeter(worker.cmd.Process.Pid, p.DB)
	start := time.Now()
	if err := s.sync(ctx, p, accounts, queue, &res); err != nil {
		return res, fmt.Errorf("%w (worker log %s)", err, logPath)
	}
	res.WallS = time.Since(start).Seconds()
	cpu.stop(&res)
	res.WorkerRSSMB = worker.peakRSSMB()
	worker.stop() // its connections closed, SQLite's file is the bench's alone
	res.ResourcesPerS = float64(res.Rows) / res.WallS

	if err := s.measureRun(ctx, accounts, &res); err != nil {
		return res, err
	}
	stats := apiStats(accounts, &res)

	sizeAfter, err := dbSize(ctx, st)
	if err != nil {
		return res, fmt.Errorf("database size: %w", err)
	}
	res.DBGrowthBytes = sizeAfter - sizeBefore
	if res.Rows > 0 {
		res.DBBytesPerResource = float64(res.DBGrowthBytes) / float64(res.Rows)
	}
	res.RowsOK = true
	for i, a := range accounts {
		ok, problem := checkRows(ctx, st, a.sim, a.domain, a.syncID)
		stats[i].RowsOK = ok
		if !ok && res.RowsOK {
			res.RowsOK, res.RowsProblem = false, problem
			if len(accounts) > 1 {
				res.RowsProblem = a.name + ": " + problem
			}
		}
	}
	if res.RawRowsPerS, err = rawInsertRate(ctx, st); err != nil {
		return res, fmt.Errorf("raw INSERT rate: %w", err)
	}
	if res.DBRowsPerS, err = s.writePathRate(ctx, p.DB, st); err != nil {
		return res, fmt.Errorf("write path alone: %w", err)
	}
	res.computeFloor(stats)
	if p.BaselineMax > 0 {
		if err := s.baseline(ctx, p, accounts[0], &res); err != nil {
			return res, fmt.Errorf("baseline: %w", err)
		}
	}
	return res, nil
}

// sync runs the point's sync to its end: SyncExpiringResources for one
// account, SyncAllAccounts with every account at once for several.
func (s *Stack) sync(ctx context.Context, p Point, accounts []*benchAccount, queue string, res *Result) error {
	in := workflows.SyncInput{ExpireDays: 400, LookbackDays: 40, BatchSize: p.BatchSize, TagConcurrency: p.TagConcurrency,
		TagsPerActivity: p.TagsPerActivity, TagMode: p.TagMode}
	c := s.dev.Client()
	opts := client.StartWorkflowOptions{ID: queue, TaskQueue: queue}
	if len(accounts) == 1 {
		run, err := c.ExecuteWorkflow(ctx, opts, workflows.WorkflowName, in)
		if err != nil {
			return err
		}
		accounts[0].syncID, accounts[0].firstRun = run.GetID(), run.GetRunID() // Get follows continue-as-new and moves the handle's run id
		var summary contract.Summary
		if err := run.Get(ctx, &summary); err != nil {
			return fmt.Errorf("sync failed: %w", err)
		}
		res.Rows, accounts[0].rows = summary.TotalResources, summary.TotalResources
		return nil
	}
	names := make([]string, len(accounts))
	for i, a := range accounts {
		names[i] = a.name
	}
	run, err := c.ExecuteWorkflow(ctx, opts, workflows.AllAccountsWorkflowName,
		workflows.AllAccountsInput{Accounts: names, Concurrency: len(accounts), Sync: in})
	if err != nil {
		return err
	}
	var out workflows.AllAccountsResult
	if err := run.Get(ctx, &out); err != nil {
		return fmt.Errorf("all-accounts sync failed: %w", err)
	}
	var failed []error
	for _, r := range out.Accounts {
		i := slices.Index(names, r.Account)
		if i < 0 {
			return fmt.Errorf("the all-accounts sync synced %q, an account of no simulator", r.Account)
		}
		accounts[i].syncID = r.SyncID
		if r.Status != contract.StatusSuccess || r.Summary == nil {
			failed = append(failed, fmt.Errorf("account %s: %s %s", r.Account, r.Status, r.Error))
			continue
		}
		accounts[i].rows = r.Summary.TotalResources
		res.Rows += r.Summary.TotalResources
	}
	if len(failed) > 0 {
		return errors.Join(failed...)
	}
	// The children's first runs, to follow their continue-as-new chains.
	parent, err := s.readHistory(ctx, run.GetID(), run.GetRunID())
	if err != nil {
		return err
	}
	res.Runs++
	res.MaxHistoryEvents = parent.maxEvents
	for _, a := range accounts {
		a.firstRun = parent.children[a.syncID]
		if a.firstRun == "" {
			return fmt.Errorf("the parent's history names no child %s", a.syncID)
		}
	}
	return nil
}

// apiStats reads every simulator's counters into res and per account.
func apiStats(accounts []*benchAccount, res *Result) []AccountStat {
	answered := func(a hwsim.APIStats) int64 { return a.Requests - a.Throttled }
	out := make([]AccountStat, len(accounts))
	for i, a := range accounts {
		stats := a.sim.Stats()
		total := stats.Total()
		var tms int64
		for name, api := range stats.APIs {
			if name != hwsim.APIBSSList {
				tms += answered(api)
			}
		}
		out[i] = AccountStat{Account: a.name, Rows: a.rows, BSSPages: answered(stats.APIs[hwsim.APIBSSList]), TMSCalls: tms,
			Throttled: total.Throttled, WallS: a.hist.last.Sub(a.hist.first).Seconds()}
		res.APICalls += total.Requests
		res.Throttled += total.Throttled
		res.TagCalls += answered(stats.APIs[hwsim.APITMSShow]) + answered(stats.APIs[hwsim.APITMSFilter])
	}
	if res.APICalls > 0 {
		res.ThrottledPct = 100 * float64(res.Throttled) / float64(res.APICalls)
	}
	return out
}
