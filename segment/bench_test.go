package segment_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/sluicelog/sluice/segment"
	"github.com/sluicelog/sluice/segment/batch"
)

// benchRollBytes is where benchmarks that append start a new segment, so
// that disk use stays bounded however large b.N grows.
const benchRollBytes = 256 << 20

// textPool is 1 MiB of word salad: values cut from it compress about as
// well as log lines do, so the codecs do real work.
var textPool = func() []byte {
	g := newGen(42)
	return g.value(nil, 1<<20+64<<10)
}()

// benchValues returns n values of size bytes cut from textPool.
func benchValues(n, size int) [][]byte {
	rng := rand.New(rand.NewPCG(7, 7))
	vs := make([][]byte, n)
	for i := range vs {
		off := rng.IntN(len(textPool) - size)
		vs[i] = textPool[off : off+size]
	}
	return vs
}

// buildBench builds one batch of values with codec and returns a copy.
func buildBench(tb testing.TB, bld *batch.Builder, values [][]byte) []byte {
	bld.Reset()
	for i, v := range values {
		bld.Append(baseTime+int64(i), nil, v, nil)
	}
	data, err := bld.Build()
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

// appender appends to a segment in a temporary directory, rolling to a new
// one (outside the timer) at benchRollBytes.
type appender struct {
	b    *testing.B
	dir  string
	opts segment.Options
	seg  *segment.Segment
	next int64
}

func newAppender(b *testing.B, opts segment.Options) *appender {
	a := &appender{b: b, dir: b.TempDir(), opts: opts}
	a.seg = create(b, a.dir, 0, opts)
	b.Cleanup(func() { a.seg.Delete() })
	return a
}

// append writes one batch, patching its base offset in place.
func (a *appender) append(data []byte, records int) {
	if a.seg.Size()+int64(len(data)) > benchRollBytes {
		a.b.StopTimer()
		if err := a.seg.Delete(); err != nil {
			a.b.Fatal(err)
		}
		a.seg = create(a.b, a.dir, a.next, a.opts)
		a.b.StartTimer()
	}
	batch.SetBaseOffset(data, a.next)
	if err := a.seg.Append(data); err != nil {
		a.b.Fatal(err)
	}
	a.next += int64(records)
}

// BenchmarkAppend times Segment.Append of ready batches ("prebuilt") and of
// batches built in the loop as a producer would ("build"). MB/s counts the
// records' uncompressed value bytes, so codecs compare on the same input.
func BenchmarkAppend(b *testing.B) {
	for _, recSize := range []int{100, 1024} {
		for _, batchSize := range []int{16 << 10, 1 << 20} {
			for _, codec := range []batch.Codec{batch.None, batch.LZ4, batch.Zstd} {
				n := batchSize / recSize
				name := fmt.Sprintf("rec=%dB/batch=%dKiB/%v", recSize, batchSize>>10, codec)
				b.Run(name+"/prebuilt", func(b *testing.B) {
					// A few distinct batches, so the page cache sees
					// varied data; built before the timer starts.
					bld := batch.NewBuilder(codec)
					var batches [][]byte
					for range 4 {
						batches = append(batches, bytes.Clone(buildBench(b, bld, benchValues(n, recSize))))
					}
					a := newAppender(b, segment.Options{})
					b.SetBytes(int64(n * recSize))
					b.ReportAllocs()
					b.ResetTimer()
					for i := range b.N {
						a.append(batches[i%len(batches)], n)
					}
				})
				b.Run(name+"/build", func(b *testing.B) {
					bld := batch.NewBuilder(codec)
					var values [][][]byte
					for range 4 {
						values = append(values, benchValues(n, recSize))
					}
					buildBench(b, bld, values[0]) // warm the Builder's buffers
					a := newAppender(b, segment.Options{})
					b.SetBytes(int64(n * recSize))
					b.ReportAllocs()
					b.ResetTimer()
					for i := range b.N {
						a.append(buildBench(b, bld, values[i%len(values)]), n)
					}
				})
			}
		}
	}
}

// fillBench writes about total bytes of copies of one batch of records
// values to a new segment, several hundred KiB per Append call, and returns
// the segment and its next offset.
func fillBench(b *testing.B, dir string, total int, records, valueSize int, codec batch.Codec, opts segment.Options) *segment.Segment {
	bld := batch.NewBuilder(codec)
	tmpl := bytes.Clone(buildBench(b, bld, benchValues(records, valueSize)))
	s := create(b, dir, 0, opts)
	per := max(1, (512<<10)/len(tmpl))
	chunk := make([]byte, 0, per*len(tmpl))
	var next int64
	for s.Size() < int64(total) {
		chunk = chunk[:0]
		for range per {
			start := len(chunk)
			chunk = append(chunk, tmpl...)
			batch.SetBaseOffset(chunk[start:], next)
			next += int64(records)
		}
		if err := s.Append(chunk); err != nil {
			b.Fatal(err)
		}
	}
	return s
}

// randomOffsets returns n offsets in [0, next) from a fixed seed.
func randomOffsets(n int, next int64) []int64 {
	rng := rand.New(rand.NewPCG(3, 3))
	out := make([]int64, n)
	for i := range out {
		out[i] = rng.Int64N(next)
	}
	return out
}

// BenchmarkRead fetches up to 1 MiB at random offsets of a 64 MiB segment
// of 16 KiB batches: "region" is what a sendfile fetch costs the segment,
// "copy" adds reading the bytes into a reused buffer.
func BenchmarkRead(b *testing.B) {
	for _, mode := range []string{"region", "copy"} {
		b.Run(mode, func(b *testing.B) {
			s := fillBench(b, b.TempDir(), 64<<20, 16, 1000, batch.None, segment.Options{})
			defer s.Close()
			offs := randomOffsets(4096, s.NextOffset())
			var buf []byte
			b.SetBytes(1 << 20)
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				r, err := s.Read(offs[i%len(offs)], 1<<20, -1)
				if err != nil {
					b.Fatal(err)
				}
				if mode == "copy" {
					if buf, err = r.ReadTo(buf[:0]); err != nil {
						b.Fatal(err)
					}
				}
				r.Release()
			}
		})
	}
}

// BenchmarkLookup reads the first batch at random offsets of a 256 MiB
// segment of 1 KiB batches, fresh (active) and reopened lazily: the cost of
// an index lookup plus the header scan after it.
func BenchmarkLookup(b *testing.B) {
	for _, mode := range []string{"active", "reopened"} {
		b.Run(mode, func(b *testing.B) {
			dir := b.TempDir()
			opts := segment.Options{}
			s := fillBench(b, dir, 256<<20, 8, 100, batch.None, opts)
			next := s.NextOffset()
			if mode == "reopened" {
				closeSeg(b, s)
				s = open(b, dir, 0, opts)
			}
			defer s.Close()
			offs := randomOffsets(1<<16, next)
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				r, err := s.Read(offs[i%len(offs)], 1, -1)
				if err != nil || r.Len == 0 {
					b.Fatal(r, err)
				}
				r.Release()
			}
		})
	}
}

// BenchmarkRecover recovers a 256 MiB segment of 16 KiB batches: reading
// and CRC-checking every byte and rebuilding both indexes.
func BenchmarkRecover(b *testing.B) {
	dir := b.TempDir()
	opts := segment.Options{}
	s := fillBench(b, dir, 256<<20, 16, 1000, batch.None, opts)
	size := s.Size()
	closeSeg(b, s)
	b.SetBytes(size)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		s := open(b, dir, 0, opts)
		rec, err := s.Recover()
		if err != nil || rec.ValidBytes != size {
			b.Fatal(rec, err)
		}
		closeSeg(b, s)
	}
}
