package broker_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicelog/sluice/net/broker"
)

// scrape is one /metrics page, parsed.
type scrape map[string]*dto.MetricFamily

func scrapeMetrics(t *testing.T, b *broker.Broker) scrape {
	t.Helper()
	resp, err := http.Get("http://" + b.MetricsAddr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %s", resp.Status)
	}
	var p expfmt.TextParser
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("/metrics does not parse: %v", err)
	}
	return fams
}

// samples are the samples of name whose labels include want ("k=v").
func (s scrape) samples(name string, want ...string) []*dto.Metric {
	f := s[name]
	if f == nil {
		return nil
	}
	var out []*dto.Metric
next:
	for _, m := range f.Metric {
		labels := map[string]string{}
		for _, l := range m.Label {
			labels[l.GetName()] = l.GetValue()
		}
		for _, kv := range want {
			k, v, _ := strings.Cut(kv, "=")
			if labels[k] != v {
				continue next
			}
		}
		out = append(out, m)
	}
	return out
}

// sampleValue is a counter's or gauge's value, or a histogram's count.
func sampleValue(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	}
	return 0
}

// value is the first sample of name whose labels include want; ok is
// false when there is none.
func (s scrape) value(name string, want ...string) (float64, bool) {
	ms := s.samples(name, want...)
	if len(ms) == 0 {
		return 0, false
	}
	return sampleValue(ms[0]), true
}

// sum adds every sample of name whose labels include want.
func (s scrape) sum(name string, want ...string) float64 {
	total := 0.0
	for _, m := range s.samples(name, want...) {
		total += sampleValue(m)
	}
	return total
}

func (s scrape) must(t *testing.T, name string, want ...string) float64 {
	t.Helper()
	v, ok := s.value(name, want...)
	if !ok {
		t.Fatalf("no %s%v in /metrics", name, want)
	}
	return v
}

// TestMetricsMoveWithTraffic: a produce and a consume over the Kafka
// listener move the per-topic and per-partition series by exactly what
// went through, a refused produce counts its error by name, and a
// committed offset shows its lag.
func TestMetricsMoveWithTraffic(t *testing.T) {
	b := broker.StartTest(t, func(c *broker.Config) { c.MetricsListen = "127.0.0.1:0" })
	if err := b.Engine.CreateTopic("m", 2, nil); err != nil {
		t.Fatal(err)
	}
	if err := b.Engine.CreateTopic("other", 1, nil); err != nil {
		t.Fatal(err)
	}
	before := scrapeMetrics(t, b)
	if v := before.must(t, "sluice_topic_bytes_in_total", "topic=m"); v != 0 {
		t.Fatalf("bytes in before any produce: %v", v)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	kc, err := kgo.NewClient(kgo.SeedBrokers(b.KafkaAddr().String()), kgo.ProducerLinger(0),
		kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	const n = 25
	for i := range n {
		r := &kgo.Record{Topic: "m", Partition: int32(i % 2), Value: []byte(fmt.Sprintf("value-%03d", i))}
		if err := kc.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}

	// A refused produce: a partition the topic does not have.
	req := kmsg.NewPtrProduceRequest()
	req.Acks, req.TimeoutMillis = 1, 5000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = "m"
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Partition = 7
	rp.Records = anyBatch(t)
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, kc)
	if err != nil {
		t.Fatal(err)
	}
	if code := resp.Topics[0].Partitions[0].ErrorCode; code != kerr.UnknownTopicOrPartition.Code {
		t.Fatalf("produce to partition 7: code %d", code)
	}

	// Consume everything back, partition by partition.
	cc, err := kgo.NewClient(kgo.SeedBrokers(b.KafkaAddr().String()),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{"m": {0: kgo.NewOffset().AtStart(), 1: kgo.NewOffset().AtStart()}}))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	for got := 0; got < n; {
		fs := cc.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("consumed %d of %d: %v", got, n, err)
		}
		got += fs.NumRecords()
	}
	cc.Close()

	// A group commits offset 5 of partition 0.
	adm := kadm.NewClient(kc)
	offs := kadm.Offsets{}
	offs.Add(kadm.Offset{Topic: "m", Partition: 0, At: 5, LeaderEpoch: -1})
	if _, err := adm.CommitOffsets(ctx, "lagging", offs); err != nil {
		t.Fatal(err)
	}

	after := scrapeMetrics(t, b)
	logBytes := after.sum("sluice_log_size_bytes", "topic=m")
	if logBytes == 0 {
		t.Fatal("no log bytes for topic m")
	}
	checks := []struct {
		name   string
		labels []string
		want   float64
	}{
		{"sluice_topic_records_in_total", []string{"topic=m"}, n},
		// Every byte appended is in the log (no retention ran).
		{"sluice_topic_bytes_in_total", []string{"topic=m"}, logBytes},
		{"sluice_topic_records_out_total", []string{"topic=m"}, n},
		// Read back once, batch by batch: the same bytes went out.
		{"sluice_topic_bytes_out_total", []string{"topic=m"}, logBytes},
		{"sluice_partition_records_in_total", []string{"topic=m", "partition=0"}, (n + 1) / 2},
		{"sluice_partition_records_in_total", []string{"topic=m", "partition=1"}, n / 2},
		{"sluice_topic_produce_requests_total", []string{"topic=m"}, n},
		{"sluice_topic_failed_produce_requests_total", []string{"topic=m"}, 0},
		{"sluice_topic_records_in_total", []string{"topic=other"}, 0},
		{"sluice_log_end_offset", []string{"topic=m", "partition=0"}, (n + 1) / 2},
		{"sluice_partition_high_watermark", []string{"topic=m", "partition=1"}, n / 2},
		{"sluice_log_start_offset", []string{"topic=m", "partition=1"}, 0},
		{"sluice_log_segments", []string{"topic=m", "partition=0"}, 1},
		{"sluice_request_errors_total", []string{"api=Produce", "error=UNKNOWN_TOPIC_OR_PARTITION"}, 1},
		{"sluice_partitions", nil, 3},
		{"sluice_leader_partitions", nil, 3},
		{"sluice_under_replicated_partitions", nil, 0},
		{"sluice_offline_partitions", nil, 0},
		{"sluice_consumer_group_committed_offset", []string{"group=lagging", "topic=m", "partition=0"}, 5},
		{"sluice_consumer_group_lag", []string{"group=lagging", "topic=m", "partition=0"}, (n+1)/2 - 5},
		{"sluice_groups", []string{"state=Empty"}, 1},
	}
	for _, c := range checks {
		if got, ok := after.value(c.name, c.labels...); !ok || got != c.want {
			t.Errorf("%s%v = %v (present %v), want %v", c.name, c.labels, got, ok, c.want)
		}
	}
	// At least one produce and one fetch were timed on the Kafka listener.
	for _, api := range []string{"Produce", "Fetch", "ApiVersions", "Metadata"} {
		if c, ok := after.value("sluice_request_duration_seconds", "listener=kafka", "api="+api); !ok || c == 0 {
			t.Errorf("no %s latency on the kafka listener", api)
		}
	}
	if v := after.must(t, "sluice_connections_accepted_total", "listener=kafka"); v < 2 {
		t.Errorf("connections accepted %v, want at least 2", v)
	}
	if v := after.must(t, "sluice_request_queue_size", "listener=kafka"); v != 0 {
		t.Errorf("request queue %v with nothing in flight", v)
	}
	if _, ok := after.value("sluice_broker_info", "node_id=0"); !ok {
		t.Error("no sluice_broker_info{node_id=\"0\"}")
	}

	// Every connection closed is counted closed.
	if v := after.must(t, "sluice_connections", "listener=kafka"); v < 1 {
		t.Errorf("connections open %v with a client connected", v)
	}
	kc.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		v := scrapeMetrics(t, b).must(t, "sluice_connections", "listener=kafka")
		if v == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sluice_connections{listener=kafka} still %v after every client closed", v)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// anyBatch is a record batch of one record; its CRC is not set, which
// does not matter to a partition refused before its records are read.
func anyBatch(t *testing.T) []byte {
	t.Helper()
	rec := kmsg.NewRecord()
	rec.Value = []byte("refused")
	rb := kmsg.RecordBatch{Magic: 2, NumRecords: 1, FirstTimestamp: time.Now().UnixMilli(), MaxTimestamp: time.Now().UnixMilli(),
		ProducerID: -1, ProducerEpoch: -1, FirstSequence: -1, LastOffsetDelta: 0}
	rb.Records = rec.AppendTo(nil)
	raw := rb.AppendTo(nil)
	return raw
}

// TestMetricsFlushAndLint: an acknowledged-after-fsync produce lands in
// the fsync histogram, and the busy page passes Prometheus's linter.
func TestMetricsFlushAndLint(t *testing.T) {
	b := broker.StartTest(t, func(c *broker.Config) { c.MetricsListen = "127.0.0.1:0" })
	if err := b.Engine.CreateTopic("durable", 1, map[string]string{"flush.on.ack": "true"}); err != nil {
		t.Fatal(err)
	}
	before := scrapeMetrics(t, b).must(t, "sluice_log_flush_duration_seconds")
	kc, err := kgo.NewClient(kgo.SeedBrokers(b.KafkaAddr().String()), kgo.DefaultProduceTopic("durable"))
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := kc.ProduceSync(ctx, &kgo.Record{Value: []byte("kept")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if after := scrapeMetrics(t, b).must(t, "sluice_log_flush_duration_seconds"); after <= before {
		t.Fatalf("fsyncs observed %v before and %v after a flush.on.ack produce", before, after)
	}

	resp, err := http.Get("http://" + b.MetricsAddr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	problems, err := promlint.New(resp.Body).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
}
