package segment

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/sluicelog/sluice/segment/batch"
)

// Region is a run of whole batches in a segment file: Len bytes at Pos of
// File. It is what a fetch sends with sendfile. The file stays open until
// Release, even if the segment is deleted meanwhile; File must not be
// closed, seeked or written by the holder.
type Region struct {
	File *os.File
	Pos  int64
	Len  int64
	// BaseOffset is the base offset of the first batch in the region.
	BaseOffset int64
	// NextOffset is the offset after the region's last batch, or -1 when
	// the region runs to the end of what the reader let it see (the
	// segment's end, or maxPosition): the reader knows the offset there
	// (the next segment's base, or the high watermark's offset) while
	// the segment would have to read its last batch's header to tell.
	NextOffset int64

	seg *Segment
}

// Release gives the region's reference back. It is safe on an empty Region
// and after a previous Release.
func (r *Region) Release() {
	if r.seg != nil {
		r.seg.release()
		r.seg = nil
	}
}

// ReadTo copies the region's bytes into dst, growing it as needed, and
// returns the extended slice. It does not release the region.
func (r *Region) ReadTo(dst []byte) ([]byte, error) {
	if r.Len == 0 {
		return dst, nil
	}
	n := len(dst)
	need := n + int(r.Len)
	if cap(dst) < need {
		grown := make([]byte, n, need)
		copy(grown, dst)
		dst = grown
	}
	dst = dst[:need]
	if m, err := r.File.ReadAt(dst[n:], r.Pos); m < int(r.Len) {
		if err == nil || err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return dst[:n], fmt.Errorf("read region of %d bytes at %d: %w", r.Len, r.Pos, err)
	}
	return dst, nil
}

// Read returns the region that starts at the batch holding offset and holds
// as many whole batches as fit in maxBytes, ending at or before maxPosition
// (pass -1 for the end of the log). maxPosition must be a batch boundary,
// such as a value Size returned (the high watermark's position). The first
// batch is returned whole even when it alone is larger than maxBytes, so a
// consumer always progresses, as in Kafka. An offset at or past the
// segment's end gives an empty region; one below its base gives
// ErrOffsetOutOfRange; a closed or deleted segment gives ErrClosed. A
// non-empty region must be released. Read allocates nothing.
func (s *Segment) Read(offset, maxBytes, maxPosition int64) (Region, error) {
	if offset < s.base {
		return Region{}, fmt.Errorf("segment %d: offset %d: %w", s.base, offset, ErrOffsetOutOfRange)
	}
	if !s.acquire() {
		return Region{}, ErrClosed
	}
	r, err := s.read(offset, maxBytes, maxPosition)
	if err != nil || r.Len == 0 {
		s.release()
		return Region{}, err
	}
	r.seg = s
	return r, nil
}

func (s *Segment) read(offset, maxBytes, maxPosition int64) (Region, error) {
	if s.Size() == 0 || maxPosition == 0 {
		return Region{}, nil
	}
	f, err := s.file()
	if err != nil {
		return Region{}, err
	}
	oi, _, err := s.indexes()
	if err != nil {
		return Region{}, err
	}
	// Loaded after indexes, which may find damage and lower it.
	size := s.Size()
	limit := size
	if maxPosition >= 0 && maxPosition < limit {
		limit = maxPosition
	}
	entry := oi.Lookup(offset)
	sc := scanner{f: f, base: s.base, end: limit, pos: entry.Position, minOffset: entry.Offset}
	found := false
	for sc.next(false) {
		if sc.hdr.LastOffset() >= offset {
			found = true
			break
		}
	}
	if !found {
		// A batch that runs past maxPosition is past what the caller may
		// see, not damage.
		if sc.err != nil && (limit == size || !errors.Is(sc.err, batch.ErrTruncated)) {
			return Region{}, fmt.Errorf("segment %d: %w", s.base, sc.err)
		}
		return Region{}, nil
	}
	start := sc.cur
	r := Region{File: f, Pos: start, BaseOffset: sc.hdr.BaseOffset, NextOffset: -1}
	if maxBytes >= limit-start {
		// The common case for a caught-up consumer: everything fits.
		r.Len = limit - start // NextOffset stays -1: see Region
		return r, nil
	}
	budget := start + max(maxBytes, 0) // below limit, so no overflow
	end := sc.pos                      // the first batch, whole
	r.NextOffset = sc.hdr.NextOffset()
	// Jump with the index to the last indexed batch boundary within budget
	// (every batch before it fits), then walk headers to the last batch
	// that fits.
	if e := oi.LookupPosition(budget); e.Position > end {
		// Index entries name the base offset of the batch at their
		// position: the one after the region, if the walk stops here.
		sc.pos, sc.minOffset = e.Position, e.Offset
		end, r.NextOffset = e.Position, e.Offset
	}
	// A scan error past the first batch ends the region early; a reader
	// that asks for the damaged batch itself gets the error.
	for sc.next(false) && sc.pos <= budget {
		end, r.NextOffset = sc.pos, sc.hdr.NextOffset()
	}
	r.Len = end - start
	return r, nil
}

// ReadBytes is Read followed by a copy into dst: a convenience for callers
// that want the bytes rather than a region to send.
func (s *Segment) ReadBytes(dst []byte, offset, maxBytes int64) ([]byte, error) {
	r, err := s.Read(offset, maxBytes, -1)
	if err != nil {
		return dst, err
	}
	defer r.Release()
	return r.ReadTo(dst)
}

// timeReader is OffsetForTimestamp's scratch space: a batch buffer and a
// Reader whose decoders (zstd's especially) cost far more to make than to
// reuse.
type timeReader struct {
	rd  batch.Reader
	buf []byte
}

var timeReaders = sync.Pool{New: func() any { return new(timeReader) }}

// OffsetForTimestamp returns the offset of the first record whose timestamp
// is at least ts, as ListOffsets by timestamp asks. found is false when every
// record in the segment is older. It decompresses the one batch that holds
// the answer.
func (s *Segment) OffsetForTimestamp(ts int64) (offset int64, found bool, err error) {
	if !s.acquire() {
		return 0, false, ErrClosed
	}
	defer s.release()
	if s.Size() == 0 {
		return 0, false, nil // nothing to find, and no file to open for it
	}
	f, err := s.file()
	if err != nil {
		return 0, false, err
	}
	oi, ti, err := s.indexes()
	if err != nil {
		return 0, false, err
	}
	te := ti.Lookup(ts)
	entry := oi.Lookup(te.Offset)
	sc := scanner{f: f, base: s.base, end: s.Size(), pos: entry.Position, minOffset: entry.Offset}
	tr := timeReaders.Get().(*timeReader)
	defer timeReaders.Put(tr)
	rd := &tr.rd
	for sc.next(false) {
		if sc.hdr.MaxTimestamp < ts {
			continue
		}
		n := int(sc.hdr.Size())
		if cap(tr.buf) < n {
			tr.buf = make([]byte, n)
		}
		buf := tr.buf[:n]
		if m, err := f.ReadAt(buf, sc.cur); m < n {
			return 0, false, fmt.Errorf("segment %d: read batch at %d: %w", s.base, sc.cur, err)
		}
		if _, err := rd.Reset(buf); err != nil {
			return 0, false, fmt.Errorf("segment %d: batch at %d: %w", s.base, sc.cur, err)
		}
		for {
			rec, err := rd.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				return 0, false, fmt.Errorf("segment %d: batch at %d: %w", s.base, sc.cur, err)
			}
			if rec.Timestamp >= ts {
				return rec.Offset, true, nil
			}
		}
		// A producer may claim a max timestamp that no record carries; the
		// answer is then in a later batch.
	}
	if sc.err != nil {
		return 0, false, fmt.Errorf("segment %d: %w", s.base, sc.err)
	}
	return 0, false, nil
}
