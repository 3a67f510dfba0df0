package segment

import (
	"fmt"

	"github.com/sluicelog/sluice/index"
)

// RecoverFrom is Recover for a segment whose log is known to be durable
// and valid up to pos, the position where the batch at offset begins: a
// recovery point stored with its position, written after the log and its
// indexes were flushed. It keeps the index entries below offset, walks the
// batch headers from the last of them to pos (about one index interval)
// to find the tail's state, and validates batch by batch only the log from
// pos on, cutting it at the first bad batch as Recover does. Whenever the
// indexes or that walk disagree with pos, or pos lies past the file, it
// does the full Recover instead. The segment is writable afterwards.
func (s *Segment) RecoverFrom(offset, pos int64) (Recovery, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		return Recovery{}, ErrClosed
	}
	if s.unborn.Load() {
		return Recovery{}, nil
	}
	rec, ok, err := s.recoverFromLocked(offset, pos)
	if err != nil || ok {
		return rec, err
	}
	s.opts.Logger.Warn("segment disagrees with its recovery point; validating all of it",
		"dir", s.dir, "segment", s.base, "offset", offset, "position", pos)
	return s.recoverLocked()
}

// recoverFromLocked is RecoverFrom without the fallback: ok is false when
// the full recovery must run (nothing was changed but the index mappings,
// which Recover rebuilds).
func (s *Segment) recoverFromLocked(offset, pos int64) (_ Recovery, ok bool, _ error) {
	if _, err := s.openLog(); err != nil {
		return Recovery{}, false, err
	}
	fi, err := s.log.Stat()
	if err != nil {
		return Recovery{}, false, fmt.Errorf("segment %d: %w", s.base, err)
	}
	fileSize := fi.Size()
	if pos < 0 || pos > fileSize || offset < s.base || (pos == 0) != (offset == s.base) {
		return Recovery{}, false, nil
	}
	s.dropIndexes()
	oi, err := index.OpenOffsetFS(s.opts.FS, s.path(".index"), s.base, s.opts.MaxIndexBytes)
	if err != nil {
		return Recovery{}, false, nil // damaged: Recover rebuilds it
	}
	ti, err := index.OpenTimeFS(s.opts.FS, s.path(".timeindex"), s.base, s.opts.MaxIndexBytes/2*3)
	if err != nil {
		oi.Close()
		return Recovery{}, false, nil
	}
	s.offsetIdx, s.timeIdx = oi, ti
	s.opts.Handles.mapped(1)
	// Entries at or past offset may describe batches the crash lost.
	oi.TruncateTo(offset)
	ti.TruncateTo(offset)
	if last, ok := oi.Last(); (ok && last.Position >= pos) || s.retrackTail(pos) != nil || s.next.Load() != offset {
		s.dropIndexes()
		return Recovery{}, false, nil
	}
	sc := scanner{f: s.log.OS(), base: s.base, end: fileSize, pos: pos, minOffset: offset}
	rec := Recovery{ScannedBytes: fileSize - pos}
	for sc.next(true) {
		s.track(&sc.hdr, sc.cur)
		rec.Batches++
	}
	rec.ValidBytes = sc.pos
	rec.TruncatedBytes = fileSize - sc.pos
	if rec.TruncatedBytes > 0 {
		rec.Reason = sc.err
		if err := s.log.Truncate(sc.pos); err != nil {
			return rec, true, fmt.Errorf("segment %d: truncate to %d: %w", s.base, sc.pos, err)
		}
		s.opts.Logger.Warn("recovery truncated segment",
			"dir", s.dir, "segment", s.base, "kept_bytes", sc.pos,
			"cut_bytes", rec.TruncatedBytes, "scanned_from", pos, "reason", sc.err)
	}
	s.size.Store(sc.pos)
	s.writable = true
	s.unparked()
	return rec, true, nil
}
