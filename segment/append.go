package segment

import (
	"errors"
	"fmt"

	"github.com/sluicelog/sluice/segment/batch"
)

// ErrNotWritable is returned by Append on a segment that was sealed or
// opened lazily without Activate or Recover.
var ErrNotWritable = errors.New("segment not writable")

// Append writes one or more whole batches, back to back in b, with a single
// write call. Their offsets must already be assigned, ascending from
// NextOffset(); the caller has validated them (CRC and all). Index entries
// are added as the batches cross IndexIntervalBytes. On a write error the
// file is cut back so that no partial batch stays behind, and the segment is
// unchanged. A parked segment (see Park) reopens its files first; a reopen,
// or an index growth, that fails for want of a resource matches
// ErrUnavailable and writes nothing.
func (s *Segment) Append(b []byte) error {
	if s.closed.Load() {
		return ErrClosed
	}
	if !s.writable {
		return ErrNotWritable
	}
	if s.parked.Load() {
		if err := s.unpark(); err != nil {
			return err
		}
	}
	s.touch()
	size := s.Size()
	if int64(len(b)) > MaxSegmentBytes-size {
		return ErrFull
	}
	next := s.next.Load()
	batches := 0
	for rest := b; len(rest) > 0; {
		batches++
		var first []byte
		var err error
		if first, rest, err = batch.Split(rest); err != nil {
			return fmt.Errorf("segment %d: %w", s.base, err)
		}
		h, err := batch.ParseHeader(first)
		if err != nil {
			return fmt.Errorf("segment %d: %w", s.base, err)
		}
		if h.BaseOffset < next {
			return fmt.Errorf("segment %d: batch offset %d, next is %d: %w", s.base, h.BaseOffset, next, ErrOffsetOrder)
		}
		if h.LastOffsetDelta < 0 {
			return fmt.Errorf("segment %d: batch at offset %d with last offset delta %d: %w", s.base, h.BaseOffset, h.LastOffsetDelta, batch.ErrBadRecordCount)
		}
		if !offsetsFit(&h, s.base) {
			return ErrFull
		}
		next = h.NextOffset()
	}
	if s.offsetIdx.Full() || s.timeIdx.Full() {
		return ErrFull
	}
	// Each batch adds an index entry at most: file blocks for them now, so
	// that a full disk fails the append before the log is written rather
	// than leave it without its index entries.
	if err := s.offsetIdx.Reserve(batches); err != nil {
		return fmt.Errorf("segment %d: %w", s.base, unavailable(err))
	}
	if err := s.timeIdx.Reserve(batches); err != nil {
		return fmt.Errorf("segment %d: %w", s.base, unavailable(err))
	}
	if _, err := s.log.WriteAt(b, size); err != nil {
		// Best effort: a failed cut is cut again by recovery, and readers
		// never look past size.
		_ = s.log.Truncate(size)
		return fmt.Errorf("segment %d: write at %d: %w", s.base, size, err)
	}
	s.size.Store(size + int64(len(b)))
	pos := size
	for rest := b; len(rest) > 0; {
		h, _ := batch.ParseHeader(rest)
		s.track(&h, pos)
		pos += h.Size()
		rest = rest[h.Size():]
	}
	return nil
}
