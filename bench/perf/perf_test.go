package perf

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicelog/sluice/net/broker"
)

// syncBuffer is a bytes.Buffer safe for the progress goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// checkResult checks the counts and that the percentiles are ordered and
// not zero.
func checkResult(t *testing.T, res *Result, records int64, size int) {
	t.Helper()
	if res.Records != records {
		t.Errorf("%s: %d records, want %d", res.Workload, res.Records, records)
	}
	if want := records * int64(size); res.Bytes < want {
		t.Errorf("%s: %d bytes, want at least %d", res.Workload, res.Bytes, want)
	}
	if res.Errors != 0 || res.Seconds <= 0 || res.RecordsPerSec <= 0 || res.MBPerSec <= 0 {
		t.Errorf("%s: errors %d, seconds %v, records/s %v, MB/s %v", res.Workload, res.Errors, res.Seconds, res.RecordsPerSec, res.MBPerSec)
	}
	l := res.Latency
	if l.Count == 0 || l.What == "" {
		t.Errorf("%s: latency %+v has no samples", res.Workload, l)
	}
	ps := []float64{l.P50, l.P95, l.P99, l.P999, l.Max}
	for i, p := range ps {
		if p <= 0 {
			t.Errorf("%s: percentile %d is %v in %+v", res.Workload, i, p, l)
		}
		if i > 0 && p < ps[i-1] {
			t.Errorf("%s: percentiles out of order: %+v", res.Workload, l)
		}
	}
	var text, js bytes.Buffer
	if err := res.WriteText(&text); err != nil || !strings.Contains(text.String(), "p99.9") {
		t.Errorf("WriteText: %v\n%s", err, text.String())
	}
	if err := res.WriteJSON(&js); err != nil || !strings.Contains(js.String(), `"p99_9_ms"`) {
		t.Errorf("WriteJSON: %v\n%s", err, js.String())
	}
}

func TestProduceConsumeE2E(t *testing.T) {
	b := broker.StartTest(t, nil)
	addr := []string{b.Addr().String()}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	var progress syncBuffer
	base := Config{Bootstrap: addr, RecordSize: 64, Partitions: 3, Interval: 20 * time.Millisecond, Linger: time.Millisecond}

	p := base
	p.Workload, p.Topic, p.NumRecords, p.Producers, p.Acks, p.KeyCardinality = Produce, "bench", 20000, 2, "1", 50
	res, err := Run(ctx, p, &progress)
	if err != nil {
		t.Fatalf("produce: %v", err)
	}
	checkResult(t, res, 20000, 64)
	if res.Config.Partitions != 3 || res.System != "sluice" {
		t.Errorf("produce result: partitions %d, system %q", res.Config.Partitions, res.System)
	}

	c := base
	c.Workload, c.Topic, c.Consumers = Consume, "bench", 2
	res, err = Run(ctx, c, &progress)
	if err != nil {
		t.Fatalf("consume: %v", err)
	}
	checkResult(t, res, 20000, 64)

	e := base
	e.Workload, e.Topic, e.NumRecords, e.Compression, e.Acks = E2E, "bench-e2e", 5000, "lz4", "all"
	res, err = Run(ctx, e, &progress)
	if err != nil {
		t.Fatalf("e2e: %v", err)
	}
	checkResult(t, res, 5000, 64)
	if res.Latency.Count != 5000 {
		t.Errorf("e2e: %d latency samples, want one per record", res.Latency.Count)
	}
}

func TestConsumeEmptyTopic(t *testing.T) {
	b := broker.StartTest(t, nil)
	_, err := Run(context.Background(), Config{Workload: Consume, Bootstrap: []string{b.Addr().String()}, Topic: "empty"}, nil)
	if err == nil || !strings.Contains(err.Error(), "empty") {
		t.Fatalf("consume of an empty topic: %v", err)
	}
}

func TestEngine(t *testing.T) {
	cfg := Config{Workload: Engine, DataDir: t.TempDir(), NumRecords: 30000, RecordSize: 200, Partitions: 4,
		Producers: 2, BatchSize: 8192, Compression: "zstd", KeyCardinality: 10}
	res, err := Run(context.Background(), cfg, nil)
	if err != nil {
		t.Fatalf("engine: %v", err)
	}
	checkResult(t, res, 30000, 200)
	if res.System != "sluice-engine" {
		t.Errorf("system %q", res.System)
	}
}

func TestValidate(t *testing.T) {
	for _, c := range []Config{
		{Workload: "nope"},
		{Workload: E2E, RecordSize: 4},
		{Workload: Produce, Acks: "2"},
		{Workload: Produce, Compression: "brotli"},
		{Workload: Produce, Producers: -1},
	} {
		c.SetDefaults()
		if err := c.Validate(); err == nil {
			t.Errorf("%+v: no error", c)
		}
	}
	_, err := Run(context.Background(), Config{Workload: Produce, Acks: "2"}, nil)
	if err == nil || !strings.Contains(err.Error(), "acks") {
		t.Errorf("Run with bad acks: %v", err)
	}
}

func TestPayloadAndKeys(t *testing.T) {
	p := NewPayload(100, 1)
	a, b := p.Value(0), p.Value(1)
	if len(a) != 100 || len(b) != 100 || bytes.Equal(a, b) {
		t.Fatalf("values not distinct or wrong size: %q %q", a, b)
	}
	for _, c := range a {
		if c < 'A' || c > 'Z' {
			t.Fatalf("value byte %q is not a capital letter", c)
		}
	}
	if NewKeys(0).Key(5) != nil {
		t.Error("no keys should give null keys")
	}
	if k := NewKeys(3); string(k.Key(4)) != "key-1" {
		t.Errorf("key 4 of 3 = %q", k.Key(4))
	}
	if split(10, 3, 0) != 4 || split(10, 3, 2) != 3 {
		t.Error("split")
	}
}

func TestRecorderPercentiles(t *testing.T) {
	r := NewRecorder()
	for i := 1; i <= 1000; i++ {
		r.Record(time.Duration(i)*time.Microsecond, 1, 10)
	}
	l := r.Latency("test")
	if l.Count != 1000 || l.P50 < 0.49 || l.P50 > 0.51 || l.P999 < l.P99 || l.Max < 0.999 {
		t.Errorf("latency %+v", l)
	}
}

// TestKafkaProtocol runs the three broker workloads through the broker's
// Kafka listener with kgo: the records produced are the ones consumed, and
// a consume through the native protocol reads the same topic.
func TestKafkaProtocol(t *testing.T) {
	b := broker.StartTest(t, nil)
	kafkaAddr := []string{b.KafkaAddr().String()}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	base := Config{Protocol: ProtocolKafka, Bootstrap: kafkaAddr, RecordSize: 64, Partitions: 2, Interval: 20 * time.Millisecond, Linger: time.Millisecond}

	p := base
	p.Workload, p.Topic, p.NumRecords, p.Acks, p.Compression, p.KeyCardinality = Produce, "kbench", 5000, "all", "lz4", 20
	res, err := Run(ctx, p, nil)
	if err != nil {
		t.Fatalf("produce: %v", err)
	}
	checkResult(t, res, 5000, 64)
	if res.System != "kafka-protocol" || res.Config.Partitions != 2 {
		t.Errorf("produce result: system %q, partitions %d", res.System, res.Config.Partitions)
	}

	c := base
	c.Workload, c.Topic = Consume, "kbench"
	if res, err = Run(ctx, c, nil); err != nil {
		t.Fatalf("consume: %v", err)
	}
	checkResult(t, res, 5000, 64)
	native := Config{Workload: Consume, Topic: "kbench", Bootstrap: []string{b.Addr().String()}, Interval: 20 * time.Millisecond}
	if res, err = Run(ctx, native, nil); err != nil || res.Records != 5000 {
		t.Fatalf("native consume of the Kafka-produced topic: %v, %+v", err, res)
	}

	e := base
	e.Workload, e.Topic, e.NumRecords, e.Throughput = E2E, "ke2e", 2000, 20000
	if res, err = Run(ctx, e, nil); err != nil {
		t.Fatalf("e2e: %v", err)
	}
	checkResult(t, res, 2000, 64)

	bad := base
	bad.Workload, bad.Protocol = Produce, "amqp"
	if _, err := Run(ctx, bad, nil); err == nil || !strings.Contains(err.Error(), "protocol") {
		t.Fatalf("protocol amqp: %v", err)
	}
}
