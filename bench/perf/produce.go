package perf

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicelog/sluice/net/client"
	"github.com/sluicelog/sluice/segment/batch"
)

// ackQueue holds the send times of one producer's records to one
// partition that await their callback. Callbacks of a partition run in
// send order, so the oldest time is always the acknowledged record's.
type ackQueue struct {
	mu    sync.Mutex
	times []time.Duration // ring
	head  int
	n     int
	cb    func(client.RecordMetadata, error)
}

func (q *ackQueue) push(t time.Duration) {
	q.mu.Lock()
	if q.n == len(q.times) {
		grown := make([]time.Duration, max(2*len(q.times), 1024))
		for i := 0; i < q.n; i++ {
			grown[i] = q.times[(q.head+i)%len(q.times)]
		}
		q.times, q.head = grown, 0
	}
	q.times[(q.head+q.n)%len(q.times)] = t
	q.n++
	q.mu.Unlock()
}

// popBack drops the newest time (its Send failed).
func (q *ackQueue) popBack() {
	q.mu.Lock()
	q.n--
	q.mu.Unlock()
}

func (q *ackQueue) pop() time.Duration {
	q.mu.Lock()
	t := q.times[q.head]
	q.head = (q.head + 1) % len(q.times)
	q.n--
	q.mu.Unlock()
	return t
}

// produced counts records sent over all producers, for e2e's consumers.
type produced struct{ n atomic.Int64 }

// produce runs cfg.Producers producers to completion. With sent non-nil
// (e2e) no latency is recorded here: the consumers time the records, whose
// values start with their send time, and sent counts what was sent.
func produce(ctx context.Context, cl *client.Client, cfg *Config, rec *Recorder, sent *produced) error {
	acks, err := cfg.acks()
	if err != nil {
		return err
	}
	codec, err := batch.ParseCodec(cfg.Compression)
	if err != nil {
		return err
	}
	pcfg := client.ProducerConfig{
		// Records name their partitions: run computes the sticky and
		// key placement itself, to keep one callback queue per partition.
		Partitioner: client.ManualPartitioner(),
		Acks:        acks,
		Compression: codec,
		Linger:      cfg.Linger,
		BatchSize:   cfg.BatchSize,
	}
	stop := newStopper(cfg)
	keys := NewKeys(cfg.KeyCardinality)
	errs := make([]error, cfg.Producers)
	var wg sync.WaitGroup
	for i := range cfg.Producers {
		pr, err := cl.NewProducer(pcfg)
		if err != nil {
			return fmt.Errorf("perf: producer: %w", err)
		}
		w := &producerRun{
			cfg:     cfg,
			index:   i,
			pr:      pr,
			rec:     rec,
			sent:    sent,
			payload: NewPayload(cfg.RecordSize, uint64(i)+1),
			keys:    keys,
			pacer:   NewPacer(cfg.Throughput / float64(cfg.Producers)),
			quota:   split(cfg.NumRecords, cfg.Producers, i),
			stop:    stop,
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = w.run(ctx)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// producerRun is one producer's loop and its reusable state.
type producerRun struct {
	cfg     *Config
	index   int
	pr      *client.Producer
	rec     *Recorder
	sent    *produced
	payload *Payload
	keys    Keys
	pacer   *Pacer
	quota   int64
	stop    stopper
}

func (w *producerRun) run(ctx context.Context) (err error) {
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if cerr := w.pr.Close(cctx); cerr != nil && err == nil {
			err = fmt.Errorf("perf: closing producer %d: %w", w.index, cerr)
		}
	}()
	parts := w.cfg.Partitions
	size := int64(w.cfg.RecordSize)
	queues := make([]*ackQueue, parts)
	for p := range queues {
		q := &ackQueue{}
		q.cb = func(_ client.RecordMetadata, err error) {
			start := q.pop()
			if err != nil {
				w.rec.Fail(err)
				return
			}
			if w.sent == nil {
				now := w.rec.Since()
				w.rec.RecordAt(now, now-start, 1, size)
			}
		}
		queues[p] = q
	}
	// Unkeyed records change partition every batch's worth, as the sticky
	// partitioner would; producers start on different partitions.
	perBatch := max(int64(w.cfg.BatchSize)/(size+12), 1)
	part := int32(w.index) % parts
	scratch := make([]byte, w.cfg.RecordSize)
	r := client.Record{Topic: w.cfg.Topic}
	w.rec.MarkStart()
	for i := int64(0); !w.stop.done(ctx, i, w.quota); i++ {
		if err := w.pacer.Wait(ctx); err != nil {
			return nil // the run was cancelled: what was sent stands
		}
		key := w.keys.Key(i)
		switch {
		case key != nil:
			r.Partition = client.KeyPartition(key, parts)
		default:
			if i > 0 && i%perBatch == 0 {
				part = (part + 1) % parts
			}
			r.Partition = part
		}
		r.Key = key
		r.Value = w.payload.Value(i)
		now := w.rec.Since()
		if w.sent != nil {
			copy(scratch, r.Value)
			binary.LittleEndian.PutUint64(scratch, uint64(now))
			r.Value = scratch
		}
		q := queues[r.Partition]
		q.push(now)
		if err := w.pr.Send(ctx, &r, q.cb); err != nil {
			q.popBack()
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("perf: producer %d: send: %w", w.index, err)
		}
		if w.sent != nil {
			w.sent.n.Add(1)
		}
	}
	return nil
}
