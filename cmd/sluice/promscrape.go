package main

// Reading a broker's /metrics page for `sluice top`: one HTTP GET, the text
// exposition parsed with expfmt, and the few series top shows pulled out by
// the names net/metrics gives them (see its doc.go). A series the page lacks
// is simply absent, so top works against a broker that exposes only part of
// the catalog.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// The series top reads.
const (
	famRequestDuration = "sluice_request_duration_seconds"
	famRequestErrors   = "sluice_request_errors_total"
	famGroupLag        = "sluice_consumer_group_lag"
	famBrokerInfo      = "sluice_broker_info"

	famPartitions        = "sluice_partitions"
	famLeaders           = "sluice_leader_partitions"
	famUnderReplicated   = "sluice_under_replicated_partitions"
	famUnderMinISR       = "sluice_under_min_isr_partitions"
	famOfflinePartitions = "sluice_offline_partitions"
	famOfflineReplicas   = "sluice_offline_replicas"
	famConnections       = "sluice_connections"
)

// headerGauges are the gauges of the header. Each is summed over its labels
// and over the brokers: every one counts something a single broker owns
// (its replicas, its leaderships, its connections; offline partitions only
// on the active controller), so the sum is the cluster's.
var headerGauges = []string{famPartitions, famLeaders, famUnderReplicated, famUnderMinISR,
	famOfflinePartitions, famOfflineReplicas, famConnections}

// topicFamilies are the per-topic counters, indexed by the topic* constants.
var topicFamilies = [...]string{
	topicBytesIn:     "sluice_topic_bytes_in_total",
	topicBytesOut:    "sluice_topic_bytes_out_total",
	topicRecordsIn:   "sluice_topic_records_in_total",
	topicRecordsOut:  "sluice_topic_records_out_total",
	topicProduceReqs: "sluice_topic_produce_requests_total",
	topicFetchReqs:   "sluice_topic_fetch_requests_total",
}

const (
	topicBytesIn = iota
	topicBytesOut
	topicRecordsIn
	topicRecordsOut
	topicProduceReqs
	topicFetchReqs
	numTopicCounters
)

// topicCounters holds one topic's counters, or their rates.
type topicCounters [numTopicCounters]float64

type requestKey struct{ listener, api string }

type errorKey struct{ api, err string }

type lagKey struct{ group, topic, partition string }

// brokerStats is what top keeps of one scrape of one broker.
type brokerStats struct {
	at       time.Time
	node     string             // sluice_broker_info's node_id; "" when the page has none
	gauges   map[string]float64 // headerGauges present on the page
	topics   map[string]topicCounters
	requests map[requestKey]histogram
	errors   map[errorKey]float64
	lag      map[lagKey]float64
}

// histogram is a Prometheus histogram's buckets: cumulative counts by upper
// bound, ascending, the last bound +Inf.
type histogram struct {
	buckets []bucket
}

type bucket struct{ le, count float64 }

// maxPage bounds what one scrape reads, so a wrong URL that streams forever
// cannot exhaust memory; a broker with many thousands of partitions stays
// far below it.
const maxPage = 64 << 20

// fetchPage scrapes url once.
func fetchPage(ctx context.Context, c *http.Client, u string) (*brokerStats, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	// Ask for the text format: a Prometheus handler would otherwise be
	// free to answer in protobuf or OpenMetrics.
	req.Header.Set("Accept", string(expfmt.FmtText))
	at := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the caller names the URL already
		}
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		// The start of the body usually says why (a proxy's or another
		// server's error page, a collector's failure).
		snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
		if s := strings.Join(strings.Fields(string(snippet)), " "); s != "" {
			return nil, fmt.Errorf("HTTP %s: %s", resp.Status, s)
		}
		return nil, fmt.Errorf("HTTP %s", resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxPage+1))
	if err != nil {
		return nil, fmt.Errorf("read the page: %w", err)
	}
	if len(body) > maxPage {
		return nil, fmt.Errorf("page larger than %d MiB", maxPage>>20)
	}
	return parsePage(bytes.NewReader(body), at)
}

// parsePage reads a page in the Prometheus text format taken at time at.
func parsePage(r io.Reader, at time.Time) (*brokerStats, error) {
	var p expfmt.TextParser
	fams, err := p.TextToMetricFamilies(r)
	if err != nil {
		return nil, fmt.Errorf("parse the page: %w", err)
	}
	if len(fams) == 0 {
		// An empty 200 is a wrong path on some other server more often
		// than a broker with nothing to say: a broker always has go_*.
		return nil, errors.New("no metrics on the page")
	}
	return statsOf(fams, at), nil
}

// statsOf picks the series top shows out of a parsed page.
func statsOf(fams map[string]*dto.MetricFamily, at time.Time) *brokerStats {
	s := &brokerStats{
		at:       at,
		gauges:   map[string]float64{},
		topics:   map[string]topicCounters{},
		requests: map[requestKey]histogram{},
		errors:   map[errorKey]float64{},
		lag:      map[lagKey]float64{},
	}
	for _, name := range headerGauges {
		if f := fams[name]; f != nil && len(f.Metric) > 0 {
			for _, m := range f.Metric {
				s.gauges[name] += value(m)
			}
		}
	}
	for i, name := range topicFamilies {
		for _, m := range metrics(fams, name) {
			t := label(m, "topic")
			c := s.topics[t]
			c[i] += value(m)
			s.topics[t] = c
		}
	}
	for _, m := range metrics(fams, famRequestDuration) {
		if h := m.GetHistogram(); h != nil {
			k := requestKey{label(m, "listener"), label(m, "api")}
			s.requests[k] = histogramOf(h)
		}
	}
	for _, m := range metrics(fams, famRequestErrors) {
		s.errors[errorKey{label(m, "api"), label(m, "error")}] += value(m)
	}
	for _, m := range metrics(fams, famGroupLag) {
		s.lag[lagKey{label(m, "group"), label(m, "topic"), label(m, "partition")}] += value(m)
	}
	if ms := metrics(fams, famBrokerInfo); len(ms) > 0 {
		s.node = label(ms[0], "node_id")
	}
	return s
}

func metrics(fams map[string]*dto.MetricFamily, name string) []*dto.Metric {
	if f := fams[name]; f != nil {
		return f.Metric
	}
	return nil
}

// value reads a counter, gauge or untyped sample; a page without TYPE lines
// parses as untyped.
func value(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Untyped != nil:
		return m.Untyped.GetValue()
	}
	return 0
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.Label {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// histogramOf sorts the buckets and adds the +Inf one from _count when the
// page left it out, so every histogram top holds ends in +Inf.
func histogramOf(h *dto.Histogram) histogram {
	out := histogram{buckets: make([]bucket, 0, len(h.Bucket)+1)}
	for _, b := range h.Bucket {
		out.buckets = append(out.buckets, bucket{b.GetUpperBound(), float64(b.GetCumulativeCount())})
	}
	sort.Slice(out.buckets, func(i, j int) bool { return out.buckets[i].le < out.buckets[j].le })
	if n := len(out.buckets); n == 0 || !math.IsInf(out.buckets[n-1].le, +1) {
		out.buckets = append(out.buckets, bucket{math.Inf(+1), float64(h.GetSampleCount())})
	}
	return out
}
