package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicelog/sluice/bench/perf"
)

// serveKfake runs a one-broker kfake cluster persisting to dir, with an
// fsync per batch when durable.
func serveKfake(dir string, durable bool) (string, func(), error) {
	opts := []kfake.Opt{kfake.NumBrokers(1)}
	if dir != "" {
		opts = append(opts, kfake.DataDir(dir))
	}
	if durable {
		opts = append(opts, kfake.SyncWrites())
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		return "", nil, fmt.Errorf("kfake: %w", err)
	}
	return c.ListenAddrs()[0], c.Close, nil
}

// kafkaPeer drives a Kafka-protocol broker (kfake, or Sluice's Kafka
// listener) with franz-go's kgo.
type kafkaPeer struct{ system, addr string }

func (k kafkaPeer) name() string { return k.system }

func (k kafkaPeer) createTopic(ctx context.Context, cfg *perf.Config) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(k.addr))
	if err != nil {
		return fmt.Errorf("kgo: %w", err)
	}
	defer cl.Close()
	// Topic configs are Sluice's (flush.on.ack): kfake's durability is
	// the cluster's SyncWrites instead.
	var configs map[string]*string
	if k.system == sysSluiceKgo {
		configs = map[string]*string{}
		for key, v := range cfg.TopicConfigs {
			configs[key] = &v
		}
	}
	resp, err := kadm.NewClient(cl).CreateTopic(ctx, cfg.Partitions, 1, configs, cfg.Topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		return fmt.Errorf("%s: creating topic %s: %w", k.system, cfg.Topic, err)
	}
	return nil
}

// producerOpts maps a perf config onto kgo's producer options.
func (k kafkaPeer) producerOpts(cfg *perf.Config) ([]kgo.Opt, error) {
	opts := []kgo.Opt{
		kgo.SeedBrokers(k.addr),
		kgo.DefaultProduceTopic(cfg.Topic),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerLinger(cfg.Linger),
		kgo.ProducerBatchMaxBytes(int32(cfg.BatchSize)),
		kgo.MaxBufferedBytes(32 << 20), // net/client's buffer.memory
	}
	switch cfg.Acks {
	case "all", "-1":
		opts = append(opts, kgo.RequiredAcks(kgo.AllISRAcks()))
	case "1":
		opts = append(opts, kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite())
	default:
		return nil, fmt.Errorf("kgo: acks %q not supported here", cfg.Acks)
	}
	switch cfg.Compression {
	case "none":
		opts = append(opts, kgo.ProducerBatchCompression(kgo.NoCompression()))
	case "lz4":
		opts = append(opts, kgo.ProducerBatchCompression(kgo.Lz4Compression()))
	case "zstd":
		opts = append(opts, kgo.ProducerBatchCompression(kgo.ZstdCompression()))
	default:
		return nil, fmt.Errorf("kgo: compression %q not supported here", cfg.Compression)
	}
	return opts, nil
}

// produce sends cfg.NumRecords records with cfg.Producers clients. With
// e2e set, values start with their send time and no latency is recorded
// here; e2e counts the records sent.
func (k kafkaPeer) produce(ctx context.Context, cfg *perf.Config, rec *perf.Recorder, e2e *atomic.Int64) error {
	opts, err := k.producerOpts(cfg)
	if err != nil {
		return err
	}
	errs := make([]error, cfg.Producers)
	var wg sync.WaitGroup
	for i := range cfg.Producers {
		cl, err := kgo.NewClient(opts...)
		if err != nil {
			return fmt.Errorf("kgo: %w", err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer cl.Close()
			errs[i] = k.produceOne(ctx, cl, cfg, i, rec, e2e)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (k kafkaPeer) produceOne(ctx context.Context, cl *kgo.Client, cfg *perf.Config, w int, rec *perf.Recorder, e2e *atomic.Int64) error {
	size := int64(cfg.RecordSize)
	payload := perf.NewPayload(cfg.RecordSize, uint64(w)+1)
	keys := perf.NewKeys(cfg.KeyCardinality)
	pacer := perf.NewPacer(cfg.Throughput / float64(cfg.Producers))
	quota := quotaOf(cfg, w)
	// kgo keeps a record until its promise runs: records are pooled, each
	// with a value buffer of its own for e2e's timestamped values.
	pool := sync.Pool{New: func() any { return &kgo.Record{} }}
	bufs := sync.Pool{New: func() any { b := make([]byte, cfg.RecordSize); return &b }}
	promise := func(r *kgo.Record, err error) {
		if err != nil {
			rec.Fail(err)
		} else if e2e == nil {
			rec.Record(time.Since(r.Timestamp), 1, size)
		}
		if e2e != nil {
			b := r.Value
			bufs.Put(&b)
		}
		*r = kgo.Record{}
		pool.Put(r)
	}
	route := newRouter(cfg, w)
	end := deadline(cfg)
	rec.MarkStart()
	for i := int64(0); i < quota && !past(i, end); i++ {
		if err := pacer.Wait(ctx); err != nil {
			break
		}
		r := pool.Get().(*kgo.Record)
		r.Key = keys.Key(i)
		r.Partition = route.next(i, r.Key)
		r.Value = payload.Value(i)
		if e2e != nil {
			b := *bufs.Get().(*[]byte)
			copy(b, r.Value)
			binary.LittleEndian.PutUint64(b, uint64(rec.Since()))
			r.Value = b
			e2e.Add(1)
		}
		r.Timestamp = time.Now()
		cl.Produce(ctx, r, promise)
	}
	fctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := cl.Flush(fctx); err != nil {
		return fmt.Errorf("kgo: flush: %w", err)
	}
	return nil
}

// consume reads target records from the start of every partition with one
// kgo client; latency is per PollFetches, or per record from its
// timestamped value with e2e.
func (k kafkaPeer) consume(ctx context.Context, cfg *perf.Config, rec *perf.Recorder, target func() int64, e2e bool) error {
	parts := map[int32]kgo.Offset{}
	for p := range cfg.Partitions {
		parts[p] = kgo.NewOffset().AtStart()
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(k.addr),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{cfg.Topic: parts}),
		kgo.FetchMaxPartitionBytes(cfg.FetchBytes),
		kgo.FetchMaxWait(100*time.Millisecond))
	if err != nil {
		return fmt.Errorf("kgo: %w", err)
	}
	defer cl.Close()
	var got int64
	last := time.Now()
	rec.MarkStart()
	for {
		if t := target(); t >= 0 && got >= t {
			return nil
		}
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		t0 := rec.Since()
		fs := cl.PollFetches(pctx)
		cancel()
		now := rec.Since()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		for _, fe := range fs.Errors() {
			if !errors.Is(fe.Err, context.DeadlineExceeded) {
				return fmt.Errorf("kgo: fetch %s-%d: %w", fe.Topic, fe.Partition, fe.Err)
			}
		}
		var n, b int64
		fs.EachRecord(func(r *kgo.Record) {
			n++
			b += int64(len(r.Key) + len(r.Value))
			if e2e && len(r.Value) >= 8 {
				rec.Record(now-time.Duration(binary.LittleEndian.Uint64(r.Value)), 1, int64(len(r.Key)+len(r.Value)))
			}
		})
		if n > 0 {
			if !e2e {
				rec.Record(now-t0, n, b)
			}
			got += n
			last = time.Now()
		} else if time.Since(last) > stallTimeout {
			return fmt.Errorf("kgo: nothing received for %v (%d records so far)", stallTimeout, got)
		}
	}
}
