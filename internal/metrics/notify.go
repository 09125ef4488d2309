package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"expiry-sync/internal/notify"
)

// Outcomes of one attempt to send one message of a renewal reminder digest
// on a channel: the status label of expiry_sync_notify_sends_total.
const (
	// NotifySent: the platform accepted the message.
	NotifySent = "sent"
	// NotifyThrottled: the platform answered its rate-limit code (HTTP 429,
	// DingTalk 130101, Feishu 11232, WeCom 45009); the message is sent again
	// later.
	NotifyThrottled = "throttled"
	// NotifyRetried: not delivered (unreachable, 5xx, busy), or a webhook or
	// mail got no answer; the message is sent again (with the same id).
	NotifyRetried = "retried"
	// NotifyUnconfirmed: a chat robot's answer was lost (reset, timeout, a
	// worker died mid-send): it may have arrived, it is never sent again and
	// never counted as delivered.
	NotifyUnconfirmed = "unconfirmed"
	// NotifyFailed: refused for good (a robot's refusal code, other 4xx,
	// SMTP 5xx, a wrong routes file); released for a later run.
	NotifyFailed = "failed"
)

// NotifyStatuses lists every status of expiry_sync_notify_sends_total.
var NotifyStatuses = []string{NotifySent, NotifyThrottled, NotifyRetried, NotifyUnconfirmed, NotifyFailed}

// Names of the reminders' metric families.
const (
	NotifySendsFamily          = Namespace + "_notify_sends_total"
	NotifyThrottlesFamily      = Namespace + "_notify_throttles_total"
	NotifyDueUndeliveredFamily = Namespace + "_notify_due_undelivered"
)

// robotTypes are the channel types paced by their platform: only their
// rate-limit answers pause them.
var robotTypes = []string{notify.TypeDingTalk, notify.TypeFeishu, notify.TypeWeCom, notify.TypeSlack}

// notifyMetrics are the renewal reminders' metrics.
type notifyMetrics struct {
	sends          *prometheus.CounterVec
	throttles      *prometheus.CounterVec
	dueUndelivered *prometheus.GaugeVec
}

// newNotifyMetrics builds them with every channel type's counters at 0, so
// that rate() and increase() see a reminder's first outcome; the gauge
// has an account's series once the worker ran that account's reminders.
func newNotifyMetrics() notifyMetrics {
	m := notifyMetrics{
		sends: counterVec("notify_sends_total",
			"Attempts to send one message of a renewal reminder digest, by channel type and outcome: "+
				"sent, throttled (rate-limit answer, sent again later), "+
				"retried (not delivered, or a webhook/mail without an answer: sent again), "+
				"unconfirmed (a chat robot's answer was lost: never sent again, never counted as delivered), "+
				"failed (refused for good).",
			"channel_type", "status"),
		throttles: counterVec("notify_throttles_total",
			"Rate-limit answers of a chat robot, each pausing the robot for every sender (rate_buckets), "+
				"by channel type.",
			"channel_type"),
		dueUndelivered: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: Namespace,
			Name:      "notify_due_undelivered",
			Help: "Reminders (resource, threshold, channel) due as of the account's latest reminders plan or settle " +
				"on this worker that no channel accepted or holds, routes in their quiet hours left out, by account.",
		}, []string{"account"}),
	}
	for _, t := range notify.ChannelTypes {
		for _, status := range NotifyStatuses {
			m.sends.WithLabelValues(t, status)
		}
	}
	for _, t := range robotTypes {
		m.throttles.WithLabelValues(t)
	}
	return m
}

func (m notifyMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.sends, m.throttles, m.dueUndelivered}
}

// NotifySend counts the outcome of one attempt to send one message
// (status: one of NotifyStatuses).
func (r *Recorder) NotifySend(channelType, status string) {
	if r != nil {
		r.notify.sends.WithLabelValues(channelType, status).Inc()
	}
}

// NotifyThrottled counts a chat robot's rate-limit answer that paused it.
func (r *Recorder) NotifyThrottled(channelType string) {
	if r != nil {
		r.notify.throttles.WithLabelValues(channelType).Inc()
	}
}

// NotifyDueUndelivered sets how many reminders of an account are due and
// undelivered.
func (r *Recorder) NotifyDueUndelivered(account string, n int) {
	if r != nil {
		r.notify.dueUndelivered.WithLabelValues(account).Set(float64(n))
	}
}
