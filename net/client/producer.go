package client

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/sluicelog/sluice/net/protocol"
	"github.com/sluicelog/sluice/segment/batch"
)

// Values of ProducerConfig.Acks.
const (
	// AcksAll: the broker answers once every in-sync replica has the
	// records. Kafka's default, and the only setting idempotence allows.
	AcksAll int16 = -1
	// AcksLeader: the broker answers once the leader has written them.
	AcksLeader int16 = 1
	// AcksNone: fire and forget; the broker sends no answer and the
	// callbacks get offset -1 once the records are written to the socket.
	// It is not Kafka's 0, because 0 is the zero value, which means the
	// default (AcksAll); it is sent to the broker as acks=0.
	AcksNone int16 = -2
)

// Record is a record to produce.
type Record struct {
	Topic string
	// Partition is the partition to write to when the producer's
	// partitioner is ManualPartitioner; the others, the default included,
	// ignore it (see Partitioner).
	Partition int32
	Key       []byte
	Value     []byte
	Headers   []batch.RecordHeader
	// Timestamp is the record's create time; zero means now.
	Timestamp time.Time
}

// RecordMetadata says where a record landed.
type RecordMetadata struct {
	Topic     string
	Partition int32
	// Offset is -1 with AcksNone, and when the broker reported the batch
	// as a duplicate without its offset.
	Offset int64
	// Timestamp is the record's timestamp, or the broker's when the topic
	// uses LogAppendTime.
	Timestamp time.Time
}

// ProducerConfig configures a Producer, with Kafka's producer config names
// and defaults. Zero fields take the defaults noted.
type ProducerConfig struct {
	// Acks is AcksAll (the default), AcksLeader or AcksNone.
	Acks int16
	// Partitioner chooses each record's partition (partitioner.class);
	// StickyKeyPartitioner by default. Record.Partition counts only with
	// ManualPartitioner.
	Partitioner Partitioner
	// Compression is the batches' codec (compression.type), none by default.
	Compression batch.Codec
	// Linger is how long a batch waits for more records before it is sent
	// (linger.ms, 5ms; negative for none). A full batch goes at once.
	Linger time.Duration
	// BatchSize is the largest batch, uncompressed, in bytes (batch.size,
	// 16384); a larger record gets a batch of its own.
	BatchSize int
	// BufferMemory bounds the bytes of records queued and unacknowledged
	// (buffer.memory, 32 MiB). Send blocks while it is full, up to
	// MaxBlock, then fails with ErrTimeout.
	BufferMemory int64
	// MaxBlock bounds how long Send blocks for buffer memory or for the
	// topic's metadata (max.block.ms, 60s).
	MaxBlock time.Duration
	// Retries is how many times a failed batch is sent again (retries,
	// default math.MaxInt32, bounded in practice by DeliveryTimeout); a
	// negative value means none.
	Retries int
	// RetryBackoff is the pause before a retry (retry.backoff.ms, 100ms).
	RetryBackoff time.Duration
	// DeliveryTimeout bounds the time from Send to the callback
	// (delivery.timeout.ms, 120s): a record not acknowledged by then
	// fails with ErrTimeout.
	DeliveryTimeout time.Duration
	// MaxInFlight is the most produce requests unanswered on one broker
	// connection (max.in.flight.requests.per.connection, 5; at most 5
	// with idempotence, the size of the broker's duplicate window).
	MaxInFlight int
	// MaxRequestSize bounds a produce request and so a record
	// (max.request.size, 1 MiB); Send refuses a larger record with an
	// error wrapping protocol.ErrMessageTooLarge. Keep it at or below the
	// topics' max.message.bytes.
	MaxRequestSize int
	// DisableIdempotence turns off enable.idempotence. Idempotence (the
	// default) gets a producer id from the broker and numbers each
	// partition's batches, so that retries neither duplicate nor reorder
	// records. It needs AcksAll: with AcksLeader or AcksNone it is off,
	// as Kafka's producer turns it off when acks is not all.
	DisableIdempotence bool
	// SendBufferBytes is send.buffer.bytes: the kernel send buffer
	// (SO_SNDBUF) of the producer's connections. Zero or less leaves it
	// to the OS, which on Linux autotunes it; Kafka's producer fixes
	// 128 KiB instead. The kernel caps it at net.core.wmem_max.
	SendBufferBytes int
}

func (c *ProducerConfig) setDefaults() {
	if c.Acks == 0 {
		c.Acks = AcksAll
	}
	if c.Partitioner == nil {
		c.Partitioner = StickyKeyPartitioner()
	}
	switch {
	case c.Linger == 0:
		c.Linger = 5 * time.Millisecond
	case c.Linger < 0:
		c.Linger = 0
	}
	if c.BatchSize <= 0 {
		c.BatchSize = 16384
	}
	if c.BufferMemory <= 0 {
		c.BufferMemory = 32 << 20
	}
	if c.MaxBlock <= 0 {
		c.MaxBlock = 60 * time.Second
	}
	switch {
	case c.Retries == 0:
		c.Retries = math.MaxInt32
	case c.Retries < 0:
		c.Retries = 0
	}
	if c.RetryBackoff <= 0 {
		c.RetryBackoff = 100 * time.Millisecond
	}
	if c.DeliveryTimeout <= 0 {
		c.DeliveryTimeout = 120 * time.Second
	}
	if c.MaxInFlight <= 0 {
		c.MaxInFlight = 5
	}
	if c.MaxRequestSize <= 0 {
		c.MaxRequestSize = 1 << 20
	}
}

func (c *ProducerConfig) validate() error {
	switch c.Acks {
	case AcksAll, AcksLeader, AcksNone:
	default:
		return fmt.Errorf("client: producer Acks %d: must be AcksAll (-1), AcksLeader (1) or AcksNone", c.Acks)
	}
	if !c.Compression.Valid() {
		return fmt.Errorf("client: producer Compression %d: %w", c.Compression, batch.ErrBadCodec)
	}
	if c.idempotent() && c.MaxInFlight > 5 {
		return fmt.Errorf("client: producer MaxInFlight %d: at most 5 with idempotence (the broker remembers 5 batches per producer and partition)", c.MaxInFlight)
	}
	return nil
}

func (c *ProducerConfig) idempotent() bool { return !c.DisableIdempotence && c.Acks == AcksAll }

// wireAcks is the acks value on the wire.
func (c *ProducerConfig) wireAcks() int16 {
	if c.Acks == AcksNone {
		return protocol.AcksNone
	}
	return c.Acks
}

// Producer sends records to topics, batching them per partition. It is
// safe for concurrent use. See the package documentation for the model.
type Producer struct {
	cl   *Client
	cfg  ProducerConfig
	idem bool
	// manual: the partitioner is ManualPartitioner, so each record's
	// partition is known before its topic's count, and one past the count
	// makes Send look the topic up again.
	manual bool
	ctx    context.Context // ended when the producer stops: aborts dials and requests
	cancel context.CancelFunc
	pool   sync.Pool // *pbatch with their builders

	mu       sync.Mutex
	cond     *sync.Cond // broadcast when memory frees, records complete or the state changes
	closed   bool       // Send refuses new records
	stopped  bool       // senders are stopping or stopped
	used     int64      // buffer memory charged
	pending  int        // records accepted by Send and not yet completed
	serial   uint64
	flushing int // Flushes waiting: every batch is ready at once
	topics   map[string]*topicState
	// lastTopic is the topic of the last Send, found without hashing its
	// name when the next Send names it again.
	lastTopic *topicState
	parts     map[tp]*partState
	senders   map[string]*sender
	inflight  int // produce requests unanswered, over all senders

	// Idempotence: the producer id and epoch; needBump asks for a new
	// epoch (or, with pid -1, the first id) before anything is sent.
	pid        int64
	epoch      int16
	needBump   bool
	bumping    bool
	bumpAfter  time.Time
	lastErr    error           // the latest failure to reach the cluster, for expiry messages
	retries    int             // batches sent again, for tests and debugging
	metaStale  map[string]bool // topics whose partitions' leaders must be looked up again
	metaAfter  time.Time
	stopOnce   sync.Once
	wg         sync.WaitGroup
	stopCh     chan struct{}
	closedDone chan struct{}
}

// NewProducer makes a producer. It connects lazily: the first records
// trigger the metadata lookups and, with idempotence, the producer id.
func (cl *Client) NewProducer(cfg ProducerConfig) (*Producer, error) {
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	p := &Producer{
		cl:         cl,
		cfg:        cfg,
		idem:       cfg.idempotent(),
		manual:     isManual(cfg.Partitioner),
		topics:     map[string]*topicState{},
		parts:      map[tp]*partState{},
		senders:    map[string]*sender{},
		metaStale:  map[string]bool{},
		pid:        -1,
		epoch:      -1,
		stopCh:     make(chan struct{}),
		closedDone: make(chan struct{}),
	}
	p.needBump = p.idem
	p.cond = sync.NewCond(&p.mu)
	p.ctx, p.cancel = context.WithCancel(context.Background())
	codec := cfg.Compression
	p.pool.New = func() any { return &pbatch{b: batch.NewBuilder(codec)} }
	if err := cl.adopt(p, p.abort); err != nil {
		p.cancel()
		return nil, err
	}
	return p, nil
}

// recordSize is the buffer memory a record is charged: its encoded size,
// near enough (varint overheads at their largest).
func recordSize(r *Record) int64 {
	n := int64(len(r.Key) + len(r.Value) + 21)
	for _, h := range r.Headers {
		n += int64(len(h.Key) + len(h.Value) + 10)
	}
	return n
}

// Send queues a record and returns; cb (which may be nil) is called
// exactly once with the outcome, from the producer's goroutine, in order
// for records of the same partition. Callbacks should be quick: they hold
// up the partition's sender, and must not call Flush or Close.
//
// Send blocks only for the topic's metadata (the first time a topic is
// used) and for buffer memory, at most MaxBlock and while ctx lasts. It
// returns an error when the record cannot be queued: ctx ended, the
// buffer stayed full for MaxBlock (ErrTimeout), the producer is closed
// (ErrClosed), the record is larger than MaxRequestSize or BufferMemory
// (protocol.ErrMessageTooLarge), the topic or the partition does not
// exist. Then cb is not called.
func (p *Producer) Send(ctx context.Context, r *Record, cb func(RecordMetadata, error)) error {
	if r == nil || r.Topic == "" {
		return errors.New("client: Send needs a record with a topic")
	}
	// need is the partition count the topic must have for the record.
	need := int32(1)
	if p.manual {
		if r.Partition < 0 {
			return fmt.Errorf("client: record for topic %s has partition %d, and ManualPartitioner needs one of the topic's partitions: %w",
				r.Topic, r.Partition, protocol.ErrUnknownTopicOrPartition)
		}
		need = r.Partition + 1
	}
	size := recordSize(r)
	if size+batch.HeaderSize > int64(p.cfg.MaxRequestSize) || size > p.cfg.BufferMemory {
		return fmt.Errorf("client: record of about %d bytes is larger than the producer's limit (MaxRequestSize %d, BufferMemory %d): %w",
			size, p.cfg.MaxRequestSize, p.cfg.BufferMemory, protocol.ErrMessageTooLarge)
	}
	// One clock read per record: it stamps the record, ages the metadata
	// and, only if Send must block, starts the MaxBlock deadline. (On
	// virtual machines a clock read can cost more than the rest of Send.)
	now := time.Now()
	p.mu.Lock()
	ts := p.knownTopicLocked(r.Topic, need, now)
	if ts == nil {
		p.mu.Unlock()
		var err error
		if ts, err = p.topicFor(ctx, r.Topic, need, now.Add(p.cfg.MaxBlock)); err != nil {
			return err
		}
		p.mu.Lock()
	}
	defer p.mu.Unlock()
	if err := p.reserve(ctx, size, now); err != nil {
		return err
	}
	partition := ts.part.Partition(r, ts.partitions)
	if partition < 0 || partition >= ts.partitions {
		p.used -= size
		p.cond.Broadcast()
		return fmt.Errorf("client: partitioner %T chose partition %d for topic %s, which has %d: %w",
			p.cfg.Partitioner, partition, r.Topic, ts.partitions, protocol.ErrUnknownTopicOrPartition)
	}
	pt := p.partition(ts, partition)
	tsMs := now.UnixMilli()
	if !r.Timestamp.IsZero() {
		tsMs = r.Timestamp.UnixMilli()
	}
	p.appendLocked(pt, tsMs, r, cb, size, now)
	return nil
}

// knownTopicLocked returns the topic's state if its metadata is known and
// it has at least need partitions, or nil. It runs with p.mu held.
func (p *Producer) knownTopicLocked(topic string, need int32, now time.Time) *topicState {
	if p.closed {
		return nil // topicFor reports it
	}
	ts := p.lastTopic
	if ts == nil || ts.name != topic {
		if ts = p.topics[topic]; ts == nil {
			return nil
		}
		p.lastTopic = ts
	}
	if need > ts.partitions {
		return nil
	}
	if now.Sub(ts.metaAt) > metadataMaxAge {
		// Partitions may have been added: a sender looks again in the
		// background, as Kafka's metadata.max.age.ms does.
		ts.metaAt = now
		p.metaStale[topic] = true
		for _, s := range p.senders {
			s.poke()
			break
		}
	}
	return ts
}

// topicFor returns the topic's state, looking its metadata up (and letting
// the broker auto-create it) the first time, and checks that it has at
// least need partitions.
func (p *Producer) topicFor(ctx context.Context, topic string, need int32, deadline time.Time) (*topicState, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, ErrClosed
	}
	ts := p.topics[topic]
	if known := ts != nil && need <= ts.partitions; known {
		p.mu.Unlock()
		return ts, nil // looked up by another Send meanwhile
	}
	p.mu.Unlock()
	// A partition past the known count may be a new one: look again once.
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	backoff := p.cfg.RetryBackoff
	var lastErr error // the last failure that was not the deadline's
	for {
		if ts != nil {
			p.cl.meta.forget(topic)
		}
		t, err := p.cl.topic(ctx, topic, true)
		if err != nil && ctx.Err() == nil {
			lastErr = err
		}
		if err == nil {
			n := int32(len(t.partitions))
			if n == 0 {
				err = fmt.Errorf("client: topic %s has no partitions", topic)
			} else if need > n {
				return nil, &BrokerError{API: protocol.Metadata, Code: protocol.ErrUnknownTopicOrPartition, Topic: topic,
					Partition: need - 1, Message: fmt.Sprintf("the topic has %d partitions", n)}
			} else {
				p.mu.Lock()
				defer p.mu.Unlock()
				if p.closed {
					return nil, ErrClosed
				}
				ts = p.topics[topic]
				if ts == nil {
					ts = newTopicState(topic, p.cfg.Partitioner)
					p.topics[topic] = ts
				}
				ts.partitions = max(ts.partitions, n)
				ts.metaAt = time.Now()
				return ts, nil
			}
		}
		if ctx.Err() != nil || !retriable(err) {
			if ctx.Err() != nil && !time.Now().Before(deadline) {
				if lastErr == nil {
					lastErr = err
				}
				return nil, fmt.Errorf("client: no metadata for topic %s within MaxBlock %v: %w (last error: %w)", topic, p.cfg.MaxBlock, ErrTimeout, lastErr)
			}
			return nil, err
		}
		// Unknown topic without auto-create, or the cluster is away: keep
		// asking until MaxBlock, as Kafka's producer does.
		if serr := sleep(ctx, backoff); serr != nil {
			continue // reported above on the next pass
		}
		backoff = min(2*backoff, time.Second)
	}
}

// reserve charges size bytes of buffer memory, waiting for room for
// MaxBlock from now and while ctx lasts. It runs with p.mu held.
func (p *Producer) reserve(ctx context.Context, size int64, now time.Time) error {
	if p.used+size <= p.cfg.BufferMemory && !p.closed {
		p.used += size
		return nil
	}
	deadline := now.Add(p.cfg.MaxBlock)
	wake := func() {
		p.mu.Lock()
		p.cond.Broadcast()
		p.mu.Unlock()
	}
	stopCtx := context.AfterFunc(ctx, wake)
	defer stopCtx()
	timer := time.AfterFunc(time.Until(deadline), wake)
	defer timer.Stop()
	for {
		switch {
		case p.closed:
			return ErrClosed
		case p.used+size <= p.cfg.BufferMemory:
			p.used += size
			return nil
		case ctx.Err() != nil:
			return ctx.Err()
		case !time.Now().Before(deadline):
			return fmt.Errorf("client: buffer memory (%d bytes) stayed full for MaxBlock %v: %w", p.cfg.BufferMemory, p.cfg.MaxBlock, ErrTimeout)
		}
		p.cond.Wait()
	}
}

// partition returns the partition's state, making it (and its sender) on
// first use.
func (p *Producer) partition(ts *topicState, id int32) *partState {
	if int(id) < len(ts.parts) && ts.parts[id] != nil {
		return ts.parts[id]
	}
	k := tp{ts.name, id}
	pt := p.parts[k]
	if pt == nil {
		pt = &partState{tp: k, topic: ts}
		p.parts[k] = pt
		p.assignLocked(pt, p.cl.leaderAddr(ts.name, id))
	}
	if int(id) >= len(ts.parts) {
		ts.parts = append(ts.parts, make([]*partState, int(id)+1-len(ts.parts))...)
	}
	ts.parts[id] = pt
	return pt
}

// assignLocked routes a partition to the sender for addr.
func (p *Producer) assignLocked(pt *partState, addr string) {
	if pt.s != nil && pt.addr == addr {
		return
	}
	if pt.s != nil {
		pt.s.remove(pt)
	}
	pt.addr = addr
	s := p.senders[addr]
	if s == nil {
		s = newSender(p, addr)
		p.senders[addr] = s
		if !p.stopped {
			p.wg.Add(1)
			go s.run()
		}
	}
	s.parts = append(s.parts, pt)
	pt.s = s
	s.poke()
}

// appendLocked adds a record to the partition's open batch, opening a new
// one when there is none or the record would overflow BatchSize.
func (p *Producer) appendLocked(pt *partState, tsMs int64, r *Record, cb func(RecordMetadata, error), size int64, now time.Time) {
	var b *pbatch
	if n := len(pt.queue); n > 0 && !pt.queue[n-1].full {
		b = pt.queue[n-1]
		if b.b.Size()+int(size) > p.cfg.BatchSize {
			b.full = true
			pt.topic.batchClosed(pt.partition)
			b = nil
			pt.s.poke()
		}
	}
	if b == nil {
		b = p.pool.Get().(*pbatch)
		b.part = pt
		b.created = now
		p.serial++
		b.serial = p.serial
		pt.queue = append(pt.queue, b)
		pt.order = append(pt.order, b)
		if len(pt.queue) == 1 {
			pt.s.poke() // so the sender sets its linger timer
		}
	}
	b.b.Append(tsMs, r.Key, r.Value, r.Headers)
	b.recs = append(b.recs, recordMeta{cb: cb, ts: tsMs, size: size})
	b.bytes += size
	p.pending++
	if b.b.Size() >= p.cfg.BatchSize {
		b.full = true
		pt.topic.batchClosed(pt.partition)
		pt.s.poke()
	}
}

// SendSync sends a record and waits for its outcome. If ctx ends first it
// returns ctx's error, and the record may still be delivered.
func (p *Producer) SendSync(ctx context.Context, r *Record) (RecordMetadata, error) {
	type outcome struct {
		md  RecordMetadata
		err error
	}
	ch := make(chan outcome, 1)
	if err := p.Send(ctx, r, func(md RecordMetadata, err error) { ch <- outcome{md, err} }); err != nil {
		return RecordMetadata{}, err
	}
	select {
	case o := <-ch:
		return o.md, o.err
	case <-ctx.Done():
		return RecordMetadata{}, ctx.Err()
	}
}

// Flush sends every queued batch at once, ignoring Linger, and waits until
// every record sent so far is acknowledged or failed, or ctx ends.
func (p *Producer) Flush(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.pending == 0 {
		return nil
	}
	p.flushing++
	defer func() { p.flushing-- }()
	for _, s := range p.senders {
		s.poke()
	}
	stop := context.AfterFunc(ctx, func() {
		p.mu.Lock()
		p.cond.Broadcast()
		p.mu.Unlock()
	})
	defer stop()
	for p.pending > 0 {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("client: flush: %d records still pending: %w", p.pending, err)
		}
		if p.stopped {
			return ErrClosed
		}
		p.cond.Wait()
	}
	return nil
}

// Close stops taking records, flushes (while ctx lasts) and releases the
// producer's connections and goroutines. Records still pending when ctx
// ends fail with ErrClosed, and Close returns ctx's error. Close is
// idempotent; later calls wait for the first to finish.
func (p *Producer) Close(ctx context.Context) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		<-p.closedDone
		return nil
	}
	p.closed = true
	p.cond.Broadcast()
	p.mu.Unlock()
	err := p.Flush(ctx)
	p.shutdown()
	p.cl.disown(p)
	return err
}

// abort is Close without the flush, for Client.Close.
func (p *Producer) abort() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		<-p.closedDone
		return
	}
	p.closed = true
	p.mu.Unlock()
	p.shutdown()
}

// shutdown stops the senders, fails whatever is still pending with
// ErrClosed and waits for every goroutine.
func (p *Producer) shutdown() {
	p.stopOnce.Do(func() {
		p.mu.Lock()
		p.stopped = true
		p.cond.Broadcast()
		p.mu.Unlock()
		close(p.stopCh)
		p.cancel()
		p.wg.Wait()
		p.mu.Lock()
		var done []*pbatch
		err := fmt.Errorf("client: producer %w before the record was acknowledged", ErrClosed)
		for _, pt := range p.parts {
			pt.failAll(err)
			done = pt.popDone(done)
		}
		p.releaseLocked(done)
		p.mu.Unlock()
		p.callback(done)
		close(p.closedDone)
	})
}

// releaseLocked returns completed batches' buffer memory, before their
// callbacks run, so that a callback may Send again.
func (p *Producer) releaseLocked(done []*pbatch) {
	if len(done) == 0 {
		return
	}
	for _, b := range done {
		p.used -= b.bytes
		b.bytes = 0
	}
	p.cond.Broadcast()
}

// callback runs the callbacks of completed batches, in order, then counts
// their records as no longer pending (so that Flush returns only once the
// callbacks have run) and recycles the batches. It runs without p.mu.
func (p *Producer) callback(done []*pbatch) {
	if len(done) == 0 {
		return
	}
	n := 0
	for _, b := range done {
		n += len(b.recs)
		pt := b.part
		for i, r := range b.recs {
			if r.cb == nil {
				continue
			}
			md := RecordMetadata{Topic: pt.topic.name, Partition: pt.partition, Offset: -1}
			if b.err == nil && b.base >= 0 {
				md.Offset = b.base + int64(i)
			}
			if b.appendTime >= 0 && b.err == nil {
				md.Timestamp = time.UnixMilli(b.appendTime)
			} else {
				md.Timestamp = time.UnixMilli(r.ts)
			}
			r.cb(md, b.err)
		}
	}
	p.mu.Lock()
	p.pending -= n
	p.cond.Broadcast()
	p.mu.Unlock()
	for _, b := range done {
		p.recycle(b)
	}
}

func (p *Producer) recycle(b *pbatch) {
	bld := b.b
	clear(b.recs)
	recs := b.recs[:0]
	if cap(recs) > 4096 {
		recs = nil
	}
	bld.Reset()
	*b = pbatch{b: bld, recs: recs}
	p.pool.Put(b)
}
