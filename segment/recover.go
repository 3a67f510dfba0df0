package segment

import (
	"fmt"
)

// Recovery reports what Recover found.
type Recovery struct {
	// Batches is the number of valid batches kept.
	Batches int
	// ValidBytes is the log size after recovery.
	ValidBytes int64
	// TruncatedBytes is how many bytes were cut from the end of the log.
	TruncatedBytes int64
	// Reason says why the cut was made; nil when nothing was cut.
	Reason error
	// ScannedBytes is how much of the log was read and validated batch
	// by batch (the whole file for Recover, the tail for RecoverFrom).
	ScannedBytes int64
}

// Recover validates every batch of the log (length, magic, CRC, record
// count, growing offsets within the segment's range), accepting batches
// that compaction thinned (batch.ValidateStored: fewer records than
// offsets, or none, and gaps between batches), truncates the file at
// the first torn or corrupt batch, and rebuilds both indexes. The segment is
// writable afterwards; Seal it if it is not the partition's active segment.
// A cut is logged. Like Activate, it replaces the index mappings, so no Read
// or OffsetForTimestamp may run on the segment meanwhile.
func (s *Segment) Recover() (Recovery, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		return Recovery{}, ErrClosed
	}
	if s.unborn.Load() {
		return Recovery{}, nil // no file, so nothing to validate
	}
	return s.recoverLocked()
}

func (s *Segment) recoverLocked() (Recovery, error) {
	if _, err := s.openLog(); err != nil {
		return Recovery{}, err
	}
	fi, err := s.log.Stat()
	if err != nil {
		return Recovery{}, fmt.Errorf("segment %d: %w", s.base, err)
	}
	fileSize := fi.Size()
	s.dropIndexes()
	// Rebuild over an empty log, then track each batch as the scan accepts it.
	s.size.Store(0)
	if err := s.rebuildIndexes(true); err != nil {
		return Recovery{}, err
	}
	sc := scanner{f: s.log.OS(), base: s.base, end: fileSize, minOffset: s.base}
	var rec Recovery
	for sc.next(true) {
		s.track(&sc.hdr, sc.cur)
		rec.Batches++
	}
	rec.ValidBytes = sc.pos
	rec.TruncatedBytes = fileSize - sc.pos
	rec.ScannedBytes = fileSize
	if rec.TruncatedBytes > 0 {
		rec.Reason = sc.err
		if err := s.log.Truncate(sc.pos); err != nil {
			return rec, fmt.Errorf("segment %d: truncate to %d: %w", s.base, sc.pos, err)
		}
		s.opts.Logger.Warn("recovery truncated segment",
			"dir", s.dir, "segment", s.base, "kept_bytes", sc.pos,
			"cut_bytes", rec.TruncatedBytes, "kept_batches", rec.Batches, "reason", sc.err)
	}
	s.size.Store(sc.pos)
	s.writable = true
	s.unparked()
	return rec, nil
}

// Activate prepares a segment that was closed cleanly to take appends again:
// it maps the indexes at full size and finds the next offset and max
// timestamp by walking the batch headers after the last index entry. If the
// walk does not end exactly at the end of the file, the segment was not as
// clean as its marker said, and Activate falls back to Recover. Indexes
// that disagree with the log are rebuilt first. No Read or
// OffsetForTimestamp may run on the segment meanwhile.
func (s *Segment) Activate() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		return ErrClosed
	}
	if s.unborn.Load() {
		return nil // already active, and parked
	}
	return s.activateOrRecover()
}

var errNeedsRecovery = fmt.Errorf("segment needs recovery")

// activateOrRecover is Activate with s.mu held.
func (s *Segment) activateOrRecover() error {
	err := s.activateLocked()
	if err == errNeedsRecovery {
		s.opts.Logger.Warn("segment tail inconsistent on clean open; recovering", "dir", s.dir, "segment", s.base)
		_, err = s.recoverLocked()
	}
	return err
}

func (s *Segment) activateLocked() error {
	f, err := s.openLog()
	if err != nil {
		return err
	}
	// A read may have found damage and lowered the size; appends go at the
	// end of the file, which must be where the batches end.
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("segment %d: %w", s.base, err)
	}
	fileSize := fi.Size()
	s.size.Store(fileSize)
	s.dropIndexes()
	if err := s.openIndexes(true); err != nil {
		return err
	}
	start, minOffset := int64(0), s.base
	if last, ok := s.offsetIdx.Last(); ok {
		start, minOffset = last.Position, last.Offset
	}
	if last, ok := s.timeIdx.Last(); ok {
		s.maxTimestamp.Store(last.Timestamp)
		s.offsetOfMaxTimestamp.Store(last.Offset)
	}
	sc := scanner{f: f.OS(), base: s.base, end: s.Size(), pos: start, minOffset: minOffset}
	s.bytesSinceIndex = 0
	for sc.next(false) {
		s.track(&sc.hdr, sc.cur)
	}
	if sc.err != nil || sc.pos != fileSize {
		return errNeedsRecovery
	}
	s.writable = true
	s.unparked()
	return nil
}
