package index_test

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/sluicelog/sluice/index"
)

// genOffsets returns n entries whose offsets and positions both strictly
// increase, starting at base, with gaps like a real segment's.
func genOffsets(rng *rand.Rand, base int64, n int) []index.OffsetEntry {
	out := make([]index.OffsetEntry, n)
	off, pos := base+rng.Int64N(3), rng.Int64N(100)
	for i := range out {
		out[i] = index.OffsetEntry{Offset: off, Position: pos}
		off += 1 + rng.Int64N(50)
		pos += 1 + rng.Int64N(8000)
	}
	return out
}

// genTimes returns n entries with strictly increasing timestamps and
// non-decreasing offsets from base.
func genTimes(rng *rand.Rand, base int64, n int) []index.TimeEntry {
	out := make([]index.TimeEntry, n)
	ts, off := 1_700_000_000_000+rng.Int64N(1000), base+rng.Int64N(3)
	for i := range out {
		out[i] = index.TimeEntry{Timestamp: ts, Offset: off}
		ts += 1 + rng.Int64N(1000)
		off += rng.Int64N(20) // may repeat
	}
	return out
}

// refOffset is the brute-force answer to Offset.Lookup: a linear scan of
// the sorted entries.
func refOffset(es []index.OffsetEntry, base, target int64) index.OffsetEntry {
	best := index.OffsetEntry{Offset: base}
	for _, e := range es {
		if e.Offset > target {
			break
		}
		best = e
	}
	return best
}

// refTime is the brute-force answer to Time.Lookup: a linear scan of the
// sorted entries.
func refTime(es []index.TimeEntry, base, target int64) index.TimeEntry {
	best := index.TimeEntry{Timestamp: -1, Offset: base}
	for _, e := range es {
		if e.Timestamp > target {
			break
		}
		best = e
	}
	return best
}

// offsetTargets returns lookup targets around every entry and the edges.
func offsetTargets(es []index.OffsetEntry, base int64) []int64 {
	ts := []int64{-1 << 63, -1, 0, base - 1, base, base + 1, base + 1<<32, 1<<63 - 1}
	for _, e := range es {
		ts = append(ts, e.Offset-1, e.Offset, e.Offset+1)
	}
	return ts
}

// timeTargets returns lookup targets around every entry and the edges.
func timeTargets(es []index.TimeEntry) []int64 {
	ts := []int64{-1 << 63, -2, -1, 0, 1, 1<<63 - 1}
	for _, e := range es {
		ts = append(ts, e.Timestamp-1, e.Timestamp, e.Timestamp+1)
	}
	return ts
}

// offsetEntries returns the index's entries through Entry.
func offsetEntries(x *index.Offset) []index.OffsetEntry {
	out := make([]index.OffsetEntry, x.Entries())
	for i := range out {
		out[i] = x.Entry(i)
	}
	return out
}

// timeEntries returns the index's entries through Entry.
func timeEntries(x *index.Time) []index.TimeEntry {
	out := make([]index.TimeEntry, x.Entries())
	for i := range out {
		out[i] = x.Entry(i)
	}
	return out
}

func fileSize(t testing.TB, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// crashCopy copies the index file at path, as the page cache holds it while
// the index is open and untrimmed, to a new file: what a crash would leave.
func crashCopy(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "crashed"+filepath.Ext(path))
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return dst
}

func newOffset(t testing.TB, base int64, maxBytes int) (*index.Offset, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "00000000000000000000.index")
	x, err := index.OpenOffset(path, base, maxBytes)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { x.Close() })
	return x, path
}

func newTime(t testing.TB, base int64, maxBytes int) (*index.Time, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "00000000000000000000.timeindex")
	x, err := index.OpenTime(path, base, maxBytes)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { x.Close() })
	return x, path
}
