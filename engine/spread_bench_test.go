package engine_test

import (
	"bytes"
	"testing"

	"github.com/sluicelog/sluice/engine"
	"github.com/sluicelog/sluice/segment/batch"
)

// BenchmarkAppendSpread appends one one-record batch to each of 1,000
// partitions ("across"), against the same 1,000 batches to one partition
// in one Append ("one"): what a produce spread thin over many partitions
// costs the engine per partition. Each partition's append is a write(2)
// of its own file, which is the floor of "across" (about 3 µs a partition
// on the 2-core VM of BENCHMARKS.md, 82% of it in the system call).
func BenchmarkAppendSpread(b *testing.B) {
	const n = 1000
	e := openEngine(b, b.TempDir(), engine.Options{})
	for _, topic := range []string{"across", "one"} {
		count := int32(n)
		if topic == "one" {
			count = 1
		}
		if err := e.CreateTopic(topic, count, nil); err != nil {
			b.Fatal(err)
		}
	}
	rec := buildBatch(b, batch.None, "v", 1, 1)
	all := bytes.Repeat(rec, n)
	parts := make([]*engine.Partition, n)
	for i := range parts {
		p, err := e.Partition("across", int32(i))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := p.Append(rec); err != nil { // its files exist from here on
			b.Fatal(err)
		}
		parts[i] = p
	}
	one, err := e.Partition("one", 0)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("across", func(b *testing.B) {
		b.SetBytes(int64(len(all)))
		b.ReportAllocs()
		for range b.N {
			for _, p := range parts {
				if _, err := p.Append(rec); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("one", func(b *testing.B) {
		b.SetBytes(int64(len(all)))
		b.ReportAllocs()
		for range b.N {
			if _, err := one.Append(all); err != nil {
				b.Fatal(err)
			}
		}
	})
}
