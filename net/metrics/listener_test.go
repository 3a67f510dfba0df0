package metrics_test

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/sluicelog/sluice/net/metrics"
)

func apiNames(k int16) string {
	switch k {
	case 0:
		return "Produce"
	case 1:
		return "Fetch"
	}
	return ""
}

// TestListenerCounts: a request's life moves the queue and in-flight
// gauges back to zero and lands in its API's histogram; an unnamed key
// lands in "unknown"; only APIs used are exported.
func TestListenerCounts(t *testing.T) {
	reg := prometheus.NewRegistry()
	l := metrics.New(reg).Listener("kafka", 1, apiNames, time.Hour)
	l.Accepted()
	at := l.Received()
	if got := gaugeValue(t, reg, "sluice_request_queue_size"); got != 1 {
		t.Fatalf("queue %v after Received", got)
	}
	l.Begin()
	if got := gaugeValue(t, reg, "sluice_requests_in_flight"); got != 1 {
		t.Fatalf("in flight %v after Begin", got)
	}
	if slow := l.Finished(0, at, 0); slow != 0 {
		t.Fatalf("a fresh request reported slow (%v) under a 1 h threshold", slow)
	}
	at = l.Received()
	l.Begin()
	l.Finished(42, at, 0) // a key the listener does not name
	l.Received()
	l.Dropped()
	l.Closed()

	want := `
# HELP sluice_request_queue_size Requests read and waiting behind earlier ones of their connection (Kafka: kafka.network RequestChannel RequestQueueSize).
# TYPE sluice_request_queue_size gauge
sluice_request_queue_size{listener="kafka"} 0
# HELP sluice_requests_in_flight Requests being handled (read, not yet answered), by listener.
# TYPE sluice_requests_in_flight gauge
sluice_requests_in_flight{listener="kafka"} 0
# HELP sluice_connections Client connections open, by listener (Kafka: socket-server-metrics connection-count).
# TYPE sluice_connections gauge
sluice_connections{listener="kafka"} 0
# HELP sluice_connections_accepted_total Client connections accepted, by listener (Kafka: socket-server-metrics connection-creation-total).
# TYPE sluice_connections_accepted_total counter
sluice_connections_accepted_total{listener="kafka"} 1
`
	if err := testutil.GatherAndCompare(reg, stringsReader(want), "sluice_request_queue_size", "sluice_requests_in_flight",
		"sluice_connections", "sluice_connections_accepted_total"); err != nil {
		t.Fatal(err)
	}
	if n := len(family(t, reg, "sluice_request_duration_seconds").GetMetric()); n != 2 {
		t.Fatalf("%d latency series, want 2 (Produce and unknown)", n)
	}
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Fatalf("lint: %v %v", err, problems)
	}
}

// TestSlow: a request over the threshold beyond its allowance is slow; one
// within its allowance is not; a nil Listener and Slow(0) report nothing.
func TestSlow(t *testing.T) {
	l := metrics.Slow(10 * time.Millisecond)
	// A request received a second ago.
	long := l.Received() - int64(time.Second)
	if slow := l.Finished(1, long, 0); slow < time.Second {
		t.Fatalf("a 1 s request not slow: %v", slow)
	}
	if slow := l.Finished(1, long, 2*time.Second); slow != 0 {
		t.Fatalf("a 1 s request that asked to wait 2 s reported slow: %v", slow)
	}
	var off *metrics.Listener
	off.Accepted()
	off.Begin()
	off.Dropped()
	off.Closed()
	if off.Received() != 0 || off.Finished(0, long, 0) != 0 {
		t.Fatal("a nil listener timed something")
	}
	if metrics.Slow(0) != nil {
		t.Fatal("Slow(0) is not nil")
	}
	var r *metrics.Requests
	r.Error("Produce", "NONE") // must not panic
}

// BenchmarkListener is one request's instrumentation: it must not
// allocate.
func BenchmarkListener(b *testing.B) {
	l := metrics.New(prometheus.NewRegistry()).Listener("kafka", 1, apiNames, time.Second)
	b.ReportAllocs()
	for b.Loop() {
		at := l.Received()
		l.Begin()
		l.Finished(0, at, 0)
	}
}
