package engine

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicelog/sluice/segment"
	"github.com/sluicelog/sluice/segment/batch"
)

// Special timestamps for ListOffsets, as in Kafka.
const (
	Latest   int64 = -1 // the high watermark: the offset the next record will get
	Earliest int64 = -2 // the log start offset
)

// Partition is one partition's log: an ordered run of segments, the last of
// which (the active segment) takes appends.
//
// Appends, rolls, retention and closing hold mu, so there is one writer at a
// time. Readers take no lock: they load the segment list (copy on write) and
// the high watermark atomically.
type Partition struct {
	topic  *topic
	id     int32
	dir    string
	eng    *Engine
	logger *slog.Logger

	mu          sync.Mutex
	closed      bool
	deleted     atomic.Bool // the topic was deleted: persist nothing more
	offline     atomic.Bool // a storage error took the replica offline
	activeSince time.Time
	unflushed   int64 // records appended since the last flush was started
	producers   *producerState

	segs     atomic.Pointer[[]*segment.Segment]
	logStart atomic.Int64
	logEnd   atomic.Int64
	hw       atomic.Pointer[watermark]

	// flushMu serialises flushes, which advance the recovery point.
	flushMu       sync.Mutex
	recoveryPoint atomic.Int64
	lastFlushMs   atomic.Int64
	// syncMu serialises the group-commit syncs of flush.on.ack.
	syncMu sync.Mutex

	// hwMoved fires when the high watermark moves (readers long-poll on
	// it), endMoved when the log end does (followers' fetches), synced
	// when a flush.on.ack sync ends.
	hwMoved, endMoved, syncDone broadcast
	// synced is the offset up to which flush.on.ack has made the log
	// durable.
	synced atomic.Int64

	// Replication (engine Options.Replicated): the high watermark moves
	// only by SetHighWatermark, and the fields below follow the log end.
	replicated bool
	// leaderEpoch is stamped on batches appended as leader; -1 stamps
	// nothing.
	leaderEpoch atomic.Int32
	// epochs is the leader-epoch history (written under mu, read under
	// epochMu).
	epochs  *epochCache
	epochMu sync.RWMutex
	// end is the log end with its position, for replica reads.
	end atomic.Pointer[watermark]
	// pending holds the end of every batch past the high watermark, so
	// that moving the watermark to a batch boundary needs no lookup;
	// guarded by hwMu (taken after mu when both are).
	hwMu    sync.Mutex
	pending []watermark
	hwSaved atomic.Int64 // the high watermark last persisted

	traffic   Traffic
	recovered recoveryCounts // what opening the partition recovered
	// producersSaved is the log end offset of the producer snapshot
	// stored (-1: none known), so that a close writes one only when the
	// log moved since.
	producersSaved atomic.Int64
	// cleanMu makes one cleaning of the partition at a time (the
	// background cleaner's, or Clean's).
	cleanMu sync.Mutex
	// logGen counts truncations (changed under mu): a cleaning that
	// began before one is void.
	logGen atomic.Uint64
	// gone is closed when the partition is deleted, and stops its
	// cleaning.
	gone chan struct{}
	// cleanerRetryAt is when the background cleaner may try the
	// partition again after a failed or aborted cleaning (unix ns).
	cleanerRetryAt atomic.Int64
	// dirty is the dirty ratio the cleaner last measured, as float bits.
	dirty atomic.Uint64
}

// recoveryCounts is what recover did to one partition at open.
type recoveryCounts struct {
	scanned         bool
	segmentsScanned int
	bytesScanned    int64
	resumed         bool
	truncatedBytes  int64
	segmentsDeleted int
}

// watermark is the high watermark: consumers see offsets below offset,
// which end at position pos of the segment with base segBase.
type watermark struct {
	offset  int64
	segBase int64
	pos     int64
}

// AppendResult says where an append landed.
type AppendResult struct {
	BaseOffset int64 // offset of the first record written
	LastOffset int64 // offset of the last record written
	// LogAppendTime is the broker timestamp stamped on the batches, or -1
	// when the topic keeps CreateTime.
	LogAppendTime  int64
	LogStartOffset int64
	// Duplicate is set when an idempotent producer re-sent a batch that is
	// already in the log: nothing was written, and the offsets are those of
	// the batch already there (Kafka answers such a retry as a success).
	Duplicate bool
	// LeaderEpoch is the leader epoch the batches were written under on a
	// replicated partition (-1 otherwise): an acks=all wait is for that
	// leadership, and ends unacknowledged if it ends.
	LeaderEpoch int32
	// SyncTo is set by AppendNoSync on a flush.on.ack topic: the records
	// may be acknowledged only once Sync(SyncTo) returned nil. Zero when
	// nothing is left to wait for.
	SyncTo int64
}

// Topic returns the partition's topic name.
func (p *Partition) Topic() string { return p.topic.name }

// ID returns the partition number.
func (p *Partition) ID() int32 { return p.id }

// LogStartOffset returns the first offset still in the log.
func (p *Partition) LogStartOffset() int64 { return p.logStart.Load() }

// LogEndOffset returns the offset the next appended record gets.
func (p *Partition) LogEndOffset() int64 { return p.logEnd.Load() }

// HighWatermark returns the offset below which records are visible to
// readers: the log end, or with flush.on.ack the last synced offset.
func (p *Partition) HighWatermark() int64 { return p.hw.Load().offset }

func (p *Partition) segments() []*segment.Segment { return *p.segs.Load() }

func (p *Partition) config() *TopicConfig { return p.topic.cfg.Load() }

// Append validates records (one or more whole Kafka v2 batches back to back)
// and writes them to the log with one write call. It assigns offsets by
// rewriting each batch's baseOffset in place, and with LogAppendTime also
// stamps the broker's time (recomputing the CRC), so records is modified.
// If any batch is invalid nothing is written and the error wraps
// ErrInvalidRecord, ErrRecordTooLarge or ErrUnsupported. Batches of
// idempotent producers are checked against the producer's sequence numbers
// (ErrOutOfOrderSequence, ErrInvalidProducerEpoch; a retried duplicate gets
// its original offsets with Duplicate set). With flush.on.ack Append returns
// only once the records are on disk.
func (p *Partition) Append(records []byte) (AppendResult, error) {
	return p.append(records, false)
}

// AppendNoSync is Append without flush.on.ack's wait for the disk: it
// returns once the records are in the log, with SyncTo set to the offset
// Sync must reach before they may be acknowledged. A connection that
// pipelines appends this way, and waits for each sync in the order of its
// responses, has the next request appended while the last one's fdatasync
// runs, and one fdatasync covers several requests.
func (p *Partition) AppendNoSync(records []byte) (AppendResult, error) {
	return p.append(records, true)
}

// Sync returns once the log is durable up to offset upTo (exclusive), as
// flush.on.ack's group commit makes it: AppendNoSync's second half. A
// failed fdatasync takes the partition offline, and no later sync
// acknowledges what it left unsynced.
func (p *Partition) Sync(upTo int64) error {
	return p.syncTo(upTo)
}

func (p *Partition) append(records []byte, noSync bool) (AppendResult, error) {
	cfg := p.config()
	count, err := p.eng.validateRecords(records, cfg)
	if err != nil {
		return AppendResult{}, fmt.Errorf("%s-%d: %w", p.Topic(), p.id, err)
	}
	res := AppendResult{LogAppendTime: -1, LeaderEpoch: -1}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return res, fmt.Errorf("%s-%d: %w", p.Topic(), p.id, ErrClosed)
	}
	if err := p.checkOnline(); err != nil {
		p.mu.Unlock()
		return res, err
	}
	if p.replicated {
		res.LeaderEpoch = p.leaderEpoch.Load()
	}
	now := p.eng.now()
	if dup, err := p.checkProducersLocked(records); err != nil || dup != nil {
		if err != nil {
			p.mu.Unlock()
			return res, fmt.Errorf("%s-%d: %w", p.Topic(), p.id, err)
		}
		// dup points into the producer's window, which the next append may
		// shift: copy it before letting go of the lock.
		res.BaseOffset, res.LastOffset, res.Duplicate = dup.firstOffset, dup.lastOffset, true
		res.LogStartOffset = p.logStart.Load()
		p.mu.Unlock()
		return res, nil
	}
	next := p.logEnd.Load()
	res.BaseOffset = next
	if cfg.TimestampType == batch.LogAppendTime {
		res.LogAppendTime = now.UnixMilli()
	}
	epoch := res.LeaderEpoch
	for rest := records; len(rest) > 0; {
		h, _ := batch.ParseHeader(rest)
		b := rest[:h.Size()]
		rest = rest[h.Size():]
		batch.SetBaseOffset(b, next)
		if epoch >= 0 {
			batch.SetPartitionLeaderEpoch(b, epoch)
		}
		if res.LogAppendTime >= 0 {
			batch.SetLogAppendTime(b, res.LogAppendTime)
		}
		next += int64(h.LastOffsetDelta) + 1
	}
	if err := p.assignEpochLocked(epoch, res.BaseOffset); err != nil {
		p.mu.Unlock()
		return res, err
	}
	return res, p.commitLocked(cfg, now, records, next, count, noSync, &res)
}

// commitLocked writes records, whose offsets run from the log end to next,
// and makes them the log's: log end, producer state, flush accounting, and
// the high watermark (on a single node) or the log end readers of
// replicas wait on. It lets go of p.mu, then syncs (flush.on.ack) or
// flushes (flush.messages) as the topic asks; with noSync it leaves the
// flush.on.ack sync to the caller (res.SyncTo). Append and AppendReplica
// share it.
func (p *Partition) commitLocked(cfg *TopicConfig, now time.Time, records []byte, next, count int64, noSync bool, res *AppendResult) error {
	if err := p.maybeRollLocked(cfg, now, int64(len(records))); err != nil {
		p.mu.Unlock()
		return err
	}
	active, pos, err := p.writeLocked(cfg, now, records)
	if err != nil {
		p.mu.Unlock()
		return p.fail(err)
	}
	p.logEnd.Store(next)
	p.updateProducersLocked(records, now.UnixMilli())
	res.LastOffset = next - 1
	res.LogStartOffset = p.logStart.Load()
	p.unflushed += count
	flushDue := p.unflushed >= cfg.FlushMessages
	if flushDue {
		p.unflushed = 0
	}
	if p.replicated {
		p.trackEndLocked(records, active, pos)
	} else if !cfg.FlushOnAck {
		p.publish(next, active.Base(), active.Size())
	}
	p.mu.Unlock()
	if p.replicated {
		p.wakeEnd()
	}
	if cfg.FlushOnAck {
		if noSync {
			res.SyncTo = next
		} else if err := p.syncTo(next); err != nil {
			return err
		}
	}
	if flushDue {
		if err := p.flushTo(next); err != nil {
			return p.fail(err)
		}
	}
	return nil
}

// writeLocked writes records (offsets assigned) to the active segment,
// rolling first when it is full. It returns the segment written and the
// position the records start at.
func (p *Partition) writeLocked(cfg *TopicConfig, now time.Time, records []byte) (*segment.Segment, int64, error) {
	active := p.active()
	pos := active.Size()
	err := active.Append(records)
	if err != nil && p.eng.makeRoom(err) {
		err = active.Append(records) // a parked segment that could not reopen
	}
	// The new segment starts at the first batch's offset: the log end,
	// or for a follower past a gap a cleaned leader's log may have, too
	// wide for the active segment's 32-bit relative offsets.
	h, _ := batch.ParseHeader(records)
	if errors.Is(err, segment.ErrFull) && (active.Size() > 0 || h.BaseOffset > active.Base()) {
		if err = p.rollLocked(cfg, now, h.BaseOffset); err == nil {
			active = p.active()
			pos = active.Size()
			err = active.Append(records)
		}
	}
	if err != nil {
		return nil, 0, fmt.Errorf("%s-%d: %w", p.Topic(), p.id, err)
	}
	return active, pos, nil
}

// checkProducersLocked checks the idempotent batches in records against the
// producers' state. A lone batch may be a retried duplicate, returned so the
// caller answers with its original offsets; in a set of several batches each
// is checked as if the ones before it were already appended.
func (p *Partition) checkProducersLocked(records []byte) (*producerBatch, error) {
	first, rest, _ := batch.Split(records)
	if len(rest) == 0 {
		h, _ := batch.ParseHeader(first)
		if h.ProducerID < 0 {
			return nil, nil
		}
		return p.producers.check(&h)
	}
	var scratch *producerState
	for rest := records; len(rest) > 0; {
		h, _ := batch.ParseHeader(rest)
		rest = rest[h.Size():]
		if h.ProducerID < 0 {
			continue
		}
		if scratch == nil {
			scratch = newProducerState()
		}
		if _, ok := scratch.entries[h.ProducerID]; !ok {
			if e, ok := p.producers.entries[h.ProducerID]; ok {
				c := *e
				scratch.entries[h.ProducerID] = &c
			}
		}
		dup, err := scratch.check(&h)
		if err != nil {
			return nil, err
		}
		if dup != nil {
			return nil, fmt.Errorf("%w: producer %d sequence %d, in a request of several batches",
				ErrDuplicateSequence, h.ProducerID, h.BaseSequence)
		}
		scratch.update(&h, 0, 0)
	}
	return nil, nil
}

// updateProducersLocked records the idempotent batches just written; their
// baseOffsets are assigned.
func (p *Partition) updateProducersLocked(records []byte, nowMs int64) {
	for rest := records; len(rest) > 0; {
		h, _ := batch.ParseHeader(rest)
		rest = rest[h.Size():]
		if h.ProducerID >= 0 {
			p.producers.update(&h, h.BaseOffset, nowMs)
		}
	}
}

// validateRecords checks every batch without decompressing and returns the
// number of records they hold.
func (e *Engine) validateRecords(records []byte, cfg *TopicConfig) (int64, error) {
	if len(records) == 0 {
		return 0, fmt.Errorf("%w: no batches", ErrInvalidRecord)
	}
	var count int64
	for rest := records; len(rest) > 0; {
		first, tail, err := batch.Split(rest)
		if err != nil {
			return 0, fmt.Errorf("%w: %w", ErrInvalidRecord, err)
		}
		if int64(len(first)) > cfg.MaxMessageBytes {
			return 0, fmt.Errorf("%w: batch of %d bytes, max.message.bytes is %d", ErrRecordTooLarge, len(first), cfg.MaxMessageBytes)
		}
		h, err := batch.Validate(first)
		if err != nil {
			return 0, fmt.Errorf("%w: %w", ErrInvalidRecord, err)
		}
		if h.Control() || h.Transactional() {
			return 0, fmt.Errorf("%w: transactional or control batch", ErrUnsupported)
		}
		if cfg.Compact {
			if err := e.checkKeyed(first); err != nil {
				return 0, err
			}
		}
		count += int64(h.RecordCount)
		rest = tail
	}
	return count, nil
}

// checkKeyed refuses a batch holding a record without a key: a compacted
// topic keeps the newest record of each key, and a record without one has
// none (Kafka refuses it the same way).
func (e *Engine) checkKeyed(b []byte) error {
	rd, _ := e.readers.Get().(*batch.Reader)
	if rd == nil {
		rd = new(batch.Reader)
	}
	defer e.readers.Put(rd)
	if _, err := rd.Reset(b); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidRecord, err)
	}
	for {
		r, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidRecord, err)
		}
		if r.Key == nil {
			return fmt.Errorf("%w: a compacted topic (cleanup.policy=compact) does not take records without a key (offset delta %d)",
				ErrRecordWithoutKey, r.OffsetDelta)
		}
	}
}

// segmentOptions are the options of this partition's segments under cfg:
// the topic's sizes, the engine's file system, the partition's logger.
func (p *Partition) segmentOptions(cfg *TopicConfig) segment.Options {
	opts := cfg.segmentOptions()
	opts.FS = p.eng.opts.FS
	opts.Logger = p.logger
	opts.Handles = p.eng.segmentHandles()
	return opts
}

func (p *Partition) active() *segment.Segment {
	segs := p.segments()
	return segs[len(segs)-1]
}

// maybeRollLocked rolls the active segment when the incoming bytes would
// pass segment.bytes or the segment is older than segment.ms.
func (p *Partition) maybeRollLocked(cfg *TopicConfig, now time.Time, incoming int64) error {
	active := p.active()
	if active.Size() == 0 {
		return nil
	}
	if active.Size()+incoming > cfg.SegmentBytes || now.Sub(p.activeSince) >= time.Duration(cfg.rollMs())*time.Millisecond {
		return p.rollLocked(cfg, now, p.logEnd.Load())
	}
	return nil
}

// rollLocked starts a new active segment at base: the log end, or past it
// for a follower copying a gap of a compacted leader's log. Sealing the old
// one (final time entry, trimming its indexes) and flushing it happen in the
// background, as Kafka does, which then moves the recovery point past it:
// shrinking preallocated files can wait on the disk (discards, a running
// fdatasync), and appends must not wait with it.
func (p *Partition) rollLocked(cfg *TopicConfig, now time.Time, base int64) error {
	old := p.active()
	opts := p.segmentOptions(cfg)
	seg, err := p.createSegment(base, opts)
	if err != nil {
		return fmt.Errorf("%s-%d: roll: %w", p.Topic(), p.id, err)
	}
	segs := p.segments()
	next := make([]*segment.Segment, len(segs), len(segs)+1)
	copy(next, segs)
	next = append(next, seg)
	p.segs.Store(&next)
	p.activeSince = now
	switch {
	case p.replicated:
		p.end.Store(&watermark{offset: p.logEnd.Load(), segBase: seg.Base()})
	case !cfg.FlushOnAck:
		// Readers at the log end now look into the new, empty segment.
		p.publish(p.logEnd.Load(), seg.Base(), 0)
	}
	snapshot := p.producers.marshal(base)
	p.eng.goBackground(func() {
		// old takes no appends any more: Seal may run beside readers.
		if err := old.Seal(); err != nil && !errors.Is(err, segment.ErrClosed) {
			p.logger.Error("sealing rolled segment failed", "segment", old.Base(), "err", err)
		}
		if err := p.flushTo(base); err != nil {
			p.logger.Error("flush after roll failed", "err", err)
		}
		p.saveProducers(snapshot)
	})
	p.logger.Debug("rolled segment", "old", old.Base(), "new", base, "old_bytes", old.Size())
	return nil
}

// publish advances the high watermark (never backwards) and wakes readers
// waiting for data.
func (p *Partition) publish(offset, segBase, pos int64) {
	w := &watermark{offset: offset, segBase: segBase, pos: pos}
	for {
		cur := p.hw.Load()
		if cur != nil && (cur.offset > offset || cur.offset == offset && cur.segBase >= segBase) {
			return
		}
		if p.hw.CompareAndSwap(cur, w) {
			break
		}
	}
	p.wake()
}

// wake releases every reader waiting on Changed.
func (p *Partition) wake() { p.hwMoved.fire() }

// Changed returns a channel that is closed the next time the high
// watermark moves: a long-polling fetch waits on it.
func (p *Partition) Changed() <-chan struct{} { return p.hwMoved.wait() }

// Read returns a region of whole batches starting at the batch that holds
// offset, at most maxBytes long unless its first batch alone is larger,
// never past the high watermark. Reading at the high watermark gives an
// empty region; outside [log start, high watermark] gives
// ErrOffsetOutOfRange. A non-empty region must be released; its NextOffset
// is where the next read should start.
func (p *Partition) Read(offset, maxBytes int64) (segment.Region, error) {
	return p.readUpTo(p.hw.Load(), offset, maxBytes)
}

// readUpTo is Read bounded by w instead of the high watermark.
func (p *Partition) readUpTo(w *watermark, offset, maxBytes int64) (segment.Region, error) {
	if err := p.checkOnline(); err != nil {
		return segment.Region{}, err
	}
	start := p.logStart.Load()
	// A replica's records between the high watermark and the log end
	// exist but are not visible yet: reading there is empty, not out of
	// range (a new leader's high watermark lags the old one's for a
	// moment, and consumers positioned in between must not reset).
	limit := w.offset
	if p.replicated {
		limit = max(limit, p.logEnd.Load())
	}
	if offset < start || offset > limit {
		return segment.Region{}, fmt.Errorf("%s-%d: offset %d not in [%d, %d]: %w", p.Topic(), p.id, offset, start, limit, ErrOffsetOutOfRange)
	}
	if offset >= w.offset {
		return segment.Region{}, nil
	}
	list := p.segs.Load()
	segs := *list
	i := sort.Search(len(segs), func(i int) bool { return segs[i].Base() > offset }) - 1
	if i < 0 {
		return segment.Region{}, fmt.Errorf("%s-%d: offset %d below first segment: %w", p.Topic(), p.id, offset, ErrOffsetOutOfRange)
	}
	for ; i < len(segs); i++ {
		seg := segs[i]
		maxPos := int64(-1)
		switch {
		case seg.Base() == w.segBase:
			maxPos = w.pos
		case seg.Base() > w.segBase:
			return segment.Region{}, nil
		}
		// A compacted log has gaps: an offset past the last batch of one
		// segment is read from the start of the next.
		r, err := seg.Read(max(offset, seg.Base()), maxBytes, maxPos)
		if err != nil && p.eng.makeRoom(err) {
			r, err = seg.Read(max(offset, seg.Base()), maxBytes, maxPos)
		}
		if errors.Is(err, segment.ErrClosed) {
			// The segment left the list after we loaded it: retention
			// deleted it, or the cleaner replaced it.
			next, err := p.reloadSegments(list, offset)
			if err != nil {
				return segment.Region{}, err
			}
			list, segs = next, *next
			i = sort.Search(len(segs), func(i int) bool { return segs[i].Base() > offset }) - 2 // the loop adds one
			continue
		}
		if err != nil {
			return segment.Region{}, fmt.Errorf("%s-%d: %w", p.Topic(), p.id, err)
		}
		if r.Len > 0 {
			if r.NextOffset < 0 {
				// The region runs to the high watermark's position or
				// to the end of a sealed segment, where the next one
				// starts.
				r.NextOffset = w.offset
				if maxPos < 0 && i+1 < len(segs) {
					r.NextOffset = segs[i+1].Base()
				}
			}
			return r, nil
		}
	}
	return segment.Region{}, nil
}

// ReadBytes is Read plus a copy of the region into dst (appended): for
// embedded users who want bytes rather than a region to send.
func (p *Partition) ReadBytes(dst []byte, offset, maxBytes int64) ([]byte, error) {
	r, err := p.Read(offset, maxBytes)
	if err != nil {
		return dst, err
	}
	defer r.Release()
	return r.ReadTo(dst)
}

// ListOffset answers Kafka's ListOffsets: Earliest gives the log start,
// Latest the high watermark, and any other timestamp the offset of the first
// record whose timestamp is at least ts, or -1 when there is none.
func (p *Partition) ListOffset(ts int64) (int64, error) {
	switch ts {
	case Earliest:
		return p.logStart.Load(), nil
	case Latest:
		return p.HighWatermark(), nil
	}
	if ts < 0 {
		return 0, fmt.Errorf("%s-%d: timestamp %d: %w", p.Topic(), p.id, ts, ErrOffsetOutOfRange)
	}
	hw, start := p.HighWatermark(), p.logStart.Load()
	list := p.segs.Load()
scan:
	for {
		for _, seg := range *list {
			mt, err := seg.MaxTimestamp()
			if err == nil && mt < ts {
				continue
			}
			var off int64
			var found bool
			if err == nil {
				off, found, err = seg.OffsetForTimestamp(ts)
			}
			if errors.Is(err, segment.ErrClosed) || errors.Is(err, fs.ErrNotExist) {
				// Deleted or replaced under us: look again.
				if list, err = p.reloadSegments(list, start); err != nil {
					return 0, err
				}
				continue scan
			}
			if err != nil {
				return 0, fmt.Errorf("%s-%d: %w", p.Topic(), p.id, err)
			}
			if found {
				off = max(off, p.logStart.Load())
				if off >= hw {
					return -1, nil
				}
				return off, nil
			}
		}
		return -1, nil
	}
}

// reloadSegments is what a reader does when a segment of the list it
// loaded was closed under it, by retention or by the cleaner's swap: it
// waits out a swap in progress (the cleaner replaces segments under mu),
// and returns the list as it is now. It fails with ErrOffsetOutOfRange
// when retention took offset, and with segment.ErrClosed when the list
// did not change (the partition is closing).
func (p *Partition) reloadSegments(was *[]*segment.Segment, offset int64) (*[]*segment.Segment, error) {
	p.mu.Lock()
	p.mu.Unlock() // a barrier, not a critical section
	if offset < p.logStart.Load() {
		return nil, fmt.Errorf("%s-%d: offset %d was deleted: %w", p.Topic(), p.id, offset, ErrOffsetOutOfRange)
	}
	now := p.segs.Load()
	if now == was {
		return nil, fmt.Errorf("%s-%d: offset %d: %w", p.Topic(), p.id, offset, segment.ErrClosed)
	}
	return now, nil
}

// saveProducers stores a producer state snapshot, so that a restart replays
// only the log after it.
func (p *Partition) saveProducers(snapshot []byte) {
	if p.deleted.Load() {
		return
	}
	if err := p.eng.meta.putProducers(p.Topic(), p.id, snapshot); err != nil {
		p.logger.Error("saving producer state failed", "err", err)
	}
}

// close flushes the partition and closes its segments.
func (p *Partition) close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	snapshot := p.producers.marshal(p.logEnd.Load())
	p.mu.Unlock()
	p.saveProducers(snapshot)
	p.saveHighWatermark()
	err := p.Flush()
	var errs []error
	errs = append(errs, err)
	for _, s := range p.segments() {
		errs = append(errs, s.Close())
	}
	p.wake() // long-pollers notice the close
	p.wakeEnd()
	return errors.Join(errs...)
}
