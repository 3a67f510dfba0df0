package engine

import (
	"errors"
	"fmt"
	"math"
	"sort"

	"github.com/sluicelog/sluice/segment"
	"github.com/sluicelog/sluice/segment/batch"
)

// ErrReplicaOffset: a follower's batches do not start at its log end, or
// do not follow each other; the replica fetcher lost its place.
var ErrReplicaOffset = errors.New("replica batches do not continue the log")

// This file holds what a replicated partition (Options.Replicated) adds to
// the log: leader epochs stamped on batches and kept in a checkpoint,
// appends of a leader's batches as they are, truncation of a divergent
// tail, reads up to the log end for followers, and a high watermark moved
// by the replication layer instead of by each append.

// openReplicated sets up a replicated partition just opened, whose log
// ends at end: the leader-epoch history (cut to the log, which a crash may
// have cut first) and the high watermark last saved, which no longer
// trusts the whole log as a single node does.
func (p *Partition) openReplicated(end *watermark) error {
	p.replicated = true
	p.leaderEpoch.Store(-1)
	p.end.Store(end)
	epochs, err := loadEpochs(p.dir)
	if err != nil {
		return fmt.Errorf("%s-%d: %w", p.Topic(), p.id, err)
	}
	if epochs.truncateFrom(end.offset) {
		if err := epochs.save(); err != nil {
			return fmt.Errorf("%s-%d: leader epoch checkpoint: %w", p.Topic(), p.id, err)
		}
	}
	p.epochs = epochs
	hw, err := p.eng.meta.highWatermark(p.Topic(), p.id)
	if err != nil {
		return fmt.Errorf("%s-%d: high watermark: %w", p.Topic(), p.id, err)
	}
	hw = max(hw, p.logStart.Load())
	if hw < end.offset {
		w, ok := p.positionOf(hw)
		if !ok {
			w = watermark{offset: p.logStart.Load(), segBase: p.segments()[0].Base()}
		}
		p.hw.Store(&w)
	}
	p.hwSaved.Store(p.HighWatermark())
	return nil
}

// SetLeaderEpoch sets the epoch stamped on the batches Append writes from
// now on (this replica leads at that epoch); -1 stops stamping.
func (p *Partition) SetLeaderEpoch(epoch int32) { p.leaderEpoch.Store(epoch) }

// LeaderEpoch is the epoch SetLeaderEpoch last set: the one this replica
// leads at, -1 when it does not lead.
func (p *Partition) LeaderEpoch() int32 { return p.leaderEpoch.Load() }

// assignEpochLocked records epoch as starting at offset in the leader-epoch
// history when it is new, writing the checkpoint before the batches that
// carry it reach the log.
func (p *Partition) assignEpochLocked(epoch int32, offset int64) error {
	if epoch < 0 || p.epochs == nil || epoch <= p.epochs.latest() {
		return nil
	}
	p.epochMu.Lock()
	p.epochs.assign(epoch, offset)
	err := p.epochs.save()
	if err != nil {
		p.epochs.truncateFrom(offset)
	}
	p.epochMu.Unlock()
	if err != nil {
		return p.fail(fmt.Errorf("%s-%d: leader epoch checkpoint: %w", p.Topic(), p.id, err))
	}
	return nil
}

// trackEndLocked notes the end of every batch of records, just written at
// pos of active, as a place the high watermark may move to, and publishes
// the new log end.
func (p *Partition) trackEndLocked(records []byte, active *segment.Segment, pos int64) {
	p.hwMu.Lock()
	for rest := records; len(rest) > 0; {
		h, _ := batch.ParseHeader(rest)
		pos += h.Size()
		rest = rest[h.Size():]
		p.pending = append(p.pending, watermark{offset: h.NextOffset(), segBase: active.Base(), pos: pos})
	}
	p.hwMu.Unlock()
	p.end.Store(&watermark{offset: p.logEnd.Load(), segBase: active.Base(), pos: active.Size()})
}

// wakeEnd releases every replica fetch waiting on EndChanged.
func (p *Partition) wakeEnd() { p.endMoved.fire() }

// EndChanged returns a channel closed the next time the log end moves (or
// the partition closes): a follower's long-polling fetch waits on it.
func (p *Partition) EndChanged() <-chan struct{} { return p.endMoved.wait() }

// LocalEnd is how far this replica holds the log for the high watermark's
// sake: the log end, or with flush.on.ack the offset made durable.
func (p *Partition) LocalEnd() int64 {
	if p.config().FlushOnAck {
		return min(p.synced.Load(), p.logEnd.Load())
	}
	return p.logEnd.Load()
}

// LatestEpoch is the newest leader epoch in the log's history, -1 when
// there is none.
func (p *Partition) LatestEpoch() int32 {
	if p.epochs == nil {
		return -1
	}
	p.epochMu.RLock()
	defer p.epochMu.RUnlock()
	return p.epochs.latest()
}

// EndOffsetForEpoch answers OffsetForLeaderEpoch: the end offset of the
// given leader epoch in this log, with the epoch it belongs to (see
// epochCache.endOffsetFor); -1, -1 when the log cannot tell.
func (p *Partition) EndOffsetForEpoch(epoch int32) (int32, int64) {
	if p.epochs == nil {
		return -1, -1
	}
	p.epochMu.RLock()
	defer p.epochMu.RUnlock()
	return p.epochs.endOffsetFor(epoch, p.logEnd.Load())
}

// EpochHistory returns the leader-epoch history as (epoch, start offset)
// pairs, oldest first.
func (p *Partition) EpochHistory() [][2]int64 {
	if p.epochs == nil {
		return nil
	}
	p.epochMu.RLock()
	defer p.epochMu.RUnlock()
	out := make([][2]int64, len(p.epochs.entries))
	for i, e := range p.epochs.entries {
		out[i] = [2]int64{int64(e.Epoch), e.StartOffset}
	}
	return out
}

// AppendReplica appends a leader's batches as they are, offsets and leader
// epochs included: a follower's copy of the leader's log. The first batch
// must start at the log end and each must follow the last (else
// ErrReplicaOffset); each is validated (CRC and all). Producer state and
// the leader-epoch history follow the batches, so a follower that becomes
// leader knows every idempotent producer's sequence.
func (p *Partition) AppendReplica(records []byte) (AppendResult, error) {
	if cut := farGap(records); cut > 0 {
		// A segment cannot hold both sides of the gap: each goes in
		// as an append of its own (the second rolls at its offset).
		res, err := p.AppendReplica(records[:cut])
		if err != nil {
			return res, err
		}
		more, err := p.AppendReplica(records[cut:])
		more.BaseOffset = res.BaseOffset
		return more, err
	}
	res := AppendResult{LogAppendTime: -1}
	var count int64
	for rest := records; len(rest) > 0; {
		first, tail, err := batch.Split(rest)
		if err != nil {
			return res, fmt.Errorf("%s-%d: %w: %w", p.Topic(), p.id, ErrInvalidRecord, err)
		}
		// A compacted leader's batches hold fewer records than offsets.
		h, err := batch.ValidateStored(first)
		if err != nil {
			return res, fmt.Errorf("%s-%d: %w: %w", p.Topic(), p.id, ErrInvalidRecord, err)
		}
		count += int64(h.RecordCount)
		rest = tail
	}
	if len(records) == 0 {
		return res, fmt.Errorf("%s-%d: %w: no batches", p.Topic(), p.id, ErrInvalidRecord)
	}
	cfg := p.config()
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return res, fmt.Errorf("%s-%d: %w", p.Topic(), p.id, ErrClosed)
	}
	if err := p.checkOnline(); err != nil {
		p.mu.Unlock()
		return res, err
	}
	now := p.eng.now()
	next := p.logEnd.Load()
	if h, err := batch.ParseHeader(records); err == nil {
		res.BaseOffset = h.BaseOffset
	}
	for rest := records; len(rest) > 0; {
		h, _ := batch.ParseHeader(rest)
		// A compacted leader's log has gaps, which its followers copy as
		// they are; only going back is wrong.
		if h.BaseOffset < next {
			p.mu.Unlock()
			return res, fmt.Errorf("%s-%d: batch at offset %d, log end %d: %w", p.Topic(), p.id, h.BaseOffset, next, ErrReplicaOffset)
		}
		if err := p.assignEpochLocked(h.PartitionLeaderEpoch, h.BaseOffset); err != nil {
			p.mu.Unlock()
			return res, err
		}
		next = h.NextOffset()
		rest = rest[h.Size():]
	}
	err := p.commitLocked(cfg, now, records, next, count, false, &res)
	if err == nil {
		p.traffic.ReplicationBytesIn.Add(int64(len(records)))
	}
	return res, err
}

// farGap returns where in records the first batch starts whose offsets lie
// too far past the first batch's for one segment's 32-bit relative
// offsets (a cleaned leader's log can skip billions of offsets), or 0.
func farGap(records []byte) int {
	first, err := batch.ParseHeader(records)
	if err != nil {
		return 0
	}
	for pos := 0; pos < len(records); {
		h, err := batch.ParseHeader(records[pos:])
		if err != nil || h.Size() <= 0 || h.Size() > int64(len(records)-pos) {
			return 0
		}
		if pos > 0 && h.LastOffset()-first.BaseOffset > math.MaxUint32 {
			return pos
		}
		pos += int(h.Size())
	}
	return 0
}

// ReadReplica is Read for a follower: bounded by the log end, not the high
// watermark.
func (p *Partition) ReadReplica(offset, maxBytes int64) (segment.Region, error) {
	w := p.end.Load()
	if w == nil || !p.replicated {
		w = p.hw.Load()
	}
	return p.readUpTo(w, offset, maxBytes)
}

// SetHighWatermark moves the high watermark of a replicated partition
// forward to offset (never back, never past the log end): the leader calls
// it with the smallest log end in the ISR, a follower with what its leader
// said. Readers waiting on Changed wake.
func (p *Partition) SetHighWatermark(offset int64) {
	if offset > p.logEnd.Load() {
		offset = p.logEnd.Load()
	}
	p.hwMu.Lock()
	cur := p.hw.Load()
	if offset <= cur.offset {
		p.hwMu.Unlock()
		return
	}
	var w watermark
	found := false
	i := 0
	for ; i < len(p.pending) && p.pending[i].offset <= offset; i++ {
		w, found = p.pending[i], true
	}
	if i > 0 {
		n := copy(p.pending, p.pending[i:])
		p.pending = p.pending[:n]
	}
	p.hwMu.Unlock()
	if !found || w.offset != offset {
		// Not a batch end this process appended (a restart, or a leader's
		// boundary inside a batch it lacks): find the position in the log.
		if pw, ok := p.positionOf(offset); ok {
			w, found = pw, true
		}
	}
	if found && w.offset > cur.offset {
		p.publish(w.offset, w.segBase, w.pos)
	}
}

// positionOf finds where the batch holding offset starts, so the high
// watermark can stop there; false when the log no longer has it.
func (p *Partition) positionOf(offset int64) (watermark, bool) {
	if e := p.end.Load(); e != nil && e.offset == offset {
		return *e, true
	}
	segs := p.segments()
	i := sort.Search(len(segs), func(i int) bool { return segs[i].Base() > offset }) - 1
	if i < 0 {
		return watermark{}, false
	}
	r, err := segs[i].Read(offset, 1, -1)
	if err != nil {
		return watermark{}, false
	}
	defer r.Release()
	if r.Len == 0 {
		// offset is at the end of segment i: it ends there.
		return watermark{offset: offset, segBase: segs[i].Base(), pos: segs[i].Size()}, segs[i].NextOffset() == offset
	}
	// The region starts at the batch holding offset; only a batch that
	// starts exactly at offset keeps everything before it visible.
	return watermark{offset: r.BaseOffset, segBase: segs[i].Base(), pos: r.Pos}, r.BaseOffset <= offset
}

// TruncateTo removes the log from offset on (from the start of the batch
// holding it): a follower cutting a tail its leader does not have. The
// leader-epoch history, producer state, recovery point and high watermark
// follow the cut.
func (p *Partition) TruncateTo(offset int64) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return fmt.Errorf("%s-%d: %w", p.Topic(), p.id, ErrClosed)
	}
	if err := p.checkOnline(); err != nil {
		return err
	}
	if offset >= p.logEnd.Load() {
		return nil
	}
	segs := p.segments()
	i := sort.Search(len(segs), func(i int) bool { return segs[i].Base() > offset }) - 1
	if i < 0 {
		i = 0
	}
	kept := append([]*segment.Segment(nil), segs[:i+1]...)
	doomed := segs[i+1:]
	newEnd, err := kept[i].TruncateTo(offset)
	if err != nil {
		return p.fail(fmt.Errorf("%s-%d: truncate to %d: %w", p.Topic(), p.id, offset, err))
	}
	active := kept[i]
	p.logGen.Add(1)
	p.segs.Store(&kept)
	p.logEnd.Store(newEnd)
	end := &watermark{offset: newEnd, segBase: active.Base(), pos: active.Size()}
	p.end.Store(end)
	p.hwMu.Lock()
	n := 0
	for n < len(p.pending) && p.pending[n].offset <= newEnd {
		n++
	}
	p.pending = p.pending[:n]
	if p.hw.Load().offset > newEnd {
		p.hw.Store(end)
	}
	p.hwMu.Unlock()
	if p.synced.Load() > newEnd {
		p.synced.Store(newEnd)
	}
	var errs []error
	for _, s := range doomed {
		errs = append(errs, s.Delete())
	}
	if p.epochs != nil {
		p.epochMu.Lock()
		if p.epochs.truncateFrom(newEnd) {
			errs = append(errs, p.epochs.save())
		}
		p.epochMu.Unlock()
	}
	if p.recoveryPoint.Load() > newEnd {
		p.recoveryPoint.Store(newEnd)
		errs = append(errs, p.eng.meta.putRecoveryPoint(p.Topic(), p.id, newEnd))
	}
	errs = append(errs, p.truncateCleanedLocked(newEnd))
	// The producers' last batches may have been cut: rebuild their state
	// from the log that remains.
	errs = append(errs, p.loadProducers(p.eng.now().UnixMilli()))
	p.activeSince = p.eng.now()
	p.logger.Info("truncated log", "to", offset, "log_end", newEnd, "segments_deleted", len(doomed))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%s-%d: truncate: %w", p.Topic(), p.id, err)
	}
	return nil
}

// truncateCleanedLocked moves the cleaner's checkpoint and history back to
// offset, where the log now ends: what a follower fetches from there is
// dirty, whatever was cleaned at those offsets before (Kafka's
// maybeTruncateCheckpoint).
func (p *Partition) truncateCleanedLocked(offset int64) error {
	m := p.eng.meta
	first, err := m.cleanerCheckpoint(p.Topic(), p.id)
	if err != nil {
		return err
	}
	history, err := m.cleanHistory(p.Topic(), p.id)
	if err != nil {
		return err
	}
	if first <= offset && (len(history) == 0 || history[len(history)-1].end <= offset) {
		return nil
	}
	return m.putCleaned(p.Topic(), p.id, min(first, offset), history.truncate(offset))
}

// saveHighWatermark persists a replicated partition's high watermark when
// it moved since the last save.
func (p *Partition) saveHighWatermark() {
	if !p.replicated || p.deleted.Load() {
		return
	}
	hw := p.HighWatermark()
	if p.hwSaved.Swap(hw) == hw {
		return
	}
	if err := p.eng.meta.putHighWatermark(p.Topic(), p.id, hw); err != nil {
		p.logger.Warn("saving high watermark failed", "err", err)
	}
}

// MinInsyncReplicas is the topic's min.insync.replicas.
func (p *Partition) MinInsyncReplicas() int { return int(p.config().MinInsyncReplicas) }

// ResetTo empties the log and starts it again at offset: a follower whose
// log ends before its leader's log start (retention deleted what it would
// fetch next) takes the leader's log from there, as Kafka's
// truncateFullyAndStartAt does. Epoch history and producer state start
// afresh and are rebuilt from the batches fetched next.
func (p *Partition) ResetTo(offset int64) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return fmt.Errorf("%s-%d: %w", p.Topic(), p.id, ErrClosed)
	}
	if err := p.checkOnline(); err != nil {
		return err
	}
	cfg := p.config()
	opts := p.segmentOptions(cfg)
	old := p.segments()
	// The new segment's files may share the old ones' names only if some
	// segment starts at offset; delete that one first.
	var errs []error
	for _, s := range old {
		if s.Base() == offset {
			errs = append(errs, s.Delete())
		}
	}
	seg, err := p.createSegment(offset, opts)
	if err != nil {
		return p.fail(fmt.Errorf("%s-%d: reset to %d: %w", p.Topic(), p.id, offset, err))
	}
	segs := []*segment.Segment{seg}
	p.logGen.Add(1)
	p.segs.Store(&segs)
	p.logStart.Store(offset)
	p.logEnd.Store(offset)
	w := &watermark{offset: offset, segBase: offset}
	p.end.Store(w)
	p.hwMu.Lock()
	p.pending = p.pending[:0]
	p.hw.Store(w)
	p.hwMu.Unlock()
	p.synced.Store(offset)
	for _, s := range old {
		if s.Base() != offset {
			errs = append(errs, s.Delete())
		}
	}
	if p.epochs != nil {
		p.epochMu.Lock()
		p.epochs.entries = nil
		errs = append(errs, p.epochs.save())
		p.epochMu.Unlock()
	}
	errs = append(errs, p.truncateCleanedLocked(offset))
	p.recoveryPoint.Store(offset)
	errs = append(errs, p.eng.meta.putRecoveryPoint(p.Topic(), p.id, offset))
	p.producers = newProducerState()
	p.activeSince = p.eng.now()
	p.logger.Warn("log reset: the leader's log starts past this replica's end", "start_offset", offset, "segments_deleted", len(old))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%s-%d: reset: %w", p.Topic(), p.id, err)
	}
	return nil
}
