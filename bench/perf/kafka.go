package perf

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// The protocols a run can speak to the broker.
const (
	ProtocolSluice = "sluice" // the native protocol, with net/client
	ProtocolKafka  = "kafka"  // the Kafka protocol, with franz-go's kgo
)

// runKafka runs produce, consume or e2e through a Kafka listener with
// franz-go's kgo client: Sluice's Kafka listener, or any Kafka broker, with
// the same load the native run puts on the native listener.
func runKafka(ctx context.Context, cfg *Config, res *Result, progress io.Writer) error {
	adm, err := kgo.NewClient(kgo.SeedBrokers(cfg.Bootstrap...))
	if err != nil {
		return fmt.Errorf("perf: %w", err)
	}
	defer adm.Close()
	parts, err := ensureKafkaTopic(ctx, kadm.NewClient(adm), cfg)
	if err != nil {
		return err
	}
	cfg.Partitions = parts
	res.Config.Partitions = parts

	rec := NewRecorder()
	stopProgress := rec.StartProgress(ctx, progress, cfg.Interval)
	defer stopProgress()
	var what string
	switch cfg.Workload {
	case Produce:
		what = "send to ack"
		err = kafkaProduce(ctx, cfg, rec, nil)
	case Consume:
		what = "per fetch"
		err = kafkaConsume(ctx, kadm.NewClient(adm), cfg, rec)
	case E2E:
		what = "send to receipt"
		err = kafkaEndToEnd(ctx, cfg, rec)
	}
	stopProgress()
	rec.Result(res, what)
	res.Notes = append(res.Notes, "through the Kafka protocol with franz-go's kgo client")
	if cfg.Workload == E2E {
		res.Notes = append(res.Notes, "throughput is records received by the consumers")
	}
	return err
}

func ensureKafkaTopic(ctx context.Context, adm *kadm.Client, cfg *Config) (int32, error) {
	configs := map[string]*string{}
	for k, v := range cfg.TopicConfigs {
		configs[k] = &v
	}
	resp, err := adm.CreateTopic(ctx, cfg.Partitions, 1, configs, cfg.Topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		return 0, fmt.Errorf("perf: creating topic %s: %w", cfg.Topic, err)
	}
	topics, err := adm.ListTopics(ctx, cfg.Topic)
	if err != nil {
		return 0, fmt.Errorf("perf: topic %s: %w", cfg.Topic, err)
	}
	t, ok := topics[cfg.Topic]
	if !ok || t.Err != nil || len(t.Partitions) == 0 {
		return 0, fmt.Errorf("perf: topic %s: no partitions (%v)", cfg.Topic, t.Err)
	}
	return int32(len(t.Partitions)), nil
}

// kafkaProducerOpts maps the config to kgo's producer settings.
func kafkaProducerOpts(cfg *Config) ([]kgo.Opt, error) {
	opts := []kgo.Opt{kgo.SeedBrokers(cfg.Bootstrap...), kgo.ProducerLinger(max(cfg.Linger, 0)),
		kgo.ProducerBatchMaxBytes(int32(max(cfg.BatchSize, 1024))), kgo.MaxBufferedRecords(1 << 20)}
	switch cfg.Acks {
	case "all", "-1":
		opts = append(opts, kgo.RequiredAcks(kgo.AllISRAcks()))
	case "1":
		opts = append(opts, kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite())
	case "0":
		opts = append(opts, kgo.RequiredAcks(kgo.NoAck()), kgo.DisableIdempotentWrite())
	default:
		return nil, fmt.Errorf("acks %q: want 0, 1 or all", cfg.Acks)
	}
	codecs := map[string]kgo.CompressionCodec{"none": kgo.NoCompression(), "gzip": kgo.GzipCompression(),
		"snappy": kgo.SnappyCompression(), "lz4": kgo.Lz4Compression(), "zstd": kgo.ZstdCompression()}
	c, ok := codecs[cfg.Compression]
	if !ok {
		return nil, fmt.Errorf("compression %q", cfg.Compression)
	}
	return append(opts, kgo.ProducerBatchCompression(c)), nil
}

// kafkaProduce runs cfg.Producers kgo producers. With sent non-nil (e2e)
// the records carry their send time and the consumers time them.
func kafkaProduce(ctx context.Context, cfg *Config, rec *Recorder, sent *produced) error {
	opts, err := kafkaProducerOpts(cfg)
	if err != nil {
		return err
	}
	stop := newStopper(cfg)
	keys := NewKeys(cfg.KeyCardinality)
	size := int64(cfg.RecordSize)
	errs := make([]error, cfg.Producers)
	var wg sync.WaitGroup
	for i := range cfg.Producers {
		cl, err := kgo.NewClient(opts...)
		if err != nil {
			return fmt.Errorf("perf: producer: %w", err)
		}
		payload := NewPayload(cfg.RecordSize, uint64(i)+1)
		pacer := NewPacer(cfg.Throughput / float64(cfg.Producers))
		quota := split(cfg.NumRecords, cfg.Producers, i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer cl.Close()
			rec.MarkStart()
			for n := int64(0); !stop.done(ctx, n, quota); n++ {
				if err := pacer.Wait(ctx); err != nil {
					break
				}
				r := &kgo.Record{Topic: cfg.Topic, Key: keys.Key(n), Value: payload.Value(n)}
				start := rec.Since()
				if sent != nil {
					v := make([]byte, len(r.Value)) // kgo holds the record until acknowledged
					copy(v, r.Value)
					binary.LittleEndian.PutUint64(v, uint64(start))
					r.Value = v
					sent.n.Add(1)
				}
				cl.Produce(ctx, r, func(r *kgo.Record, err error) {
					if err != nil {
						rec.Fail(err)
						return
					}
					if sent == nil {
						rec.Record(rec.Since()-start, 1, size+int64(len(r.Key)))
					}
				})
			}
			if err := cl.Flush(context.WithoutCancel(ctx)); err != nil {
				errs[i] = fmt.Errorf("perf: producer %d: flush: %w", i, err)
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// kafkaConsumers makes the consumers, each reading every Consumers-th
// partition from the log's start or end.
func kafkaConsumers(cfg *Config, atEnd bool) ([]*kgo.Client, error) {
	n := min(cfg.Consumers, int(cfg.Partitions))
	at := kgo.NewOffset().AtStart()
	if atEnd {
		at = kgo.NewOffset().AtEnd()
	}
	cons := make([]*kgo.Client, n)
	for i := range cons {
		parts := map[int32]kgo.Offset{}
		for p := int32(i); p < cfg.Partitions; p += int32(n) {
			parts[p] = at
		}
		cl, err := kgo.NewClient(kgo.SeedBrokers(cfg.Bootstrap...), kgo.FetchMaxPartitionBytes(cfg.FetchBytes),
			kgo.FetchMaxWait(100*time.Millisecond), kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{cfg.Topic: parts}))
		if err != nil {
			for _, c := range cons[:i] {
				c.Close()
			}
			return nil, fmt.Errorf("perf: consumer %d: %w", i, err)
		}
		cons[i] = cl
	}
	return cons, nil
}

func kafkaConsume(ctx context.Context, adm *kadm.Client, cfg *Config, rec *Recorder) error {
	var target atomic.Int64
	target.Store(cfg.NumRecords)
	if cfg.NumRecords == 0 && cfg.Duration > 0 {
		target.Store(-1)
	}
	if cfg.NumRecords == 0 && cfg.Duration == 0 {
		starts, err := adm.ListStartOffsets(ctx, cfg.Topic)
		if err != nil {
			return fmt.Errorf("perf: log starts of %s: %w", cfg.Topic, err)
		}
		ends, err := adm.ListEndOffsets(ctx, cfg.Topic)
		if err != nil {
			return fmt.Errorf("perf: log ends of %s: %w", cfg.Topic, err)
		}
		var total int64
		ends.Each(func(o kadm.ListedOffset) {
			if s, ok := starts.Lookup(o.Topic, o.Partition); ok {
				total += o.Offset - s.Offset
			}
		})
		if total == 0 {
			return fmt.Errorf("perf: topic %s is empty: produce to it first", cfg.Topic)
		}
		target.Store(total)
	}
	cons, err := kafkaConsumers(cfg, false)
	if err != nil {
		return err
	}
	return readAll(ctx, kafkaPollers(cons), cfg, rec, &target, false)
}

func kafkaEndToEnd(ctx context.Context, cfg *Config, rec *Recorder) error {
	cons, err := kafkaConsumers(cfg, true)
	if err != nil {
		return err
	}
	// kgo resolves "at end" on the first fetch: wait for every consumer
	// to have fetched once before producing, or it could start past the
	// first records.
	for _, c := range cons {
		warm, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		c.PollFetches(warm)
		cancel()
	}
	var target atomic.Int64
	target.Store(-1)
	var sent produced
	perr := make(chan error, 1)
	go func() {
		err := kafkaProduce(ctx, cfg, rec, &sent)
		target.Store(sent.n.Load())
		perr <- err
	}()
	err = readAll(ctx, kafkaPollers(cons), cfg, rec, &target, true)
	return errors.Join(<-perr, err)
}

// kafkaPollers wraps kgo consumers; a fetch error ends the run.
func kafkaPollers(cons []*kgo.Client) []poller {
	ps := make([]poller, len(cons))
	for i, c := range cons {
		ps[i] = poller{
			poll: func(ctx context.Context, visit func(key, value []byte)) error {
				fs := c.PollFetches(ctx)
				if ctx.Err() != nil {
					return ctx.Err()
				}
				for _, fe := range fs.Errors() {
					return fmt.Errorf("%s-%d: %w", fe.Topic, fe.Partition, fe.Err)
				}
				fs.EachRecord(func(r *kgo.Record) { visit(r.Key, r.Value) })
				return nil
			},
			close: c.Close,
		}
	}
	return ps
}
