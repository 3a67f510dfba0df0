package client

import (
	"testing"
	"time"

	"github.com/sluicelog/sluice/segment/batch"
)

// fetchedData is what a fetch of a partition returns: n records of size
// bytes in batches of batchBytes, as one producer's batches sit in the log.
func fetchedData(b *testing.B, n, size, batchBytes int) []byte {
	b.Helper()
	value := make([]byte, size)
	var data []byte
	var base int64
	for base < int64(n) {
		bl := batch.NewBuilder(batch.None)
		for bl.Size() < batchBytes && base+int64(bl.Records()) < int64(n) {
			bl.Append(time.Now().UnixMilli(), nil, value, nil)
		}
		recs, err := bl.Build()
		if err != nil {
			b.Fatal(err)
		}
		h, err := batch.ParseHeader(recs)
		if err != nil {
			b.Fatal(err)
		}
		batch.SetBaseOffset(recs, base)
		base += int64(h.RecordCount)
		data = append(data, recs...)
	}
	return data
}

// BenchmarkDecode is the consumer's own cost per record of a fetch
// answer, without the network or a broker: CRC checks, the copy owned
// records point into (new, or recycled), and the record decoding. It is what bounds
// PollInto's share of the sendfile limit (netbench) for small records.
func BenchmarkDecode(b *testing.B) {
	for _, c := range []struct {
		name    string
		cfg     ConsumerConfig
		recycle bool
	}{
		{"owned", ConsumerConfig{}, false},
		{"owned-recycled", ConsumerConfig{}, true},
		{"borrowed", ConsumerConfig{BorrowRecords: true}, false},
		{"borrowed-nocrc", ConsumerConfig{BorrowRecords: true, SkipCRCCheck: true}, false},
	} {
		b.Run(c.name, func(b *testing.B) {
			const n = 10000
			data := fetchedData(b, n, 100, 256<<10)
			k := &Consumer{cfg: c.cfg}
			k.cfg.setDefaults()
			recs := make([]ConsumerRecord, 0, n)
			b.SetBytes(int64(len(data)) / n)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i += n {
				k.owned = recordMemory{}
				k.lentMem = recordMemory{k.lentMem.bytes[:0], k.lentMem.hdrs[:0]}
				var err error
				if recs, _, err = k.decode(recs[:0], "t", 0, 0, data); err != nil || len(recs) != n {
					b.Fatalf("decoded %d records: %v", len(recs), err)
				}
				if !c.cfg.BorrowRecords {
					k.issue(recs) // as Poll ends
				}
				if c.recycle {
					k.Recycle(recs)
				}
			}
		})
	}
}
