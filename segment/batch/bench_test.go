package batch_test

import (
	"fmt"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/sluicelog/sluice/segment/batch"
)

var benchCodecs = []batch.Codec{batch.None, batch.LZ4, batch.Zstd}

// benchValues returns n values of size bytes that compress about as well
// as log lines do (3-5x): words drawn from a small vocabulary, with a
// random number in each.
func benchValues(n, size int) [][]byte {
	words := []string{"GET", "POST", "/api/v1/orders", "/api/v1/users", "200", "404", "503",
		"user_id=", "session=", "latency_ms=", "region=eu-west-1", "region=us-east-2",
		"INFO", "WARN", "ERROR", "checkout", "payment", "retry", "timeout", "ok"}
	rng := rand.New(rand.NewPCG(1, 2))
	vals := make([][]byte, n)
	for i := range vals {
		v := make([]byte, 0, size+32)
		for len(v) < size {
			v = append(v, words[rng.IntN(len(words))]...)
			v = append(v, ' ')
			v = fmt.Appendf(v, "%d ", rng.Uint32())
		}
		vals[i] = v[:size]
	}
	return vals
}

// fillBatch appends records from vals until the batch reaches target bytes
// before compression.
func fillBatch(b *batch.Builder, vals [][]byte, target int) {
	key := []byte("customer-00042")
	hdrs := []batch.RecordHeader{{Key: []byte("trace-id"), Value: []byte("4bf92f3577b34da6")}}
	for i := 0; b.Size() < target; i++ {
		b.Append(1_700_000_000_000+int64(i), key, vals[i%len(vals)], hdrs)
	}
}

func BenchmarkBuild(b *testing.B) {
	for _, recordSize := range []int{100, 1 << 10} {
		vals := benchValues(1024, recordSize)
		for _, batchSize := range []int{16 << 10, 1 << 20} {
			for _, codec := range benchCodecs {
				name := fmt.Sprintf("record=%dB/batch=%dKiB/%v", recordSize, batchSize>>10, codec)
				b.Run(name, func(b *testing.B) {
					bb := batch.NewBuilder(codec)
					fillBatch(bb, vals, batchSize) // warm the buffers and the encoder
					if _, err := bb.Build(); err != nil {
						b.Fatal(err)
					}
					b.SetBytes(int64(bb.Size()))
					b.ReportAllocs()
					var out []byte
					for b.Loop() {
						bb.Reset()
						fillBatch(bb, vals, batchSize)
						out, _ = bb.Build()
					}
					b.ReportMetric(float64(bb.Size())/float64(len(out)), "ratio")
				})
			}
		}
	}
}

func BenchmarkValidate(b *testing.B) {
	bb := batch.NewBuilder(batch.None)
	fillBatch(bb, benchValues(1024, 1<<10), 1<<20)
	data, err := bb.Build()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := batch.Validate(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReader(b *testing.B) {
	for _, recordSize := range []int{100, 1 << 10} {
		vals := benchValues(1024, recordSize)
		for _, codec := range benchCodecs {
			b.Run(fmt.Sprintf("record=%dB/batch=1MiB/%v", recordSize, codec), func(b *testing.B) {
				bb := batch.NewBuilder(codec)
				fillBatch(bb, vals, 1<<20)
				data, err := bb.Build()
				if err != nil {
					b.Fatal(err)
				}
				var r batch.Reader
				read := func() {
					if _, err := r.Reset(data); err != nil {
						b.Fatal(err)
					}
					for {
						if _, err := r.Next(); err == io.EOF {
							break
						} else if err != nil {
							b.Fatal(err)
						}
					}
				}
				read() // warm the buffers and the decoder
				b.SetBytes(int64(bb.Size()))
				b.ReportAllocs()
				for b.Loop() {
					read()
				}
			})
		}
	}
}

// BenchmarkFilter thins a 16 KiB batch of 100-byte records to every other
// record, as a cleaner does to a batch of which half the keys were
// overwritten later: decompress, copy the kept records, recompress.
func BenchmarkFilter(b *testing.B) {
	vals := benchValues(1024, 100)
	for _, codec := range allCodecs {
		b.Run(fmt.Sprintf("record=100B/batch=16KiB/%v", codec), func(b *testing.B) {
			bb := batch.NewBuilder(codec)
			fillBatch(bb, vals, 16<<10)
			data, err := bb.Build()
			if err != nil {
				b.Fatal(err)
			}
			records := bb.Records()
			even := func(r *batch.Record) bool { return r.OffsetDelta%2 == 0 }
			var f batch.Filterer
			out, _, err := f.Filter(nil, data, even, batch.FilterOptions{}) // warm
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(bb.Size()))
			b.ReportAllocs()
			for b.Loop() {
				out, _, _ = f.Filter(out[:0], data, even, batch.FilterOptions{})
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*records), "ns/record")
			b.ReportMetric(float64(records), "records/batch")
		})
	}
}
