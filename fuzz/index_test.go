package fuzz

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/sluicelog/sluice/index"
)

// fuzzBase is the segment base offset the fuzzed index files belong to.
const fuzzBase = 1000

// FuzzIndexOpen writes arbitrary bytes as an offset index file and as a time
// index file and opens each as it is and preallocated. Opening must either
// refuse the file with ErrCorrupt or yield entries that keep the index's
// ordering rules, answer every Lookup as a linear scan of them does, take
// one more Append when there is room, and reopen to the same entries after
// Close trims the file.
func FuzzIndexOpen(f *testing.F) {
	be32 := binary.BigEndian.AppendUint32
	be64 := binary.BigEndian.AppendUint64
	var offsets, times []byte
	for i := range uint32(5) {
		offsets = be32(be32(offsets, i*7), i*4096+1)
		times = be32(be64(times, uint64(1_700_000_000_000+int64(i)*10)), i*7)
	}
	f.Add([]byte{})
	f.Add(offsets)
	f.Add(append(slices.Clone(offsets), make([]byte, 48)...)) // untrimmed offset index
	f.Add(times)
	f.Add(append(slices.Clone(times), make([]byte, 48)...))       // untrimmed time index
	f.Add(make([]byte, 24))                                       // all zero: empty
	f.Add(append(make([]byte, 8), offsets...))                    // zero first entry, then more
	f.Add([]byte{0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 3}) // repeated offset
	f.Add(append(slices.Clone(offsets[:8]), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9))

	// One directory for the whole run: inputs run one at a time in each
	// process, and each reuses the same two file names.
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		var verdict []error
		for _, maxBytes := range []int{0, len(data) + 4*index.TimeEntrySize} {
			verdict = append(verdict, fuzzOffset(t, dir, data, maxBytes), fuzzTime(t, dir, data, maxBytes))
		}
		// Preallocation must not change whether a file is accepted.
		if (verdict[0] == nil) != (verdict[2] == nil) || (verdict[1] == nil) != (verdict[3] == nil) {
			t.Fatalf("verdict depends on maxBytes: %v", verdict)
		}
	})
}

// lookupTargets returns targets around each key and at the extremes, at most
// a few hundred so a large input stays quick.
func lookupTargets(keys []int64, extra ...int64) []int64 {
	ts := append([]int64{-1 << 63, -1, 0, 1, 1<<63 - 1}, extra...)
	step := max(1, len(keys)/100)
	for i := 0; i < len(keys); i += step {
		ts = append(ts, keys[i]-1, keys[i], keys[i]+1)
	}
	if n := len(keys); n > 0 {
		ts = append(ts, keys[n-1]-1, keys[n-1], keys[n-1]+1)
	}
	return ts
}

func fuzzOffset(t *testing.T, dir string, data []byte, maxBytes int) error {
	path := filepath.Join(dir, "x.index")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	x, err := index.OpenOffset(path, fuzzBase, maxBytes)
	if err != nil {
		if !errors.Is(err, index.ErrCorrupt) {
			t.Fatalf("OpenOffset(maxBytes %d): %v, want nil or ErrCorrupt", maxBytes, err)
		}
		return err
	}
	es := make([]index.OffsetEntry, x.Entries())
	keys := make([]int64, len(es))
	for i := range es {
		es[i] = x.Entry(i)
		keys[i] = es[i].Offset
		if i > 0 && (es[i].Offset <= es[i-1].Offset || es[i].Position <= es[i-1].Position) {
			t.Fatalf("entries %d and %d not increasing: %v, %v", i-1, i, es[i-1], es[i])
		}
		if es[i].Offset < fuzzBase || es[i].Position < 0 {
			t.Fatalf("entry %d out of range: %v", i, es[i])
		}
	}
	if len(es)*index.OffsetEntrySize > max(len(data), maxBytes) {
		t.Fatalf("%d entries from %d bytes", len(es), len(data))
	}
	if last, ok := x.Last(); ok != (len(es) > 0) || (ok && last != es[len(es)-1]) {
		t.Fatalf("Last() = %v, %v with %d entries", last, ok, len(es))
	}
	for _, target := range lookupTargets(keys, fuzzBase-1, fuzzBase, fuzzBase+1<<32) {
		want := index.OffsetEntry{Offset: fuzzBase}
		for _, e := range es {
			if e.Offset <= target {
				want = e
			}
		}
		if got := x.Lookup(target); got != want {
			t.Fatalf("Lookup(%d) = %v, want %v", target, got, want)
		}
	}
	if maxBytes > 0 && !x.Full() {
		next := index.OffsetEntry{Offset: fuzzBase, Position: 0}
		if n := len(es); n > 0 {
			next = index.OffsetEntry{Offset: es[n-1].Offset + 1, Position: es[n-1].Position + 1}
		}
		switch err := x.Append(next.Offset, next.Position); {
		case err == nil:
			es = append(es, next)
		case errors.Is(err, index.ErrRange):
		default:
			t.Fatalf("Append(%v) with room: %v", next, err)
		}
	}
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Size() != int64(len(es)*index.OffsetEntrySize) {
		t.Fatalf("after Close: %v, size %d for %d entries", err, fi.Size(), len(es))
	}
	y, err := index.OpenOffset(path, fuzzBase, 0)
	if err != nil {
		t.Fatalf("reopen after Close: %v", err)
	}
	defer y.Close()
	got := make([]index.OffsetEntry, y.Entries())
	for i := range got {
		got[i] = y.Entry(i)
	}
	// A lone (base, 0) entry reads back as no entry; see the index package.
	if lone := len(es) == 1 && es[0] == (index.OffsetEntry{Offset: fuzzBase}); !slices.Equal(got, es) && !(lone && len(got) == 0) {
		t.Fatalf("reopen: %v, want %v", got, es)
	}
	return nil
}

func fuzzTime(t *testing.T, dir string, data []byte, maxBytes int) error {
	path := filepath.Join(dir, "x.timeindex")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	x, err := index.OpenTime(path, fuzzBase, maxBytes)
	if err != nil {
		if !errors.Is(err, index.ErrCorrupt) {
			t.Fatalf("OpenTime(maxBytes %d): %v, want nil or ErrCorrupt", maxBytes, err)
		}
		return err
	}
	es := make([]index.TimeEntry, x.Entries())
	keys := make([]int64, len(es))
	for i := range es {
		es[i] = x.Entry(i)
		keys[i] = es[i].Timestamp
		if es[i].Timestamp < 0 || es[i].Offset < fuzzBase {
			t.Fatalf("entry %d out of range: %v", i, es[i])
		}
		if i > 0 && (es[i].Timestamp <= es[i-1].Timestamp || es[i].Offset < es[i-1].Offset) {
			t.Fatalf("entries %d and %d out of order: %v, %v", i-1, i, es[i-1], es[i])
		}
	}
	if last, ok := x.Last(); ok != (len(es) > 0) || (ok && last != es[len(es)-1]) {
		t.Fatalf("Last() = %v, %v with %d entries", last, ok, len(es))
	}
	for _, target := range lookupTargets(keys) {
		want := index.TimeEntry{Timestamp: -1, Offset: fuzzBase}
		for _, e := range es {
			if e.Timestamp <= target {
				want = e
			}
		}
		if got := x.Lookup(target); got != want {
			t.Fatalf("Lookup(%d) = %v, want %v", target, got, want)
		}
	}
	if maxBytes > 0 && !x.Full() {
		next := index.TimeEntry{Timestamp: 0, Offset: fuzzBase}
		if n := len(es); n > 0 {
			next = index.TimeEntry{Timestamp: es[n-1].Timestamp + 1, Offset: es[n-1].Offset}
		}
		switch err := x.Append(next.Timestamp, next.Offset); {
		case err == nil:
			es = append(es, next)
		case errors.Is(err, index.ErrRange): // the last timestamp was the largest int64
		default:
			t.Fatalf("Append(%v) with room: %v", next, err)
		}
	}
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	y, err := index.OpenTime(path, fuzzBase, 0)
	if err != nil {
		t.Fatalf("reopen after Close: %v", err)
	}
	defer y.Close()
	got := make([]index.TimeEntry, y.Entries())
	for i := range got {
		got[i] = y.Entry(i)
	}
	if lone := len(es) == 1 && es[0] == (index.TimeEntry{Offset: fuzzBase}); !slices.Equal(got, es) && !(lone && len(got) == 0) {
		t.Fatalf("reopen: %v, want %v", got, es)
	}
	// ReadLastTime agrees with the mapped index.
	last, ok, err := index.ReadLastTime(path, fuzzBase)
	if wantLast, wantOK := y.Last(); err != nil || ok != wantOK || last != wantLast {
		t.Fatalf("ReadLastTime = %v, %v, %v; want %v, %v", last, ok, err, wantLast, wantOK)
	}
	return nil
}
