package fuzz

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/sluicelog/sluice/segment"
	"github.com/sluicelog/sluice/segment/batch"
)

// fuzzOpts keep the index files small (each run creates them) and the
// interval short so that a few batches already get index entries.
var fuzzOpts = segment.Options{IndexIntervalBytes: 64, MaxIndexBytes: 64 << 10}

// seedLog builds a log of n batches of assorted codecs, back to back, with
// offsets from 0.
func seedLog(tb testing.TB, n int) []byte {
	var log []byte
	var next int64
	codecs := []batch.Codec{batch.None, batch.Gzip, batch.Snappy, batch.LZ4, batch.Zstd}
	for i := range n {
		b := batch.NewBuilder(codecs[i%len(codecs)])
		for r := range 1 + i%3 {
			b.Append(1_700_000_000_000+int64(i*10-r), []byte{byte(r)}, fmt.Appendf(nil, "value %d/%d", i, r), nil)
		}
		data, err := b.Build()
		if err != nil {
			tb.Fatal(err)
		}
		start := len(log)
		log = append(log, data...)
		batch.SetBaseOffset(log[start:], next)
		next += int64(1 + i%3)
	}
	return log
}

// compactedLog is seedLog after a cleaning: batches thinned to every
// other record, one left empty, one gone (a gap between batches).
func compactedLog(tb testing.TB, n int) []byte {
	var out []byte
	var f batch.Filterer
	log := seedLog(tb, n)
	for i := 0; len(log) > 0; i++ {
		b, rest, err := batch.Split(log)
		if err != nil {
			tb.Fatal(err)
		}
		log = rest
		keep := func(r *batch.Record) bool { return i%4 != 2 && r.Offset%2 == 0 }
		if out, _, err = f.Filter(out, b, keep, batch.FilterOptions{KeepEmpty: i%4 == 1}); err != nil {
			tb.Fatal(err)
		}
	}
	return out
}

// FuzzSegmentRecover writes arbitrary bytes as a segment's log (and, when
// given, as its offset and time indexes), reads it lazily, then recovers it.
// Nothing may panic, and afterwards the segment must hold only valid
// batches with growing offsets, every one readable, and take appends.
func FuzzSegmentRecover(f *testing.F) {
	valid := seedLog(f, 6)
	f.Add(valid, []byte{}, []byte{})
	f.Add(valid[:len(valid)-7], []byte{}, []byte{})
	corrupt := bytes.Clone(valid)
	corrupt[len(corrupt)/2] ^= 0x40
	f.Add(corrupt, []byte{}, []byte{})
	// Indexes that point past the log, and into the middle of a batch.
	f.Add(valid[:200], []byte{0, 0, 0, 2, 0, 0, 1, 0}, []byte{0, 0, 1, 0x8b, 0xcf, 0xe5, 0x68, 0, 0, 0, 0, 9})
	f.Add(valid, []byte{0, 0, 0, 1, 0, 0, 0, 5}, []byte{})
	f.Add([]byte{}, []byte{1, 2, 3}, []byte{})
	cleaned := compactedLog(f, 9)
	f.Add(cleaned, []byte{}, []byte{})
	f.Add(cleaned[:len(cleaned)-3], []byte{}, []byte{})

	f.Fuzz(func(t *testing.T, log, idx, tidx []byte) {
		dir := t.TempDir()
		write := func(suffix string, b []byte) {
			if err := os.WriteFile(filepath.Join(dir, segment.FileName(0, suffix)), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		write(".log", log)
		if len(idx) > 0 {
			write(".index", idx)
		}
		if len(tidx) > 0 {
			write(".timeindex", tidx)
		}
		s, err := segment.Open(dir, 0, fuzzOpts)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()

		// Lazy reads over whatever is there: errors are fine, panics and
		// regions past the file are not.
		for _, o := range []int64{0, 1, 5, 100, 1 << 40} {
			r, err := s.Read(o, 1<<20, -1)
			if err != nil {
				continue
			}
			if r.Pos+r.Len > int64(len(log)) {
				t.Fatalf("lazy Read(%d) gave region [%d, %d) past the %d-byte log", o, r.Pos, r.Pos+r.Len, len(log))
			}
			if _, err := r.ReadTo(nil); err != nil {
				t.Fatalf("lazy ReadTo: %v", err)
			}
			r.Release()
		}
		s.OffsetForTimestamp(1_700_000_000_000)
		s.MaxTimestamp()

		rec, err := s.Recover()
		if err != nil {
			t.Fatalf("Recover: %v", err)
		}
		size := s.Size()
		if rec.ValidBytes != size || rec.TruncatedBytes != int64(len(log))-size {
			t.Fatalf("Recover = %+v with Size %d of %d bytes", rec, size, len(log))
		}
		if (rec.TruncatedBytes == 0) != (rec.Reason == nil) {
			t.Fatalf("Recover = %+v: a cut needs a reason and only a cut has one", rec)
		}
		got, err := os.ReadFile(filepath.Join(dir, segment.FileName(0, ".log")))
		if err != nil {
			t.Fatal(err)
		}
		if int64(len(got)) != size || !bytes.Equal(got, log[:size]) {
			t.Fatalf("log after Recover: %d bytes, Size %d; kept bytes must be the original prefix", len(got), size)
		}

		// Every kept batch is valid, offsets grow, and reads find it.
		type kept struct{ pos, base, last int64 }
		var batches []kept
		next := int64(0)
		for rest, pos := got, int64(0); len(rest) > 0; {
			first, tail, err := batch.Split(rest)
			if err != nil {
				t.Fatalf("kept bytes at %d: %v", pos, err)
			}
			h, err := batch.ValidateStored(first)
			if err != nil {
				t.Fatalf("kept batch at %d: %v", pos, err)
			}
			if h.BaseOffset < next {
				t.Fatalf("kept batch at %d: base offset %d below %d", pos, h.BaseOffset, next)
			}
			batches = append(batches, kept{pos, h.BaseOffset, h.LastOffset()})
			next = h.NextOffset()
			pos += int64(len(first))
			rest = tail
		}
		if rec.Batches != len(batches) {
			t.Fatalf("Recover kept %d batches, the log holds %d", rec.Batches, len(batches))
		}
		if s.NextOffset() != next {
			t.Fatalf("NextOffset %d, want %d", s.NextOffset(), next)
		}
		readAll := func(s *segment.Segment) {
			for _, b := range batches {
				for _, o := range []int64{b.base, b.last} {
					r, err := s.Read(o, 1, -1)
					if err != nil {
						t.Fatalf("Read(%d): %v", o, err)
					}
					if r.Pos != b.pos || r.BaseOffset != b.base {
						t.Fatalf("Read(%d) at %d base %d, want %d base %d", o, r.Pos, r.BaseOffset, b.pos, b.base)
					}
					r.Release()
				}
			}
			if r, err := s.Read(next, 1<<20, -1); err != nil || r.Len != 0 {
				t.Fatalf("Read past the end: %+v, %v", r, err)
			}
			if _, _, err := s.OffsetForTimestamp(0); err != nil && !errors.Is(err, batch.ErrCorruptRecords) {
				// Recovery does not decompress; records may be corrupt
				// under a good CRC, and only that may fail.
				t.Fatalf("OffsetForTimestamp: %v", err)
			}
		}
		readAll(s)

		// The segment takes a fresh batch at its next offset, unless its
		// offsets ran out (then the caller rolls).
		b := batch.NewBuilder(batch.None)
		b.Append(1_700_000_000_000, nil, []byte("after recovery"), nil)
		fresh, err := b.Build()
		if err != nil {
			t.Fatal(err)
		}
		batch.SetBaseOffset(fresh, next)
		err = s.Append(fresh)
		if errors.Is(err, segment.ErrFull) && next > 1<<32-1 {
			return
		}
		if err != nil {
			t.Fatalf("Append at %d after Recover: %v", next, err)
		}
		batches = append(batches, kept{size, next, next})
		next++
		readAll(s)

		// And it reopens to the same.
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s2, err := segment.Open(dir, 0, fuzzOpts)
		if err != nil {
			t.Fatal(err)
		}
		defer s2.Close()
		readAll(s2)
	})
}
