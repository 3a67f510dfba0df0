package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/sluicelog/sluice/bench/perf"
)

// serveNATS runs nats-server with JetStream storing in dir, syncing every
// write when durable.
func serveNATS(dir string, durable bool) (string, func(), error) {
	s, err := server.NewServer(&server.Options{
		Host:       "127.0.0.1",
		Port:       -1,
		JetStream:  true,
		StoreDir:   dir,
		SyncAlways: durable,
		NoSigs:     true,
		NoLog:      true,
	})
	if err != nil {
		return "", nil, fmt.Errorf("nats-server: %w", err)
	}
	s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		return "", nil, errors.New("nats-server: not ready within 10 s")
	}
	return s.ClientURL(), func() { s.Shutdown(); s.WaitForShutdown() }, nil
}

// natsPeer drives NATS JetStream: one file-storage stream per partition
// (JetStream has no partitions), async publish, pull consume.
type natsPeer struct{ url string }

func (n natsPeer) name() string { return "nats-jetstream" }

func streamName(topic string, p int32) string { return fmt.Sprintf("%s-%d", topic, p) }
func subject(topic string, p int32) string    { return fmt.Sprintf("%s.%d", topic, p) }

func (n natsPeer) connect() (*nats.Conn, error) {
	nc, err := nats.Connect(n.url)
	if err != nil {
		return nil, fmt.Errorf("nats: connect: %w", err)
	}
	return nc, nil
}

func (n natsPeer) createTopic(ctx context.Context, cfg *perf.Config) error {
	nc, err := n.connect()
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("nats: %w", err)
	}
	for p := range cfg.Partitions {
		_, err := js.CreateStream(ctx, jetstream.StreamConfig{
			Name:     streamName(cfg.Topic, p),
			Subjects: []string{subject(cfg.Topic, p)},
			Storage:  jetstream.FileStorage,
			Replicas: 1,
		})
		if err != nil {
			return fmt.Errorf("nats: creating stream %s: %w", streamName(cfg.Topic, p), err)
		}
	}
	return nil
}

// natsRec is a message in flight and its send time. The message is the
// first field, so the *nats.Msg the ack handler gets back is also a
// *natsRec: no map lookup per ack.
type natsRec struct {
	msg   nats.Msg
	start time.Duration
	buf   []byte
}

func (n natsPeer) produce(ctx context.Context, cfg *perf.Config, rec *perf.Recorder, e2e *atomic.Int64) error {
	errs := make([]error, cfg.Producers)
	var wg sync.WaitGroup
	for i := range cfg.Producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = n.produceOne(ctx, cfg, i, rec, e2e)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (n natsPeer) produceOne(ctx context.Context, cfg *perf.Config, w int, rec *perf.Recorder, e2e *atomic.Int64) error {
	nc, err := n.connect()
	if err != nil {
		return err
	}
	defer nc.Close()
	size := int64(cfg.RecordSize)
	pool := sync.Pool{New: func() any { return &natsRec{buf: make([]byte, cfg.RecordSize)} }}
	onAck := func(_ jetstream.JetStream, m *nats.Msg, _ *jetstream.PubAck) {
		r := (*natsRec)(unsafe.Pointer(m))
		if e2e == nil {
			rec.Record(rec.Since()-r.start, 1, size)
		}
		pool.Put(r)
	}
	onErr := func(_ jetstream.JetStream, m *nats.Msg, err error) {
		rec.Fail(err)
		pool.Put((*natsRec)(unsafe.Pointer(m)))
	}
	js, err := jetstream.New(nc,
		jetstream.WithPublishAsyncMaxPending(32768),
		jetstream.WithPublishAsyncAckHandler(onAck),
		jetstream.WithPublishAsyncErrHandler(onErr))
	if err != nil {
		return fmt.Errorf("nats: %w", err)
	}
	subjects := make([]string, cfg.Partitions)
	for p := range subjects {
		subjects[p] = subject(cfg.Topic, int32(p))
	}
	payload := perf.NewPayload(cfg.RecordSize, uint64(w)+1)
	keys := perf.NewKeys(cfg.KeyCardinality)
	pacer := perf.NewPacer(cfg.Throughput / float64(cfg.Producers))
	route := newRouter(cfg, w)
	quota := quotaOf(cfg, w)
	end := deadline(cfg)
	rec.MarkStart()
	for i := int64(0); i < quota && !past(i, end); i++ {
		if err := pacer.Wait(ctx); err != nil {
			break
		}
		r := pool.Get().(*natsRec)
		r.msg = nats.Msg{Subject: subjects[route.next(i, keys.Key(i))], Data: payload.Value(i)}
		r.start = rec.Since()
		if e2e != nil {
			copy(r.buf, r.msg.Data)
			binary.LittleEndian.PutUint64(r.buf, uint64(r.start))
			r.msg.Data = r.buf
			e2e.Add(1)
		}
		// A full window of pending acks is back-pressure: wait for room
		// as the other clients do, rather than fail.
		if _, err := js.PublishMsgAsync(&r.msg, jetstream.WithStallWait(time.Minute)); err != nil {
			return fmt.Errorf("nats: publish: %w", err)
		}
	}
	t := time.NewTimer(2 * time.Minute)
	defer t.Stop()
	select {
	case <-js.PublishAsyncComplete():
	case <-t.C:
		return fmt.Errorf("nats: %d acks still pending after 2 minutes", js.PublishAsyncPending())
	case <-ctx.Done():
		return ctx.Err()
	}
	return nil
}

// consume pulls every stream from its start with an ephemeral consumer
// (no acks, as Kafka-style consumers have none) and the Messages iterator,
// pulling up to FetchBytes at a time. Latency is the wait for each message
// from the iterator (the client prefetches, so most waits are tiny; it is
// not comparable with a per-fetch latency), or with e2e each message's
// age from its timestamped value.
func (n natsPeer) consume(ctx context.Context, cfg *perf.Config, rec *perf.Recorder, target func() int64, e2e bool) error {
	nc, err := n.connect()
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("nats: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var got atomic.Int64
	var lastAt atomic.Int64
	lastAt.Store(int64(rec.Since()))
	its := make([]jetstream.MessagesContext, cfg.Partitions)
	for p := range cfg.Partitions {
		cons, err := js.OrderedConsumer(ctx, streamName(cfg.Topic, p), jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverAllPolicy})
		if err != nil {
			return fmt.Errorf("nats: consumer on %s: %w", streamName(cfg.Topic, p), err)
		}
		if its[p], err = cons.Messages(jetstream.PullMaxBytes(int(cfg.FetchBytes))); err != nil {
			return fmt.Errorf("nats: messages of %s: %w", streamName(cfg.Topic, p), err)
		}
	}
	rec.MarkStart()
	errs := make([]error, cfg.Partitions+1)
	var wg sync.WaitGroup
	for p, it := range its {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer it.Stop()
			errs[p] = n.drain(ctx, it, rec, e2e, &got, &lastAt, target, cancel)
		}()
	}
	// The iterators' Next does not time out: a watchdog ends a stalled
	// run, and one whose target became known while every Next waited.
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				if t := target(); t >= 0 && got.Load() >= t {
					cancel()
					return
				}
				if rec.Since()-time.Duration(lastAt.Load()) > stallTimeout {
					errs[len(its)] = fmt.Errorf("nats: nothing received for %v (%d records so far)", stallTimeout, got.Load())
					cancel()
					return
				}
			}
		}
	}()
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if got.Load() < target() {
		return fmt.Errorf("nats: consumers received %d of %d records", got.Load(), target())
	}
	return nil
}

// drain reads one stream's iterator until the shared count reaches the
// target.
func (n natsPeer) drain(ctx context.Context, it jetstream.MessagesContext, rec *perf.Recorder, e2e bool,
	got, lastAt *atomic.Int64, target func() int64, done context.CancelFunc) error {
	stopOnCancel := context.AfterFunc(ctx, it.Stop)
	defer stopOnCancel()
	for {
		t0 := rec.Since()
		m, err := it.Next()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				return nil
			}
			return fmt.Errorf("nats: next: %w", err)
		}
		now := rec.Since()
		data := m.Data()
		if e2e && len(data) >= 8 {
			rec.Record(now-time.Duration(binary.LittleEndian.Uint64(data)), 1, int64(len(data)))
		} else {
			rec.Record(now-t0, 1, int64(len(data)))
		}
		lastAt.Store(int64(now))
		if t := target(); got.Add(1) >= t && t >= 0 {
			done()
			return nil
		}
	}
}
