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
