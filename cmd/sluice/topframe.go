package main

// The arithmetic of `sluice top`, apart from any IO so it is tested on
// scrapes with known times: what counters and histograms gained between two
// scrapes of a broker, rates from that, quantiles from histogram deltas the
// way PromQL's histogram_quantile reads them, and the merge of several
// brokers into one frame.

import (
	"math"
	"sort"
	"strconv"
	"time"
)

// increase is how much a counter grew between two scrapes. A counter lower
// than before was reset (its broker restarted, or its topic was deleted and
// made again) and has counted from zero since, as Prometheus's rate() reads
// it; so a rate is never negative.
func increase(prev, cur float64) float64 {
	if cur < prev {
		return cur
	}
	return cur - prev
}

// count is the number of observations: the +Inf bucket's.
func (h histogram) count() float64 {
	if len(h.buckets) == 0 {
		return 0
	}
	return h.buckets[len(h.buckets)-1].count
}

// sub returns the observations h gained since prev, cumulative by bucket
// like its operands. A histogram whose buckets changed or whose counts went
// down was reset, and all it holds came after the reset.
func (h histogram) sub(prev histogram) histogram {
	if len(prev.buckets) != len(h.buckets) {
		return h
	}
	out := histogram{buckets: make([]bucket, len(h.buckets))}
	for i, b := range h.buckets {
		p := prev.buckets[i]
		if b.le != p.le || b.count < p.count {
			return h
		}
		out.buckets[i] = bucket{b.le, b.count - p.count}
	}
	return out
}

// add sums two histograms over the union of their bounds. Brokers of one
// version share bounds; should two differ, a bound one of them lacks gets
// that one's count at its next lower bound, which keeps the sum cumulative.
func (h histogram) add(o histogram) histogram {
	if len(h.buckets) == 0 {
		return o
	}
	if len(o.buckets) == 0 {
		return h
	}
	var bounds []float64
	i, j := 0, 0
	for i < len(h.buckets) || j < len(o.buckets) {
		switch {
		case j == len(o.buckets) || (i < len(h.buckets) && h.buckets[i].le < o.buckets[j].le):
			bounds = append(bounds, h.buckets[i].le)
			i++
		case i == len(h.buckets) || o.buckets[j].le < h.buckets[i].le:
			bounds = append(bounds, o.buckets[j].le)
			j++
		default:
			bounds = append(bounds, h.buckets[i].le)
			i, j = i+1, j+1
		}
	}
	out := histogram{buckets: make([]bucket, len(bounds))}
	for k, le := range bounds {
		out.buckets[k] = bucket{le, h.countAt(le) + o.countAt(le)}
	}
	return out
}

// countAt is the cumulative count at the largest bound not above le.
func (h histogram) countAt(le float64) float64 {
	i := sort.Search(len(h.buckets), func(i int) bool { return h.buckets[i].le > le })
	if i == 0 {
		return 0
	}
	return h.buckets[i-1].count
}

// quantile estimates the q-quantile of the observations as PromQL's
// histogram_quantile does: find the bucket the rank falls in and interpolate
// linearly within it, the first bucket starting at 0 (if its bound is
// positive); a rank in the +Inf bucket gives the highest finite bound. NaN
// when there are no observations or no finite bucket to read.
func (h histogram) quantile(q float64) float64 {
	switch {
	case math.IsNaN(q):
		return math.NaN()
	case q < 0:
		return math.Inf(-1)
	case q > 1:
		return math.Inf(+1)
	}
	bs := h.buckets
	if len(bs) < 2 || !math.IsInf(bs[len(bs)-1].le, +1) {
		return math.NaN()
	}
	// Counts read from different moments can dip; Prometheus evens them
	// out the same way.
	mono := make([]float64, len(bs))
	for i, b := range bs {
		mono[i] = b.count
		if i > 0 && mono[i] < mono[i-1] {
			mono[i] = mono[i-1]
		}
	}
	total := mono[len(mono)-1]
	if total == 0 {
		return math.NaN()
	}
	rank := q * total
	b := sort.Search(len(bs)-1, func(i int) bool { return mono[i] >= rank })
	if b == len(bs)-1 {
		return bs[len(bs)-2].le
	}
	if b == 0 && bs[0].le <= 0 {
		return bs[0].le
	}
	start, end, count := 0.0, bs[b].le, mono[b]
	if b > 0 {
		start = bs[b-1].le
		count -= mono[b-1]
		rank -= mono[b-1]
	}
	return start + (end-start)*(rank/count)
}

// brokerScrape is one broker's part in a refresh.
type brokerScrape struct {
	url  string
	cur  *brokerStats // nil when this refresh's scrape failed
	prev *brokerStats // the broker's last good scrape before cur; nil on the first
	err  error
}

// frame is one refresh of the view, every broker merged.
type frame struct {
	at time.Time
	// first is set when no broker has been scraped before: the rows then
	// hold totals since the brokers started, not rates.
	first    bool
	brokers  []brokerScrape
	gauges   map[string]float64 // headerGauges some broker reported, summed
	topics   []topicRow         // by bytes in, descending
	requests []requestRow       // by listener, then rate descending; only those with traffic
	errors   []errorRow         // by rate descending; only those that occurred
	groups   []groupRow         // by lag descending
}

type topicRow struct {
	topic string
	v     topicCounters
}

type requestRow struct {
	requestKey
	rate     float64 // requests/s, or the total on the first frame
	p50, p99 float64 // seconds; NaN when unknown
}

type errorRow struct {
	errorKey
	rate float64
}

type groupRow struct {
	group      string
	lag        float64 // summed over the group's partitions
	partitions int
	worst      lagKey // the partition with the most lag
	worstLag   float64
}

// buildFrame merges the brokers' scrapes. Rates are taken per broker, over
// that broker's own time between scrapes, then summed: a broker whose
// previous scrape failed is measured over the longer span, and one
// restarted resets only its own counters. A broker scraped for the first
// time adds no rates until its next scrape, unless no broker has been
// scraped before, when the frame holds totals.
func buildFrame(at time.Time, scrapes []brokerScrape) frame {
	f := frame{at: at, first: true, brokers: scrapes, gauges: map[string]float64{}}
	for _, s := range scrapes {
		if s.prev != nil {
			f.first = false
		}
	}
	topics := map[string]topicCounters{}
	type reqAcc struct {
		rate float64
		h    histogram
	}
	requests := map[requestKey]*reqAcc{}
	errs := map[errorKey]float64{}
	lag := map[lagKey]float64{}
	for _, s := range scrapes {
		if s.cur == nil {
			continue
		}
		for k, v := range s.cur.gauges {
			f.gauges[k] += v
		}
		// A group's offsets live on one coordinator; should two brokers
		// both report a partition's lag, they measure the same thing, so
		// take the larger rather than count it twice.
		for k, v := range s.cur.lag {
			if old, ok := lag[k]; !ok || v > old {
				lag[k] = v
			}
		}
		prev, perSec := s.prev, 1.0
		if f.first {
			prev = &brokerStats{}
		} else {
			if prev == nil {
				continue
			}
			secs := s.cur.at.Sub(prev.at).Seconds()
			if secs <= 0 {
				continue
			}
			perSec = 1 / secs
		}
		for t, c := range s.cur.topics {
			p := prev.topics[t]
			acc := topics[t]
			for i := range c {
				acc[i] += increase(p[i], c[i]) * perSec
			}
			topics[t] = acc
		}
		for k, h := range s.cur.requests {
			d := h.sub(prev.requests[k])
			acc := requests[k]
			if acc == nil {
				acc = &reqAcc{}
				requests[k] = acc
			}
			acc.rate += d.count() * perSec
			acc.h = acc.h.add(d)
		}
		for k, v := range s.cur.errors {
			errs[k] += increase(prev.errors[k], v) * perSec
		}
	}

	for t, v := range topics {
		f.topics = append(f.topics, topicRow{t, v})
	}
	sort.Slice(f.topics, func(i, j int) bool {
		a, b := f.topics[i], f.topics[j]
		if a.v[topicBytesIn] != b.v[topicBytesIn] {
			return a.v[topicBytesIn] > b.v[topicBytesIn]
		}
		if a.v[topicBytesOut] != b.v[topicBytesOut] {
			return a.v[topicBytesOut] > b.v[topicBytesOut]
		}
		return a.topic < b.topic
	})
	for k, acc := range requests {
		if acc.rate > 0 {
			f.requests = append(f.requests, requestRow{k, acc.rate, acc.h.quantile(0.5), acc.h.quantile(0.99)})
		}
	}
	sort.Slice(f.requests, func(i, j int) bool {
		a, b := f.requests[i], f.requests[j]
		if a.listener != b.listener {
			return a.listener < b.listener
		}
		if a.rate != b.rate {
			return a.rate > b.rate
		}
		return a.api < b.api
	})
	for k, r := range errs {
		if r > 0 {
			f.errors = append(f.errors, errorRow{k, r})
		}
	}
	sort.Slice(f.errors, func(i, j int) bool {
		a, b := f.errors[i], f.errors[j]
		if a.rate != b.rate {
			return a.rate > b.rate
		}
		if a.api != b.api {
			return a.api < b.api
		}
		return a.err < b.err
	})
	f.groups = groupLag(lag)
	return f
}

// groupLag sums lag by group and finds each group's worst partition.
func groupLag(lag map[lagKey]float64) []groupRow {
	byGroup := map[string]*groupRow{}
	for k, v := range lag {
		g := byGroup[k.group]
		if g == nil {
			g = &groupRow{group: k.group}
			byGroup[k.group] = g
		}
		g.lag += v
		g.partitions++
		if g.partitions == 1 || v > g.worstLag || (v == g.worstLag && partitionLess(k, g.worst)) {
			g.worst, g.worstLag = k, v
		}
	}
	out := make([]groupRow, 0, len(byGroup))
	for _, g := range byGroup {
		out = append(out, *g)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].lag != out[j].lag {
			return out[i].lag > out[j].lag
		}
		return out[i].group < out[j].group
	})
	return out
}

// partitionLess orders by topic, then partition number.
func partitionLess(a, b lagKey) bool {
	if a.topic != b.topic {
		return a.topic < b.topic
	}
	pa, errA := strconv.Atoi(a.partition)
	pb, errB := strconv.Atoi(b.partition)
	if errA == nil && errB == nil {
		return pa < pb
	}
	return a.partition < b.partition
}
