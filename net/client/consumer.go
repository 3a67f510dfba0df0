package client

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"slices"
	"sync"
	"time"

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
	// SkipCRCCheck turns off check.crcs: a batch whose CRC does not match
	// is read anyway instead of failing Poll. (The CRC is still computed:
	// the batch reader checks it as it validates the batch.)
	SkipCRCCheck bool
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
// the caller's.
type ConsumerRecord struct {
	Topic     string
	Partition int32
	Offset    int64
	Key       []byte // nil when the record has a null key
	Value     []byte // nil when the record has a null value
	Headers   []batch.RecordHeader
	Timestamp time.Time
}

// Consumer reads assigned partitions from positions it tracks itself
// (there are no consumer groups yet). Its fetches use connections of their
// own, so their long polls hold up nothing else. Its methods are safe for
// concurrent use; Polls run one at a time.
type Consumer struct {
	cl   *Client
	cfg  ConsumerConfig
	pool *connPool

	mu     sync.Mutex
	parts  map[tp]*cpart
	order  []tp // assignment order, which fetches follow
	closed bool

	pollMu  sync.Mutex // serialises Poll; guards what follows
	reader  batch.Reader
	scratch []byte            // a batch copy for SkipCRCCheck
	bufs    map[string][]byte // a reusable response buffer per broker
	pending error             // an error held back while records were returned
}

// cpart is one assigned partition's position. gen changes with every
// Seek, so a fetch that was in flight across a Seek is ignored.
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
		bufs:  map[string][]byte{},
	}
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
		cp = &cpart{}
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
	cp.pos = offset
	cp.gen++
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

// fetchPart is one partition of a fetch being built.
type fetchPart struct {
	tp
	pos int64
	gen uint64
}

// Poll runs one fetch round over the assigned partitions: the broker holds
// it up to MaxWait for MinBytes. It returns the records read, in offset
// order within each partition, and advances the positions past them;
// records below a position in a returned batch are skipped. The slice may
// be empty when nothing arrived within MaxWait. When ctx ends with nothing
// read, Poll returns ctx's error.
//
// A partition's error (*OffsetOutOfRangeError, or a *BrokerError such as
// an unknown topic) is returned when no records came with it; otherwise
// the records are returned and the error by the next Poll. Connection
// failures are retried on a new connection within RequestTimeout.
func (k *Consumer) Poll(ctx context.Context) ([]ConsumerRecord, error) {
	k.pollMu.Lock()
	defer k.pollMu.Unlock()
	k.mu.Lock()
	if k.closed {
		k.mu.Unlock()
		return nil, ErrClosed
	}
	if err := k.pending; err != nil {
		k.pending = nil
		k.mu.Unlock()
		return nil, err
	}
	parts := make([]fetchPart, 0, len(k.order))
	for _, t := range k.order {
		cp := k.parts[t]
		parts = append(parts, fetchPart{tp: t, pos: cp.pos, gen: cp.gen})
	}
	k.mu.Unlock()
	if len(parts) == 0 {
		return nil, errors.New("client: Poll: no partitions assigned")
	}

	byLeader := map[string][]fetchPart{}
	for _, fp := range parts {
		addr := k.cl.leaderAddr(fp.topic, fp.partition)
		if addr == "" && k.cl.meta.cached(fp.topic) == nil {
			if _, err := k.cl.topic(ctx, fp.topic, false); err != nil {
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				return nil, err
			}
			addr = k.cl.leaderAddr(fp.topic, fp.partition)
		}
		byLeader[addr] = append(byLeader[addr], fp)
	}
	var recs []ConsumerRecord
	var firstErr error
	for addr, group := range byLeader {
		// One broker in practice; several are fetched one after the
		// other, each with its own long poll, which is simple and only
		// slower when every broker is idle.
		got, err := k.fetch(ctx, addr, group, recs)
		recs = got
		if err != nil && firstErr == nil {
			firstErr = err
		}
	}
	if len(recs) > 0 {
		if firstErr != nil && ctx.Err() == nil {
			k.mu.Lock()
			k.pending = firstErr
			k.mu.Unlock()
		}
		return recs, nil
	}
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return recs, nil
}

// fetch runs one Fetch against one broker and appends what it read.
func (k *Consumer) fetch(ctx context.Context, addr string, parts []fetchPart, recs []ConsumerRecord) ([]ConsumerRecord, error) {
	req := &protocol.FetchRequest{
		MaxWaitMs: int32(min(k.cfg.MaxWait.Milliseconds(), 1<<31-1)),
		MinBytes:  k.cfg.MinBytes,
		MaxBytes:  k.cfg.MaxBytes,
	}
	for _, fp := range parts {
		if n := len(req.Topics); n == 0 || req.Topics[n-1].Name != fp.topic {
			req.Topics = append(req.Topics, protocol.FetchRequestTopic{Name: fp.topic})
		}
		t := &req.Topics[len(req.Topics)-1]
		t.Partitions = append(t.Partitions, protocol.FetchRequestPartition{
			Partition: fp.partition, FetchOffset: fp.pos, PartitionMaxBytes: k.cfg.MaxPartitionBytes,
		})
	}
	body, err := k.roundTrip(ctx, addr, req)
	if err != nil {
		return recs, err
	}
	var resp protocol.FetchResponse
	if err := resp.DecodeFrom(body); err != nil {
		return recs, fmt.Errorf("fetch from %s: %w", addr, err)
	}
	if err := brokerErr(protocol.Fetch, resp.ErrorCode, "", -1, nil); err != nil {
		return recs, err
	}
	want := make(map[tp]fetchPart, len(parts))
	for _, fp := range parts {
		want[fp.tp] = fp
	}
	var firstErr error
	for ti := range resp.Topics {
		rt := &resp.Topics[ti]
		for pi := range rt.Partitions {
			rp := &rt.Partitions[pi]
			fp, ok := want[tp{rt.Name, rp.Partition}]
			if !ok {
				continue
			}
			var perr error
			before := len(recs)
			pos := fp.pos
			switch {
			case rp.ErrorCode == protocol.ErrOffsetOutOfRange:
				perr = &OffsetOutOfRangeError{Topic: rt.Name, Partition: rp.Partition, Offset: fp.pos,
					LogStartOffset: rp.LogStartOffset, HighWatermark: rp.HighWatermark}
			case rp.ErrorCode != protocol.NoError:
				if needsMetadata(rp.ErrorCode) {
					k.cl.meta.forget(rt.Name)
				}
				perr = brokerErr(protocol.Fetch, rp.ErrorCode, rt.Name, rp.Partition, nil)
			default:
				recs, pos, perr = k.decode(recs, rt.Name, rp.Partition, fp.pos, rp.Records)
			}
			k.mu.Lock()
			cp := k.parts[fp.tp]
			if cp == nil || cp.gen != fp.gen {
				// Sought or unassigned while the fetch was out: what it
				// read is no longer wanted.
				recs, perr = recs[:before], nil
			} else {
				cp.pos = pos
			}
			k.mu.Unlock()
			if perr != nil && firstErr == nil {
				firstErr = perr
			}
		}
	}
	return recs, firstErr
}

// roundTrip sends a fetch on the consumer's own connection to addr (any
// broker for ""), retrying connection failures within RequestTimeout:
// a fetch changes nothing, so repeating it is always safe.
func (k *Consumer) roundTrip(ctx context.Context, addr string, req *protocol.FetchRequest) ([]byte, error) {
	timeout := k.cl.cfg.RequestTimeout + k.cfg.MaxWait
	budget := time.Now().Add(k.cl.cfg.RequestTimeout)
	backoff := 50 * time.Millisecond
	for attempt := 0; ; attempt++ {
		target := addr
		if target == "" {
			all := k.cl.brokers()
			target = all[attempt%len(all)]
		}
		c, err := k.pool.get(ctx, target)
		if err == nil {
			var cl *call
			buf := k.bufs[target]
			k.bufs[target] = nil
			cl, err = c.send(req, true, time.Now().Add(timeout), buf, nil)
			if err == nil {
				var body []byte
				if body, err = c.wait(ctx, cl); err == nil {
					// The frame is reused by the next fetch: records are
					// copied out of it by decode.
					k.bufs[target] = cl.frame
					return body, nil
				}
				// An abandoned call may still fill its buffer, which is
				// therefore not reused.
			}
		}
		if errors.Is(err, ErrClosed) {
			return nil, ErrClosed
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if !errors.Is(err, ErrNetwork) || time.Now().Add(backoff).After(budget) {
			return nil, fmt.Errorf("fetch: %w", err)
		}
		k.cl.logger.Debug("retrying fetch", "broker", target, "err", err)
		if err := sleep(ctx, backoff); err != nil {
			return nil, err
		}
		backoff = min(2*backoff, time.Second)
	}
}

// Layout of the batch header fields SkipCRCCheck rewrites (see the batch
// package's documentation).
const (
	crcOffset      = 17
	crcCoveredFrom = 21
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// decode appends the records of a partition's fetched batches at or after
// pos and returns the position after the last batch read.
func (k *Consumer) decode(recs []ConsumerRecord, topic string, partition int32, pos int64, data []byte) ([]ConsumerRecord, int64, error) {
	// Size recs once from the batch headers: growing it record by record
	// copied each 128-byte record many times over (the harness saw 8 bytes
	// allocated per byte fetched).
	count := 0
	for rest := data; len(rest) > 0; {
		b, next, err := batch.Split(rest)
		if err != nil {
			break
		}
		if h, err := batch.ParseHeader(b); err == nil {
			count += int(h.RecordCount)
		}
		rest = next
	}
	recs = slices.Grow(recs, count)
	// One allocation holds every key, value and header of the partition's
	// records, which are copies: the response buffer is reused.
	var arena []byte
	for rest := data; len(rest) > 0; {
		b, next, err := batch.Split(rest)
		if err != nil {
			if errors.Is(err, batch.ErrTruncated) {
				break // a partial batch at the end: read it whole next time
			}
			return recs, pos, fmt.Errorf("fetch %s-%d at offset %d: %w", topic, partition, pos, err)
		}
		rest = next
		h, err := batch.ParseHeader(b)
		if err != nil {
			return recs, pos, fmt.Errorf("fetch %s-%d at offset %d: %w", topic, partition, pos, err)
		}
		if h.NextOffset() <= pos {
			continue // wholly before the position
		}
		if h.Control() {
			pos = h.NextOffset()
			continue
		}
		if _, err := k.reader.Reset(b); err != nil {
			if !k.cfg.SkipCRCCheck || !errors.Is(err, batch.ErrBadCRC) {
				return recs, pos, fmt.Errorf("fetch %s-%d batch at offset %d: %w", topic, partition, h.BaseOffset, err)
			}
			k.scratch = append(k.scratch[:0], b...)
			binary.BigEndian.PutUint32(k.scratch[crcOffset:], crc32.Checksum(k.scratch[crcCoveredFrom:], castagnoli))
			if _, err := k.reader.Reset(k.scratch); err != nil {
				return recs, pos, fmt.Errorf("fetch %s-%d batch at offset %d: %w", topic, partition, h.BaseOffset, err)
			}
		}
		if arena == nil {
			arena = make([]byte, 0, len(data))
		}
		for {
			r, err := k.reader.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				return recs, pos, fmt.Errorf("fetch %s-%d batch at offset %d: %w", topic, partition, h.BaseOffset, err)
			}
			if r.Offset < pos {
				continue
			}
			cr := ConsumerRecord{Topic: topic, Partition: partition, Offset: r.Offset, Timestamp: time.UnixMilli(r.Timestamp)}
			cr.Key, arena = copyInto(arena, r.Key)
			cr.Value, arena = copyInto(arena, r.Value)
			if len(r.Headers) > 0 {
				cr.Headers = make([]batch.RecordHeader, len(r.Headers))
				for i, hd := range r.Headers {
					cr.Headers[i].Key, arena = copyInto(arena, hd.Key)
					cr.Headers[i].Value, arena = copyInto(arena, hd.Value)
				}
			}
			recs = append(recs, cr)
		}
		pos = h.NextOffset()
	}
	return recs, pos, nil
}

// copyInto copies b to the end of arena and returns the copy (nil for nil,
// so null stays null), capped so that appending to it cannot overwrite the
// next one.
func copyInto(arena, b []byte) ([]byte, []byte) {
	if b == nil {
		return nil, arena
	}
	if cap(arena)-len(arena) < len(b) {
		arena = make([]byte, 0, max(len(b), 2*cap(arena), 4096))
	}
	start := len(arena)
	arena = append(arena, b...)
	return arena[start:len(arena):len(arena)], arena
}
