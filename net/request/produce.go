package request

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/sluicelog/sluice/engine"
)

// OffsetsTopic is Kafka's internal topic of consumer groups, which only the
// brokers write (net/grouplog): clients producing to it are refused, as
// Kafka refuses appends to internal topics.
const OffsetsTopic = "__consumer_offsets"

// IsInternalTopic reports whether a topic is one of the cluster's own.
func IsInternalTopic(name string) bool { return name == OffsetsTopic }

// DefaultProduceTimeout bounds an acks=all wait when the request names no
// timeout (Kafka producers send request.timeout.ms, 30 s by default).
const DefaultProduceTimeout = 30 * time.Second

// Produce is a produce request and, once handled, its results. A listener
// keeps one per connection and reuses it (Reset), so that a warm
// connection allocates nothing for it.
type Produce struct {
	// Acks is 0 (no response), 1 (the leader's log) or -1 (every in-sync
	// replica).
	Acks int16
	// Transactional is set when the request carries a transactional id.
	Transactional bool
	// pending counts the partitions whose sync or replication wait was
	// deferred.
	pending int
	// awaitsReplicas is set when a deferred wait is for the in-sync
	// replicas (acks=all in a cluster).
	awaitsReplicas bool
	// ctx and replicatedBy bound the deferred acks=all waits: the
	// request's context (its connection's), kept only until Sync, and
	// when Timeout runs out, counted from the append.
	ctx          context.Context
	replicatedBy time.Time
	// Timeout bounds the wait for replication with acks=-1 (the request's
	// timeout); zero means DefaultProduceTimeout.
	Timeout time.Duration
	// Partitions in request order, topic by topic: the listener encodes
	// the response by walking its wire request in the same order.
	Partitions []ProducePartition
	// DeferSync leaves flush.on.ack's wait for the disk, and in a
	// cluster acks=all's wait for the in-sync replicas, out of
	// Handler.Produce: the records are appended, and Handler.Sync waits
	// before the response may leave (when SyncPending). A listener that
	// pipelines sets it, so that the next request is appended while this
	// one's fdatasync or replication runs, and one fdatasync or one
	// follower fetch covers both. Reset clears it.
	DeferSync bool
}

// ProducePartition is one partition's records and, after Handler.Produce,
// its result.
type ProducePartition struct {
	Topic     string
	Partition int32
	// Records are the partition's batches as they arrived; they point
	// into the request frame, which the engine patches in place
	// (baseOffset), so nothing is copied on the way to the log.
	Records []byte

	// Err is the partition's failure, nil on success (Code gives its
	// code). On failure the offsets are -1.
	Err            error
	BaseOffset     int64
	LogAppendTime  int64
	LogStartOffset int64

	// part, syncTo, replicatedTo and epoch are deferred waits: the
	// partition must be synced to syncTo (flush.on.ack), and its high
	// watermark reach replicatedTo in leader epoch epoch (acks=all in a
	// cluster), before the result stands. Zero means no such wait.
	part         *engine.Partition
	syncTo       int64
	replicatedTo int64
	epoch        int32
}

// Reset empties p for the next request, keeping its capacity.
func (p *Produce) Reset(acks int16, transactional bool) {
	clear(p.Partitions) // drop the references into the last frame
	p.Partitions = p.Partitions[:0]
	p.Acks, p.Transactional, p.Timeout, p.DeferSync = acks, transactional, 0, false
	p.pending, p.awaitsReplicas, p.ctx, p.replicatedBy = 0, false, nil, time.Time{}
}

// SyncPending reports whether Handler.Sync has a wait for the disk to do
// before the response may leave.
func (p *Produce) SyncPending() bool { return p.pending > 0 }

// AwaitsReplicas reports whether Handler.Sync's wait is for the in-sync
// replicas as well as the disk: one that may take a follower's fetch
// round or, with a follower lost, the session timeout, which a listener
// must not wait out with later requests unread behind it.
func (p *Produce) AwaitsReplicas() bool { return p.awaitsReplicas }

// Add appends a partition's records.
func (p *Produce) Add(topic string, partition int32, records []byte) {
	p.Partitions = append(p.Partitions, ProducePartition{Topic: topic, Partition: partition, Records: records})
}

// Produce appends each partition's batches. Partitions fail on their own:
// a refused or bad partition does not stop the others. It reports whether
// any failed: with acks=0 the only way to tell the client is to close the
// connection.
func (h *Handler) Produce(ctx context.Context, p *Produce) (failed bool) {
	var refuse error
	switch {
	case p.Acks != 0 && p.Acks != 1 && p.Acks != -1:
		refuse = ErrInvalidRequiredAcks
	case p.Transactional:
		refuse = ErrTransactions
	}
	for i := range p.Partitions {
		pp := &p.Partitions[i]
		err := refuse
		var part *engine.Partition
		if err == nil {
			var res engine.AppendResult
			if res, part, err = h.append(ctx, p, pp); err == nil {
				pp.Err, pp.BaseOffset, pp.LogAppendTime, pp.LogStartOffset = nil, res.BaseOffset, res.LogAppendTime, res.LogStartOffset
				if res.SyncTo > 0 || pp.replicatedTo > 0 {
					pp.part, pp.syncTo = part, res.SyncTo
					p.pending++
					p.awaitsReplicas = p.awaitsReplicas || pp.replicatedTo > 0
				}
				if h.metrics != nil {
					part.Traffic().ProduceRequests.Add(1)
				}
				continue
			}
			h.logProduceError(pp.Topic, pp.Partition, err)
		}
		pp.Err, pp.BaseOffset, pp.LogAppendTime, pp.LogStartOffset = err, -1, -1, -1
		failed = true
		if h.metrics != nil {
			h.metrics.Error("Produce", CodeOf(err).String())
			if part != nil {
				part.Traffic().ProduceRequests.Add(1)
				part.Traffic().FailedProduce.Add(1)
			}
		}
	}
	if p.SyncPending() {
		p.ctx = ctx
		if !p.DeferSync {
			failed = h.Sync(p) || failed
		}
	}
	return failed
}

// Sync waits until every partition of p that Produce appended without
// waiting (DeferSync) is on disk and, with acks=all in a cluster,
// replicated to the in-sync replicas. The waits are started together, so
// a request of several partitions waits about one fdatasync or one
// replication, not one after another. A partition whose wait failed (the
// partition is offline, the leadership moved, the timeout ran out) gets
// its error in place of its offsets. It reports whether any failed.
func (h *Handler) Sync(p *Produce) (failed bool) {
	if p.pending == 0 {
		return false
	}
	var wg sync.WaitGroup
	last := -1
	for i := range p.Partitions {
		if p.Partitions[i].part == nil {
			continue
		}
		if last >= 0 {
			wg.Add(1)
			go func(pp *ProducePartition) {
				defer wg.Done()
				h.syncPartition(p, pp)
			}(&p.Partitions[last])
		}
		last = i
	}
	h.syncPartition(p, &p.Partitions[last])
	wg.Wait()
	p.pending, p.awaitsReplicas, p.ctx = 0, false, nil
	for i := range p.Partitions {
		pp := &p.Partitions[i]
		if pp.part == nil {
			continue
		}
		if pp.Err != nil {
			failed = true
			h.logProduceError(pp.Topic, pp.Partition, pp.Err)
			if h.metrics != nil {
				h.metrics.Error("Produce", CodeOf(pp.Err).String())
				pp.part.Traffic().FailedProduce.Add(1)
			}
		}
		pp.part = nil
	}
	return failed
}

func (h *Handler) syncPartition(p *Produce, pp *ProducePartition) {
	var err error
	if pp.syncTo > 0 {
		err = pp.part.Sync(pp.syncTo)
	}
	if err == nil && pp.replicatedTo > 0 {
		err = h.repl.AwaitReplicated(p.ctx, pp.part, pp.replicatedTo, pp.epoch, time.Until(p.replicatedBy))
	}
	if err != nil {
		pp.Err, pp.BaseOffset, pp.LogAppendTime, pp.LogStartOffset = err, -1, -1, -1
	}
}

// countAppended adds what an append wrote to its partition's traffic, as
// soon as it is in the log: an acks=all wait that fails afterwards does
// not take the records out again, and consumers will read them. A
// duplicate an idempotent producer re-sent wrote nothing.
func countAppended(t *engine.Traffic, pp *ProducePartition, res *engine.AppendResult) {
	if res.Duplicate {
		return
	}
	t.BytesIn.Add(int64(len(pp.Records)))
	t.RecordsIn.Add(res.LastOffset - res.BaseOffset + 1)
}

// append writes one partition's records and, in a cluster, has them
// replicated as acks asks: acks=all waits until every ISR member has them.
// Several partitions of one request wait one after the other, but their
// followers fetch them all at once, so the waits overlap.
// The partition is returned whenever it was found, even on failure.
func (h *Handler) append(ctx context.Context, req *Produce, pp *ProducePartition) (engine.AppendResult, *engine.Partition, error) {
	if IsInternalTopic(pp.Topic) {
		return engine.AppendResult{}, nil, Refuse(engine.ErrInvalidTopic, "cannot produce to internal topic "+pp.Topic)
	}
	p, err := h.partition(pp.Topic, pp.Partition)
	if errors.Is(err, engine.ErrUnknownTopic) && h.cfg.AutoCreateTopics {
		if err = h.autoCreate(ctx, pp.Topic); err == nil {
			p, err = h.partition(pp.Topic, pp.Partition)
		}
	}
	if err != nil {
		return engine.AppendResult{}, nil, err
	}
	noSync := req.DeferSync && req.Acks != 0
	if h.repl == nil {
		res, err := appendTo(p, pp.Records, noSync)
		if err == nil && h.metrics != nil {
			countAppended(p.Traffic(), pp, &res)
		}
		return res, p, err
	}
	if req.Acks == -1 {
		if err := h.repl.CheckInSync(pp.Topic, pp.Partition); err != nil {
			return engine.AppendResult{}, p, err
		}
	}
	res, err := appendTo(p, pp.Records, noSync)
	if err != nil {
		return res, p, err
	}
	if h.metrics != nil {
		countAppended(p.Traffic(), pp, &res)
	}
	h.repl.Appended(p)
	if req.Acks == -1 {
		timeout := req.Timeout
		if timeout <= 0 {
			timeout = DefaultProduceTimeout
		}
		if req.DeferSync {
			// Handler.Sync waits, within the same timeout.
			pp.replicatedTo, pp.epoch = res.LastOffset+1, res.LeaderEpoch
			if req.replicatedBy.IsZero() {
				req.replicatedBy = time.Now().Add(timeout)
			}
			return res, p, nil
		}
		if err := h.repl.AwaitReplicated(ctx, p, res.LastOffset+1, res.LeaderEpoch, timeout); err != nil {
			return engine.AppendResult{}, p, err
		}
	}
	return res, p, nil
}

// appendTo appends records to p, leaving flush.on.ack's sync to the
// caller with noSync.
func appendTo(p *engine.Partition, records []byte, noSync bool) (engine.AppendResult, error) {
	if noSync {
		return p.AppendNoSync(records)
	}
	return p.Append(records)
}

// logProduceError logs refused input at warn (the client sent something
// wrong, or asked the wrong broker) and storage failures at error.
func (h *Handler) logProduceError(topic string, partition int32, err error) {
	code := CodeOf(err)
	if code == KafkaStorageError {
		h.logger.Error("append failed", "topic", topic, "partition", partition, "err", err)
		return
	}
	h.logger.Warn("produce refused", "topic", topic, "partition", partition, "code", code.String(), "err", err)
}

// ProducePool recycles Produce values between a connection's handler,
// which takes one for each produce it hands to its response writer, and
// the writer, which gives it back once the response is written. Get is
// the handler's alone; Put may run on the writer meanwhile. The zero value
// is ready and costs nothing until the first Get.
type ProducePool struct{ free chan *Produce }

// producePoolSize bounds the values kept: a connection's pipeline depth
// and one more covers every produce in flight on it.
const producePoolSize = 33

// Get returns a Produce the writer is done with, or a new one.
func (pp *ProducePool) Get() *Produce {
	if pp.free == nil {
		pp.free = make(chan *Produce, producePoolSize)
	}
	select {
	case p := <-pp.free:
		return p
	default:
		return new(Produce)
	}
}

// Put resets p, so that no reference to a request's frame outlives it,
// and keeps it for a later Get (or drops it when the pool is full).
func (pp *ProducePool) Put(p *Produce) {
	p.Reset(0, false)
	select {
	case pp.free <- p:
	default:
	}
}
