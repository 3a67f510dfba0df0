package engine

// DeleteRecords (Kafka's API 21): moving a partition's log start offset
// forward on request, as retention does by time and size.
//
// Invariants:
//   - The log start only ever moves forward, and never past the high
//     watermark: what was deleted stays deleted, and nothing unreplicated
//     or unsynced is "deleted" ahead of being written.
//   - A log start inside a segment is persisted (meta key logstart/,
//     synced) before it takes effect, after the log below it has been
//     flushed, so a restart neither brings the deleted records back nor
//     finds the log ending below its start. A log start at a segment's
//     base needs no key (load takes the first segment's base), but
//     writing one anyway costs nothing and keeps one path.
//   - Segments wholly below the new start are dropped as retention drops
//     them (dropFrontLocked); the active segment never is.

import (
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

func logStartKey(topic string, partition int32) []byte {
	return []byte(fmt.Sprintf("%s%s/%d", logStartPrefix, topic, partition))
}

// DeleteRecordsBefore deletes every record below offset: it moves the log
// start offset (the low watermark) to offset and drops the segments wholly
// below it, as Kafka's DeleteRecords does. Latest (-1) means the high
// watermark. An offset at or below the current log start changes nothing.
// It returns the log start offset after the call; an offset past the high
// watermark (or below -1) fails with ErrOffsetOutOfRange, and a topic
// whose cleanup.policy is compact alone with ErrPolicyViolation. Reads below the
// new start fail with ErrOffsetOutOfRange, and ListOffset(Earliest) gives
// it, from now on and after a restart.
func (p *Partition) DeleteRecordsBefore(offset int64) (int64, error) {
	if !p.config().Delete {
		// Kafka's rule: a topic that only compacts keeps every key's
		// newest record; deleting by offset would drop live keys.
		return p.LogStartOffset(), fmt.Errorf("%s-%d: records of a topic with cleanup.policy=compact cannot be deleted (add delete to the policy): %w",
			p.Topic(), p.id, ErrPolicyViolation)
	}
	hw := p.HighWatermark()
	switch {
	case offset == Latest:
		offset = hw
	case offset < 0 || offset > hw:
		return p.LogStartOffset(), fmt.Errorf("%s-%d: delete records before %d: not in [%d, %d]: %w",
			p.Topic(), p.id, offset, p.LogStartOffset(), hw, ErrOffsetOutOfRange)
	}
	return p.advanceLogStart(offset, "delete_records")
}

// FollowLogStart is DeleteRecordsBefore for a follower: it takes its
// leader's log start offset (which the leader sends with every fetch
// answer), bounded by its own high watermark, so that the records deleted
// at the leader stay deleted after a failover. It returns the log start
// after the call.
func (p *Partition) FollowLogStart(leaderStart int64) (int64, error) {
	return p.advanceLogStart(min(leaderStart, p.HighWatermark()), "leader_log_start")
}

// advanceLogStart moves the log start to offset (at most the high
// watermark, which the callers ensured) when that is forward.
func (p *Partition) advanceLogStart(offset int64, cause string) (int64, error) {
	if offset <= p.logStart.Load() {
		return p.logStart.Load(), nil
	}
	if err := p.checkOnline(); err != nil {
		return p.logStart.Load(), err
	}
	// Below the new start must be on disk before the start is persisted:
	// a restart that lost unflushed records under it would otherwise find
	// its log ending before its start.
	if err := p.flushTo(offset); err != nil {
		return p.logStart.Load(), p.fail(err)
	}
	p.mu.Lock()
	if p.closed || p.deleted.Load() {
		p.mu.Unlock()
		return p.logStart.Load(), fmt.Errorf("%s-%d: %w", p.Topic(), p.id, ErrClosed)
	}
	if offset <= p.logStart.Load() {
		start := p.logStart.Load()
		p.mu.Unlock()
		return start, nil
	}
	if err := p.eng.meta.putInt64(logStartKey(p.Topic(), p.id), offset, pebble.Sync); err != nil {
		p.mu.Unlock()
		return p.logStart.Load(), fmt.Errorf("%s-%d: persist log start offset %d: %w", p.Topic(), p.id, offset, err)
	}
	segs := p.segments()
	n := 0
	for n+1 < len(segs) && segs[n+1].Base() <= offset {
		n++
	}
	doomed := p.dropFrontLocked(n, offset)
	start := p.logStart.Load()
	p.mu.Unlock()
	// Readers long-polling at an offset now deleted must see it.
	p.wake()

	bytes, err := deleteDropped(doomed)
	p.logger.Info("log start offset moved", "event", "delete_records", "cause", cause, "log_start_offset", start,
		"segments", len(doomed), "bytes", bytes)
	if err != nil {
		return start, fmt.Errorf("%s-%d: delete segments below %d: %w", p.Topic(), p.id, start, err)
	}
	return start, nil
}

// restoreLogStart applies the log start DeleteRecords persisted, at open,
// once the segments and the log end are known. A stored start below the
// first segment (retention went further since) is stale and harmless; one
// past the log end means the log lost what was under it despite the flush,
// and is dropped rather than hide records appended from now on.
func (p *Partition) restoreLogStart() error {
	key := logStartKey(p.Topic(), p.id)
	stored, err := p.eng.meta.int64At(key, -1)
	if err != nil {
		return fmt.Errorf("%s-%d: log start offset: %w", p.Topic(), p.id, err)
	}
	switch {
	case stored <= p.logStart.Load():
	case stored > p.logEnd.Load():
		p.logger.Warn("stored log start offset is past the log end; ignoring it",
			"log_start_offset", stored, "log_end", p.logEnd.Load())
		if err := p.eng.meta.db.Delete(key, pebble.Sync); err != nil {
			return fmt.Errorf("%s-%d: drop log start offset: %w", p.Topic(), p.id, err)
		}
	default:
		p.logStart.Store(stored)
	}
	return nil
}
