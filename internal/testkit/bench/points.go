package bench

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"expiry-sync/workflows"
)

// Databases a point can write to.
const (
	DBMySQL  = "mysql"  // MariaDB/MySQL, a fresh database per point
	DBSQLite = "sqlite" // an SQLite file through gorm and the pure-Go glebarez/sqlite, as the product
)

// HuaweiBSSRate is Huawei's documented limit of BSS calls per second, per
// account and API: the default of --bss-rate and of HUAWEI_BSS_RATE.
const HuaweiBSSRate = 10

// PointAll names every named point in --point.
const PointAll = "all"

// named are the fixed configurations of --point, in the order the results
// table lists them. Each is measured against the floor its rate limits allow.
var named = []Point{
	{Name: "10k", Resources: 10_000, Latency: 20 * time.Millisecond, BSSRate: HuaweiBSSRate, TMSRate: 50, TagMode: workflows.TagModeAuto},
	{Name: "100k", Resources: 100_000, Latency: 20 * time.Millisecond, BSSRate: HuaweiBSSRate, TMSRate: 50, TagMode: workflows.TagModeAuto},
	{Name: "100k-sqlite", Resources: 100_000, Latency: 20 * time.Millisecond, BSSRate: HuaweiBSSRate, TMSRate: 50, TagMode: workflows.TagModeAuto, DB: DBSQLite},
	{Name: "10k-per-resource", Resources: 10_000, Latency: 20 * time.Millisecond, BSSRate: HuaweiBSSRate, TMSRate: 50, TagMode: workflows.TagModePerResource},
	{Name: "1m-bulk", Resources: 1_000_000, Latency: 20 * time.Millisecond, BSSRate: HuaweiBSSRate, TMSRate: 50, TagMode: workflows.TagModeBulk},
	{Name: "8x12.5k", Accounts: 8, Resources: 12_500, Latency: 20 * time.Millisecond, BSSRate: HuaweiBSSRate, TMSRate: 50, TagMode: workflows.TagModeAuto},
}

// PointNames lists the named points in table order.
func PointNames() []string {
	names := make([]string, len(named))
	for i, p := range named {
		names[i] = p.Name
	}
	return names
}

// rank orders point names: the named points first, in table order, then
// any other key alphabetically.
func rank(name string) int {
	if i := slices.Index(PointNames(), name); i >= 0 {
		return i
	}
	return len(named)
}

// DefaultPoint is an unnamed point with the sync's defaults and Huawei's
// BSS limit; the flags of cmd/bench change it.
func DefaultPoint() Point {
	return Point{Resources: 1000, BSSRate: HuaweiBSSRate, TagMode: workflows.TagModeAuto, DB: DBMySQL, Accounts: 1,
		TagsPerActivity: workflows.DefaultTagsPerActivity, TagConcurrency: workflows.DefaultTagConcurrency,
		BatchSize: workflows.DefaultBatchSize, Seed: 42, BaselineMax: 2000}
}

// NamedPoints resolves --point values (each a name, a comma list, or
// "all") into points, in the order given, without repeats. Scale (0 < s <=
// 1) multiplies every account's size, for smoke tests; the records say so.
func NamedPoints(values []string, scale float64) ([]Point, error) {
	if !(scale > 0 && scale <= 1) {
		return nil, fmt.Errorf("--scale=%g is out of range: allowed 0 < scale <= 1", scale)
	}
	var names []string
	for _, v := range values {
		for n := range strings.SplitSeq(v, ",") {
			n = strings.TrimSpace(n)
			switch {
			case n == "":
				continue
			case n == PointAll:
				names = append(names, PointNames()...)
			case slices.Contains(PointNames(), n):
				names = append(names, n)
			default:
				return nil, fmt.Errorf("--point=%s is not a named point: allowed %s or %s", n, strings.Join(PointNames(), ", "), PointAll)
			}
		}
	}
	var out []Point
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] {
			continue
		}
		seen[n] = true
		p := DefaultPoint()
		fixed := named[slices.IndexFunc(named, func(q Point) bool { return q.Name == n })]
		p.Name, p.Resources, p.Latency, p.BSSRate, p.TMSRate, p.TagMode = fixed.Name, fixed.Resources, fixed.Latency, fixed.BSSRate, fixed.TMSRate, fixed.TagMode
		if fixed.DB != "" {
			p.DB = fixed.DB
		}
		if fixed.Accounts > 0 {
			p.Accounts = fixed.Accounts
		}
		if scale < 1 {
			p.Scale = scale
			p.Resources = max(1, int(math.Round(float64(p.Resources)*scale)))
		}
		out = append(out, p)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--point names no point: allowed %s or %s", strings.Join(PointNames(), ", "), PointAll)
	}
	return out, nil
}

// Key is the point's name in latest.json: its name, or for an unnamed
// point a description of its knobs.
func (p Point) Key() string {
	if p.Name != "" {
		return p.Name
	}
	key := fmt.Sprintf("custom-%d", p.Resources)
	if p.Accounts > 1 {
		key = fmt.Sprintf("custom-%dx%d", p.Accounts, p.Resources)
	}
	return fmt.Sprintf("%s-%s-%s-%gms-bss%g-tms%g", key, p.DB, p.TagMode, float64(p.Latency)/float64(time.Millisecond), p.BSSRate, p.TMSRate)
}

// Validate checks a point's knobs as the sync and the simulator would.
func (p Point) Validate() error {
	in := workflows.SyncInput{ExpireDays: 400, LookbackDays: 40, BatchSize: p.BatchSize, TagConcurrency: p.TagConcurrency,
		TagsPerActivity: p.TagsPerActivity, TagMode: p.TagMode}
	if err := in.WithDefaults().Validate(); err != nil {
		return err
	}
	switch {
	case p.Resources < 1 || p.Resources > 1_000_000:
		return fmt.Errorf("--resources=%d is out of range: allowed 1..1000000", p.Resources)
	case p.Accounts < 1 || p.Accounts > 32:
		return fmt.Errorf("--accounts=%d is out of range: allowed 1..32", p.Accounts)
	case p.DB != DBMySQL && p.DB != DBSQLite:
		return fmt.Errorf("--db=%s is not allowed: use %s or %s", p.DB, DBMySQL, DBSQLite)
	case p.BSSRate < 0 || p.BSSRate > 1000:
		return fmt.Errorf("--bss-rate=%g is out of range: allowed 0..1000 (0 = unlimited)", p.BSSRate)
	case p.TMSRate < 0 || p.TMSRate > 1000:
		return fmt.Errorf("--tms-rate=%g is out of range: allowed 0..1000 (0 = unlimited)", p.TMSRate)
	case p.Latency < 0 || p.Latency > time.Minute:
		return fmt.Errorf("--latency=%s is out of range: allowed 0..1m", p.Latency)
	}
	return nil
}
