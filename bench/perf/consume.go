package perf

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicelog/sluice/net/client"
	"github.com/sluicelog/sluice/net/protocol"
)

// stallTimeout fails a run whose consumers received nothing for this long
// while records were still expected.
const stallTimeout = 30 * time.Second

// consume reads the topic from the beginning with cfg.Consumers consumers
// until the target: NumRecords, the deadline of Duration, or (with
// neither) every record the topic held when the run began.
func consume(ctx context.Context, cl *client.Client, cfg *Config, rec *Recorder) error {
	var target atomic.Int64
	target.Store(cfg.NumRecords)
	if cfg.NumRecords == 0 && cfg.Duration > 0 {
		target.Store(-1) // until the deadline
	}
	if cfg.NumRecords == 0 && cfg.Duration == 0 {
		var total int64
		for p := range cfg.Partitions {
			lo, err := cl.ListOffset(ctx, cfg.Topic, p, protocol.EarliestTimestamp)
			if err != nil {
				return fmt.Errorf("perf: log start of %s-%d: %w", cfg.Topic, p, err)
			}
			hi, err := cl.ListOffset(ctx, cfg.Topic, p, protocol.LatestTimestamp)
			if err != nil {
				return fmt.Errorf("perf: log end of %s-%d: %w", cfg.Topic, p, err)
			}
			total += hi - lo
		}
		if total == 0 {
			return fmt.Errorf("perf: topic %s is empty: produce to it first", cfg.Topic)
		}
		target.Store(total)
	}
	cons, err := startConsumers(ctx, cl, cfg, false)
	if err != nil {
		return err
	}
	return readAll(ctx, nativePollers(cons), cfg, rec, &target, false)
}

// endToEnd runs producers and consumers together; consumers start at the
// log's end and stop when they have received every record sent.
func endToEnd(ctx context.Context, cl *client.Client, cfg *Config, rec *Recorder) error {
	cons, err := startConsumers(ctx, cl, cfg, true)
	if err != nil {
		return err
	}
	var target atomic.Int64
	target.Store(-1) // unknown until the producers finish
	var sent produced
	perr := make(chan error, 1)
	go func() {
		err := produce(ctx, cl, cfg, rec, &sent)
		target.Store(sent.n.Load())
		perr <- err
	}()
	err = readAll(ctx, nativePollers(cons), cfg, rec, &target, true)
	return errors.Join(<-perr, err)
}

// startConsumers makes the consumers, each assigned every
// Consumers-th partition, at the log's start or end.
func startConsumers(ctx context.Context, cl *client.Client, cfg *Config, atEnd bool) ([]*client.Consumer, error) {
	n := min(cfg.Consumers, int(cfg.Partitions))
	cons := make([]*client.Consumer, n)
	for i := range cons {
		c := cl.NewConsumer(client.ConsumerConfig{MaxPartitionBytes: cfg.FetchBytes, MaxWait: 100 * time.Millisecond})
		var parts []int32
		for p := int32(i); p < cfg.Partitions; p += int32(n) {
			parts = append(parts, p)
		}
		c.Assign(cfg.Topic, parts...)
		seek := c.SeekToBeginning
		if atEnd {
			seek = c.SeekToEnd
		}
		if err := seek(ctx, cfg.Topic); err != nil {
			return nil, fmt.Errorf("perf: consumer %d: seek: %w", i, err)
		}
		cons[i] = c
	}
	return cons, nil
}

// poller is one consumer, whatever its client: poll waits for the next
// records and calls visit for each; close releases the consumer.
type poller struct {
	poll  func(ctx context.Context, visit func(key, value []byte)) error
	close func()
}

// nativePollers wraps net/client consumers. Each reads with PollInto,
// passing back the slice its last poll returned: the keys and values are
// the caller's, as with Poll, but the records are not allocated again for
// every poll.
func nativePollers(cons []*client.Consumer) []poller {
	ps := make([]poller, len(cons))
	for i, c := range cons {
		var recs []client.ConsumerRecord
		ps[i] = poller{
			poll: func(ctx context.Context, visit func(key, value []byte)) error {
				var err error
				recs, err = c.PollInto(ctx, recs)
				for j := range recs {
					visit(recs[j].Key, recs[j].Value)
				}
				return err
			},
			close: func() { c.Close() },
		}
	}
	return ps
}

// readAll polls with every consumer until the received records reach
// target (negative while unknown), the deadline passes, ctx ends, or
// nothing arrives for stallTimeout. With e2e set, each record's latency is
// its receipt time less the send time in its first 8 bytes; otherwise one
// latency per poll.
func readAll(ctx context.Context, cons []poller, cfg *Config, rec *Recorder, target *atomic.Int64, e2e bool) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if !e2e && cfg.NumRecords == 0 && cfg.Duration > 0 {
		var c context.CancelFunc
		ctx, c = context.WithTimeout(ctx, cfg.Duration)
		defer c()
	}
	var received atomic.Int64
	var lastProgress atomic.Int64
	lastProgress.Store(int64(rec.Since()))
	errs := make([]error, len(cons))
	var wg sync.WaitGroup
	for i, c := range cons {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.close()
			rec.MarkStart()
			for ctx.Err() == nil {
				t0 := rec.Since()
				var now time.Duration
				var n, b int64
				err := c.poll(ctx, func(key, value []byte) {
					if n == 0 {
						now = rec.Since()
					}
					n++
					b += int64(len(key) + len(value))
					if e2e && len(value) >= 8 {
						sentAt := time.Duration(binary.LittleEndian.Uint64(value))
						rec.RecordAt(now, now-sentAt, 1, int64(len(key)+len(value)))
					}
				})
				if n == 0 {
					now = rec.Since()
				}
				if err != nil {
					if ctx.Err() == nil {
						errs[i] = fmt.Errorf("perf: consumer %d: %w", i, err)
						cancel()
					}
					return
				}
				if n > 0 {
					if !e2e {
						rec.Record(now-t0, n, b)
					}
					lastProgress.Store(int64(now))
				}
				got := received.Add(n)
				if t := target.Load(); t >= 0 && got >= t {
					cancel()
					return
				}
				if time.Duration(int64(now)-lastProgress.Load()) > stallTimeout {
					errs[i] = fmt.Errorf("perf: consumers received nothing for %v (%d records so far, target %d)", stallTimeout, got, target.Load())
					cancel()
					return
				}
			}
		}()
	}
	// In e2e the target is only known when the producers finish; a
	// consumer blocked in a poll would not see it, so check here too.
	if e2e {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
	wait:
		for {
			select {
			case <-ctx.Done():
				break wait
			case <-tick.C:
				if t := target.Load(); t >= 0 && received.Load() >= t {
					cancel()
					break wait
				}
			}
		}
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if t := target.Load(); t >= 0 && received.Load() < t {
		return fmt.Errorf("perf: consumers received %d of %d records", received.Load(), t)
	}
	return nil
}
