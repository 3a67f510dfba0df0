package perf

import (
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Histogram bounds: 1 us to 1 minute, 3 significant digits.
const (
	histMin     = 1
	histMax     = int64(time.Minute / time.Microsecond)
	histSigFigs = 3
)

// Recorder counts completed records and bytes and keeps their latencies,
// for the whole run and for the current progress interval. It is safe for
// concurrent use.
type Recorder struct {
	start time.Time

	mu     sync.Mutex
	total  *hdrhistogram.Histogram
	window *hdrhistogram.Histogram
	last   time.Time // when the current window began

	records atomic.Int64
	bytes   atomic.Int64
	errors  atomic.Int64
	firstMu sync.Mutex
	first   error
	lastAt  atomic.Int64 // nanoseconds since start of the latest completion
	firstAt atomic.Int64 // nanoseconds since start of the first MarkStart, +1
}

// MarkStart marks the start of the timed work: the run's time is from the
// first MarkStart (or the recorder's start, without one) to the latest
// completion, so that set-up before it is not counted. Workers call it
// when they are ready to send or read.
func (r *Recorder) MarkStart() {
	r.firstAt.CompareAndSwap(0, int64(time.Since(r.start))+1)
}

// NewRecorder starts a recorder; its clock starts now.
func NewRecorder() *Recorder {
	now := time.Now()
	return &Recorder{
		start:  now,
		last:   now,
		total:  hdrhistogram.New(histMin, histMax, histSigFigs),
		window: hdrhistogram.New(histMin, histMax, histSigFigs),
	}
}

// Since returns the time since the recorder started, on the monotonic
// clock: the timestamps producers put in e2e records.
func (r *Recorder) Since() time.Duration { return time.Since(r.start) }

// Record adds n completed records of b bytes in all, with one latency.
func (r *Recorder) Record(lat time.Duration, n, b int64) {
	r.RecordAt(r.Since(), lat, n, b)
}

// RecordAt is Record for a caller that has just read the clock: now is
// its reading of Since, the completion's time.
func (r *Recorder) RecordAt(now, lat time.Duration, n, b int64) {
	us := max(int64(lat/time.Microsecond), histMin)
	us = min(us, histMax)
	r.mu.Lock()
	r.total.RecordValue(us)
	r.window.RecordValue(us)
	r.mu.Unlock()
	r.records.Add(n)
	r.bytes.Add(b)
	r.lastAt.Store(int64(now))
}

// Count adds n completed records of b bytes without a latency (the
// records of a fetch whose latency was recorded once).
func (r *Recorder) Count(n, b int64) {
	r.records.Add(n)
	r.bytes.Add(b)
	r.lastAt.Store(int64(time.Since(r.start)))
}

// Fail counts a failed record; the first error is kept.
func (r *Recorder) Fail(err error) {
	if r.errors.Add(1) == 1 {
		r.firstMu.Lock()
		r.first = err
		r.firstMu.Unlock()
	}
}

// Records returns the completed records so far.
func (r *Recorder) Records() int64 { return r.records.Load() }

// Errors returns the failed records and the first failure.
func (r *Recorder) Errors() (int64, error) {
	r.firstMu.Lock()
	defer r.firstMu.Unlock()
	return r.errors.Load(), r.first
}

// Progress writes a line to w every interval until ctx ends: records/s
// and MB/s over the interval, and the interval's mean and max latency.
func (r *Recorder) Progress(ctx context.Context, w io.Writer, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	var lastRecs, lastBytes int64
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			r.mu.Lock()
			secs := now.Sub(r.last).Seconds()
			r.last = now
			mean, maxv := r.window.Mean(), r.window.Max()
			r.window.Reset()
			r.mu.Unlock()
			recs, b := r.records.Load(), r.bytes.Load()
			fmt.Fprintf(w, "%7.1f s %12.0f records/s %9.1f MB/s   latency avg %8.3f ms  max %8.3f ms   (%d records in all)\n",
				now.Sub(r.start).Seconds(), float64(recs-lastRecs)/secs, float64(b-lastBytes)/secs/1e6,
				mean/1e3, float64(maxv)/1e3, recs)
			lastRecs, lastBytes = recs, b
		}
	}
}

// StartProgress runs Progress in a goroutine (nothing when w is nil) and
// returns a function that stops it and waits until it has returned; it may
// be called more than once.
func (r *Recorder) StartProgress(ctx context.Context, w io.Writer, interval time.Duration) func() {
	if w == nil {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.Progress(ctx, w, interval)
	}()
	return func() {
		cancel()
		<-done
	}
}

// Latency is a latency distribution, in milliseconds.
type Latency struct {
	// What says what was timed: "send to ack", "per fetch", ...
	What  string  `json:"what"`
	Count int64   `json:"count"`
	Mean  float64 `json:"mean_ms"`
	P50   float64 `json:"p50_ms"`
	P95   float64 `json:"p95_ms"`
	P99   float64 `json:"p99_ms"`
	P999  float64 `json:"p99_9_ms"`
	Max   float64 `json:"max_ms"`
}

// Latency summarises the whole run's histogram.
func (r *Recorder) Latency(what string) Latency {
	r.mu.Lock()
	defer r.mu.Unlock()
	q := func(p float64) float64 { return float64(r.total.ValueAtQuantile(p)) / 1e3 }
	return Latency{
		What:  what,
		Count: r.total.TotalCount(),
		Mean:  r.total.Mean() / 1e3,
		P50:   q(50),
		P95:   q(95),
		P99:   q(99),
		P999:  q(99.9),
		Max:   float64(r.total.Max()) / 1e3,
	}
}

// Result fills the throughput and latency fields of a result, with the
// run taken to end at the latest completion.
func (r *Recorder) Result(res *Result, what string) {
	res.Records = r.records.Load()
	res.Bytes = r.bytes.Load()
	end := r.lastAt.Load()
	if first := r.firstAt.Load(); first > 0 && first-1 < end {
		end -= first - 1
	}
	res.Seconds = time.Duration(end).Seconds()
	if res.Seconds > 0 {
		res.RecordsPerSec = float64(res.Records) / res.Seconds
		res.MBPerSec = float64(res.Bytes) / res.Seconds / 1e6
	}
	res.Errors, _ = r.Errors()
	res.Latency = r.Latency(what)
}

// Pacer spaces sends to a fixed rate. It sleeps only when it is more than
// a millisecond ahead, so high rates cost no sleep per record; behind
// schedule it does not wait (a backlog is sent at once).
type Pacer struct {
	start    time.Time
	interval float64 // nanoseconds per record; 0 for no limit
	n        int64
	// read is the clock's latest reading, as time since start: a record
	// due before it goes without reading the clock again (a clock read
	// costs 25-50 ns on a VM, as much as the rest of a record's send).
	read time.Duration
}

// NewPacer paces at rate records per second; rate <= 0 means no limit.
func NewPacer(rate float64) *Pacer {
	p := &Pacer{start: time.Now()}
	if rate > 0 {
		p.interval = 1e9 / rate
	}
	return p
}

// Wait waits until the next record is due, or ctx ends.
func (p *Pacer) Wait(ctx context.Context) error {
	if p.interval == 0 {
		return nil
	}
	due := time.Duration(float64(p.n) * p.interval)
	p.n++
	// A record may go up to a millisecond early: timers are no finer.
	if due <= p.read+time.Millisecond {
		return nil
	}
	p.read = time.Since(p.start)
	if d := due - p.read; d > time.Millisecond {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// Payload is a buffer of random capital letters that record values are
// cut from: value i starts at a different place for each i, so values
// differ and compress as text does.
type Payload struct {
	buf  []byte
	size int
}

// payloadSpan is the buffer's size beyond one value.
const payloadSpan = 1 << 20

// NewPayload makes a payload for values of size bytes from seed.
func NewPayload(size int, seed uint64) *Payload {
	buf := make([]byte, payloadSpan+size)
	x := seed*0x9E3779B97F4A7C15 | 1
	for i := range buf {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		buf[i] = 'A' + byte(x%26)
	}
	return &Payload{buf: buf, size: size}
}

// Value returns the i-th value. It aliases the payload: do not modify it.
func (p *Payload) Value(i int64) []byte {
	// Consecutive values are consecutive slices of the buffer, so that
	// reading them streams through memory the prefetcher follows: at a
	// stride of a few KiB, copying a 100 B value cost ~60 ns of cache
	// misses beside a busy broker (10% of sluice bench e2e's CPU).
	off := (uint64(i) * uint64(p.size)) % payloadSpan
	return p.buf[off : off+uint64(p.size) : off+uint64(p.size)]
}

// Keys is a table of distinct keys used in turn; nil for null keys.
type Keys [][]byte

// NewKeys makes n keys ("key-0", ...); none when n is 0.
func NewKeys(n int) Keys {
	if n <= 0 {
		return nil
	}
	k := make(Keys, n)
	for i := range k {
		k[i] = fmt.Appendf(nil, "key-%d", i)
	}
	return k
}

// Key returns the i-th record's key, nil for null keys.
func (k Keys) Key(i int64) []byte {
	if len(k) == 0 {
		return nil
	}
	return k[i%int64(len(k))]
}
