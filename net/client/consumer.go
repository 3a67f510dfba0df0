package client

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/sluicelog/sluice/net/internal/sockbuf"
	"github.com/sluicelog/sluice/net/protocol"
	"github.com/sluicelog/sluice/segment/batch"
)

// ConsumerConfig configures a Consumer, with Kafka's consumer config names
// and defaults. Zero fields take the defaults noted.
type ConsumerConfig struct {
	// MaxWait is how long the broker holds a fetch waiting for MinBytes
	// (fetch.max.wait.ms, 500ms).
	MaxWait time.Duration
	// MinBytes is the least data a fetch waits for (fetch.min.bytes, 1).
	MinBytes int32
	// MaxBytes bounds a fetch's records (fetch.max.bytes, 50 MiB); the
	// first batch comes whole regardless, so a consumer always advances.
	MaxBytes int32
	// MaxPartitionBytes bounds one partition's records in a fetch
	// (max.partition.fetch.bytes, 1 MiB), with the same exception.
	MaxPartitionBytes int32
	// SkipCRCCheck turns off check.crcs: batches' CRCs are not computed,
	// so a damaged batch whose framing still holds is read as it is
	// instead of failing Poll. Checking costs about a quarter of a
	// consumer's time at loopback speeds; every other check stays.
	SkipCRCCheck bool
	// BorrowRecords makes Poll lend its records instead of giving them:
	// the returned slice, and the keys, values and headers in it, are
	// valid only until the next Poll or Close, because the consumer reads
	// the next fetch into the same memory. It saves copying every record
	// and allocating per Poll, for consumers that are done with a record
	// before they poll again (mirrors, pipelines that encode as they go,
	// benchmarks). Copy what must outlive the next Poll.
	BorrowRecords bool
	// NoPrefetch turns off prefetching. By default, when a fetch comes
	// back with more data waiting on the broker, the consumer asks for the
	// next records before it decodes these, keeping up to two fetches in
	// flight, so that the broker sends while the caller processes. A
	// prefetch that a Seek or Unassign makes stale is dropped unread.
	NoPrefetch bool
	// ReceiveBufferBytes is receive.buffer.bytes: the kernel receive
	// buffer (SO_RCVBUF) of the consumer's fetch connections. Zero or
	// less leaves it to the OS, which on Linux autotunes it; Kafka's
	// consumer fixes 64 KiB instead. A few MiB (with the broker's
	// socket.send.buffer.bytes to match) lets the broker send a whole
	// fetch response without waiting for the consumer to read: netbench
	// -receive-buffer measures it. The kernel caps it at net.core.rmem_max,
	// and a fixed size turns autotuning off, so on a machine whose cap is
	// small it can make things slower.
	ReceiveBufferBytes int
}

func (c *ConsumerConfig) setDefaults() {
	if c.MaxWait <= 0 {
		c.MaxWait = 500 * time.Millisecond
	}
	if c.MinBytes <= 0 {
		c.MinBytes = 1
	}
	if c.MaxBytes <= 0 {
		c.MaxBytes = 50 << 20
	}
	if c.MaxPartitionBytes <= 0 {
		c.MaxPartitionBytes = 1 << 20
	}
}

// ConsumerRecord is a record read from a partition. Its byte slices are
// the caller's (unless BorrowRecords lends them). So that reading
// allocates nothing per record, the records of one fetch share the memory
// they point into: one copy of a partition's uncompressed batches, one
// arena for the bytes of compressed ones. A key, value or header kept
// keeps that memory, up to MaxPartitionBytes or so, alive: copy one that
// is kept long while the records around it are dropped.
//
// A record itself takes 128 bytes on 64-bit platforms, more than a
// 100-byte value: PollInto lets a consumer reuse them, and Recycle the
// memory they point into.
type ConsumerRecord struct {
	Topic     string
	Partition int32
	Offset    int64
	Key       []byte // nil when the record has a null key
	Value     []byte // nil when the record has a null value
	Headers   []batch.RecordHeader
	Timestamp time.Time
}

// Consumer reads the partitions the caller assigns it from positions it
// tracks itself; a GroupConsumer shares a group's partitions among its
// members instead, and uses a Consumer for its fetches. Its fetches use
// connections of their own, so their long polls hold up nothing else. Its methods are safe for
// concurrent use; Polls run one at a time.
type Consumer struct {
	cl   *Client
	cfg  ConsumerConfig
	pool *connPool

	mu     sync.Mutex
	parts  map[tp]*cpart
	order  []tp // assignment order, which fetches follow
	closed bool

	pending error // an error held back while records were returned
	genSeq  uint64

	pollMu sync.Mutex // serialises Poll; guards the fetch state below
	fetchState
}

// cpart is one assigned partition's position. gen changes with every
// Seek and (re)assignment, taking a new value from the consumer's
// sequence, so a fetch that was in flight across either is ignored.
type cpart struct {
	pos int64
	gen uint64
}

// NewConsumer makes a consumer with no partitions assigned.
func (cl *Client) NewConsumer(cfg ConsumerConfig) *Consumer {
	cfg.setDefaults()
	k := &Consumer{
		cl:    cl,
		cfg:   cfg,
		pool:  newConnPool(cl.cfg.DialTimeout, cl.logger),
		parts: map[tp]*cpart{},
	}
	k.pool.inline = true
	k.pool.bufs = sockbuf.Sizes{Receive: cfg.ReceiveBufferBytes}
	k.prefetched = map[string][]*fetchCall{}
	if err := cl.adopt(k, func() { k.close() }); err != nil {
		k.closed = true
		k.pool.closeAll()
	}
	return k
}

// Assign adds partitions of a topic to the consumer, each starting at
// offset 0 unless it already has a position (from an earlier Assign or a
// Seek).
func (k *Consumer) Assign(topic string, partitions ...int32) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, p := range partitions {
		k.assignLocked(tp{topic, p})
	}
}

func (k *Consumer) assignLocked(t tp) *cpart {
	cp := k.parts[t]
	if cp == nil {
		k.genSeq++
		cp = &cpart{gen: k.genSeq}
		k.parts[t] = cp
		k.order = append(k.order, t)
	}
	return cp
}

// Unassign removes partitions from the consumer; no partitions means all
// of the topic's.
func (k *Consumer) Unassign(topic string, partitions ...int32) {
	k.mu.Lock()
	defer k.mu.Unlock()
	drop := func(t tp) bool {
		if t.topic != topic {
			return false
		}
		if len(partitions) == 0 {
			return true
		}
		for _, p := range partitions {
			if p == t.partition {
				return true
			}
		}
		return false
	}
	kept := k.order[:0]
	for _, t := range k.order {
		if drop(t) {
			delete(k.parts, t)
		} else {
			kept = append(kept, t)
		}
	}
	k.order = kept
}

// Seek sets the position of a partition, assigning it if it is not: the
// next Poll reads from offset.
func (k *Consumer) Seek(topic string, partition int32, offset int64) {
	k.mu.Lock()
	defer k.mu.Unlock()
	cp := k.assignLocked(tp{topic, partition})
	k.genSeq++
	cp.pos, cp.gen = offset, k.genSeq
}

// Position returns the offset of the next record Poll will return for the
// partition, or -1 if it is not assigned.
func (k *Consumer) Position(topic string, partition int32) int64 {
	k.mu.Lock()
	defer k.mu.Unlock()
	if cp := k.parts[tp{topic, partition}]; cp != nil {
		return cp.pos
	}
	return -1
}

// SeekToBeginning moves partitions (all the topic's assigned ones when none
// are named) to their log start offset.
func (k *Consumer) SeekToBeginning(ctx context.Context, topic string, partitions ...int32) error {
	return k.seekTo(ctx, topic, partitions, protocol.EarliestTimestamp)
}

// SeekToEnd moves partitions (all the topic's assigned ones when none are
// named) to their high watermark: Poll returns only records produced after.
func (k *Consumer) SeekToEnd(ctx context.Context, topic string, partitions ...int32) error {
	return k.seekTo(ctx, topic, partitions, protocol.LatestTimestamp)
}

// SeekToTime moves a partition to its first record whose timestamp is at
// or after t, or to the end if there is none.
func (k *Consumer) SeekToTime(ctx context.Context, topic string, partition int32, t time.Time) error {
	off, err := k.cl.ListOffset(ctx, topic, partition, max(t.UnixMilli(), 0))
	if err != nil {
		return err
	}
	if off < 0 {
		if off, err = k.cl.ListOffset(ctx, topic, partition, protocol.LatestTimestamp); err != nil {
			return err
		}
	}
	k.Seek(topic, partition, off)
	return nil
}

func (k *Consumer) seekTo(ctx context.Context, topic string, partitions []int32, ts int64) error {
	if len(partitions) == 0 {
		k.mu.Lock()
		for _, t := range k.order {
			if t.topic == topic {
				partitions = append(partitions, t.partition)
			}
		}
		k.mu.Unlock()
		if len(partitions) == 0 {
			return fmt.Errorf("client: seek: no partitions of %s are assigned", topic)
		}
	}
	if _, err := k.cl.topic(ctx, topic, false); err != nil {
		return err
	}
	offs, err := k.cl.listOffsets(ctx, topic, partitions, ts)
	if err != nil {
		return err
	}
	for _, p := range partitions {
		k.Seek(topic, p, offs[p])
	}
	return nil
}

// Close closes the consumer's connections. A Poll in progress returns
// ErrClosed.
func (k *Consumer) Close() error {
	k.close()
	k.cl.disown(k)
	return nil
}

func (k *Consumer) close() {
	k.mu.Lock()
	if k.closed {
		k.mu.Unlock()
		return
	}
	k.closed = true
	k.mu.Unlock()
	k.pool.closeAll()
}
