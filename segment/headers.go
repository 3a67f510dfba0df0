package segment

import (
	"fmt"

	"github.com/sluicelog/sluice/segment/batch"
)

// Headers calls fn with the header of every batch whose last offset is at
// least from, in log order, reading 61 bytes per batch and never the
// records. The engine rebuilds producer state this way. fn must not keep h.
// Walking stops at the first error fn returns, which Headers returns.
func (s *Segment) Headers(from int64, fn func(h *batch.Header) error) error {
	if !s.acquire() {
		return ErrClosed
	}
	defer s.release()
	if s.Size() == 0 {
		return nil
	}
	f, err := s.file()
	if err != nil {
		return err
	}
	oi, _, err := s.indexes()
	if err != nil {
		return err
	}
	entry := oi.Lookup(max(from, s.base))
	sc := scanner{f: f, base: s.base, end: s.Size(), pos: entry.Position, minOffset: entry.Offset}
	for sc.next(false) {
		if sc.hdr.LastOffset() < from {
			continue
		}
		if err := fn(&sc.hdr); err != nil {
			return err
		}
	}
	if sc.err != nil {
		return fmt.Errorf("segment %d: %w", s.base, sc.err)
	}
	return nil
}
