package segment

import (
	"fmt"
)

// TruncateTo removes every batch whose last offset is >= offset: the log is
// cut at the first such batch (so the new NextOffset may be below offset
// when offset falls inside a batch), the offset and time indexes lose their
// entries at or past the cut, max timestamp is recomputed from what remains,
// and the segment is writable afterwards (an active segment, even if it had
// been sealed: the caller makes it the partition's active segment). It
// returns the new NextOffset. offset <= Base() empties the segment; offset
// >= NextOffset() changes nothing (but still leaves it writable). Must not
// run concurrently with Append; readers holding Regions keep working on the
// bytes before the cut.
//
// A follower truncates this way when its log diverged from the leader's.
// The cut goes in the order a crash can survive: Size drops first, so new
// readers stop at the cut; then the file is cut; then the indexes, whose
// entries past the end of a log Activate and Recover rebuild anyway. Like
// Append, the cut reaches the disk with the next Flush or FlushLog.
//
// Readers may run meanwhile: a Read, OffsetForTimestamp or Headers below the
// cut answers as before (an index lookup that overlaps the cut falls back to
// a scan from the segment's start). A reader still looking past the cut
// when it is made may get an error or an empty region. A segment that was
// not writable (sealed, or opened lazily) gets its indexes mapped again at
// full size, as Activate does; the old mappings stay until no reader holds
// the segment. Only a segment whose log is damaged below its size needs the
// full Recover first, which empties it for readers while it scans.
func (s *Segment) TruncateTo(offset int64) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		return 0, ErrClosed
	}
	if s.unborn.Load() {
		return s.base, nil // empty, with no file to cut
	}
	s.releaseRetired(false)
	if !s.writable || s.offsetIdx == nil {
		// Sealed, opened lazily, or parked: map the indexes for appends.
		if err := s.activateOrRecover(); err != nil {
			return 0, unavailable(err)
		}
	}
	f, err := s.openLog()
	if err != nil {
		return 0, err
	}
	fi, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("segment %d: %w", s.base, err)
	}
	size, fileSize := s.Size(), fi.Size()
	if fileSize < size {
		return 0, fmt.Errorf("segment %d: log file of %d bytes, shorter than the %d it held", s.base, fileSize, size)
	}

	// Find the cut: the first batch whose last offset reaches offset,
	// walking headers from the index entry at or before it. NextOffset is
	// exact on a writable segment, so offsets at or past it cut nothing.
	cutPos, cutOffset := size, s.next.Load()
	switch {
	case offset <= s.base:
		cutPos, cutOffset = 0, s.base
	case offset < s.next.Load():
		e := s.offsetIdx.Lookup(offset)
		sc := scanner{f: f.OS(), base: s.base, end: size, pos: e.Position, minOffset: e.Offset}
		for sc.next(false) {
			if sc.hdr.LastOffset() >= offset {
				cutPos, cutOffset = sc.cur, sc.hdr.BaseOffset
				break
			}
		}
		if sc.err != nil {
			return 0, fmt.Errorf("segment %d: truncate to %d: %w", s.base, offset, sc.err)
		}
	}
	if cutPos == size && fileSize == size {
		s.writable = true
		return s.next.Load(), nil
	}

	// Readers first, then the file: a reader that loads Size from here on
	// stops at the cut.
	s.size.Store(cutPos)
	if err := f.Truncate(cutPos); err != nil {
		// The file and the indexes still hold every batch: put them back.
		s.size.Store(size)
		return 0, fmt.Errorf("segment %d: truncate log to %d: %w", s.base, cutPos, err)
	}
	if cutPos == size {
		// Only bytes past the batches (a failed append's) were cut.
		s.writable = true
		return s.next.Load(), nil
	}
	s.offsetIdx.TruncateTo(cutOffset)
	s.timeIdx.TruncateTo(cutOffset)
	for _, p := range s.retired {
		p.offset.TruncateTo(cutOffset)
		p.time.TruncateTo(cutOffset)
	}
	if err := s.retrackTail(cutPos); err != nil {
		return 0, err
	}
	s.writable = true
	return s.next.Load(), nil
}

// retrackTail recomputes next offset, max timestamp and the bytes since the
// last index entry for a log that now ends at end, whose indexes were just
// cut to match: the time index's last entry holds the largest timestamp up
// to the last offset entry's batch, and the batches from there to the end
// (about an index interval of them) are walked. Callers hold s.mu.
func (s *Segment) retrackTail(end int64) error {
	s.next.Store(s.base)
	s.maxTimestamp.Store(-1)
	s.offsetOfMaxTimestamp.Store(s.base)
	if last, ok := s.timeIdx.Last(); ok {
		s.maxTimestamp.Store(last.Timestamp)
		s.offsetOfMaxTimestamp.Store(last.Offset)
	}
	start, minOffset := int64(0), s.base
	if last, ok := s.offsetIdx.Last(); ok {
		start, minOffset = last.Position, last.Offset
	}
	sc := scanner{f: s.log.OS(), base: s.base, end: end, pos: start, minOffset: minOffset}
	s.bytesSinceIndex = 0
	for sc.next(false) {
		s.track(&sc.hdr, sc.cur)
	}
	if sc.err != nil || sc.pos != end {
		return fmt.Errorf("segment %d: walking the log up to the cut at %d: stopped at %d: %v", s.base, end, sc.pos, sc.err)
	}
	return nil
}
