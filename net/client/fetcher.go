package client

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/sluicelog/sluice/net/protocol"
	"github.com/sluicelog/sluice/segment/batch"
)

// fetchState is a Consumer's fetching machinery, guarded by pollMu.
//
// Memory: response frames are read into buffers that cycle through free,
// so a consumer in its steady state allocates none: one frame is being
// decoded (or, with BorrowRecords, lent to the caller until the next Poll)
// while the prefetch fills another.
type fetchState struct {
	reader batch.Reader
	free   [][]byte // response buffers ready for reuse
	// lent holds the frames the last Poll's borrowed records or batches
	// point into. They go back to free when the next Poll starts, not
	// when their fetch is done, because a Poll over several brokers
	// fetches again before it returns.
	lent [][]byte

	// BorrowRecords and PollBatches reuse these across Polls.
	batches []FetchedBatch
	recs    []ConsumerRecord
	lentMem recordMemory

	// owned is the memory of records the caller owns, besides the copies
	// of their uncompressed batches: new for each fetch, or recycled.
	owned recordMemory

	// Memory of owned records for Recycle (recycle.go): this Poll's
	// copies and arenas, the last Polls', and what was given back.
	recycling   bool
	fresh       [][]byte
	freshFrames [][]byte
	issued      []issuedMem
	spare       [][]byte
	spareBytes  int

	// prefetched holds, per broker, the fetches sent ahead of the Polls
	// that will want them, oldest first, at most prefetchDepth. The first
	// is used only if the next Poll asks for exactly the same partitions,
	// positions and generations; otherwise the whole queue is dropped and
	// the answers read off the wire and discarded by the connection.
	prefetched map[string][]*fetchCall
}

// prefetchDepth is how many fetches a consumer keeps in flight to one
// broker while a partition has more to read. With one, the broker idles
// while the client receives the last bytes of a response and sends the
// next request; with two, the second (a continuation, see
// protocol.FetchContinue) is already queued at the broker.
const prefetchDepth = 2

// maxFreeBuffers bounds the frames kept for reuse: two suffice for one
// broker (one decoded while the next is read); more are dropped.
const maxFreeBuffers = 4

// fetchPart is one partition of a fetch being built.
type fetchPart struct {
	tp
	pos int64
	gen uint64
}

// fetchCall is a Fetch sent to a broker and not yet collected.
type fetchCall struct {
	// parts are the partitions and the positions the fetch reads from.
	// A continuation's are unknown (nil) until the fetch before it is
	// answered.
	parts []fetchPart
	cont  bool
	cl    *call
}

// Poll runs one fetch round over the assigned partitions: the broker holds
// it up to MaxWait for MinBytes. It returns the records read, in offset
// order within each partition, and advances the positions past them;
// records below a position in a returned batch are skipped. The slice may
// be empty when nothing arrived within MaxWait. When ctx ends with nothing
// read, Poll returns ctx's error. With BorrowRecords the records are valid
// only until the next Poll.
//
// A partition's error (*OffsetOutOfRangeError, or a *BrokerError such as
// an unknown topic) is returned when no records came with it; otherwise
// the records are returned and the error by the next Poll. Connection
// failures are retried on a new connection within RequestTimeout.
func (k *Consumer) Poll(ctx context.Context) ([]ConsumerRecord, error) {
	k.pollMu.Lock()
	defer k.pollMu.Unlock()
	var out pollResult
	if k.cfg.BorrowRecords {
		out.recs = k.recs[:0]
		k.lentMem = recordMemory{k.lentMem.bytes[:0], k.lentMem.hdrs[:0]}
	}
	err := k.poll(ctx, &out)
	if k.cfg.BorrowRecords {
		k.recs = out.recs[:0]
	}
	if err != nil {
		k.issue(nil)
		return nil, err
	}
	if !k.cfg.BorrowRecords {
		k.issue(out.recs)
	}
	return out.recs, nil
}

// PollInto is Poll appending to dst[:0] instead of to a new slice: a
// consumer that passes back what the last call returned polls without
// allocating per record, beyond the memory that holds the records' keys,
// values and headers. It returns the records, in dst's backing array when
// they fit, or dst[:0] with the error.
//
// The records in dst are overwritten, and any past the returned length,
// up to len(dst), are zeroed (so that they hold no fetched memory alive);
// copy a ConsumerRecord to keep it. Without BorrowRecords, the keys,
// values and headers in the records are the caller's, as with Poll: they
// point into memory the consumer never reuses, and stay valid after later
// calls. Such memory is shared by a partition's records in a fetch (see
// ConsumerRecord), and a key, value or header kept keeps all of it: copy
// what is kept long from a stream that is otherwise dropped. With
// BorrowRecords they are lent until the next Poll, as with Poll.
func (k *Consumer) PollInto(ctx context.Context, dst []ConsumerRecord) ([]ConsumerRecord, error) {
	k.pollMu.Lock()
	defer k.pollMu.Unlock()
	out := pollResult{recs: dst[:0]}
	if k.cfg.BorrowRecords {
		k.lentMem = recordMemory{k.lentMem.bytes[:0], k.lentMem.hdrs[:0]}
	}
	err := k.poll(ctx, &out)
	if n := len(out.recs); n < len(dst) {
		clear(dst[n:])
	}
	if err != nil {
		k.issue(nil)
		return out.recs[:0], err
	}
	if !k.cfg.BorrowRecords {
		k.issue(out.recs)
	}
	return out.recs, nil
}

// FetchedBatch is one record batch as the broker stores it: Kafka's v2
// format, whole, with its CRC checked (unless SkipCRCCheck).
type FetchedBatch struct {
	Topic     string
	Partition int32
	Header    batch.Header
	// Bytes is the whole batch, header included. It points into the
	// consumer's fetch buffer: valid until the next Poll or PollBatches.
	Bytes []byte
	// From is the partition's position when the batch was read: records
	// below it, which the first batch of a fetch may hold, were delivered
	// before and are to be skipped.
	From int64
}

// PollBatches is Poll for consumers that want batches rather than
// records: mirrors and archivers that store or forward them as they are,
// and consumers that decode records themselves (batch.Reader) without
// a copy. The batches are lent, as with BorrowRecords, until the next
// Poll or PollBatches. Control batches are skipped. Errors and positions
// behave as in Poll.
func (k *Consumer) PollBatches(ctx context.Context) ([]FetchedBatch, error) {
	k.pollMu.Lock()
	defer k.pollMu.Unlock()
	out := pollResult{batches: k.batches[:0], batchMode: true}
	err := k.poll(ctx, &out)
	k.batches = out.batches[:0]
	if err != nil {
		return nil, err
	}
	return out.batches, nil
}

// pollResult collects what one poll read: records, or in batch mode
// batches.
type pollResult struct {
	recs      []ConsumerRecord
	batches   []FetchedBatch
	batchMode bool
}

func (o *pollResult) len() int {
	if o.batchMode {
		return len(o.batches)
	}
	return len(o.recs)
}

func (o *pollResult) truncate(n int) {
	if o.batchMode {
		o.batches = o.batches[:n]
	} else {
		o.recs = o.recs[:n]
	}
}

// poll is the body of Poll and PollBatches; pollMu is held.
func (k *Consumer) poll(ctx context.Context, out *pollResult) error {
	k.mu.Lock()
	if k.closed {
		k.mu.Unlock()
		return ErrClosed
	}
	if err := k.pending; err != nil {
		k.pending = nil
		k.mu.Unlock()
		return err
	}
	parts := make([]fetchPart, 0, len(k.order))
	for _, t := range k.order {
		cp := k.parts[t]
		parts = append(parts, fetchPart{tp: t, pos: cp.pos, gen: cp.gen})
	}
	k.mu.Unlock()
	if len(parts) == 0 {
		return errors.New("client: Poll: no partitions assigned")
	}
	// What the last Poll lent is given back: the caller has moved on.
	for _, f := range k.lent {
		k.recycle(f)
	}
	k.lent = k.lent[:0]

	byLeader := map[string][]fetchPart{}
	for _, fp := range parts {
		addr := k.cl.leaderAddr(fp.topic, fp.partition)
		if addr == "" && k.cl.meta.cached(fp.topic) == nil {
			if _, err := k.cl.topic(ctx, fp.topic, false); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				return err
			}
			addr = k.cl.leaderAddr(fp.topic, fp.partition)
		}
		byLeader[addr] = append(byLeader[addr], fp)
	}
	var firstErr error
	for addr, group := range byLeader {
		// One broker in practice; several are fetched one after the
		// other, each with its own long poll, which is simple and only
		// slower when every broker is idle.
		if err := k.fetch(ctx, addr, group, out); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	if out.len() > 0 {
		if firstErr != nil && ctx.Err() == nil {
			k.mu.Lock()
			k.pending = firstErr
			k.mu.Unlock()
		}
		return nil
	}
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}

// fetch runs one Fetch against one broker, or collects the prefetch that
// asked for the same, and appends what it read.
func (k *Consumer) fetch(ctx context.Context, addr string, parts []fetchPart, out *pollResult) error {
	var frame, body []byte
	var err error
	var resp protocol.FetchResponse
	if fc := k.takePrefetch(addr, parts); fc != nil {
		body, err = fc.cl.c.wait(ctx, fc.cl)
		switch {
		case err == nil:
			frame = fc.cl.frame
			if err := resp.DecodeFrom(body); err != nil {
				return fmt.Errorf("fetch from %s: %w", addr, err)
			}
			if !usable(&resp) {
				// Nothing new (prefetches do not wait for data), or a
				// continuation the broker could not place: fetch
				// again, explicitly and with the long poll.
				k.recycle(frame)
				k.dropPrefetches(addr)
				body = nil
			}
		case ctx.Err() != nil:
			// Still good for the next Poll.
			k.prefetched[addr] = append([]*fetchCall{fc}, k.prefetched[addr]...)
			return ctx.Err()
		default:
			// The connection broke: fetch again, with retries.
			k.dropPrefetches(addr)
			body = nil
		}
	}
	if body == nil {
		if frame, body, err = k.roundTrip(ctx, addr, k.fetchRequest(parts, false, false)); err != nil {
			return err
		}
		if err := resp.DecodeFrom(body); err != nil {
			return fmt.Errorf("fetch from %s: %w", addr, err)
		}
	}
	if err := brokerErr(protocol.Fetch, resp.ErrorCode, "", -1, nil); err != nil {
		k.recycle(frame)
		k.dropPrefetches(addr)
		return err
	}
	if !k.cfg.NoPrefetch {
		next, more := nextParts(&resp, parts)
		if q := k.prefetched[addr]; len(q) > 0 && q[0].cont {
			// The fetch queued behind this one continues where it
			// ended (nil when that is unclear: it will go unused).
			q[0].parts = next
		}
		for more && len(k.prefetched[addr]) < prefetchDepth {
			if !k.prefetch(ctx, addr, next) {
				break
			}
		}
	}

	if !out.batchMode {
		// Room for every partition's records at once: growing the slice
		// partition by partition copied the earlier partitions' records
		// again each time (with 16 partitions, most of a Poll's time).
		n := 0
		for ti := range resp.Topics {
			for pi := range resp.Topics[ti].Partitions {
				n += recordCount(resp.Topics[ti].Partitions[pi].Records)
			}
		}
		out.recs = slices.Grow(out.recs, n)
		k.owned = recordMemory{}
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
			before := out.len()
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
				if out.batchMode {
					out.batches, pos, perr = k.checkBatches(out.batches, rt.Name, rp.Partition, fp.pos, rp.Records)
				} else {
					out.recs, pos, perr = k.decode(out.recs, rt.Name, rp.Partition, fp.pos, rp.Records)
				}
			}
			k.mu.Lock()
			cp := k.parts[fp.tp]
			if cp == nil || cp.gen != fp.gen {
				// Sought or unassigned while the fetch was out: what it
				// read is no longer wanted.
				out.truncate(before)
				perr = nil
			} else {
				cp.pos = pos
			}
			k.mu.Unlock()
			if perr != nil && firstErr == nil {
				firstErr = perr
			}
		}
	}
	if k.cfg.BorrowRecords || out.batchMode {
		k.lent = append(k.lent, frame)
	} else if k.recycling {
		// The records point into it, as lent ones do, until the caller
		// gives them back with Recycle.
		k.freshFrames = append(k.freshFrames, frame)
	} else {
		k.recycle(frame) // every record was copied out of it
	}
	return firstErr
}

// nextParts returns the partitions of a fetch advanced past the whole
// batches the response carries for them, and whether the broker said it
// has more for any of them. It reads only batch headers, so it runs
// before the records are decoded; when decoding then stops early (a bad
// batch), the positions differ and the prefetch goes unused.
func nextParts(resp *protocol.FetchResponse, parts []fetchPart) ([]fetchPart, bool) {
	if resp.ErrorCode != protocol.NoError {
		return nil, false
	}
	next := slices.Clone(parts)
	more := false
	for ti := range resp.Topics {
		rt := &resp.Topics[ti]
		for pi := range rt.Partitions {
			rp := &rt.Partitions[pi]
			i := slices.IndexFunc(next, func(fp fetchPart) bool { return fp.topic == rt.Name && fp.partition == rp.Partition })
			if i < 0 {
				continue
			}
			if rp.ErrorCode != protocol.NoError {
				return nil, false
			}
			pos := next[i].pos
			for rest := rp.Records; len(rest) > 0; {
				b, tail, err := batch.Split(rest)
				if err != nil {
					break
				}
				h, err := batch.ParseHeader(b)
				if err != nil {
					break
				}
				pos = max(pos, h.NextOffset())
				rest = tail
			}
			next[i].pos = pos
			if pos < rp.HighWatermark {
				more = true
			}
		}
	}
	return next, more
}

// usable reports whether a prefetched response is worth returning: it
// holds records, or an error other than a continuation's INVALID_REQUEST
// (which means it reached a connection that had not seen the fetch before
// it).
func usable(resp *protocol.FetchResponse) bool {
	if resp.ErrorCode != protocol.NoError {
		return true
	}
	for ti := range resp.Topics {
		for _, rp := range resp.Topics[ti].Partitions {
			switch {
			case rp.ErrorCode == protocol.ErrInvalidRequest:
				return false
			case rp.ErrorCode != protocol.NoError, len(rp.Records) > 0:
				return true
			}
		}
	}
	return false
}

// takePrefetch returns the oldest fetch sent ahead to addr if it asked
// for exactly parts; otherwise it drops every fetch sent ahead, since
// those behind continue from it.
func (k *Consumer) takePrefetch(addr string, parts []fetchPart) *fetchCall {
	q := k.prefetched[addr]
	if len(q) == 0 {
		return nil
	}
	fc := q[0]
	if fc.parts == nil || !slices.Equal(fc.parts, parts) {
		k.dropPrefetches(addr)
		return nil
	}
	q[0] = nil
	k.prefetched[addr] = q[1:]
	return fc
}

// dropPrefetches forgets the fetches sent ahead to addr: their answers are
// read and discarded by the connection.
func (k *Consumer) dropPrefetches(addr string) {
	delete(k.prefetched, addr)
}

// prefetch sends a fetch to addr without waiting for it: for parts when
// none is queued, else a continuation of the last one queued, on the same
// connection (the broker keeps continuation state per connection). It
// only uses a live connection: a failure here costs nothing, because the
// next Poll fetches again. Prefetches do not wait for data (MaxWait 0):
// one that finds none comes back at once and the Poll fetches again with
// the long poll.
func (k *Consumer) prefetch(ctx context.Context, addr string, parts []fetchPart) bool {
	if ctx.Err() != nil {
		return false
	}
	c, err := k.pool.get(ctx, addr)
	if err != nil {
		return false
	}
	q := k.prefetched[addr]
	cont := len(q) > 0
	if cont && q[len(q)-1].cl.c != c {
		return false // a new connection knows nothing to continue from
	}
	deadline := time.Now().Add(k.cl.cfg.RequestTimeout)
	cl, err := c.send(k.fetchRequest(parts, true, cont), true, deadline, k.takeBuffer(), nil)
	if err != nil || cl == nil {
		return false
	}
	fc := &fetchCall{parts: parts, cont: cont, cl: cl}
	if cont {
		fc.parts = nil // known when the fetch before it is answered
	}
	k.prefetched[addr] = append(q, fc)
	return true
}

// fetchRequest builds a Fetch for parts: without waiting for data when
// prefetching, and a continuation (every offset FetchContinue) when cont.
func (k *Consumer) fetchRequest(parts []fetchPart, prefetch, cont bool) *protocol.FetchRequest {
	req := &protocol.FetchRequest{
		MaxWaitMs: int32(min(k.cfg.MaxWait.Milliseconds(), 1<<31-1)),
		MinBytes:  k.cfg.MinBytes,
		MaxBytes:  k.cfg.MaxBytes,
	}
	if prefetch {
		req.MaxWaitMs, req.MinBytes = 0, 0
	}
	for _, fp := range parts {
		if n := len(req.Topics); n == 0 || req.Topics[n-1].Name != fp.topic {
			req.Topics = append(req.Topics, protocol.FetchRequestTopic{Name: fp.topic})
		}
		offset := fp.pos
		if cont {
			offset = protocol.FetchContinue
		}
		t := &req.Topics[len(req.Topics)-1]
		t.Partitions = append(t.Partitions, protocol.FetchRequestPartition{
			Partition: fp.partition, FetchOffset: offset, PartitionMaxBytes: k.cfg.MaxPartitionBytes,
		})
	}
	return req
}

func (k *Consumer) takeBuffer() []byte {
	n := len(k.free)
	if n == 0 {
		return nil
	}
	b := k.free[n-1]
	k.free = k.free[:n-1]
	return b
}

func (k *Consumer) recycle(frame []byte) {
	if frame != nil && len(k.free) < maxFreeBuffers {
		k.free = append(k.free, frame[:0])
	}
}

// roundTrip sends a fetch on the consumer's own connection to addr (any
// broker for "") and returns the response frame and body, retrying
// connection failures within RequestTimeout: a fetch changes nothing, so
// repeating it is always safe.
func (k *Consumer) roundTrip(ctx context.Context, addr string, req *protocol.FetchRequest) (frame, body []byte, err error) {
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
			cl, err = c.send(req, true, time.Now().Add(timeout), k.takeBuffer(), nil)
			if err == nil {
				if body, err = c.wait(ctx, cl); err == nil {
					return cl.frame, body, nil
				}
				// An abandoned call may still fill its buffer, which is
				// therefore not reused.
			}
		}
		if errors.Is(err, ErrClosed) {
			return nil, nil, ErrClosed
		}
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		if errors.Is(err, ErrNetwork) && addr != "" {
			// The leader may be gone: the next Poll asks where the
			// partitions are led now instead of trying it until
			// the metadata grows old.
			for _, t := range req.Topics {
				k.cl.meta.forget(t.Name)
			}
		}
		if !errors.Is(err, ErrNetwork) || time.Now().Add(backoff).After(budget) {
			return nil, nil, fmt.Errorf("fetch: %w", err)
		}
		k.cl.logger.Debug("retrying fetch", "broker", target, "err", err)
		if err := sleep(ctx, backoff); err != nil {
			return nil, nil, err
		}
		backoff = min(2*backoff, time.Second)
	}
}
