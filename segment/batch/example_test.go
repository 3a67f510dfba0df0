package batch_test

import (
	"errors"
	"fmt"
	"io"

	"github.com/sluicelog/sluice/segment/batch"
)

// A producer fills a Builder and sends what Build returns.
func ExampleBuilder() {
	b := batch.NewBuilder(batch.Zstd)
	b.SetProducer(7, 0, 0)
	b.Append(1_700_000_000_000, []byte("user-1"), []byte("signed up"), nil)
	b.Append(1_700_000_000_005, nil, []byte("anonymous visit"),
		[]batch.RecordHeader{{Key: []byte("source"), Value: []byte("web")}})
	out, err := b.Build()
	if err != nil {
		panic(err)
	}
	h, err := batch.Validate(out)
	fmt.Println(h.Codec(), h.RecordCount, h.ProducerID, err)
	// Output: zstd 2 7 <nil>
}

// A broker validates a batch without decompressing it, then assigns its
// offsets by patching the header in place.
func ExampleValidate() {
	b := batch.NewBuilder(batch.LZ4)
	b.Append(1_700_000_000_000, nil, []byte("hello"), nil)
	b.Append(1_700_000_000_001, nil, []byte("world"), nil)
	produced, _ := b.Build()

	h, err := batch.Validate(produced)
	if err != nil {
		panic(err)
	}
	const logEnd = 500
	batch.SetBaseOffset(produced, logEnd)
	batch.SetPartitionLeaderEpoch(produced, 3)
	h, err = batch.Validate(produced) // still valid: neither field is under the CRC
	fmt.Println(h.BaseOffset, h.LastOffset(), h.NextOffset(), err)

	produced[len(produced)-1] ^= 0xff
	_, err = batch.Validate(produced)
	fmt.Println(errors.Is(err, batch.ErrBadCRC), errors.Is(err, batch.ErrInvalid))
	// Output:
	// 500 501 502 <nil>
	// true true
}

// A consumer reads records one at a time with a reused Reader.
func ExampleReader() {
	b := batch.NewBuilder(batch.Gzip)
	b.Append(1_700_000_000_000, []byte("k1"), []byte("v1"), nil)
	b.Append(1_700_000_000_010, []byte("k2"), nil, nil)
	data, _ := b.Build()
	batch.SetBaseOffset(data, 40)

	var r batch.Reader
	if _, err := r.Reset(data); err != nil {
		panic(err)
	}
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			panic(err)
		}
		fmt.Printf("%d %d %s %q null=%v\n", rec.Offset, rec.Timestamp, rec.Key, rec.Value, rec.Value == nil)
	}
	// Output:
	// 40 1700000000000 k1 "v1" null=false
	// 41 1700000000010 k2 "" null=true
}

// Split walks a run of stored batches.
func ExampleSplit() {
	var log []byte
	for i := range 3 {
		b := batch.NewBuilder(batch.None)
		b.Append(int64(i), nil, []byte("x"), nil)
		out, _ := b.Build()
		batch.SetBaseOffset(out, int64(i))
		log = append(log, out...)
	}
	for len(log) > 0 {
		first, rest, err := batch.Split(log)
		if err != nil {
			panic(err)
		}
		h, err := batch.Validate(first)
		fmt.Println(h.BaseOffset, h.Size(), err)
		log = rest
	}
	// Output:
	// 0 69 <nil>
	// 1 69 <nil>
	// 2 69 <nil>
}

// SetLogAppendTime gives every record the broker's clock.
func ExampleSetLogAppendTime() {
	b := batch.NewBuilder(batch.Snappy)
	b.Append(1_000, nil, []byte("a"), nil)
	b.Append(2_000, nil, []byte("b"), nil)
	data, _ := b.Build()
	batch.SetLogAppendTime(data, 9_000)
	h, recs, err := batch.Decode(data)
	fmt.Println(h.TimestampType(), recs[0].Timestamp, recs[1].Timestamp, err)
	// Output: LogAppendTime 9000 9000 <nil>
}

func ExampleParseCodec() {
	c, err := batch.ParseCodec("lz4")
	fmt.Println(c, int(c), err)
	_, err = batch.ParseCodec("brotli")
	fmt.Println(errors.Is(err, batch.ErrBadCodec))
	// Output:
	// lz4 3 <nil>
	// true
}

// A log cleaner keeps only the latest record of each key. The batch keeps
// its offsets: the records it drops leave gaps, and a batch whose records
// all go can stay behind empty, holding its producer's last sequence.
func ExampleFilterer() {
	b := batch.NewBuilder(batch.Snappy)
	b.SetProducer(7, 0, 100)
	b.Append(1_700_000_000_000, []byte("user-1"), []byte("signed up"), nil)
	b.Append(1_700_000_000_001, []byte("user-2"), []byte("signed up"), nil)
	b.Append(1_700_000_000_002, []byte("user-1"), []byte("verified"), nil)
	stored, _ := b.Build()
	batch.SetBaseOffset(stored, 10)

	// What the cleaner learned from the log: the latest offset of each key.
	latest := map[string]int64{"user-1": 12, "user-2": 11}
	var f batch.Filterer
	cleaned, kept, err := f.Filter(nil, stored, func(r *batch.Record) bool {
		return latest[string(r.Key)] == r.Offset
	}, batch.FilterOptions{})
	if err != nil {
		panic(err)
	}
	h, _ := batch.ValidateStored(cleaned)
	_, strictErr := batch.Validate(cleaned)
	fmt.Println(kept, h.RecordCount, h.BaseOffset, h.LastOffset(), h.Codec(), errors.Is(strictErr, batch.ErrBadRecordCount))
	_, recs, _ := batch.Decode(cleaned)
	for _, r := range recs {
		fmt.Println(r.Offset, string(r.Key), string(r.Value))
	}

	// Every key overwritten later: an empty batch keeps the producer state.
	empty, _, _ := f.Filter(nil, stored, func(*batch.Record) bool { return false }, batch.FilterOptions{KeepEmpty: true})
	h, err = batch.ValidateStored(empty)
	fmt.Println(len(empty), h.RecordCount, h.NextOffset(), h.ProducerID, h.BaseSequence, err)
	// Output:
	// 2 2 10 12 snappy true
	// 11 user-2 signed up
	// 12 user-1 verified
	// 61 0 13 7 100 <nil>
}

// What a log stores may have been compacted: recovery, replication and
// fetches check batches with ValidateStored, which takes a batch with
// fewer records than offsets, where Validate, for producers, does not.
func ExampleValidateStored() {
	b := batch.NewBuilder(batch.None)
	for i := range 4 {
		b.Append(1_700_000_000_000, fmt.Appendf(nil, "k%d", i%2), nil, nil)
	}
	produced, _ := b.Build()
	var f batch.Filterer
	compacted, _, _ := f.Filter(nil, produced, func(r *batch.Record) bool { return r.Offset >= 2 }, batch.FilterOptions{})

	for _, data := range [][]byte{produced, compacted} {
		h, err := batch.ValidateStored(data)
		_, strict := batch.Validate(data)
		fmt.Println(h.RecordCount, h.LastOffsetDelta, err, strict == nil)
	}
	// Output:
	// 4 3 <nil> true
	// 2 3 <nil> false
}
