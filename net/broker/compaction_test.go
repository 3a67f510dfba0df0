package broker_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicelog/sluice/net/broker"
)

// TestCompactedTopicOverKafka: kgo produces keyed records to a compacted
// topic, the log is cleaned, and a kgo consumer reading from the start
// across the cleaned segments sees each key's newest value at its
// original offset; a record without a key is refused with INVALID_RECORD.
func TestCompactedTopicOverKafka(t *testing.T) {
	b := broker.StartTest(t, func(c *broker.Config) { c.MetricsListen = "127.0.0.1:0" })
	if err := b.Engine.CreateTopic("changelog", 1, map[string]string{"cleanup.policy": "compact", "segment.bytes": "2048"}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	kc, err := kgo.NewClient(kgo.SeedBrokers(b.KafkaAddr().String()), kgo.DefaultProduceTopic("changelog"),
		kgo.ProducerLinger(0), kgo.RecordRetries(1))
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	newest := map[string]struct {
		value  string
		offset int64
	}{}
	for i := 0; i < 300; i++ {
		k, v := fmt.Sprint("user-", i%10), fmt.Sprint("state-", i)
		r := &kgo.Record{Key: []byte(k), Value: []byte(v)}
		if err := kc.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatal(err)
		}
		newest[k] = struct {
			value  string
			offset int64
		}{v, r.Offset}
	}
	err = kc.ProduceSync(ctx, &kgo.Record{Value: []byte("no key")}).FirstErr()
	if !errors.Is(err, kerr.InvalidRecord) {
		t.Fatalf("keyless record: %v, want INVALID_RECORD", err)
	}

	p, err := b.Engine.Partition("changelog", 0)
	if err != nil {
		t.Fatal(err)
	}
	st, err := p.Clean()
	if err != nil || st.RecordsRemoved == 0 {
		t.Fatalf("clean: %+v %v", st, err)
	}

	cc, err := kgo.NewClient(kgo.SeedBrokers(b.KafkaAddr().String()),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{"changelog": {0: kgo.NewOffset().AtStart()}}))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	seen := map[string]string{}
	last := int64(-1)
	for last < newest["user-9"].offset {
		fs := cc.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("consumed up to offset %d: %v", last, err)
		}
		for _, e := range fs.Errors() {
			t.Fatalf("fetch: %v", e.Err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			if r.Offset <= last {
				t.Fatalf("offset %d after %d", r.Offset, last)
			}
			last = r.Offset
			seen[string(r.Key)] = string(r.Value)
		})
	}
	for k, n := range newest {
		if seen[k] != n.value {
			t.Errorf("key %s: consumed %q, newest is %q", k, seen[k], n.value)
		}
	}
	if v := scrapeMetrics(t, b).must(t, "sluice_log_cleaner_runs_total"); v != 1 {
		t.Errorf("sluice_log_cleaner_runs_total %v after one cleaning", v)
	}
}
