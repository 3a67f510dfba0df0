package client

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/sluicelog/sluice/net/protocol"
	"github.com/sluicelog/sluice/segment/batch"
)

// This file is the producer's bookkeeping: batches per partition, when
// they are ready, their sequence numbers, and what each produce outcome
// does to them. It does no IO and takes the time as an argument; the
// sender (sender.go) does the IO around it. Everything here runs under
// Producer.mu.

// tp names a partition.
type tp struct {
	topic     string
	partition int32
}

// recordMeta is what a batch keeps of each record: enough to answer its
// callback.
type recordMeta struct {
	cb   func(RecordMetadata, error)
	ts   int64 // ms since the epoch, as written in the batch
	size int64 // buffer memory charged for it
}

// pbatch is one record batch on its way: open (taking records), sealed
// (built, with its sequence number), in flight, waiting to be retried, or
// done.
type pbatch struct {
	part    *partState
	b       *batch.Builder
	recs    []recordMeta
	bytes   int64 // buffer memory charged, released on completion
	created time.Time
	serial  uint64 // creation order within the producer
	full    bool   // no more records: it reached BatchSize

	sealed   bool
	wire     []byte // the built batch, resent unchanged by retries
	seq      int32
	attempts int
	retryAt  time.Time
	// unknown: the last attempt ended without a definite answer (the
	// connection broke after the request went out), so the broker may
	// or may not have appended it.
	unknown bool
	lastErr error

	done       bool
	err        error
	base       int64
	appendTime int64 // the broker's timestamp for LogAppendTime topics, else -1
}

// partState is one partition's batches and, for an idempotent producer,
// its sequence state.
//
// Invariants:
//   - order holds every batch not yet completed, in creation order;
//     callbacks fire only from its head, so they come in order even when a
//     retry overtakes nothing and a later batch is acknowledged first.
//   - queue is the unsealed tail of order; retry holds sealed batches to
//     resend, lowest sequence first, and is sent before anything in queue.
//   - While blocked, nothing of the partition is sent: a batch failed, and
//     the batches sent after it must all come back (failed, since the
//     broker refuses a sequence gap, or acknowledged) before the failed one
//     goes again, so that sequences reach the broker in order.
type partState struct {
	tp
	topic *topicState
	addr  string  // the leader's address; "" when unknown (any broker)
	s     *sender // the sender for addr

	order    []*pbatch
	queue    []*pbatch
	retry    []*pbatch
	inflight int

	nextSeq  int32 // the sequence the next sealed batch gets
	ackedSeq int32 // the sequence the broker expects next, as far as answers tell
	blocked  bool
	// rewind: a batch was definitely refused, leaving a gap; the unsent
	// batches are renumbered from ackedSeq once the partition unblocks.
	rewind bool
	// uncertain: whether the broker appended some batch is unknown and the
	// client gave up on it, so the broker's next sequence is unknown: the
	// producer's epoch must be bumped, which restarts every sequence at 0.
	uncertain bool
	// fatal is an OUT_OF_ORDER_SEQUENCE no earlier failure explains: the
	// broker lost the producer's state. Every batch of the partition that
	// comes back or waits for a retry fails with it until the partition
	// unblocks.
	fatal error
}

// topicState is what the producer knows of a topic.
type topicState struct {
	name       string
	partitions int32
	// part is the producer's partitioner for this topic (its ForTopic's
	// if it has one), and batchAware the same if it wants BatchClosed.
	part       Partitioner
	batchAware BatchAwarePartitioner
	metaAt     time.Time // when the partition count was last looked up
	// parts caches the producer's partStates of this topic by partition
	// id, sparing Send a map lookup by (name, id) per record.
	parts []*partState
}

func newTopicState(name string, p Partitioner) *topicState {
	if tp, ok := p.(TopicPartitioner); ok {
		p = tp.ForTopic(name)
	}
	ts := &topicState{name: name, part: p}
	ts.batchAware, _ = p.(BatchAwarePartitioner)
	return ts
}

// batchClosed tells the topic's partitioner that a batch of partition
// closed.
func (ts *topicState) batchClosed(partition int32) {
	if ts.batchAware != nil {
		ts.batchAware.BatchClosed(partition, ts.partitions)
	}
}

// addSeq advances a sequence number; sequences wrap from MaxInt32 to 0, as
// in Kafka.
func addSeq(seq int32, n int32) int32 {
	if seq > math.MaxInt32-n {
		return n - (math.MaxInt32 - seq) - 1
	}
	return seq + n
}

// ready reports whether the partition has a batch to send now, and
// otherwise when it may (zero: not before something else happens).
func (pt *partState) ready(now time.Time, linger time.Duration, flushAll bool) (bool, time.Time) {
	if pt.blocked {
		return false, time.Time{}
	}
	if len(pt.retry) > 0 {
		b := pt.retry[0]
		if !now.Before(b.retryAt) {
			return true, time.Time{}
		}
		return false, b.retryAt
	}
	if len(pt.queue) == 0 {
		return false, time.Time{}
	}
	b := pt.queue[0]
	due := b.created.Add(linger)
	if b.full || len(pt.queue) > 1 || flushAll || !now.Before(due) {
		return true, time.Time{}
	}
	return false, due
}

// next takes the batch to send: the first retry, or the oldest queued
// batch, sealed now (its sequence number is assigned at this moment, so
// that sequences follow the order batches leave in). It returns nil if the
// batch's estimated size does not fit in room.
func (pt *partState) next(room int, idem bool, pid int64, epoch int16) *pbatch {
	if len(pt.retry) > 0 {
		b := pt.retry[0]
		if len(b.wire) > room {
			return nil
		}
		pt.retry[0] = nil
		pt.retry = pt.retry[1:]
		return b
	}
	b := pt.queue[0]
	if b.b.Size() > room {
		return nil
	}
	pt.queue[0] = nil
	pt.queue = pt.queue[1:]
	b.full = true
	pt.topic.batchClosed(pt.partition)
	if idem {
		b.seq = pt.nextSeq
		b.b.SetProducer(pid, epoch, b.seq)
		pt.nextSeq = addSeq(pt.nextSeq, int32(len(b.recs)))
	}
	b.sealed = true
	// Not built here: the sender compresses it after letting go of the
	// producer's lock (buildWire), so Send is not held up meanwhile.
	b.wire = nil
	return b
}

// wireSize is the batch's size on the wire, or before it is built its
// uncompressed size, which compression rarely exceeds by more than a
// few bytes.
func (b *pbatch) wireSize() int {
	if b.wire != nil {
		return len(b.wire)
	}
	return b.b.Size()
}

// produceOutcome classifies a batch's answer.
type produceOutcome int

const (
	outcomeDone  produceOutcome = iota // acknowledged, or failed for good
	outcomeRetry                       // goes back to the retry queue
)

// result applies one produce answer to batch b: err is a connection
// failure (the outcome is unknown) or nil, in which case code, msg, base
// and appendTime are the broker's. It returns whether the batch is now
// complete; a batch to retry is back in the partition's retry queue.
func (pt *partState) result(b *pbatch, err error, code protocol.ErrorCode, msg *string, base, appendTime int64,
	now time.Time, cfg *ProducerConfig, idem bool) produceOutcome {
	pt.inflight--
	if err == nil {
		switch code {
		case protocol.NoError, protocol.ErrDuplicateSequenceNumber:
			// A duplicate is a batch the log already holds: delivered.
			// (Sluice answers a lone retried duplicate as a success with
			// its original offsets; DUPLICATE_SEQUENCE_NUMBER comes only
			// from multi-batch requests, which this client never sends.)
			if code != protocol.NoError {
				base = -1
			}
			if idem {
				pt.ackedSeq = addSeq(b.seq, int32(len(b.recs)))
			}
			b.finish(base, appendTime, nil)
			return outcomeDone
		}
		err = brokerErr(protocol.Produce, code, pt.topic.name, pt.partition, msg)
	}
	unknown := err != nil && code == protocol.NoError // a connection failure
	if code == protocol.ErrRequestTimedOut || code == protocol.ErrNotEnoughReplicasAfterAppend {
		unknown = true // the leader may have appended it
	}
	if pt.fatal != nil {
		b.finish(-1, -1, pt.fatal)
		return outcomeDone
	}
	retry := retriable(err)
	if (code == protocol.ErrOutOfOrderSequenceNumber || code == protocol.ErrUnknownProducerID) && idem {
		// Expected after an earlier batch of this partition failed: the
		// broker refuses the gap, and the batch goes again after it.
		// Unexplained, it means the broker lost this producer's state
		// (UNKNOWN_PRODUCER_ID says so outright: its topic was deleted
		// and created again, or the state expired).
		if !pt.blocked && !pt.rewind {
			pt.fatal = fmt.Errorf("%w (the broker lost the producer's sequence state; the partition's pending batches fail and the producer bumps its epoch)", err)
			pt.uncertain = true
			pt.blocked = true
			b.finish(-1, -1, pt.fatal)
			for _, r := range pt.retry {
				r.finish(-1, -1, pt.fatal)
			}
			pt.retry = pt.retry[:0]
			return outcomeDone
		}
		retry = true
	}
	pt.blocked = true
	b.unknown, b.lastErr = unknown, err
	switch {
	case !retry:
	case b.attempts > cfg.Retries:
		err = fmt.Errorf("%w (after %d attempts)", err, b.attempts)
		retry = false
	case !now.Before(b.created.Add(cfg.DeliveryTimeout)):
		err = fmt.Errorf("%w: record not delivered within the delivery timeout %v; last error: %w", ErrTimeout, cfg.DeliveryTimeout, err)
		retry = false
	}
	if !retry {
		b.finish(-1, -1, err)
		pt.gaveUp(b, idem)
		return outcomeDone
	}
	b.retryAt = now.Add(cfg.RetryBackoff)
	pt.insertRetry(b)
	return outcomeRetry
}

// gaveUp notes that sealed batch b failed for good: its sequence number is
// now a gap (rewind) if the broker surely refused it, or a mystery
// (uncertain) if it may have been appended.
func (pt *partState) gaveUp(b *pbatch, idem bool) {
	if !idem || !b.sealed {
		return
	}
	pt.blocked = true
	if b.unknown {
		pt.uncertain = true
	} else {
		pt.rewind = true
	}
}

// insertRetry puts b into the retry queue in sequence (creation) order.
func (pt *partState) insertRetry(b *pbatch) {
	i := len(pt.retry)
	for i > 0 && b.before(pt.retry[i-1]) {
		i--
	}
	pt.retry = append(pt.retry, nil)
	copy(pt.retry[i+1:], pt.retry[i:])
	pt.retry[i] = b
}

// before reports whether a was created before c: within a partition, the
// order of their sequence numbers, wrap-around included.
func (a *pbatch) before(c *pbatch) bool { return a.serial < c.serial }

// unblock runs when a blocked partition has nothing in flight. It returns
// true if the partition needs the producer's epoch bumped first.
func (pt *partState) unblock(idem bool, pid int64, epoch int16) (needBump bool, err error) {
	if pt.inflight > 0 || !pt.blocked {
		return false, nil
	}
	pt.fatal = nil
	if pt.uncertain {
		return true, nil // stays blocked until the bump renumbers it
	}
	pt.blocked = false
	if idem && pt.rewind {
		pt.rewind = false
		return false, pt.renumber(pt.ackedSeq, pid, epoch)
	}
	return false, nil
}

// renumber gives the retry queue fresh sequence numbers from seq (and the
// producer's current id and epoch), rebuilding each batch.
func (pt *partState) renumber(seq int32, pid int64, epoch int16) error {
	var errs []error
	kept := pt.retry[:0]
	for _, b := range pt.retry {
		b.seq = seq
		b.b.SetProducer(pid, epoch, seq)
		wire, err := b.b.Build()
		if err != nil {
			b.finish(-1, -1, err)
			errs = append(errs, err)
			continue
		}
		b.wire = wire
		seq = addSeq(seq, int32(len(b.recs)))
		kept = append(kept, b)
	}
	pt.retry = kept
	pt.nextSeq = seq
	return errors.Join(errs...)
}

// expire fails the queued batches older than the delivery timeout. Only
// unsealed batches expire here: sealed ones expire when an attempt fails
// (result), because until then they may yet be acknowledged.
// cause, if not nil, is why the partition could not be sent (a failing
// connection, say), for the error message.
func (pt *partState) expire(now time.Time, timeout time.Duration, idem bool, cause error) bool {
	expired := false
	for len(pt.queue) > 0 && !now.Before(pt.queue[0].created.Add(timeout)) {
		b := pt.queue[0]
		pt.queue[0] = nil
		pt.queue = pt.queue[1:]
		err := fmt.Errorf("%w: record not sent within the delivery timeout %v", ErrTimeout, timeout)
		if cause != nil {
			err = fmt.Errorf("%w; last error: %w", err, cause)
		}
		b.finish(-1, -1, err)
		expired = true
	}
	for len(pt.retry) > 0 && pt.inflight == 0 && !now.Before(pt.retry[0].created.Add(timeout)) {
		b := pt.retry[0]
		pt.retry[0] = nil
		pt.retry = pt.retry[1:]
		b.finish(-1, -1, fmt.Errorf("%w: record not delivered within the delivery timeout %v; last error: %w", ErrTimeout, timeout, b.lastErr))
		pt.gaveUp(b, idem)
		expired = true
	}
	return expired
}

// finish completes b; the first completion wins.
func (b *pbatch) finish(base, appendTime int64, err error) {
	if b.done {
		return
	}
	b.done, b.base, b.appendTime, b.err = true, base, appendTime, err
}

// popDone removes completed batches from the head of order and returns
// them, in order, for their callbacks.
func (pt *partState) popDone(out []*pbatch) []*pbatch {
	for len(pt.order) > 0 && pt.order[0].done {
		out = append(out, pt.order[0])
		pt.order[0] = nil
		pt.order = pt.order[1:]
	}
	return out
}

// failAll completes every batch of the partition with err (closing).
func (pt *partState) failAll(err error) {
	for _, b := range pt.order {
		b.finish(-1, -1, err)
	}
	pt.queue, pt.retry = nil, nil
}
