package main

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicelog/sluice/net/broker"
)

// testBounds are the finite bucket bounds of the synthetic request
// histograms; each page gives one more count, the +Inf bucket's.
var testBounds = []float64{0.001, 0.005, 0.01, 0.1}

// page is a synthetic broker /metrics page.
type page struct {
	raw    string // written as is: gauges, broker info, HELP lines
	topics map[string]topicCounters
	hists  map[requestKey][]float64 // cumulative counts at testBounds, then +Inf
	errors map[errorKey]float64
	lag    map[lagKey]float64
}

func (p page) String() string {
	var b strings.Builder
	b.WriteString(p.raw)
	if len(p.topics) > 0 {
		for i, fam := range topicFamilies {
			fmt.Fprintf(&b, "# TYPE %s counter\n", fam)
			for t, c := range p.topics {
				fmt.Fprintf(&b, "%s{topic=%q} %g\n", fam, t, c[i])
			}
		}
	}
	if len(p.hists) > 0 {
		fmt.Fprintf(&b, "# HELP %s Kafka RequestMetrics TotalTimeMs.\n# TYPE %[1]s histogram\n", famRequestDuration)
		for k, counts := range p.hists {
			lbl := fmt.Sprintf("listener=%q,api=%q", k.listener, k.api)
			for i, le := range testBounds {
				fmt.Fprintf(&b, "%s_bucket{%s,le=\"%g\"} %g\n", famRequestDuration, lbl, le, counts[i])
			}
			n := counts[len(testBounds)]
			fmt.Fprintf(&b, "%s_bucket{%s,le=\"+Inf\"} %g\n", famRequestDuration, lbl, n)
			fmt.Fprintf(&b, "%s_sum{%s} %g\n%[1]s_count{%[2]s} %g\n", famRequestDuration, lbl, n*0.004, n)
		}
	}
	if len(p.errors) > 0 {
		fmt.Fprintf(&b, "# TYPE %s counter\n", famRequestErrors)
		for k, v := range p.errors {
			fmt.Fprintf(&b, "%s{api=%q,error=%q} %g\n", famRequestErrors, k.api, k.err, v)
		}
	}
	if len(p.lag) > 0 {
		fmt.Fprintf(&b, "# TYPE %s gauge\n", famGroupLag)
		for k, v := range p.lag {
			fmt.Fprintf(&b, "%s{group=%q,topic=%q,partition=%q} %g\n", famGroupLag, k.group, k.topic, k.partition, v)
		}
	}
	return b.String()
}

const headerPage = `# HELP sluice_partitions Partitions stored here.
# TYPE sluice_partitions gauge
sluice_partitions 6
# TYPE sluice_leader_partitions gauge
sluice_leader_partitions 4
# TYPE sluice_under_replicated_partitions gauge
sluice_under_replicated_partitions 1
# TYPE sluice_offline_partitions gauge
sluice_offline_partitions 0
# TYPE sluice_connections gauge
sluice_connections{listener="kafka"} 3
sluice_connections{listener="native"} 2
# TYPE sluice_broker_info gauge
sluice_broker_info{node_id="1",version="dev"} 1
# TYPE go_goroutines gauge
go_goroutines 42
`

var (
	produce = requestKey{"kafka", "Produce"}
	fetch   = requestKey{"kafka", "Fetch"}
	meta    = requestKey{"native", "Metadata"}
	notLdr  = errorKey{"Produce", "NOT_LEADER_OR_FOLLOWER"}
)

// scrape0 and scrape1 are one broker two scrapes apart. Between them:
// clicks took 4000 bytes in and orders 1000; Produce on kafka gained 100
// requests spread 0/50/40/10/0 over the buckets, Fetch 40, Metadata none;
// NOT_LEADER_OR_FOLLOWER occurred 6 times.
var (
	scrape0 = page{
		raw: headerPage,
		topics: map[string]topicCounters{
			"orders": {5000, 20000, 50, 200, 10, 30},
			"clicks": {1000, 0, 10, 0, 2, 0},
		},
		// Many fast requests before: cumulative quantiles would be far
		// lower than the interval's.
		hists: map[requestKey][]float64{
			produce: {1000, 1000, 1000, 1000, 1000},
			fetch:   {0, 500, 500, 500, 500},
			meta:    {7, 7, 7, 7, 7},
		},
		errors: map[errorKey]float64{notLdr: 4, {"Fetch", "UNKNOWN_TOPIC_OR_PARTITION"}: 1},
		lag:    map[lagKey]float64{{"readers", "orders", "0"}: 3, {"readers", "orders", "1"}: 9},
	}
	scrape1 = page{
		raw: headerPage,
		topics: map[string]topicCounters{
			"orders": {6000, 24000, 60, 240, 12, 38},
			"clicks": {5000, 0, 50, 0, 6, 0},
		},
		hists: map[requestKey][]float64{
			produce: {1000, 1050, 1090, 1100, 1100},
			fetch:   {0, 540, 540, 540, 540},
			meta:    {7, 7, 7, 7, 7},
		},
		errors: map[errorKey]float64{notLdr: 10, {"Fetch", "UNKNOWN_TOPIC_OR_PARTITION"}: 1},
		lag:    map[lagKey]float64{{"readers", "orders", "0"}: 0, {"readers", "orders", "1"}: 20},
	}
)

func mustParse(t *testing.T, p page, at time.Time) *brokerStats {
	t.Helper()
	s, err := parsePage(strings.NewReader(p.String()), at)
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, p)
	}
	return s
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9*math.Max(1, math.Abs(b)) }

func TestTopParsePage(t *testing.T) {
	at := time.Unix(1000, 0)
	s := mustParse(t, scrape0, at)
	if s.node != "1" || !s.at.Equal(at) {
		t.Errorf("node %q at %v", s.node, s.at)
	}
	want := map[string]float64{famPartitions: 6, famLeaders: 4, famUnderReplicated: 1, famOfflinePartitions: 0, famConnections: 5}
	if fmt.Sprint(s.gauges) != fmt.Sprint(want) {
		t.Errorf("gauges %v, want %v (summed over listeners; the absent ones left out)", s.gauges, want)
	}
	if s.topics["orders"] != scrape0.topics["orders"] || len(s.topics) != 2 {
		t.Errorf("topics %v", s.topics)
	}
	h := s.requests[produce]
	if len(h.buckets) != 5 || !math.IsInf(h.buckets[4].le, 1) || h.count() != 1000 || h.buckets[1] != (bucket{0.005, 1000}) {
		t.Errorf("produce histogram %+v", h)
	}
	if s.errors[notLdr] != 4 || s.lag[lagKey{"readers", "orders", "1"}] != 9 {
		t.Errorf("errors %v lag %v", s.errors, s.lag)
	}

	// A page leaving out the +Inf bucket gets it from _count, and buckets
	// come sorted whatever their order on the page.
	s = mustParse(t, page{raw: `# TYPE sluice_request_duration_seconds histogram
sluice_request_duration_seconds_bucket{listener="kafka",api="Produce",le="0.5"} 3
sluice_request_duration_seconds_bucket{listener="kafka",api="Produce",le="0.1"} 1
sluice_request_duration_seconds_count{listener="kafka",api="Produce"} 4
sluice_request_duration_seconds_sum{listener="kafka",api="Produce"} 2
`}, at)
	if got := fmt.Sprint(s.requests[produce].buckets); got != "[{0.1 1} {0.5 3} {+Inf 4}]" {
		t.Errorf("buckets %s", got)
	}
}

func TestTopRates(t *testing.T) {
	t0 := time.Unix(1000, 0)
	s0, s1 := mustParse(t, scrape0, t0), mustParse(t, scrape1, t0.Add(2*time.Second))

	// The first frame: totals, nothing divided.
	f := buildFrame(t0, []brokerScrape{{url: "a", cur: s0}})
	if !f.first || len(f.topics) != 2 || f.topics[0].topic != "orders" || f.topics[0].v != scrape0.topics["orders"] {
		t.Fatalf("first frame topics %+v", f.topics)
	}
	if len(f.requests) != 3 || f.requests[0].requestKey != produce || f.requests[0].rate != 1000 {
		t.Errorf("first frame requests %+v", f.requests)
	}

	f = buildFrame(t0.Add(2*time.Second), []brokerScrape{{url: "a", prev: s0, cur: s1}})
	if f.first {
		t.Fatal("second frame marked first")
	}
	// Sorted by bytes in: clicks (2000/s) before orders (500/s).
	want := []topicRow{
		{"clicks", topicCounters{2000, 0, 20, 0, 2, 0}},
		{"orders", topicCounters{500, 2000, 5, 20, 1, 4}},
	}
	if fmt.Sprint(f.topics) != fmt.Sprint(want) {
		t.Errorf("topics %v, want %v", f.topics, want)
	}
	// Metadata had no traffic in the interval, so it is left out.
	if len(f.requests) != 2 {
		t.Fatalf("requests %+v", f.requests)
	}
	p, fe := f.requests[0], f.requests[1]
	if p.requestKey != produce || p.rate != 50 || !near(p.p50, 0.005) || !near(p.p99, 0.091) {
		t.Errorf("produce %+v, want 50/s p50 5ms p99 91ms", p)
	}
	if fe.requestKey != fetch || fe.rate != 20 || !near(fe.p99, 0.00496) {
		t.Errorf("fetch %+v", fe)
	}
	if len(f.errors) != 1 || f.errors[0].errorKey != notLdr || f.errors[0].rate != 3 {
		t.Errorf("errors %+v", f.errors)
	}
	if f.gauges[famConnections] != 5 || f.gauges[famLeaders] != 4 {
		t.Errorf("gauges %v", f.gauges)
	}

	// A second broker, scraped 4 s apart, adds its own rates; one whose
	// scrape failed adds nothing and is reported; one seen for the first
	// time adds gauges but no rates yet.
	b0 := mustParse(t, page{topics: map[string]topicCounters{"orders": {0, 0, 0, 0, 0, 0}}}, t0)
	b1 := mustParse(t, page{topics: map[string]topicCounters{"orders": {4000, 0, 0, 0, 0, 0}}}, t0.Add(4*time.Second))
	fresh := mustParse(t, scrape1, t0)
	f = buildFrame(t0.Add(4*time.Second), []brokerScrape{
		{url: "a", prev: s0, cur: s1},
		{url: "b", prev: b0, cur: b1},
		{url: "c", prev: s0, err: fmt.Errorf("HTTP 500")},
		{url: "d", cur: fresh},
	})
	// orders: 500/s from a, 4000 B over 4 s from b.
	if len(f.topics) != 2 || f.topics[1].topic != "orders" || f.topics[1].v[topicBytesIn] != 500+1000 {
		t.Errorf("merged topics %+v", f.topics)
	}
	if f.gauges[famConnections] != 10 {
		t.Errorf("merged gauges %v", f.gauges)
	}
}

func TestTopQuantile(t *testing.T) {
	hist := func(counts ...float64) histogram {
		h := histogram{}
		for i, c := range counts {
			le := math.Inf(1)
			if i < len(testBounds) {
				le = testBounds[i]
			}
			h.buckets = append(h.buckets, bucket{le, c})
		}
		return h
	}
	// The interval's observations are the bucket deltas: 0/50/40/10/0.
	d := hist(1000, 1050, 1090, 1100, 1100).sub(hist(1000, 1000, 1000, 1000, 1000))
	if got := fmt.Sprint(d.buckets); got != "[{0.001 0} {0.005 50} {0.01 90} {0.1 100} {+Inf 100}]" {
		t.Fatalf("delta %s", got)
	}
	for _, c := range []struct {
		name string
		h    histogram
		q    float64
		want float64
	}{
		{"p50 at a bucket's top", d, 0.5, 0.005},
		{"p99 interpolated", d, 0.99, 0.01 + 0.09*0.9},
		{"p90 exactly a bound", d, 0.9, 0.01},
		{"the first bucket starts at 0", hist(100, 100, 100, 100, 100), 0.5, 0.0005},
		{"in +Inf: the highest finite bound", hist(0, 0, 0, 10, 20), 0.99, 0.1},
		{"non-monotonic counts evened out", hist(10, 5, 20, 20, 20), 0.75, 0.0075},
		{"no observations", hist(0, 0, 0, 0, 0), 0.99, math.NaN()},
		{"no finite bucket", histogram{buckets: []bucket{{math.Inf(1), 5}}}, 0.5, math.NaN()},
		{"empty", histogram{}, 0.5, math.NaN()},
		{"q above 1", d, 1.5, math.Inf(1)},
	} {
		got := c.h.quantile(c.q)
		if !(near(got, c.want) || (math.IsNaN(got) && math.IsNaN(c.want)) || got == c.want) {
			t.Errorf("%s: quantile(%v) = %v, want %v", c.name, c.q, got, c.want)
		}
	}

	// Brokers' deltas add bucket by bucket, even over different bounds.
	a := histogram{buckets: []bucket{{0.1, 1}, {1, 2}, {math.Inf(1), 3}}}
	b := histogram{buckets: []bucket{{0.5, 4}, {1, 4}, {math.Inf(1), 5}}}
	if got := fmt.Sprint(a.add(b).buckets); got != "[{0.1 1} {0.5 5} {1 6} {+Inf 8}]" {
		t.Errorf("add %s", got)
	}
	if got := a.add(histogram{}); fmt.Sprint(got) != fmt.Sprint(a) {
		t.Errorf("add empty %v", got)
	}
}

func TestTopCounterReset(t *testing.T) {
	if increase(5000, 300) != 300 || increase(300, 5000) != 4700 || increase(7, 7) != 0 {
		t.Fatal("increase")
	}
	// The broker restarted between the scrapes: every counter is lower.
	t0 := time.Unix(1000, 0)
	before := mustParse(t, scrape1, t0)
	after := mustParse(t, page{
		topics: map[string]topicCounters{"orders": {300, 100, 3, 1, 1, 1}, "clicks": {0, 0, 0, 0, 0, 0}},
		hists:  map[requestKey][]float64{produce: {0, 2, 4, 4, 4}},
		errors: map[errorKey]float64{notLdr: 1},
	}, t0.Add(time.Second))
	f := buildFrame(t0.Add(time.Second), []brokerScrape{{url: "a", prev: before, cur: after}})
	for _, r := range f.topics {
		for i, v := range r.v {
			if v < 0 {
				t.Errorf("%s: negative rate %v in column %d", r.topic, v, i)
			}
		}
	}
	if f.topics[0].topic != "orders" || f.topics[0].v != (topicCounters{300, 100, 3, 1, 1, 1}) {
		t.Errorf("after a reset, rates count from zero: %+v", f.topics)
	}
	if len(f.requests) != 1 || f.requests[0].rate != 4 || !near(f.requests[0].p50, 0.005) {
		t.Errorf("requests after a reset %+v", f.requests)
	}
	if len(f.errors) != 1 || f.errors[0].rate != 1 {
		t.Errorf("errors after a reset %+v", f.errors)
	}
}

func TestTopLag(t *testing.T) {
	a := mustParse(t, page{lag: map[lagKey]float64{
		{"g1", "orders", "0"}: 10, {"g1", "orders", "1"}: 30, {"g2", "clicks", "0"}: 5,
	}}, time.Unix(1, 0))
	// b reports one of a's partitions again (not counted twice) and a
	// group of its own whose two partitions tie: the lower number is worst.
	b := mustParse(t, page{lag: map[lagKey]float64{
		{"g1", "orders", "1"}: 30, {"g3", "x", "10"}: 100, {"g3", "x", "2"}: 100, {"idle", "x", "0"}: 0,
	}}, time.Unix(1, 0))
	f := buildFrame(time.Unix(1, 0), []brokerScrape{{url: "a", cur: a}, {url: "b", cur: b}})
	want := []groupRow{
		{"g3", 200, 2, lagKey{"g3", "x", "2"}, 100},
		{"g1", 40, 2, lagKey{"g1", "orders", "1"}, 30},
		{"g2", 5, 1, lagKey{"g2", "clicks", "0"}, 5},
		{"idle", 0, 1, lagKey{"idle", "x", "0"}, 0},
	}
	if fmt.Sprint(f.groups) != fmt.Sprint(want) {
		t.Errorf("groups\n%v, want\n%v", f.groups, want)
	}
}

func TestTopFormat(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{fmtCount(0), "0"}, {fmtCount(12), "12"}, {fmtCount(2.5), "2.5"}, {fmtCount(1500), "1.5k"},
		{fmtCount(2.5e6), "2.5M"}, {fmtSeconds(0.00042), "420µs"}, {fmtSeconds(0.005), "5.00ms"},
		{fmtSeconds(0.091), "91.0ms"}, {fmtSeconds(2), "2.00s"}, {fmtSeconds(math.NaN()), "-"},
		{fmtBytes(2048), "2 KiB"}, {displayURL("http://127.0.0.1:9644/metrics"), "127.0.0.1:9644"},
		{displayURL("https://b:1/metrics"), "https://b:1/metrics"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
	urls, err := parseMetricsURLs(" 127.0.0.1:9644, http://b:1/x,http://127.0.0.1:9644/metrics,")
	if err != nil || fmt.Sprint(urls) != "[http://127.0.0.1:9644/metrics http://b:1/x]" {
		t.Errorf("parseMetricsURLs: %v %v", urls, err)
	}
	for _, bad := range []string{"", " , ", "ftp://a/metrics", "http://"} {
		if _, err := parseMetricsURLs(bad); err == nil {
			t.Errorf("parseMetricsURLs(%q) accepted", bad)
		}
	}
}

// pageServer serves pages[i] to the i-th scrape, the last one from then
// on; a nil page answers 500.
func pageServer(t *testing.T, pages ...*page) *httptest.Server {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := int(n.Add(1)) - 1
		p := pages[min(i, len(pages)-1)]
		if r.URL.Path != "/metrics" {
			http.NotFound(w, r)
			return
		}
		if p == nil {
			http.Error(w, "collector failed", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprint(w, p)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// runCLI runs the sluice command line in process.
func runCLI(args ...string) (stdout, stderr string, code int) {
	var out, errb bytes.Buffer
	code = run(args, strings.NewReader(""), &out, &errb)
	return out.String(), errb.String(), code
}

// frames splits plain output into its refreshes.
func frames(out string) []string {
	return strings.Split(strings.TrimSuffix(out, "\n"), "\n\n")
}

func TestTopCommand(t *testing.T) {
	srv := pageServer(t, &scrape0, &scrape1)
	out, errOut, code := runCLI("top", "--metrics-url", srv.URL+"/metrics", "--iterations", "3", "--interval", "10ms")
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	fs := frames(out)
	if len(fs) != 3 {
		t.Fatalf("%d frames, want 3:\n%s", len(fs), out)
	}
	host := strings.TrimPrefix(srv.URL, "http://")
	for i, fr := range fs {
		for _, want := range []string{"sluice top", "broker " + host + " (node 1)", "every 10ms",
			"replicas 6  leaders 4  under-replicated 1  under-min-isr -  offline 0  offline replicas -  connections 5"} {
			if !strings.Contains(fr, want) {
				t.Errorf("frame %d lacks %q:\n%s", i, want, fr)
			}
		}
		if strings.Contains(fr, "\x1b[") {
			t.Errorf("frame %d has terminal escapes though stdout is not a terminal", i)
		}
	}
	// The first: totals, and the word that rates follow.
	for _, want := range []string{"rates follow in 10ms", "TOPIC   BYTES IN ", "orders  4.88 KiB", "kafka     Produce   1.0k      500µs   990µs",
		"Produce  NOT_LEADER_OR_FOLLOWER      4", "readers  12   2           orders/1         9"} {
		if !strings.Contains(fs[0], want) {
			t.Errorf("first frame lacks %q:\n%s", want, fs[0])
		}
	}
	// The second: rates (their values hang on the clock), and quantiles
	// from the bucket deltas, which do not.
	for _, want := range []string{"BYTES IN/s", "REQUESTS/s", "P99", "5.00ms", "91.0ms", "4.96ms",
		"Produce  NOT_LEADER_OR_FOLLOWER", "readers  20   2           orders/1         20"} {
		if !strings.Contains(fs[1], want) {
			t.Errorf("second frame lacks %q:\n%s", want, fs[1])
		}
	}
	if strings.Contains(fs[1], "rates follow") || strings.Contains(fs[1], "Metadata") || strings.Contains(fs[1], "UNKNOWN_TOPIC") {
		t.Errorf("second frame shows the first frame's note or an API without traffic:\n%s", fs[1])
	}
	if strings.Index(fs[1], "\nclicks") > strings.Index(fs[1], "\norders") {
		t.Errorf("clicks (more bytes in) should come first:\n%s", fs[1])
	}
	// The third: nothing moved since the second.
	for _, want := range []string{"requests: none in the interval", "request errors: none in the interval", "orders  0 B"} {
		if !strings.Contains(fs[2], want) {
			t.Errorf("third frame lacks %q:\n%s", want, fs[2])
		}
	}

	// The alias, --topics, and a cluster of two merged; srv serves
	// scrape1 from now on.
	other := pageServer(t, &page{
		raw:    "# TYPE sluice_connections gauge\nsluice_connections{listener=\"kafka\"} 1\n",
		topics: map[string]topicCounters{"other": {1, 1, 1, 1, 1, 1}},
		lag:    map[lagKey]float64{{"readers", "other", "0"}: 100},
	})
	out, errOut, code = runCLI("stats", "--metrics-url", srv.URL+"/metrics,"+other.URL, "--iterations", "1", "--topics", "1")
	if code != 0 {
		t.Fatalf("stats: exit %d: %s", code, errOut)
	}
	for _, want := range []string{"brokers 2/2: ", "connections 6", "(2 more topics)", "readers  120  3           other/0          100"} {
		if !strings.Contains(out, want) {
			t.Errorf("cluster frame lacks %q:\n%s", want, out)
		}
	}
}

func TestTopScrapeErrors(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + l.Addr().String() + "/metrics"
	l.Close()
	garbage := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "<html><body>not metrics</body></html>\n")
	}))
	defer garbage.Close()
	empty := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer empty.Close()
	good := pageServer(t, &scrape0)

	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"unreachable", []string{"--metrics-url", dead}, "connection refused"},
		{"404", []string{"--metrics-url", good.URL + "/nope"}, "HTTP 404"},
		{"garbage", []string{"--metrics-url", garbage.URL}, "parse the page"},
		{"empty page", []string{"--metrics-url", empty.URL}, "no metrics on the page"},
		{"both of two down", []string{"--metrics-url", dead + "," + garbage.URL}, "scrape " + dead},
		{"bad url", []string{"--metrics-url", "ftp://x/metrics"}, "--metrics-url"},
		{"zero interval", []string{"--metrics-url", good.URL, "--interval", "0s"}, "--interval"},
		{"negative iterations", []string{"--metrics-url", good.URL, "--iterations", "-1"}, "--iterations"},
	} {
		out, errOut, code := runCLI(append([]string{"top", "--iterations", "2", "--interval", "10ms"}, c.args...)...)
		if code == 0 || !strings.Contains(errOut, c.want) || out != "" {
			t.Errorf("%s: exit %d, stderr %q (want %q), stdout %q", c.name, code, errOut, c.want, out)
		}
	}
}

// TestTopOneBrokerDown: a cluster view with one broker down from the start
// shows the others and names the one that failed.
func TestTopOneBrokerDown(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + l.Addr().String() + "/metrics"
	l.Close()
	good := pageServer(t, &scrape0, &scrape1)
	out, errOut, code := runCLI("top", "--metrics-url", good.URL+","+dead, "--iterations", "2", "--interval", "10ms")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	fs := frames(out)
	if len(fs) != 2 {
		t.Fatalf("%d frames, want 2:\n%s", len(fs), out)
	}
	for i, fr := range fs {
		if !strings.Contains(fr, "brokers 1/2") || !strings.Contains(fr, strings.TrimSuffix(strings.TrimPrefix(dead, "http://"), "/metrics")) || !strings.Contains(fr, "connection refused") {
			t.Errorf("frame %d does not show one of two brokers up and why the other is not:\n%s", i, fr)
		}
	}
}

func TestTopLaterScrapeFails(t *testing.T) {
	srv := pageServer(t, &scrape0, nil, &scrape1)
	out, errOut, code := runCLI("top", "--metrics-url", srv.URL, "--iterations", "3", "--interval", "10ms")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	fs := frames(out)
	if len(fs) != 3 {
		t.Fatalf("%d frames, want 3:\n%s", len(fs), out)
	}
	if want := "failed: HTTP 500 Internal Server Error: collector failed"; !strings.Contains(fs[1], want) {
		t.Errorf("second frame lacks %q:\n%s", want, fs[1])
	}
	// The third measures from the last good scrape, the first.
	if strings.Contains(fs[2], "failed") || !strings.Contains(fs[2], "91.0ms") || strings.Contains(fs[2], "rates follow") {
		t.Errorf("third frame:\n%s", fs[2])
	}
}

// cancelOnWrite cancels the command's context once a frame is out, as
// Ctrl-C would.
type cancelOnWrite struct {
	bytes.Buffer
	cancel context.CancelFunc
}

func (w *cancelOnWrite) Write(p []byte) (int, error) {
	defer w.cancel()
	return w.Buffer.Write(p)
}

func TestTopInterrupt(t *testing.T) {
	srv := pageServer(t, &scrape0)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &cancelOnWrite{cancel: cancel}
	var errb bytes.Buffer
	root := newRootCommand(strings.NewReader(""), out, &errb)
	root.SetArgs([]string{"top", "--metrics-url", srv.URL, "--interval", "1h"}) // until interrupted
	if err := root.ExecuteContext(ctx); err != nil {
		t.Fatalf("interrupted top: %v", err)
	}
	if fs := frames(out.String()); len(fs) != 1 || !strings.Contains(fs[0], "sluice top") {
		t.Errorf("output:\n%s", out.String())
	}
}

func TestTopBroker(t *testing.T) {
	b := broker.StartTest(t, func(c *broker.Config) { c.MetricsListen = "127.0.0.1:0" })
	u := "http://" + b.MetricsAddr().String() + "/metrics"
	out, errOut, code := runCLI("top", "--metrics-url", u, "--iterations", "2", "--interval", "50ms")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	fs := frames(out)
	if len(fs) != 2 || !strings.HasPrefix(fs[0], "sluice top") || !strings.HasPrefix(fs[1], "sluice top") {
		t.Fatalf("want two frames:\n%s", out)
	}
	t.Logf("second frame:\n%s", fs[1])
}
