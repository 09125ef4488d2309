package metrics

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"expiry-sync/internal/huawei"
	"expiry-sync/internal/store"
	"expiry-sync/internal/testkit/testenv"
)

func newRecorder(t *testing.T) *Recorder {
	r, err := New("v-test", slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	return r
}

func TestHuaweiCallsAreCountedByAPIAndResultCode(t *testing.T) {
	r := newRecorder(t)
	r.ObserveCall("BSS List", 0, 20*time.Millisecond, nil)
	r.ObserveCall("BSS List", time.Second, 5*time.Millisecond, &huawei.APIError{API: "BSS List", Kind: huawei.KindThrottled, Status: 429, Code: "APIGW.0308"})
	r.ObserveCall("TMS Show", 0, time.Millisecond, &huawei.APIError{Kind: huawei.KindServer, Status: 500})
	r.ObserveCall("TMS Show", 0, time.Millisecond, &huawei.APIError{Kind: huawei.KindTransport})
	r.ObserveCall("TMS Show", 2*time.Second, 0, context.Canceled)
	r.ObserveCall("TMS Show", 0, time.Millisecond, &huawei.APIError{Kind: huawei.KindForbidden, Status: 403, Code: "APIG.0303"})
	for _, code := range []string{"PROXY.1234", "<html>", "TMS.9999"} {
		r.ObserveCall("TMS Show", 0, time.Millisecond, &huawei.APIError{Kind: huawei.KindBadRequest, Status: 400, Code: code})
	}
	r.HuaweiRetry("TMS Show")

	for _, c := range []struct {
		api, code string
		want      float64
	}{
		{"BSS List", "200", 1}, {"BSS List", "APIGW.0308", 1}, {"TMS Show", "500", 1}, {"TMS Show", "transport", 1}, {"TMS Show", "canceled", 1},
		{"TMS Show", "APIGW.0303", 1}, // the dedicated gateway's code, read as the shared one's
		{"TMS Show", "other", 3},      // codes this build does not know: one series
	} {
		assert.Equal(t, c.want, testutil.ToFloat64(r.huaweiCalls.WithLabelValues(c.api, c.code)), "%s %s", c.api, c.code)
	}
	assert.Equal(t, 1, testutil.CollectAndCount(r.huaweiThrottle), "only flow control counts as throttled")
	assert.Equal(t, 1.0, testutil.ToFloat64(r.huaweiThrottle.WithLabelValues("BSS List")))
	assert.Equal(t, 1.0, testutil.ToFloat64(r.huaweiWait.WithLabelValues("BSS List")))
	assert.Equal(t, 2.0, testutil.ToFloat64(r.huaweiWait.WithLabelValues("TMS Show")))
	assert.Equal(t, 1.0, testutil.ToFloat64(r.huaweiRetries.WithLabelValues("TMS Show")))
	families, err := r.Registry().Gather()
	require.NoError(t, err)
	observed := uint64(0)
	for _, f := range families {
		if f.GetName() == "expiry_sync_huawei_call_duration_seconds" {
			for _, m := range f.GetMetric() {
				observed += m.GetHistogram().GetSampleCount()
			}
		}
	}
	assert.Equal(t, uint64(8), observed, "a call given up before an answer has no duration")
}

func TestNilRecorderRecordsNothing(t *testing.T) {
	var r *Recorder
	r.ObserveCall("x", 0, 0, errors.New("x"))
	r.BatchCommitted("a", 3, true)
	r.SyncFinished("a", "success", time.Now(), nil)
	r.HuaweiRetry("x")
	r.ActivityRetried("x")
	assert.Nil(t, r.TemporalHandler())
}

func TestBatchesCountOnlyWhenApplied(t *testing.T) {
	r := newRecorder(t)
	r.BatchCommitted("a", 50, true)
	r.BatchCommitted("a", 50, false) // an earlier attempt had written it
	assert.Equal(t, 50.0, testutil.ToFloat64(r.rowsWritten.WithLabelValues("a")))
}

// TestDatabaseGauges checks the collector's SQL on both databases against
// rows whose answers are known.
func TestDatabaseGauges(t *testing.T) {
	for _, db := range testenv.Databases() {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			st, err := store.Open(ctx, db.URL(t))
			require.NoError(t, err)
			defer st.Close()
			require.NoError(t, st.Migrate(ctx))
			now := time.Now().UTC().Truncate(time.Second)
			day := 24 * time.Hour
			var rows []store.ExpiringResource
			add := func(account, service string, in time.Duration, active bool) {
				rows = append(rows, store.ExpiringResource{CloudProvider: "huawei", AccountID: "domain-" + account, AccountName: account, ResourceID: account + service + in.String() + map[bool]string{true: "a", false: "i"}[active],
					ServiceTypeCode: service, ExpireTime: now.Add(in), IsActive: active, TagStatus: "ok", FirstSeenAt: now, LastSyncedAt: now, LastSyncID: "s"})
			}
			add("A", "ecs", 2*day, true)
			add("A", "ecs", 10*day, true)
			add("A", "ecs", 3*day, false) // deactivated: not counted
			add("A", "ecs", -day, true)   // expired already: not counted
			add("A", "evs", 40*day, true) // beyond 30 days
			add("B", "rds", 29*day, true)
			require.NoError(t, st.DB().Create(&rows).Error)
			finished := func(h int) *time.Time { f := now.Add(-time.Duration(h) * time.Hour); return &f }
			logs := []store.SyncLog{
				{SyncID: "a1", AccountID: "domain-A", AccountName: "A", Status: "success", StartedAt: now.Add(-50 * time.Hour), FinishedAt: finished(49)},
				{SyncID: "a2", AccountID: "domain-A", AccountName: "A", Status: "partial", StartedAt: now.Add(-3 * time.Hour), FinishedAt: finished(2)},
				{SyncID: "a3", AccountID: "domain-A", AccountName: "A", Status: "failed", StartedAt: now.Add(-time.Hour), FinishedAt: finished(0)},
				{SyncID: "b1", AccountID: "domain-B", AccountName: "B", Status: "running", StartedAt: now},
			}
			for i := range logs {
				logs[i].CloudProvider, logs[i].WindowBegin, logs[i].WindowEnd, logs[i].UpdatedAt = "huawei", now, now, now
			}
			require.NoError(t, st.DB().Create(&logs).Error)

			reg := prometheus.NewRegistry()
			reg.MustRegister(NewDatabase(st.DB(), slog.New(slog.DiscardHandler)))
			want := `
# HELP expiry_sync_last_success_duration_seconds How long that sync took from its first start, by account.
# TYPE expiry_sync_last_success_duration_seconds gauge
expiry_sync_last_success_duration_seconds{account="A"} 3600
# HELP expiry_sync_last_success_timestamp_seconds When the newest sync that finished (success or partial) ended, by account.
# TYPE expiry_sync_last_success_timestamp_seconds gauge
expiry_sync_last_success_timestamp_seconds{account="A"} ` + strconv.FormatInt(finished(2).Unix(), 10) + `
# HELP expiry_sync_resources_expiring Active resources whose subscription expires within the next ` + "`within`" + ` (7d, 30d), by account and service type.
# TYPE expiry_sync_resources_expiring gauge
expiry_sync_resources_expiring{account="A",service="ecs",within="30d"} 2
expiry_sync_resources_expiring{account="A",service="ecs",within="7d"} 1
expiry_sync_resources_expiring{account="B",service="rds",within="30d"} 1
expiry_sync_resources_expiring{account="B",service="rds",within="7d"} 0
# HELP expiry_sync_syncs Sync logs by account and current status (running, success, partial, failed, canceled).
# TYPE expiry_sync_syncs gauge
expiry_sync_syncs{account="A",status="failed"} 1
expiry_sync_syncs{account="A",status="partial"} 1
expiry_sync_syncs{account="A",status="success"} 1
expiry_sync_syncs{account="B",status="running"} 1
`
			require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(want),
				"expiry_sync_resources_expiring", "expiry_sync_syncs", "expiry_sync_last_success_timestamp_seconds", "expiry_sync_last_success_duration_seconds"))
		})
	}
}
