// Package metrics is the worker's Prometheus endpoint: the Temporal SDK's own
// metrics (through its OpenTelemetry contrib), what the worker does (Huawei
// calls, rows written, syncs) and what the database holds (resources
// expiring soon, the last successful sync), read at scrape time so that every
// worker reports the same truth however many of them run.
//
// Other packages record through small hooks: huawei.Observer (ObserveCall),
// and the nil-safe methods of *Recorder that activities call.
package metrics

import (
	"errors"
	"log/slog"
	"net/http"
	"runtime"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.temporal.io/sdk/client"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"

	"expiry-sync/internal/huawei"
)

// Namespace prefixes every application metric.
const Namespace = "expiry_sync"

// durationBuckets (seconds) fit both a Huawei call and a whole sync.
var durationBuckets = []float64{
	.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400,
}

// Recorder owns the registry /metrics serves. A nil *Recorder records nothing,
// so code paths without metrics (unit tests) need no checks.
type Recorder struct {
	registry       *prometheus.Registry
	logger         *slog.Logger
	temporal       client.MetricsHandler
	huaweiCalls    *prometheus.CounterVec
	huaweiDuration *prometheus.HistogramVec
	huaweiThrottle *prometheus.CounterVec
	huaweiWait     *prometheus.CounterVec
	huaweiRetries  *prometheus.CounterVec
	activityRetry  *prometheus.CounterVec
	rowsWritten    *prometheus.CounterVec
	syncDuration   *prometheus.HistogramVec
	notify         notifyMetrics
}

// New builds the registry: Go and process metrics, build info, the
// application metrics and the Temporal SDK's, labelled with version.
func New(version string, logger *slog.Logger) (*Recorder, error) {
	reg := prometheus.NewRegistry()
	r := &Recorder{registry: reg, logger: logger, notify: newNotifyMetrics()}
	r.huaweiCalls = counterVec(
		"huawei_calls_total",
		"Huawei API calls by API and result code "+
			"(200, Huawei's error code, other for a code this build does not know, "+
			"the HTTP status, transport or canceled).",
		"api",
		"code",
	)
	r.huaweiDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: Namespace,
		Name:      "huawei_call_duration_seconds",
		Help:      "Time of one Huawei API call on the wire, by API.",
		Buckets:   durationBuckets,
	}, []string{"api"})
	r.huaweiThrottle = counterVec(
		"huawei_throttled_total",
		"Huawei API calls refused by flow control (429, APIGW.0308 and the like), by API.",
		"api",
	)
	r.huaweiWait = counterVec(
		"huawei_rate_limit_wait_seconds_total",
		"Time calls waited for the worker's own rate limiter or a flow-control pause, by API.",
		"api",
	)
	r.huaweiRetries = counterVec(
		"huawei_call_retries_total",
		"Huawei API calls retried inside an activity after a retryable failure, by API.",
		"api",
	)
	r.activityRetry = counterVec(
		"activity_retries_total",
		"Activity attempts after the first (Temporal's retries), by activity type.",
		"activity",
	)
	r.rowsWritten = counterVec(
		"rows_written_total",
		"Inventory rows written by committed batches, by account.",
		"account",
	)
	r.syncDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: Namespace,
		Name:      "sync_duration_seconds",
		Help:      "Wall time of finished syncs from their first start, by account and status (success, partial).",
		Buckets:   durationBuckets,
	}, []string{"account", "status"})
	build := prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: Namespace, Name: "build_info", Help: "Always 1; the labels name the running build.",
		ConstLabels: prometheus.Labels{"version": version, "goversion": runtime.Version()},
	})
	build.Set(1)
	for _, c := range append([]prometheus.Collector{
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), build,
		r.huaweiCalls, r.huaweiDuration, r.huaweiThrottle, r.huaweiWait, r.huaweiRetries, r.activityRetry,
		r.rowsWritten, r.syncDuration,
	}, r.notify.collectors()...) {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	th, err := temporalHandler(reg, logger)
	if err != nil {
		return nil, err
	}
	r.temporal = th
	return r, nil
}

func counterVec(name, help string, labels ...string) *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: name, Help: help}, labels)
}

// temporalHandler exports the SDK's metrics (temporal_*) into reg through
// OpenTelemetry: counters as monotonic *_total, timers as histograms in
// seconds with buckets for seconds (OpenTelemetry's defaults are for ms).
func temporalHandler(reg prometheus.Registerer, logger *slog.Logger) (client.MetricsHandler, error) {
	exporter, err := otelprom.New(
		otelprom.WithRegisterer(reg),
		otelprom.WithoutScopeInfo(),
		otelprom.WithoutTargetInfo(),
	)
	if err != nil {
		return nil, err
	}
	seconds := sdkmetric.NewView(sdkmetric.Instrument{Unit: "s"}, sdkmetric.Stream{
		Aggregation: sdkmetric.AggregationExplicitBucketHistogram{Boundaries: durationBuckets},
	})
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter), sdkmetric.WithView(seconds))
	return temporalotel.NewMetricsHandler(temporalotel.MetricsHandlerOptions{
		Meter:                provider.Meter("temporal-sdk-go"),
		UseMonotonicCounters: true,
		OnError:              func(err error) { logger.Warn("temporal sdk metric", "error", err) },
	}), nil
}

// Registry is where more collectors (the database's) register.
func (r *Recorder) Registry() *prometheus.Registry { return r.registry }

// TemporalHandler goes into client.Options.MetricsHandler.
func (r *Recorder) TemporalHandler() client.MetricsHandler {
	if r == nil {
		return nil
	}
	return r.temporal
}

// Handler serves the registry in the Prometheus text format.
func (r *Recorder) Handler() http.Handler {
	return promhttp.HandlerFor(r.registry, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(r.logger.Handler(), slog.LevelWarn),
		ErrorHandling: promhttp.ContinueOnError,
	})
}

// ObserveCall implements huawei.Observer.
func (r *Recorder) ObserveCall(api string, waited, took time.Duration, err error) {
	if r == nil {
		return
	}
	code := "200"
	var ae *huawei.APIError
	switch {
	case errors.As(err, &ae):
		code = resultCode(ae)
		if ae.Kind == huawei.KindThrottled {
			r.huaweiThrottle.WithLabelValues(api).Inc()
		}
	case err != nil:
		code = "canceled" // the caller gave up before an answer
	}
	r.huaweiCalls.WithLabelValues(api, code).Inc()
	if err == nil || ae != nil {
		r.huaweiDuration.WithLabelValues(api).Observe(took.Seconds())
	}
	if waited > 0 {
		r.huaweiWait.WithLabelValues(api).Add(waited.Seconds())
	}
}

// resultCode is Huawei's error code when it sent one ("other" for a code
// this build does not know: the label stays bounded), else the HTTP
// status, else "transport" (no answer).
func resultCode(ae *huawei.APIError) string {
	switch {
	case ae.Code != "":
		return huawei.CodeLabel(ae.Code)
	case ae.Status != 0:
		return strconv.Itoa(ae.Status)
	}
	return "transport"
}

// HuaweiRetry counts a call an activity retries itself.
func (r *Recorder) HuaweiRetry(api string) {
	if r != nil {
		r.huaweiRetries.WithLabelValues(api).Inc()
	}
}

// BatchCommitted counts the rows of a batch this call wrote (applied: an
// earlier attempt had not).
func (r *Recorder) BatchCommitted(account string, rows int, applied bool) {
	if r != nil && applied && rows > 0 {
		r.rowsWritten.WithLabelValues(account).Add(float64(rows))
	}
}

// SyncFinished records a finished sync's duration from its first start.
func (r *Recorder) SyncFinished(account, status string, startedAt time.Time, finishedAt *time.Time) {
	if r == nil || finishedAt == nil {
		return
	}
	r.syncDuration.WithLabelValues(account, status).Observe(finishedAt.Sub(startedAt).Seconds())
}

// ActivityRetried counts an activity attempt after the first.
func (r *Recorder) ActivityRetried(activityType string) {
	if r != nil {
		r.activityRetry.WithLabelValues(activityType).Inc()
	}
}
