package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// latencyBuckets span a loopback produce (tens of microseconds) to a long
// poll or an acks=all wait that ran out (seconds).
var latencyBuckets = []float64{
	0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
	0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
}

// flushBuckets span an fdatasync on NVMe (tens of microseconds) to a
// stalled disk.
var flushBuckets = []float64{
	0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
	0.05, 0.1, 0.25, 0.5, 1, 2.5, 10,
}

// Set is the broker's request-path instruments, registered once on one
// registry. Listener and Requests hand the hot paths their pieces.
type Set struct {
	durations *prometheus.HistogramVec
	inFlight  *prometheus.GaugeVec
	queued    *prometheus.GaugeVec
	open      *prometheus.GaugeVec
	accepted  *prometheus.CounterVec
	slow      *prometheus.CounterVec
	errors    *prometheus.CounterVec
	flush     prometheus.Histogram
}

// New registers the request-path instruments on reg.
func New(reg prometheus.Registerer) *Set {
	s := &Set{
		durations: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "sluice_request_duration_seconds",
			Help: "Time from a request's last byte read to its response written, queueing included, by listener and API " +
				"(Kafka: kafka.network RequestMetrics TotalTimeMs).",
			Buckets: latencyBuckets,
		}, []string{"listener", "api"}),
		inFlight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "sluice_requests_in_flight",
			Help: "Requests being handled (read, not yet answered), by listener.",
		}, []string{"listener"}),
		queued: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "sluice_request_queue_size",
			Help: "Requests read and waiting behind earlier ones of their connection (Kafka: kafka.network RequestChannel RequestQueueSize).",
		}, []string{"listener"}),
		open: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "sluice_connections",
			Help: "Client connections open, by listener (Kafka: socket-server-metrics connection-count).",
		}, []string{"listener"}),
		accepted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_connections_accepted_total",
			Help: "Client connections accepted, by listener (Kafka: socket-server-metrics connection-creation-total).",
		}, []string{"listener"}),
		slow: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_slow_requests_total",
			Help: "Requests that took longer than slow.request.log.threshold.ms beyond the wait they asked for, by listener and API.",
		}, []string{"listener", "api"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_request_errors_total",
			Help: "Partitions of produce and fetch requests answered with an error, by API and Kafka error name " +
				"(Kafka: kafka.network RequestMetrics ErrorsPerSec).",
		}, []string{"api", "error"}),
		flush: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "sluice_log_flush_duration_seconds",
			Help:    "Time each fsync of a partition's log took (Kafka: kafka.log LogFlushStats LogFlushRateAndTimeMs).",
			Buckets: flushBuckets,
		}),
	}
	reg.MustRegister(s.durations, s.inFlight, s.queued, s.open, s.accepted, s.slow, s.errors, s.flush)
	return s
}

// ObserveFlush records one fsync; it is engine.Options.OnFlush.
func (s *Set) ObserveFlush(d time.Duration) { s.flush.Observe(d.Seconds()) }

// Requests returns the request layer's instruments.
func (s *Set) Requests() *Requests { return &Requests{errors: s.errors} }

// Requests is what the request layer (net/request) counts: errors by
// name, and, through the engine partitions' Traffic, bytes and records.
// A nil *Requests counts nothing.
type Requests struct {
	errors *prometheus.CounterVec
}

// Error counts one partition answered with the named error.
func (r *Requests) Error(api, code string) {
	if r == nil {
		return
	}
	// Errors are the rare path: the label lookup's cost is fine here.
	r.errors.WithLabelValues(api, code).Inc()
}
