package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"expiry-sync/internal/inventory"
	"expiry-sync/internal/store"
	"expiry-sync/internal/testkit/testenv"
)

// benchRows makes n rows with a realistic tag load (8 tags, one long value).
func benchRows(n, seed int) []inventory.Row {
	rows := make([]inventory.Row, n)
	for i := range rows {
		id := fmt.Sprintf("%08d-bench-%04d-%012d", seed, i%9999, i)
		rows[i] = inventory.Row{
			Resource: inventory.Resource{ResourceID: id, Name: "ecs-prod-web-" + id[:8], RegionCode: "cn-north-4",
				ProjectID: "0123456789abcdef0123456789abcdef", ServiceTypeCode: "hws.service.type.ec2",
				ResourceTypeCode: "hws.resource.type.vm", ResourceSpecCode: "s6.large.2.linux", IsMainResource: true,
				Status: new(2), ExpireTime: t0.Add(time.Duration(i) * time.Minute), EffectiveTime: t0.AddDate(-1, 0, 0), ExpirePolicy: new(3)},
			Tags: inventory.TagResult{ResourceID: id, Status: inventory.TagsOK, Tags: map[string]string{
				"env": "prod", "owner": "ops-team", "cost-center": "CC-1042", "app": "web", "团队": "运维部",
				"tier": "frontend", "backup": "daily", "description": strings.Repeat("x", 120),
			}},
		}
	}
	return rows
}

// BenchmarkCommitBatch measures idempotent upserts in batches of 500 rows,
// into an empty table (insert) and over existing rows (every row conflicts).
// Report rows/s with: go test -run XXX -bench CommitBatch ./internal/store/
func BenchmarkCommitBatch(b *testing.B) {
	for _, db := range testenv.Databases() {
		for _, mode := range []string{"insert", "conflict"} {
			b.Run(db.Name+"/"+mode, func(b *testing.B) {
				ctx := context.Background()
				s, err := store.Open(ctx, db.URL(b))
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				if err := s.Migrate(ctx); err != nil {
					b.Fatal(err)
				}
				st := window
				st.SyncID, st.RunID = "bench", "run"
				log, err := s.BeginSync(ctx, st, nil)
				if err != nil {
					b.Fatal(err)
				}
				const batch = 500
				batches := make([][]inventory.Row, 20)
				for i := range batches {
					batches[i] = benchRows(batch, i)
				}
				next := 1
				if mode == "conflict" {
					for _, rows := range batches {
						if _, err := s.CommitBatch(ctx, store.BatchCommit{Writer: log.Writer(), Batch: next, Rows: rows, SyncedAt: t0}); err != nil {
							b.Fatal(err)
						}
						next++
					}
				}
				b.ResetTimer()
				start := time.Now()
				for i := 0; i < b.N; i++ {
					rows := batches[i%len(batches)]
					if mode == "insert" && i >= len(batches) {
						rows = benchRows(batch, 1000+i)
					}
					if _, err := s.CommitBatch(ctx, store.BatchCommit{Writer: log.Writer(), Batch: next, Rows: rows, SyncedAt: t0}); err != nil {
						b.Fatal(err)
					}
					next++
				}
				b.ReportMetric(float64(b.N*batch)/time.Since(start).Seconds(), "rows/s")
			})
		}
	}
}
