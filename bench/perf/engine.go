package perf

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/sluicelog/sluice/engine"
	"github.com/sluicelog/sluice/segment/batch"
)

// runEngine appends batches to the embedded engine: cfg.Producers
// goroutines each build batches of up to cfg.BatchSize bytes and append
// them, one partition after another. Latency is per Append. The final
// Engine.Flush is not timed: with flush.on.ack every Append has already
// waited for fdatasync, and without it the page cache holds the data, as
// it does for a broker.
func runEngine(ctx context.Context, cfg *Config, res *Result, progress io.Writer) error {
	dir, where := cfg.DataDir, "data dir "+cfg.DataDir
	if dir == "" {
		d, err := os.MkdirTemp("", "sluice-bench-engine-")
		if err != nil {
			return fmt.Errorf("perf: %w", err)
		}
		defer os.RemoveAll(d)
		dir, where = d, "data dir "+d+" (temporary, removed)"
	}
	eng, err := engine.Open(dir, engine.Options{})
	if err != nil {
		return fmt.Errorf("perf: opening the engine in %s: %w", dir, err)
	}
	defer eng.Close()
	if err := eng.CreateTopic(cfg.Topic, cfg.Partitions, cfg.TopicConfigs); err != nil {
		return fmt.Errorf("perf: creating topic %s: %w", cfg.Topic, err)
	}
	codec, err := batch.ParseCodec(cfg.Compression)
	if err != nil {
		return err
	}
	parts := make([]*engine.Partition, cfg.Partitions)
	for i := range parts {
		if parts[i], err = eng.Partition(cfg.Topic, int32(i)); err != nil {
			return fmt.Errorf("perf: %w", err)
		}
	}
	rec := NewRecorder()
	stopProgress := rec.StartProgress(ctx, progress, cfg.Interval)
	defer stopProgress()
	stop := newStopper(cfg)
	keys := NewKeys(cfg.KeyCardinality)
	errs := make([]error, cfg.Producers)
	var wg sync.WaitGroup
	for w := range cfg.Producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[w] = appendLoop(ctx, cfg, w, parts, codec, keys, stop, rec)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	if err := eng.Flush(); err != nil {
		return fmt.Errorf("perf: flush: %w", err)
	}
	stopProgress()
	rec.Result(res, "per append")
	res.Notes = append(res.Notes, "embedded engine, no network: one latency per Partition.Append of a batch of up to batch size bytes",
		where)
	return nil
}

// appendLoop is one engine producer.
func appendLoop(ctx context.Context, cfg *Config, w int, parts []*engine.Partition, codec batch.Codec, keys Keys, stop stopper, rec *Recorder) error {
	b := batch.NewBuilder(codec)
	payload := NewPayload(cfg.RecordSize, uint64(w)+1)
	pacer := NewPacer(cfg.Throughput / float64(cfg.Producers))
	quota := split(cfg.NumRecords, cfg.Producers, w)
	p := w % len(parts)
	var i int64
	rec.MarkStart()
	for !stop.done(ctx, i, quota) {
		b.Reset()
		var n, bytes int64
		for ; !stop.done(ctx, i, quota) && (n == 0 || b.Size()+cfg.RecordSize+32 <= cfg.BatchSize); i++ {
			if err := pacer.Wait(ctx); err != nil {
				return nil
			}
			k, v := keys.Key(i), payload.Value(i)
			b.Append(time.Now().UnixMilli(), k, v, nil)
			n++
			bytes += int64(len(k) + len(v))
		}
		if n == 0 {
			break
		}
		data, err := b.Build()
		if err != nil {
			return fmt.Errorf("perf: building a batch: %w", err)
		}
		t0 := rec.Since()
		if _, err := parts[p].Append(data); err != nil {
			return fmt.Errorf("perf: append to partition %d: %w", p, err)
		}
		rec.Record(rec.Since()-t0, n, bytes)
		p = (p + 1) % len(parts)
	}
	return nil
}
