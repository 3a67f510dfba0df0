package batch_test

import (
	"bytes"
	stdgzip "compress/gzip"
	"encoding/binary"
	"errors"
	"io"
	"testing"

	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
	"github.com/sluicelog/sluice/segment/batch"
)

func TestRoundTrip(t *testing.T) {
	for _, codec := range allCodecs {
		t.Run(codec.String(), func(t *testing.T) {
			for _, n := range []int{1, 2, 17, 500} {
				recs := sampleRecords(n)
				b := buildBatch(t, codec, recs)
				h, err := batch.Validate(b)
				if err != nil {
					t.Fatalf("n=%d: Validate: %v", n, err)
				}
				if h.Codec() != codec || h.RecordCount != int32(n) || h.LastOffsetDelta != int32(n-1) ||
					h.BaseOffset != 0 || h.PartitionLeaderEpoch != -1 || h.Size() != int64(len(b)) ||
					h.ProducerID != batch.NoProducerID || h.ProducerEpoch != batch.NoProducerEpoch ||
					h.BaseSequence != batch.NoSequence || h.Transactional() || h.Control() ||
					h.TimestampType() != batch.CreateTime {
					t.Fatalf("n=%d: header %+v", n, h)
				}
				if h.BaseTimestamp != recs[0].ts {
					t.Errorf("n=%d: base timestamp %d, want %d", n, h.BaseTimestamp, recs[0].ts)
				}
				maxTS := recs[0].ts
				for _, r := range recs {
					maxTS = max(maxTS, r.ts)
				}
				if h.MaxTimestamp != maxTS {
					t.Errorf("n=%d: max timestamp %d, want %d", n, h.MaxTimestamp, maxTS)
				}
				_, got, err := batch.Decode(b)
				if err != nil {
					t.Fatalf("n=%d: Decode: %v", n, err)
				}
				checkRecords(t, h, got, recs)
			}
		})
	}
}

func TestBuilderSettingsAndReuse(t *testing.T) {
	b := batch.NewBuilder(batch.Zstd)
	b.SetProducer(42, 3, 1000)
	b.SetTransactional(true)
	if _, err := b.Build(); !errors.Is(err, batch.ErrEmpty) {
		t.Fatalf("Build of an empty batch: %v, want ErrEmpty", err)
	}
	if b.Size() != batch.HeaderSize || b.Records() != 0 {
		t.Fatalf("empty builder: size %d, records %d", b.Size(), b.Records())
	}
	for round, codec := range allCodecs {
		b.Reset()
		b.SetCodec(codec)
		recs := sampleRecords(10 + round)
		size := batch.HeaderSize
		for i, r := range recs {
			b.Append(r.ts, r.key, r.value, r.headers)
			if b.Records() != i+1 || b.Size() <= size {
				t.Fatalf("after %d appends: records %d, size %d (was %d)", i+1, b.Records(), b.Size(), size)
			}
			size = b.Size()
		}
		out, err := b.Build()
		if err != nil {
			t.Fatal(err)
		}
		if codec == batch.None && len(out) != size {
			t.Errorf("uncompressed batch is %d bytes, Size said %d", len(out), size)
		}
		again, _ := b.Build()
		if !bytes.Equal(out, again) {
			t.Errorf("%v: Build is not repeatable", codec)
		}
		h, got, err := batch.Decode(out)
		if err != nil {
			t.Fatalf("%v: %v", codec, err)
		}
		if h.ProducerID != 42 || h.ProducerEpoch != 3 || h.BaseSequence != 1000 || !h.Transactional() || h.Codec() != codec {
			t.Errorf("%v: header %+v", codec, h)
		}
		checkRecords(t, h, got, recs)
	}
}

func TestZeroValues(t *testing.T) {
	var b batch.Builder
	b.Append(5, []byte("k"), []byte("v"), nil)
	out, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	var r batch.Reader
	if rec, err := r.Next(); rec != nil || err != io.EOF {
		t.Fatalf("Next on a zero Reader: %v, %v", rec, err)
	}
	h, err := r.Reset(out)
	if err != nil || h.Codec() != batch.None || h.ProducerID != batch.NoProducerID {
		t.Fatalf("Reset: %+v, %v", h, err)
	}
	rec, err := r.Next()
	if err != nil || string(rec.Key) != "k" || string(rec.Value) != "v" || rec.Timestamp != 5 || rec.Headers != nil {
		t.Fatalf("Next: %+v, %v", rec, err)
	}
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("Next after the last record: %v", err)
	}
}

func TestValidateErrors(t *testing.T) {
	good := buildBatch(t, batch.None, sampleRecords(3))
	mutate := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	setCount := func(count, lastDelta int32) []byte {
		return mutate(func(b []byte) []byte {
			binary.BigEndian.PutUint32(b[57:], uint32(count))
			binary.BigEndian.PutUint32(b[23:], uint32(lastDelta))
			fixCRC(b)
			return b
		})
	}
	cases := []struct {
		name string
		b    []byte
		want error
	}{
		{"empty", nil, batch.ErrTruncated},
		{"short header", good[:batch.HeaderSize-1], batch.ErrTruncated},
		{"header only", good[:batch.HeaderSize], batch.ErrTruncated},
		{"one byte short", good[:len(good)-1], batch.ErrTruncated},
		{"one byte long", append(bytes.Clone(good), 0), batch.ErrBadLength},
		{"two batches", append(bytes.Clone(good), good...), batch.ErrBadLength},
		{"magic 1", mutate(func(b []byte) []byte { b[16] = 1; return b }), batch.ErrBadMagic},
		{"magic 3", mutate(func(b []byte) []byte { b[16] = 3; return b }), batch.ErrBadMagic},
		{"length below header", mutate(func(b []byte) []byte { binary.BigEndian.PutUint32(b[8:], 48); return b }), batch.ErrBadLength},
		{"negative length", mutate(func(b []byte) []byte { binary.BigEndian.PutUint32(b[8:], 0x80000000); return b }), batch.ErrBadLength},
		{"stale crc", mutate(func(b []byte) []byte { b[17] ^= 1; return b }), batch.ErrBadCRC},
		{"count 0", setCount(0, -1), batch.ErrBadRecordCount},
		{"count above last delta", setCount(4, 2), batch.ErrBadRecordCount},
		{"count below last delta", setCount(2, 2), batch.ErrBadRecordCount},
		{"negative count", setCount(-1, -2), batch.ErrBadRecordCount},
		{"max last delta", setCount(-0x80000000, 0x7fffffff), batch.ErrBadRecordCount},
	}
	for codec := int16(5); codec <= 7; codec++ {
		cases = append(cases, struct {
			name string
			b    []byte
			want error
		}{"codec " + batch.Codec(codec).String(), mutate(func(b []byte) []byte {
			binary.BigEndian.PutUint16(b[21:], uint16(codec))
			fixCRC(b)
			return b
		}), batch.ErrBadCodec})
	}
	for _, c := range cases {
		_, err := batch.Validate(c.b)
		if !errors.Is(err, c.want) || !errors.Is(err, batch.ErrInvalid) {
			t.Errorf("%s: Validate = %v, want %v and ErrInvalid", c.name, err, c.want)
		}
		var r batch.Reader
		if _, err := batch.ValidateStored(c.b); err == nil {
			// A count below lastOffsetDelta+1 is a compacted batch to
			// the Reader, which then finds more records than counted.
			if _, err := r.Reset(c.b); err != nil {
				t.Errorf("%s: Reader.Reset = %v, want a compacted batch", c.name, err)
			}
			if _, err := drain(&r); !errors.Is(err, batch.ErrCorruptRecords) {
				t.Errorf("%s: reading a compacted batch with too many records = %v, want ErrCorruptRecords", c.name, err)
			}
			if _, err := batch.ValidateFraming(c.b); !errors.Is(err, c.want) {
				t.Errorf("%s: ValidateFraming = %v, want %v", c.name, err, c.want)
			}
			continue
		}
		if _, err := r.Reset(c.b); !errors.Is(err, c.want) {
			t.Errorf("%s: Reader.Reset = %v, want %v", c.name, err, c.want)
		}
		if _, err := r.Next(); !errors.Is(err, c.want) {
			t.Errorf("%s: Next after a failed Reset = %v, want %v", c.name, err, c.want)
		}
		// Without the CRC check every other fault is still found, and a
		// stale CRC alone passes.
		_, err = batch.ValidateFraming(c.b)
		skip := batch.Reader{SkipCRC: true}
		_, rerr := skip.Reset(c.b)
		if c.want == batch.ErrBadCRC {
			if err != nil || rerr != nil {
				t.Errorf("%s: ValidateFraming = %v, Reset with SkipCRC = %v; want both to pass", c.name, err, rerr)
			}
			continue
		}
		if !errors.Is(err, c.want) || !errors.Is(rerr, c.want) {
			t.Errorf("%s: ValidateFraming = %v, Reset with SkipCRC = %v; want %v", c.name, err, rerr, c.want)
		}
	}
}

// TestFlippedBitsFailCRC flips one bit at every position the CRC covers,
// in batches of every codec: each must fail as ErrBadCRC, whatever field it
// lands in.
func TestFlippedBitsFailCRC(t *testing.T) {
	for _, codec := range allCodecs {
		good := buildBatch(t, codec, sampleRecords(4))
		for i := 21; i < len(good); i++ {
			b := bytes.Clone(good)
			b[i] ^= 1 << (i % 8)
			if _, err := batch.Validate(b); !errors.Is(err, batch.ErrBadCRC) || !errors.Is(err, batch.ErrInvalid) {
				t.Fatalf("%v: flipped byte %d: %v, want ErrBadCRC", codec, i, err)
			}
		}
	}
}

func TestParseHeaderAndSplit(t *testing.T) {
	var all []byte
	var want [][]byte
	for i, codec := range allCodecs {
		b := buildBatch(t, codec, sampleRecords(i+1))
		want = append(want, b)
		all = append(all, b...)
	}
	rest := all
	for i, w := range want {
		first, r, err := batch.Split(rest)
		if err != nil {
			t.Fatalf("Split %d: %v", i, err)
		}
		if !bytes.Equal(first, w) || cap(first) != len(first) {
			t.Fatalf("Split %d: got %d bytes (cap %d), want %d", i, len(first), cap(first), len(w))
		}
		h, err := batch.ParseHeader(first)
		if err != nil || h.Size() != int64(len(w)) || h.Codec() != allCodecs[i] {
			t.Fatalf("ParseHeader %d: %+v, %v", i, h, err)
		}
		rest = r
	}
	if len(rest) != 0 {
		t.Fatalf("%d bytes left", len(rest))
	}
	if _, _, err := batch.Split(all[:len(want[0])-1]); !errors.Is(err, batch.ErrTruncated) {
		t.Errorf("Split of a cut batch: %v", err)
	}
	if _, _, err := batch.Split(all[:10]); !errors.Is(err, batch.ErrTruncated) {
		t.Errorf("Split of 10 bytes: %v", err)
	}
	short := bytes.Clone(want[0])
	binary.BigEndian.PutUint32(short[8:], 10)
	if _, _, err := batch.Split(short); !errors.Is(err, batch.ErrBadLength) {
		t.Errorf("Split with length 10: %v", err)
	}
	if _, err := batch.ParseHeader(short); !errors.Is(err, batch.ErrBadLength) {
		t.Errorf("ParseHeader with length 10: %v", err)
	}
	if _, err := batch.ParseHeader(all[:60]); !errors.Is(err, batch.ErrTruncated) {
		t.Errorf("ParseHeader of 60 bytes: %v", err)
	}
}

func TestSetBaseOffsetAndEpoch(t *testing.T) {
	for _, codec := range allCodecs {
		recs := sampleRecords(6)
		b := buildBatch(t, codec, recs)
		batch.SetBaseOffset(b, 1<<40)
		batch.SetPartitionLeaderEpoch(b, 7)
		h, got, err := batch.Decode(b)
		if err != nil {
			t.Fatalf("%v: %v", codec, err)
		}
		if h.BaseOffset != 1<<40 || h.PartitionLeaderEpoch != 7 || h.LastOffset() != 1<<40+5 || h.NextOffset() != 1<<40+6 {
			t.Fatalf("%v: header %+v", codec, h)
		}
		checkRecords(t, h, got, recs)
	}
}

func TestSetLogAppendTime(t *testing.T) {
	const appendTime = 1_800_000_000_000
	for _, codec := range allCodecs {
		recs := sampleRecords(6)
		b := buildBatch(t, codec, recs)
		batch.SetLogAppendTime(b, appendTime)
		h, got, err := batch.Decode(b)
		if err != nil {
			t.Fatalf("%v: %v", codec, err)
		}
		if h.TimestampType() != batch.LogAppendTime || h.MaxTimestamp != appendTime || h.BaseTimestamp != recs[0].ts || h.Codec() != codec {
			t.Fatalf("%v: header %+v", codec, h)
		}
		for i, r := range got {
			if r.Timestamp != appendTime {
				t.Errorf("%v: record %d timestamp %d, want the append time", codec, i, r.Timestamp)
			}
		}
		checkRecords(t, h, got, recs)
	}
}

// TestRawSnappy reads snappy without the xerial framing, as librdkafka and
// franz-go's non-streaming path write it.
func TestRawSnappy(t *testing.T) {
	recs := sampleRecords(50)
	plain := buildBatch(t, batch.None, recs)
	b := assemble(int16(batch.Snappy), 50, recs[0].ts, s2.EncodeSnappy(nil, plain[batch.HeaderSize:]))
	h, got, err := batch.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	checkRecords(t, h, got, recs)
}

// TestDecompressionBound feeds every codec a payload that decompresses past
// the Reader's bound: each must stop with ErrCorruptRecords.
func TestDecompressionBound(t *testing.T) {
	zeros := make([]byte, 4<<20)
	for _, codec := range allCodecs[1:] {
		b := buildBatch(t, codec, []rec{{ts: 1, value: zeros}})
		if len(b) > 1<<20 {
			t.Fatalf("%v: %d compressed bytes, the test needs a bomb", codec, len(b))
		}
		r := batch.Reader{MaxDecompressedSize: 1 << 20}
		if _, err := r.Reset(b); !errors.Is(err, batch.ErrCorruptRecords) || !errors.Is(err, batch.ErrInvalid) {
			t.Errorf("%v: Reset past the bound: %v", codec, err)
		}
		r.MaxDecompressedSize = 8 << 20
		if _, err := r.Reset(b); err != nil {
			t.Errorf("%v: Reset within the bound: %v", codec, err)
		}
		if rec, err := r.Next(); err != nil || len(rec.Value) != len(zeros) {
			t.Errorf("%v: Next within the bound: %v", codec, err)
		}
	}
}

func TestCorruptRecords(t *testing.T) {
	good := rawRecord(0, 0, []byte("k"), []byte("v"))
	second := rawRecord(1, 1, nil, nil)
	cases := []struct {
		name    string
		count   int32
		payload []byte
	}{
		{"too few", 3, append(bytes.Clone(good), second...)},
		{"too many", 1, append(bytes.Clone(good), second...)},
		{"trailing byte", 2, append(append(bytes.Clone(good), second...), 0)},
		{"no records", 1, nil},
		{"length past end", 1, good[:len(good)-1]},
		{"negative length", 1, varint(nil, -2)},
		{"varint overrun", 1, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0x01}},
		{"varint cut", 1, []byte{0x80}},
		{"length longer than fields", 1, append(varint(nil, int64(len(good))), append(good[1:], 0)...)},
		{"key length -2", 1, recordWith(func(b []byte) []byte { return varint(b, -2) })},
		{"key past record", 1, recordWith(func(b []byte) []byte { return varint(b, 50) })},
		{"repeated offset delta", 2, append(bytes.Clone(good), rawRecord(0, 0, nil, nil)...)},
		{"offset delta past last", 1, rawRecord(0, 1, nil, nil)},
		{"negative offset delta", 1, rawRecord(0, -1, nil, nil)},
		{"null header key", 1, headerRecord(varint(nil, 1, -1, -1))},
		{"negative header count", 1, headerRecord(varint(nil, -1))},
		{"huge header count", 1, headerRecord(varint(nil, 1<<30))},
		{"header value past end", 1, headerRecord(varint(nil, 1, 1, 'a', 9))},
		{"varlong overrun", 1, withBody(append([]byte{0}, bytes.Repeat([]byte{0xff}, 10)...))},
	}
	for _, c := range cases {
		b := assemble(0, c.count, 0, c.payload)
		if _, err := batch.Validate(b); err != nil {
			t.Fatalf("%s: the test batch should pass Validate: %v", c.name, err)
		}
		_, recs, err := batch.Decode(b)
		if !errors.Is(err, batch.ErrCorruptRecords) || !errors.Is(err, batch.ErrInvalid) || recs != nil {
			t.Errorf("%s: Decode = %d records, %v; want ErrCorruptRecords", c.name, len(recs), err)
		}
	}
	// Garbage under each codec fails the same way.
	for _, codec := range allCodecs[1:] {
		b := assemble(int16(codec), 1, 0, []byte("this is not compressed data at all"))
		if _, _, err := batch.Decode(b); !errors.Is(err, batch.ErrCorruptRecords) {
			t.Errorf("%v garbage: %v", codec, err)
		}
	}
}

// withBody prefixes body with its length.
func withBody(body []byte) []byte { return append(varint(nil, int64(len(body))), body...) }

// recordWith builds a record whose key field is written by key and whose
// remaining fields are a null value and no headers.
func recordWith(key func([]byte) []byte) []byte {
	body := key(varint([]byte{0}, 0, 0))
	return withBody(varint(body, -1, 0))
}

// headerRecord builds a record with null key and value and the given
// header section (count and headers).
func headerRecord(headers []byte) []byte {
	return withBody(append(varint([]byte{0}, 0, 0, -1, -1), headers...))
}

func TestCodecNames(t *testing.T) {
	for _, c := range allCodecs {
		got, err := batch.ParseCodec(c.String())
		if err != nil || got != c {
			t.Errorf("ParseCodec(%q) = %v, %v", c.String(), got, err)
		}
	}
	if c, err := batch.ParseCodec("ZSTD"); err != nil || c != batch.Zstd {
		t.Errorf("ParseCodec(ZSTD) = %v, %v", c, err)
	}
	if _, err := batch.ParseCodec("brotli"); !errors.Is(err, batch.ErrBadCodec) {
		t.Errorf("ParseCodec(brotli): %v", err)
	}
	if s := batch.Codec(6).String(); s != "codec(6)" {
		t.Errorf("Codec(6).String() = %q", s)
	}
	b := batch.NewBuilder(batch.Codec(6))
	b.Append(0, nil, nil, nil)
	if _, err := b.Build(); !errors.Is(err, batch.ErrBadCodec) {
		t.Errorf("Build with codec 6: %v", err)
	}
}

// TestReaderReuse reads batches of every codec, one after another, through
// one Reader, checking that nothing from an earlier batch leaks into a
// later one.
func TestReaderReuse(t *testing.T) {
	var r batch.Reader
	for round := range 3 {
		for i, codec := range allCodecs {
			recs := sampleRecords(3 + 7*i + round)
			b := buildBatch(t, codec, recs)
			h, err := r.Reset(b)
			if err != nil {
				t.Fatal(err)
			}
			var got []batch.Record
			for {
				rec, err := r.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				c := *rec
				c.Headers = append([]batch.RecordHeader(nil), rec.Headers...)
				got = append(got, c)
			}
			checkRecords(t, h, got, recs)
		}
	}
}

// TestForeignStreams reads payloads written the way other producers write
// them, rather than the way our Builder does: the standard library's gzip,
// several gzip members, LZ4 frames with other block sizes and checksums,
// and zstd frames written as a stream, which carry no content size (as
// Kafka's Java client writes them).
func TestForeignStreams(t *testing.T) {
	recs := sampleRecords(300)
	plain := buildBatch(t, batch.None, recs)[batch.HeaderSize:]
	half := len(plain) / 2

	var stdGzip bytes.Buffer
	gw := stdgzip.NewWriter(&stdGzip)
	gw.Write(plain)
	gw.Close()

	var members bytes.Buffer
	for _, part := range [][]byte{plain[:half], plain[half:]} {
		gw := stdgzip.NewWriter(&members)
		gw.Write(part)
		gw.Close()
	}

	lz4With := func(opts ...lz4.Option) []byte {
		var buf bytes.Buffer
		w := lz4.NewWriter(&buf)
		if err := w.Apply(opts...); err != nil {
			t.Fatal(err)
		}
		w.Write(plain)
		w.Close()
		return buf.Bytes()
	}

	var zstdStream bytes.Buffer
	zw, err := zstd.NewWriter(&zstdStream, zstd.WithWindowSize(1<<15), zstd.WithEncoderConcurrency(1))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(plain); i += 1000 {
		zw.Write(plain[i:min(i+1000, len(plain))])
	}
	zw.Close()
	var zh zstd.Header
	if err := zh.Decode(zstdStream.Bytes()); err != nil || zh.HasFCS {
		t.Fatalf("the zstd stream should have no content size: %+v, %v", zh, err)
	}

	cases := []struct {
		name    string
		codec   batch.Codec
		payload []byte
	}{
		{"stdlib gzip", batch.Gzip, stdGzip.Bytes()},
		{"two gzip members", batch.Gzip, members.Bytes()},
		{"lz4 4MiB blocks", batch.LZ4, lz4With(lz4.BlockSizeOption(lz4.Block4Mb))},
		{"lz4 block checksums, no content checksum", batch.LZ4, lz4With(lz4.BlockChecksumOption(true), lz4.ChecksumOption(false))},
		{"lz4 level 9", batch.LZ4, lz4With(lz4.CompressionLevelOption(lz4.Level9))},
		{"zstd stream without content size", batch.Zstd, zstdStream.Bytes()},
	}
	var r batch.Reader
	for _, c := range cases {
		b := assemble(int16(c.codec), int32(len(recs)), recs[0].ts, c.payload)
		if _, err := r.Reset(b); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		h, got, err := batch.Decode(b)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		checkRecords(t, h, got, recs)
	}
}

// TestFramingMatchesJava pins the framing details Kafka's Java client reads
// and writes: xerial snappy with version 1 and compatible version 1, and
// LZ4 frames of independent 64 KiB blocks with no content size or checksum.
func TestFramingMatchesJava(t *testing.T) {
	recs := sampleRecords(400) // well past one 64 KiB LZ4 block and one 32 KiB xerial block
	snappy := buildBatch(t, batch.Snappy, recs)[batch.HeaderSize:]
	wantXerial := []byte{0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1}
	if !bytes.HasPrefix(snappy, wantXerial) {
		t.Errorf("snappy payload starts % x, want the xerial header % x", snappy[:16], wantXerial)
	}
	blocks := 0
	for rest := snappy[16:]; len(rest) > 0; blocks++ {
		n := binary.BigEndian.Uint32(rest)
		if int(n) > len(rest)-4 {
			t.Fatalf("xerial block %d claims %d bytes, %d left", blocks, n, len(rest)-4)
		}
		rest = rest[4+n:]
	}
	if blocks < 2 {
		t.Errorf("%d xerial blocks; the test wants several", blocks)
	}

	lz := buildBatch(t, batch.LZ4, recs)[batch.HeaderSize:]
	wantLZ4 := []byte{0x04, 0x22, 0x4d, 0x18, 0x60, 0x40} // magic, FLG: v1 + independent blocks, BD: 64 KiB
	if !bytes.HasPrefix(lz, wantLZ4) {
		t.Errorf("lz4 payload starts % x, want % x", lz[:6], wantLZ4)
	}
	if !bytes.HasSuffix(lz, []byte{0, 0, 0, 0}) {
		t.Errorf("lz4 payload ends % x, want the end mark and nothing after it", lz[len(lz)-8:])
	}
}
