package metrics

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"gorm.io/gorm"
)

// ExpiryWindows are the horizons of the expiring-resources gauge, in days.
var ExpiryWindows = []int{7, 30}

// finishedStatuses are the sync statuses that left the inventory complete:
// partial only lacks some resources' tags.
var finishedStatuses = []string{"success", "partial"}

// Database reads the gauges that only the database knows for sure: it is
// shared by every worker, so each one reports the same values (aggregate
// them with max, not sum). Queries run at scrape time: the values are fresh
// after every sync, whichever worker ran it.
type Database struct {
	db      *gorm.DB
	logger  *slog.Logger
	timeout time.Duration
	now     func() time.Time

	expiring      *prometheus.Desc
	lastSuccess   *prometheus.Desc
	lastDuration  *prometheus.Desc
	syncs         *prometheus.Desc
	collectErrors prometheus.Counter
}

// NewDatabase builds the collector; register it with Recorder.Registry().
func NewDatabase(db *gorm.DB, logger *slog.Logger) *Database {
	name := func(n string) string { return prometheus.BuildFQName(Namespace, "", n) }
	return &Database{
		db: db, logger: logger, timeout: 5 * time.Second, now: time.Now,
		expiring: prometheus.NewDesc(
			name("resources_expiring"),
			"Active resources whose subscription expires within the next `within` (7d, 30d), "+
				"by account and service type.",
			[]string{"account", "service", "within"},
			nil,
		),
		lastSuccess: prometheus.NewDesc(name("last_success_timestamp_seconds"),
			"When the newest sync that finished (success or partial) ended, by account.", []string{"account"}, nil),
		lastDuration: prometheus.NewDesc(name("last_success_duration_seconds"),
			"How long that sync took from its first start, by account.", []string{"account"}, nil),
		syncs: prometheus.NewDesc(
			name("syncs"),
			"Sync logs by account and current status (running, success, partial, failed, canceled).",
			[]string{"account", "status"},
			nil,
		),
		collectErrors: prometheus.NewCounter(
			prometheus.CounterOpts{Namespace: Namespace, Name: "database_collect_errors_total",
				Help: "Scrapes whose database gauges could not be read."},
		),
	}
}

// Describe implements prometheus.Collector.
func (d *Database) Describe(ch chan<- *prometheus.Desc) {
	for _, desc := range []*prometheus.Desc{d.expiring, d.lastSuccess, d.lastDuration, d.syncs} {
		ch <- desc
	}
	d.collectErrors.Describe(ch)
}

// Collect implements prometheus.Collector; a failed query drops its gauges
// from this scrape and counts an error, it never fails the scrape.
func (d *Database) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), d.timeout)
	defer cancel()
	for _, collect := range []func(context.Context, chan<- prometheus.Metric) error{
		d.collectExpiring, d.collectSyncs, d.collectLastSuccess,
	} {
		if err := collect(ctx, ch); err != nil {
			d.collectErrors.Inc()
			d.logger.Warn("metrics: database gauges unavailable", "error", err)
		}
	}
	d.collectErrors.Collect(ch)
}

func (d *Database) collectExpiring(ctx context.Context, ch chan<- prometheus.Metric) error {
	now := d.now().UTC()
	// One count per window, in one pass over the longest window's rows;
	// CASE and SUM read the same on MySQL and SQLite.
	sel := "account_name, service_type_code"
	var args []any
	for i, days := range ExpiryWindows {
		sel += fmt.Sprintf(", SUM(CASE WHEN expire_time <= ? THEN 1 ELSE 0 END) AS w%d", i)
		args = append(args, now.AddDate(0, 0, days))
	}
	longest := ExpiryWindows[len(ExpiryWindows)-1]
	rows, err := d.db.WithContext(ctx).Table("expiring_resources").Select(sel, args...).
		Where("is_active = ? AND expire_time >= ? AND expire_time <= ?", true, now, now.AddDate(0, 0, longest)).
		Group("account_name, service_type_code").Rows()
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var account, service string
		counts := make([]int64, len(ExpiryWindows))
		dest := []any{&account, &service}
		for i := range counts {
			dest = append(dest, &counts[i])
		}
		if err := rows.Scan(dest...); err != nil {
			return err
		}
		for i, days := range ExpiryWindows {
			ch <- prometheus.MustNewConstMetric(d.expiring, prometheus.GaugeValue,
				float64(counts[i]), account, service, strconv.Itoa(days)+"d")
		}
	}
	return rows.Err()
}

func (d *Database) collectSyncs(ctx context.Context, ch chan<- prometheus.Metric) error {
	var rows []struct {
		AccountName string
		Status      string
		N           int64
	}
	err := d.db.WithContext(ctx).Table("resource_sync_logs").Select("account_name, status, COUNT(*) AS n").
		Group("account_name, status").Scan(&rows).Error
	if err != nil {
		return err
	}
	for _, r := range rows {
		ch <- prometheus.MustNewConstMetric(d.syncs, prometheus.GaugeValue, float64(r.N), r.AccountName, r.Status)
	}
	return nil
}

// collectLastSuccess reads, per account, the newest finished sync.
func (d *Database) collectLastSuccess(ctx context.Context, ch chan<- prometheus.Metric) error {
	var rows []struct {
		AccountName string
		StartedAt   time.Time
		FinishedAt  time.Time
	}
	newest := d.db.Table("resource_sync_logs").Select("account_name, MAX(finished_at) AS finished_at").
		Where("status IN ?", finishedStatuses).Group("account_name")
	err := d.db.WithContext(ctx).Table("resource_sync_logs AS l").
		Select("l.account_name, l.started_at, l.finished_at").
		Joins("JOIN (?) AS n ON n.account_name = l.account_name AND n.finished_at = l.finished_at", newest).
		Where("l.status IN ?", finishedStatuses).Scan(&rows).Error
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, r := range rows {
		if seen[r.AccountName] { // two syncs finished in the same second
			continue
		}
		seen[r.AccountName] = true
		ch <- prometheus.MustNewConstMetric(d.lastSuccess, prometheus.GaugeValue,
			float64(r.FinishedAt.Unix()), r.AccountName)
		ch <- prometheus.MustNewConstMetric(d.lastDuration, prometheus.GaugeValue,
			r.FinishedAt.Sub(r.StartedAt).Seconds(), r.AccountName)
	}
	return nil
}
