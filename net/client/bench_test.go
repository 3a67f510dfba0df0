package client

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/sluicelog/sluice/net/broker"
	"github.com/sluicelog/sluice/segment/batch"
)

// BenchmarkProduce sends 100-byte records with an 8-byte key through the
// whole path (accumulator, sender, socket, in-process broker, log) and
// reports per-record allocations and MB/s of record values.
func BenchmarkProduce(b *testing.B) {
	for _, bc := range []struct {
		name string
		cfg  ProducerConfig
	}{
		{"idempotent-acks-all", ProducerConfig{}},
		{"acks-leader", ProducerConfig{Acks: AcksLeader}},
		{"acks-none", ProducerConfig{Acks: AcksNone}},
		{"idempotent-lz4", ProducerConfig{Compression: batch.LZ4}},
		{"idempotent-zstd", ProducerConfig{Compression: batch.Zstd}},
	} {
		b.Run(bc.name, func(b *testing.B) { benchProduce(b, bc.cfg) })
	}
}

func benchProduce(b *testing.B, cfg ProducerConfig) {
	br := broker.StartTest(b, func(c *broker.Config) { c.NumPartitions = 4 })
	ctx := context.Background()
	cl, err := New(ctx, Config{BootstrapServers: []string{br.Addr().String()}})
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	cfg.BatchSize = 64 << 10
	p, err := cl.NewProducer(cfg)
	if err != nil {
		b.Fatal(err)
	}
	value := make([]byte, 100)
	for i := range value {
		value[i] = byte('a' + i%26)
	}
	r := &Record{Topic: "bench", Key: []byte("key-0000"), Value: value, Timestamp: time.Now()}
	if _, err := p.SendSync(ctx, r); err != nil { // metadata, producer id
		b.Fatal(err)
	}
	var failed error
	cb := func(_ RecordMetadata, err error) {
		if err != nil && failed == nil {
			failed = err
		}
	}
	b.SetBytes(int64(len(value)))
	b.ReportAllocs()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r.Key[7] = byte('0' + i%8) // spread over the partitions
		if err := p.Send(ctx, r, cb); err != nil {
			b.Fatal(err)
		}
	}
	if err := p.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	// allocs/op rounds to whole numbers; this is the exact rate, the
	// in-process broker's allocations included.
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(b.N), "mallocs/record")
	if err := p.Close(ctx); err != nil {
		b.Fatal(err)
	}
	if failed != nil {
		b.Fatal(failed)
	}
}

// BenchmarkConsume reads back 100-byte records with Poll: the records,
// and a copy of the fetched batches their bytes point into, are the
// caller's.
func BenchmarkConsume(b *testing.B) {
	benchConsume(b, ConsumerConfig{}, func(ctx context.Context, k *Consumer, recs []ConsumerRecord) ([]ConsumerRecord, error) {
		return k.Poll(ctx)
	})
}

// BenchmarkConsumePollInto is BenchmarkConsume with PollInto, passing
// back the slice the last call returned: the records' bytes are the
// caller's as with Poll, but the records themselves are not allocated
// again.
func BenchmarkConsumePollInto(b *testing.B) {
	benchConsume(b, ConsumerConfig{}, func(ctx context.Context, k *Consumer, recs []ConsumerRecord) ([]ConsumerRecord, error) {
		return k.PollInto(ctx, recs)
	})
}

// BenchmarkConsumeBorrowed is BenchmarkConsume with BorrowRecords: no
// copy and no allocation per Poll, the bound for the other two.
func BenchmarkConsumeBorrowed(b *testing.B) {
	benchConsume(b, ConsumerConfig{BorrowRecords: true}, func(ctx context.Context, k *Consumer, recs []ConsumerRecord) ([]ConsumerRecord, error) {
		return k.Poll(ctx)
	})
}

// benchConsume produces b.N 100-byte records to one partition, then
// times reading them back with poll, which is given what it returned
// last.
func benchConsume(b *testing.B, cfg ConsumerConfig, poll func(context.Context, *Consumer, []ConsumerRecord) ([]ConsumerRecord, error)) {
	br := broker.StartTest(b, nil)
	ctx := context.Background()
	cl, err := New(ctx, Config{BootstrapServers: []string{br.Addr().String()}})
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	p, err := cl.NewProducer(ProducerConfig{Partitioner: ManualPartitioner(), BatchSize: 64 << 10})
	if err != nil {
		b.Fatal(err)
	}
	value := make([]byte, 100)
	for i := 0; i < b.N; i++ {
		if err := p.Send(ctx, &Record{Topic: "bench", Partition: 0, Value: value}, nil); err != nil {
			b.Fatal(err)
		}
	}
	if err := p.Close(ctx); err != nil {
		b.Fatal(err)
	}
	k := cl.NewConsumer(cfg)
	defer k.Close()
	k.Assign("bench", 0)
	b.SetBytes(int64(len(value)))
	b.ReportAllocs()
	b.ResetTimer()
	var recs []ConsumerRecord
	for n := 0; n < b.N; {
		if recs, err = poll(ctx, k, recs); err != nil {
			b.Fatal(err)
		}
		n += len(recs)
	}
}
