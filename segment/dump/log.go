// Package dump reads a segment's files offline, as kafka-dump-log does: the
// record batches of a .log file, the entries of its .index and .timeindex,
// and whether the indexes agree with the log. It is for tools and for the
// people who tune and fuzz the storage, so it trusts nothing: any bytes,
// however damaged, are walked without a panic, and the walk reports where
// the damage starts rather than stopping at the first oddity it can step
// over.
//
// What can be stepped over and what cannot:
//   - A batch whose header frames it (magic 2, a length within the file) but
//     whose CRC, codec, record count or offsets are wrong is reported as a
//     Problem of that batch, and the walk goes on at the next batch: its
//     length still says where that one starts.
//   - A batch whose header cannot be read (a torn header, a bad magic, a
//     length too small or running past the end of the file) ends the walk
//     with a *Damage naming its position: nothing after it can be framed.
//
// The files are read whole from an io.ReaderAt; the package keeps no state
// between calls.
package dump

import (
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/sluicelog/sluice/segment/batch"
)

// Damage is where a file stops being readable, and why.
type Damage struct {
	Position int64
	Err      error
}

func (d *Damage) Error() string { return fmt.Sprintf("damage at position %d: %v", d.Position, d.Err) }
func (d *Damage) Unwrap() error { return d.Err }

// Batch is one batch of a log file as the walk found it.
type Batch struct {
	// Position is the byte position of the batch in the file.
	Position int64
	Header   batch.Header
	// CRCValid reports whether the CRC-32C matches the covered bytes.
	CRCValid bool
	// Problems are faults of this batch that did not stop the walk: a bad
	// CRC, codec or record count, offsets not above the previous batch's.
	Problems []error
}

// WalkLog reads the batches of a log file of size bytes from r in order and
// calls fn with each and its raw bytes (valid until fn returns). It returns
// nil at a clean end, a *Damage where the file stops being framable, or
// fn's or a read's error.
func WalkLog(r io.ReaderAt, size int64, fn func(b *Batch, raw []byte) error) error {
	var head [batch.HeaderSize]byte
	var buf []byte
	next := int64(-1) // the smallest base offset the next batch may have
	for pos := int64(0); pos < size; {
		remaining := size - pos
		if remaining < batch.HeaderSize {
			return &Damage{pos, fmt.Errorf("torn batch header: %d bytes left, a header takes %d", remaining, batch.HeaderSize)}
		}
		if _, err := r.ReadAt(head[:], pos); err != nil {
			return fmt.Errorf("read at position %d: %w", pos, err)
		}
		h, err := batch.ParseHeader(head[:])
		if err != nil {
			return &Damage{pos, err}
		}
		if h.Size() > remaining {
			return &Damage{pos, fmt.Errorf("torn batch: its length says %d bytes, %d are left", h.Size(), remaining)}
		}
		buf = grow(buf, int(h.Size()))
		if _, err := r.ReadAt(buf, pos); err != nil {
			return fmt.Errorf("read batch at position %d: %w", pos, err)
		}
		b := Batch{Position: pos, Header: h, CRCValid: true}
		if _, err := batch.ValidateStored(buf); err != nil {
			b.Problems = append(b.Problems, err)
			if errors.Is(err, batch.ErrBadCRC) {
				// The CRC is checked before the codec and the record
				// count: run those too, so that all faults show.
				b.CRCValid = false
				if _, err := batch.ValidateStoredFraming(buf); err != nil {
					b.Problems = append(b.Problems, err)
				}
			}
		}
		if next >= 0 && h.BaseOffset < next {
			b.Problems = append(b.Problems, fmt.Errorf("base offset %d is not above the previous batch's last offset %d", h.BaseOffset, next-1))
		}
		if h.LastOffsetDelta >= 0 && h.BaseOffset < math.MaxInt64-int64(h.LastOffsetDelta) {
			next = max(next, h.NextOffset())
		}
		if err := fn(&b, buf); err != nil {
			return err
		}
		pos += h.Size()
	}
	return nil
}

func grow(b []byte, n int) []byte {
	if cap(b) < n {
		return make([]byte, n)
	}
	return b[:n]
}

// Records calls fn with each record of the raw batch (as WalkLog hands it
// over), decompressing it if need be; the CRC is not checked again. It
// returns the error of a record that does not decode, after calling fn with
// those before it.
func Records(raw []byte, fn func(r *batch.Record) error) error {
	rd := batch.Reader{SkipCRC: true}
	if _, err := rd.Reset(raw); err != nil {
		return err
	}
	for {
		rec, err := rd.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := fn(rec); err != nil {
			return err
		}
	}
}
