package metrics

import (
	"encoding/json"
	"log/slog"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"expiry-sync/internal/huawei"
	"expiry-sync/internal/notify"
)

func TestNotifyMetricsAreLabelledAndStartAtZero(t *testing.T) {
	r := newRecorder(t)
	assert.Equal(t, len(notify.ChannelTypes)*len(NotifyStatuses), testutil.CollectAndCount(r.notify.sends),
		"every channel type and status exported from the start, so that increase() sees the first one")
	assert.Equal(t, len(robotTypes), testutil.CollectAndCount(r.notify.throttles))
	assert.Zero(t, testutil.CollectAndCount(r.notify.dueUndelivered), "an account's gauge once its reminders ran")

	r.NotifySend("dingtalk", NotifyThrottled)
	r.NotifyThrottled("dingtalk")
	r.NotifySend("dingtalk", NotifySent)
	r.NotifySend("slack", NotifyUnconfirmed)
	r.NotifyDueUndelivered("prod", 3)
	r.NotifyDueUndelivered("prod", 0)
	r.NotifyDueUndelivered("test", 2)
	assert.Equal(t, 1.0, testutil.ToFloat64(r.notify.sends.WithLabelValues("dingtalk", NotifyThrottled)))
	assert.Equal(t, 1.0, testutil.ToFloat64(r.notify.sends.WithLabelValues("dingtalk", NotifySent)))
	assert.Equal(t, 1.0, testutil.ToFloat64(r.notify.sends.WithLabelValues("slack", NotifyUnconfirmed)))
	assert.Equal(t, 1.0, testutil.ToFloat64(r.notify.throttles.WithLabelValues("dingtalk")))
	assert.Zero(t, testutil.ToFloat64(r.notify.dueUndelivered.WithLabelValues("prod")), "a gauge: the latest value")
	assert.Equal(t, 2.0, testutil.ToFloat64(r.notify.dueUndelivered.WithLabelValues("test")))

	names := map[string]bool{}
	for _, f := range gather(t, r) {
		names[f] = true
	}
	for _, family := range []string{NotifySendsFamily, NotifyThrottlesFamily, NotifyDueUndeliveredFamily} {
		assert.True(t, names[family], "%s is the exported name", family)
	}
}

func TestNilRecorderRecordsNoReminders(t *testing.T) {
	var r *Recorder
	r.NotifySend("dingtalk", NotifySent)
	r.NotifyThrottled("dingtalk")
	r.NotifyDueUndelivered("a", 1)
}

// gather lists the families a registry exports.
func gather(t *testing.T, r *Recorder) []string {
	t.Helper()
	families, err := r.Registry().Gather()
	require.NoError(t, err)
	var out []string
	for _, f := range families {
		out = append(out, f.GetName())
	}
	return out
}

// exportedFamilies are the worker's own (expiry_sync_) metric families: the Recorder's,
// each of its vectors given a series, and the database collector's.
func exportedFamilies(t *testing.T) []string {
	t.Helper()
	r := newRecorder(t)
	r.ObserveCall("api", time.Second, time.Second, &huawei.APIError{Kind: huawei.KindThrottled, Status: 429})
	r.HuaweiRetry("api")
	r.ActivityRetried("a")
	r.BatchCommitted("a", 1, true)
	finished := time.Now()
	r.SyncFinished("a", "success", finished.Add(-time.Minute), &finished)
	r.NotifyDueUndelivered("a", 0)
	names := gather(t, r)
	ch := make(chan *prometheus.Desc, 16)
	NewDatabase(nil, slog.New(slog.DiscardHandler)).Describe(ch)
	close(ch)
	fqName := regexp.MustCompile(`fqName: "([^"]+)"`)
	for d := range ch {
		m := fqName.FindStringSubmatch(d.String())
		require.NotNil(t, m, d.String())
		names = append(names, m[1])
	}
	return slices.DeleteFunc(names, func(n string) bool { return !strings.HasPrefix(n, Namespace+"_") })
}

// workerMetric matches the worker's own metric names in a query.
var workerMetric = regexp.MustCompile(`\bexpiry_sync_[a-zA-Z0-9_]+`)

// checkNames asserts that every expiry_sync_ name of expr is an exported
// family (or a histogram's series of one).
func checkNames(t *testing.T, families []string, where, expr string) {
	t.Helper()
	names := workerMetric.FindAllString(expr, -1)
	assert.NotEmpty(t, names, "%s: %q names a metric of the worker", where, expr)
	for _, name := range names {
		base := name
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if b, ok := strings.CutSuffix(name, suffix); ok && slices.Contains(families, b) {
				base = b
			}
		}
		assert.Contains(t, families, base, "%s: %s is not a metric the worker exports", where, name)
	}
}

// The example alerts load as Prometheus rule groups, and each names only
// metrics the worker exports; prometheus.yml loads them.
func TestAlertRulesNameExportedMetrics(t *testing.T) {
	b, err := os.ReadFile("../../deploy/prometheus/alerts.yml")
	require.NoError(t, err)
	var rules struct {
		Groups []struct {
			Name  string `yaml:"name"`
			Rules []struct {
				Alert       string            `yaml:"alert"`
				Expr        string            `yaml:"expr"`
				For         string            `yaml:"for"`
				Labels      map[string]string `yaml:"labels"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	require.NoError(t, dec.Decode(&rules))
	families := exportedFamilies(t)
	var alerts []string
	for _, g := range rules.Groups {
		require.NotEmpty(t, g.Name)
		for _, r := range g.Rules {
			require.NotEmpty(t, r.Alert, "group %s: every rule is an alert", g.Name)
			assert.NotEmpty(t, r.Annotations["summary"], r.Alert)
			assert.NotEmpty(t, r.Labels["severity"], r.Alert)
			checkNames(t, families, r.Alert, r.Expr)
			alerts = append(alerts, r.Alert)
		}
	}
	assert.Subset(t, alerts, []string{"RemindersUndelivered", "RemindersUnconfirmed"})

	b, err = os.ReadFile("../../deploy/prometheus/prometheus.yml")
	require.NoError(t, err)
	var prom struct {
		RuleFiles []string `yaml:"rule_files"`
	}
	require.NoError(t, yaml.Unmarshal(b, &prom))
	assert.Equal(t, []string{"alerts.yml"}, prom.RuleFiles, "relative to prometheus.yml, where compose mounts alerts.yml")
}

// Every query of the Grafana dashboard names only metrics the worker
// exports (internal/testkit/topology checks the same against a running worker's
// scrape), and the reminders have their panels.
func TestDashboardNamesExportedMetrics(t *testing.T) {
	b, err := os.ReadFile("../../deploy/grafana/dashboards/expiry-sync.json")
	require.NoError(t, err)
	type panel struct {
		Title   string `json:"title"`
		Targets []struct {
			Expr string `json:"expr"`
		} `json:"targets"`
	}
	var d struct {
		Panels []panel `json:"panels"`
	}
	require.NoError(t, json.Unmarshal(b, &d))
	families := exportedFamilies(t)
	used := map[string]bool{}
	for _, p := range d.Panels {
		for _, target := range p.Targets {
			if !workerMetric.MatchString(target.Expr) {
				continue // the Temporal SDK's
			}
			checkNames(t, families, p.Title, target.Expr)
			for _, name := range workerMetric.FindAllString(target.Expr, -1) {
				used[name] = true
			}
		}
	}
	for _, family := range []string{NotifySendsFamily, NotifyThrottlesFamily, NotifyDueUndeliveredFamily} {
		assert.True(t, used[family], "a panel shows %s", family)
	}
}
