package metrics

import (
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Listener is one listener's instruments ("kafka" or "native") and its
// slow-request rule. A nil *Listener does nothing and reports nothing
// slow; one made by Slow alone times requests but exports nothing.
type Listener struct {
	name string
	set  *Set
	// names are the API names by key, resolved once: "" for keys the
	// listener does not speak.
	names []string
	// apis holds each API key's series, made on the key's first request
	// so that only APIs in use are exported.
	apis []atomic.Pointer[apiSeries]
	// threshold is slow.request.log.threshold.ms; zero reports nothing slow.
	threshold              time.Duration
	inFlight, queued, open prometheus.Gauge
	accepted               prometheus.Counter
	exported               bool
	// epoch is what Received's stamps count from: an int64 of monotonic
	// nanoseconds costs a queued request 8 bytes, not a time.Time's 24.
	epoch time.Time
}

// apiSeries is one API's series on one listener.
type apiSeries struct {
	latency prometheus.Observer
	slow    prometheus.Counter
}

// Listener returns the instruments of the listener called name, whose API
// keys run from 0 to maxKey and are named by apiName (keys it names ""
// and keys past maxKey are reported as "unknown"). Requests slower than
// threshold beyond what they asked to wait count as slow; zero turns
// that off.
func (s *Set) Listener(name string, maxKey int16, apiName func(key int16) string, threshold time.Duration) *Listener {
	names := make([]string, int(maxKey)+1)
	for k := range names {
		names[k] = apiName(int16(k))
	}
	return &Listener{
		name:      name,
		set:       s,
		names:     names,
		apis:      make([]atomic.Pointer[apiSeries], int(maxKey)+2), // the last is "unknown"
		threshold: threshold,
		inFlight:  s.inFlight.WithLabelValues(name),
		queued:    s.queued.WithLabelValues(name),
		open:      s.open.WithLabelValues(name),
		accepted:  s.accepted.WithLabelValues(name),
		exported:  true,
		epoch:     time.Now(),
	}
}

// series returns key's series, making them on first use.
func (l *Listener) series(key int16) *apiSeries {
	i, name := len(l.names), "unknown"
	if key >= 0 && int(key) < len(l.names) && l.names[key] != "" {
		i, name = int(key), l.names[key]
	}
	if a := l.apis[i].Load(); a != nil {
		return a
	}
	a := &apiSeries{latency: l.set.durations.WithLabelValues(l.name, name), slow: l.set.slow.WithLabelValues(l.name, name)}
	if !l.apis[i].CompareAndSwap(nil, a) {
		return l.apis[i].Load()
	}
	return a
}

// Slow returns a Listener that exports nothing and only tells slow
// requests apart: the listener of a broker with metrics off. Nil when
// threshold is zero.
func Slow(threshold time.Duration) *Listener {
	if threshold <= 0 {
		return nil
	}
	return &Listener{threshold: threshold, epoch: time.Now()}
}

// Accepted counts a new connection.
func (l *Listener) Accepted() {
	if l == nil || !l.exported {
		return
	}
	l.accepted.Inc()
	l.open.Inc()
}

// Closed counts a connection gone.
func (l *Listener) Closed() {
	if l == nil || !l.exported {
		return
	}
	l.open.Dec()
}

// Received stamps a request read off the wire; it queues until Begin.
// The stamp is what Finished measures from (0 from a nil Listener, which
// reads no clock).
func (l *Listener) Received() int64 {
	if l == nil {
		return 0
	}
	if l.exported {
		l.queued.Inc()
	}
	return int64(time.Since(l.epoch))
}

// Begin marks a received request taken off its connection's queue.
func (l *Listener) Begin() {
	if l == nil || !l.exported {
		return
	}
	l.queued.Dec()
	l.inFlight.Inc()
}

// Finished records a request answered. allowance is how long the request
// itself asked to wait (a fetch's max wait, a join's rebalance): time
// within it is not slowness. It returns how long the request took when
// that was slow, else zero.
func (l *Listener) Finished(key int16, received int64, allowance time.Duration) time.Duration {
	if l == nil {
		return 0
	}
	took := time.Since(l.epoch) - time.Duration(received)
	var a *apiSeries
	if l.exported {
		l.inFlight.Dec()
		a = l.series(key)
		a.latency.Observe(took.Seconds())
	}
	if l.threshold <= 0 || took-allowance < l.threshold {
		return 0
	}
	if a != nil {
		a.slow.Inc()
	}
	return took
}

// Dropped forgets a received request that will never be answered (its
// connection broke with it still queued).
func (l *Listener) Dropped() {
	if l == nil || !l.exported {
		return
	}
	l.queued.Dec()
}
