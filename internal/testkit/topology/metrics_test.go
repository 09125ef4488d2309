package topology

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"expiry-sync/internal/config"
	"expiry-sync/internal/contract"
	"expiry-sync/internal/store"
	"expiry-sync/internal/testkit/hwsim"
)

// scrape is one read of the worker's /metrics: the text and its families.
type scrape struct {
	text     string
	families map[string]*dto.MetricFamily
}

func (top *topology) scrape() scrape {
	code, body, err := httpGet(top.metrics + "/metrics")
	require.NoError(top.t, err)
	require.Equal(top.t, http.StatusOK, code)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(body))
	require.NoError(top.t, err)
	return scrape{text: body, families: families}
}

// value is the sample of family whose labels include want; ok is false
// when there is none.
func (s scrape) value(family string, want map[string]string) (v float64, ok bool) {
	f := s.families[family]
	if f == nil {
		return 0, false
	}
	for _, m := range f.GetMetric() {
		if hasLabels(m, want) {
			switch {
			case m.Counter != nil:
				return m.GetCounter().GetValue(), true
			case m.Gauge != nil:
				return m.GetGauge().GetValue(), true
			case m.Histogram != nil:
				return float64(m.GetHistogram().GetSampleCount()), true
			}
		}
	}
	return 0, false
}

// sum adds the samples of family whose labels include want.
func (s scrape) sum(family string, want map[string]string) float64 {
	total := 0.0
	for _, m := range s.families[family].GetMetric() {
		if hasLabels(m, want) {
			total += m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	return total
}

func hasLabels(m *dto.Metric, want map[string]string) bool {
	found := 0
	for _, l := range m.GetLabel() {
		if v, ok := want[l.GetName()]; ok && v == l.GetValue() {
			found++
		}
	}
	return found == len(want)
}

// expiringCounts reads from the database what the expiring gauge must say:
// active resources by service expiring within 7 and 30 days from now.
func (top *topology) expiringCounts() map[string][2]int {
	var rows []store.ExpiringResource
	require.NoError(top.t, top.adminDB.DB().Where("account_id = ? AND is_active = ?", top.account, true).Find(&rows).Error)
	now := time.Now().UTC()
	counts := map[string][2]int{}
	for _, r := range rows {
		if r.ExpireTime.Before(now) {
			continue
		}
		c := counts[r.ServiceTypeCode]
		if !r.ExpireTime.After(now.AddDate(0, 0, 7)) {
			c[0]++
		}
		if !r.ExpireTime.After(now.AddDate(0, 0, 30)) {
			c[1]++
		}
		counts[r.ServiceTypeCode] = c
	}
	for k, c := range counts {
		if c[1] == 0 {
			delete(counts, k)
		}
	}
	return counts
}

// checkMetricsAgainstDatabase scrapes the worker after the sync, the resume
// and the scheduled sync, and checks the values against the database and
// the simulator's own counts.
func (top *topology) checkMetricsAgainstDatabase(firstSync string) scrape {
	t := top.t
	acct := map[string]string{"account": config.DefaultAccount}

	// The expiring gauges, read at scrape time, equal the database's counts
	// (read before and after, in case a resource crossed a boundary between).
	var s scrape
	eventually(t, "the expiring gauges match the database", 30*time.Second, func() bool {
		before := top.expiringCounts()
		s = top.scrape()
		after := top.expiringCounts()
		if len(before) == 0 || !assert.ObjectsAreEqual(before, after) {
			return false
		}
		got := map[string][2]int{}
		for _, m := range s.families["expiry_sync_resources_expiring"].GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["account"] != config.DefaultAccount {
				continue
			}
			c := got[labels["service"]]
			switch labels["within"] {
			case "7d":
				c[0] = int(m.GetGauge().GetValue())
			case "30d":
				c[1] = int(m.GetGauge().GetValue())
			}
			got[labels["service"]] = c
		}
		return assert.ObjectsAreEqual(before, got)
	})

	logs := top.syncLogs()
	var newestFinish time.Time
	rows, successes := 0, 0
	for _, l := range logs {
		rows += l.RowsWritten
		if l.Status == contract.StatusSuccess {
			successes++
			if l.FinishedAt != nil && l.FinishedAt.After(newestFinish) {
				newestFinish = *l.FinishedAt
			}
		}
	}
	require.Equal(t, 3, successes, "the first sync, the resumed one and the scheduled one")
	last, ok := s.value("expiry_sync_last_success_timestamp_seconds", acct)
	require.True(t, ok)
	assert.Equal(t, float64(newestFinish.Unix()), last)
	n, _ := s.value("expiry_sync_syncs", map[string]string{"account": config.DefaultAccount, "status": "success"})
	assert.Equal(t, float64(successes), n)
	n, _ = s.value("expiry_sync_rows_written_total", acct)
	assert.Equal(t, float64(rows), n, "rows written = the sync logs' rows_written")
	n, _ = s.value("expiry_sync_sync_duration_seconds", map[string]string{"account": config.DefaultAccount, "status": "success"})
	assert.Equal(t, float64(successes), n, "one duration per finished sync")

	// Huawei calls: the worker's counts per API and code are the
	// simulator's counts of what it answered.
	code, body, err := httpGet(top.simURL + "/_hwsim/stats")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, code)
	var stats hwsim.Stats
	require.NoError(t, json.Unmarshal([]byte(body), &stats))
	bss := stats.APIs[hwsim.APIBSSList]
	api := map[string]string{"api": "BSS ListPayPerUseCustomerResources"}
	assert.Equal(t, float64(bss.Requests), s.sum("expiry_sync_huawei_calls_total", api))
	assert.Equal(t, float64(bss.OK), s.sum("expiry_sync_huawei_calls_total", map[string]string{"api": api["api"], "code": "200"}))
	throttled := 0.0
	for name, a := range stats.APIs {
		throttled += float64(a.Throttled)
		_ = name
	}
	assert.Positive(t, throttled, "the simulator throttled some calls")
	assert.Equal(t, throttled, s.sum("expiry_sync_huawei_throttled_total", nil))

	// The Temporal SDK's own metrics come through the same endpoint.
	for _, family := range []string{"temporal_request_total", "temporal_worker_task_slots_available", "temporal_activity_execution_latency_seconds"} {
		assert.Contains(t, s.families, family)
	}
	assert.NotEmpty(t, firstSync)
	return s
}
