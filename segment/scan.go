package segment

import (
	"errors"
	"fmt"
	"math"
	"os"

	"github.com/sluicelog/sluice/segment/batch"
)

// maxRelOffset is the furthest past its base offset a segment's offsets may
// go: index entries store them as uint32.
const maxRelOffset = math.MaxUint32

var errOffsetRange = errors.New("batch offsets outside the segment's range")

// offsetsFit reports whether a batch whose base offset is at least base
// stays within the segment's offset range, and whether its offsets run
// forward at all (a negative delta would make the next batch's go back).
// It is careful not to overflow near the int64 limit.
func offsetsFit(h *batch.Header, base int64) bool {
	return h.LastOffsetDelta >= 0 && h.BaseOffset-base <= maxRelOffset-int64(h.LastOffsetDelta)
}

// scanner walks the batches of a log file from a position up to end.
//
// After next returns true, hdr is the batch's header, cur its position and
// pos the position after it. After next returns false, pos is where the
// valid data ends and err says why the walk stopped (nil at a clean end).
type scanner struct {
	// f is the log's *os.File: reading through the fsys.File interface
	// would move head (and so the scanner) to the heap on every Read.
	f   *os.File
	end int64
	// base is the segment's base offset: every batch must lie within
	// [base, base+2^32-1], which is what the indexes can express.
	base int64
	// minOffset is the smallest base offset the next batch may have: offsets
	// only grow through a log.
	minOffset int64

	pos int64
	cur int64
	hdr batch.Header
	err error

	head [batch.HeaderSize]byte
	buf  []byte
}

// next reads the following batch. With verify it reads the whole batch and
// checks it as batch.ValidateStored does (CRC, codec, a record count that a
// compacted batch may hold: from zero to its offset range); without, it
// trusts the batch and reads only its header.
func (sc *scanner) next(verify bool) bool {
	if sc.err != nil || sc.pos >= sc.end {
		return false
	}
	remaining := sc.end - sc.pos
	if remaining < batch.HeaderSize {
		sc.err = fmt.Errorf("torn batch header at position %d: %d bytes left: %w", sc.pos, remaining, batch.ErrTruncated)
		return false
	}
	if n, err := sc.f.ReadAt(sc.head[:], sc.pos); n < len(sc.head) {
		sc.err = fmt.Errorf("read header at position %d: %w", sc.pos, err)
		return false
	}
	h, err := batch.ParseHeader(sc.head[:])
	if err != nil {
		sc.err = fmt.Errorf("batch at position %d: %w", sc.pos, err)
		return false
	}
	if h.Size() > remaining {
		sc.err = fmt.Errorf("torn batch at position %d: needs %d bytes, %d left: %w", sc.pos, h.Size(), remaining, batch.ErrTruncated)
		return false
	}
	if sc.pos+h.Size() > MaxSegmentBytes {
		sc.err = fmt.Errorf("batch at position %d: ends past the segment limit %d: %w", sc.pos, int64(MaxSegmentBytes), ErrFull)
		return false
	}
	if h.BaseOffset < sc.minOffset {
		sc.err = fmt.Errorf("batch at position %d: base offset %d below %d: %w", sc.pos, h.BaseOffset, sc.minOffset, ErrOffsetOrder)
		return false
	}
	if !offsetsFit(&h, sc.base) {
		sc.err = fmt.Errorf("batch at position %d: offsets %d+%d outside [%d, %d]: %w",
			sc.pos, h.BaseOffset, h.LastOffsetDelta, sc.base, sc.base+maxRelOffset, errOffsetRange)
		return false
	}
	if verify {
		n := int(h.Size())
		if cap(sc.buf) < n {
			sc.buf = make([]byte, n)
		}
		b := sc.buf[:n]
		if m, err := sc.f.ReadAt(b, sc.pos); m < n {
			sc.err = fmt.Errorf("read batch at position %d: %w", sc.pos, err)
			return false
		}
		if h, err = batch.ValidateStored(b); err != nil {
			sc.err = fmt.Errorf("batch at position %d: %w", sc.pos, err)
			return false
		}
	}
	sc.hdr = h
	sc.cur = sc.pos
	sc.pos += h.Size()
	sc.minOffset = h.NextOffset()
	return true
}
