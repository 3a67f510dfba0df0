package index_test

import (
	"math/rand/v2"
	"testing"

	"github.com/sluicelog/sluice/index"
)

const benchEntries = 1 << 20 // 8 MiB of offset index, 12 MiB of time index

// benchOffset returns an offset index of benchEntries entries: offsets every
// 4 from base, positions every 4096 bytes (index.interval.bytes) would pass
// 4 GiB, so every 4000.
func benchOffset(b *testing.B) *index.Offset {
	x, _ := newOffset(b, 0, benchEntries*index.OffsetEntrySize)
	for i := range int64(benchEntries) {
		if err := x.Append(4*i, 4000*i+1); err != nil {
			b.Fatal(err)
		}
	}
	return x
}

// targets returns 4096 lookup targets: hot ones among the last 1024
// entries, cold ones anywhere.
func targets(hot bool, last, step int64) []int64 {
	rng := rand.New(rand.NewPCG(1, 1))
	out := make([]int64, 4096)
	for i := range out {
		if hot {
			out[i] = last - rng.Int64N(1000*step)
		} else {
			out[i] = rng.Int64N(last + 1)
		}
	}
	return out
}

func BenchmarkOffsetLookup(b *testing.B) {
	x := benchOffset(b)
	last, _ := x.Last()
	for _, c := range []struct {
		name string
		hot  bool
		fn   func(int64) index.OffsetEntry
	}{
		{"hot", true, x.Lookup},
		{"cold", false, x.Lookup},
		{"hot-fullsearch", true, x.LookupFull},
		{"cold-fullsearch", false, x.LookupFull},
	} {
		b.Run(c.name, func(b *testing.B) {
			ts := targets(c.hot, last.Offset, 4)
			b.ReportAllocs()
			var sink int64
			i := 0
			for b.Loop() {
				sink += c.fn(ts[i&4095]).Position
				i++
			}
			_ = sink
		})
	}
}

func BenchmarkOffsetAppend(b *testing.B) {
	x, _ := newOffset(b, 0, benchEntries*index.OffsetEntrySize)
	b.ReportAllocs()
	b.SetBytes(index.OffsetEntrySize)
	var off int64
	for b.Loop() {
		err := x.Append(off, off+1)
		if err == index.ErrFull {
			b.StopTimer()
			x.Reset()
			off = 0
			b.StartTimer()
			err = x.Append(off, off+1)
		}
		if err != nil {
			b.Fatal(err)
		}
		off++
	}
}

func BenchmarkTimeLookup(b *testing.B) {
	x, _ := newTime(b, 0, benchEntries*index.TimeEntrySize)
	for i := range int64(benchEntries) {
		if err := x.Append(1_700_000_000_000+10*i, 4*i); err != nil {
			b.Fatal(err)
		}
	}
	last, _ := x.Last()
	first := x.Entry(0).Timestamp
	for _, c := range []struct {
		name string
		hot  bool
		fn   func(int64) index.TimeEntry
	}{
		{"hot", true, x.Lookup},
		{"cold", false, x.Lookup},
		{"cold-fullsearch", false, x.LookupFull},
	} {
		b.Run(c.name, func(b *testing.B) {
			ts := targets(c.hot, last.Timestamp-first, 10)
			b.ReportAllocs()
			var sink int64
			i := 0
			for b.Loop() {
				sink += c.fn(first + ts[i&4095]).Offset
				i++
			}
			_ = sink
		})
	}
}
