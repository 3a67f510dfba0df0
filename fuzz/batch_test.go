package fuzz

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"sync"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"

	"github.com/sluicelog/sluice/segment/batch"
)

// batchMaxDecompressed keeps the fuzzer's memory small; it also sends many
// inputs down the bound's refusal path.
const batchMaxDecompressed = 1 << 20

// FuzzBatchValidate feeds arbitrary bytes to Split, ParseHeader, Validate
// and ValidateStored, and whatever ValidateStored accepts to the Reader.
func FuzzBatchValidate(f *testing.F) {
	for _, seed := range batchSeeds(f) {
		f.Add(seed)
		f.Add(append(bytes.Clone(seed), seed...))
		f.Add(seed[:len(seed)/2])
		for _, compacted := range filterSeeds(f, seed) {
			f.Add(compacted)
		}
	}
	f.Add([]byte{})
	f.Add(make([]byte, batch.HeaderSize))
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, err := batch.ParseHeader(data); err != nil {
			batchMustBeInvalid(t, "ParseHeader", err)
		}
		for rest := data; len(rest) > 0; {
			first, next, err := batch.Split(rest)
			if err != nil {
				batchMustBeInvalid(t, "Split", err)
				if !bytes.Equal(next, rest) || first != nil {
					t.Fatalf("Split failed but moved on")
				}
				break
			}
			if len(first) < batch.HeaderSize || len(first)+len(next) != len(rest) {
				t.Fatalf("Split cut %d bytes into %d and %d", len(rest), len(first), len(next))
			}
			batchCheck(t, first)
			rest = next
		}
		batchCheck(t, data)
	})
}

// FuzzBatchDecode wraps arbitrary bytes in a header with the right length
// and CRC, so that inputs get past Validate and reach the decompressors and
// the record decoder. mode picks how:
//
//	bits 0-2  codec (5-7 are not codecs and must be refused)
//	bit 3     compress payload with the codec first, so it is records
//	          behind a valid compressed stream; otherwise payload is the
//	          compressed stream itself
//	bit 4     LogAppendTime
//	bit 5     snappy without the xerial framing (with bit 3)
//	bit 6     transactional
//
// count is the batch's RecordCount (0 must be refused).
func FuzzBatchDecode(f *testing.F) {
	for _, seed := range batchSeeds(f) {
		h, err := batch.ParseHeader(seed)
		if err != nil {
			f.Fatal(err)
		}
		// The batch's own payload as is, and its records (from the
		// uncompressed seed) recompressed by the harness.
		f.Add(byte(h.Codec()), byte(h.RecordCount), seed[batch.HeaderSize:])
		if h.Codec() == batch.None {
			for c := range byte(5) {
				f.Add(c|0x08, byte(h.RecordCount), seed[batch.HeaderSize:])
			}
			f.Add(byte(batch.Snappy)|0x08|0x20, byte(h.RecordCount), seed[batch.HeaderSize:])
		}
	}
	f.Add(byte(0x08|0x10), byte(1), []byte{14, 0, 0, 0, 2, 'k', 2, 'v', 2, 2, 'h', 0})
	f.Fuzz(func(t *testing.T, mode, count byte, payload []byte) {
		codec := batch.Codec(mode & 0x07)
		if mode&0x08 != 0 && codec.Valid() {
			payload = batchCompress(t, codec, payload, mode&0x20 != 0)
		}
		attrs := int16(codec)
		if mode&0x10 != 0 {
			attrs |= 0x08
		}
		if mode&0x40 != 0 {
			attrs |= 0x10
		}
		b := batchWrap(attrs, int32(count), payload)
		h, err := batch.Validate(b)
		switch {
		case !codec.Valid(): // checked before the count
			if !errors.Is(err, batch.ErrBadCodec) {
				t.Fatalf("codec %d: Validate = %v", codec, err)
			}
		case count == 0:
			if !errors.Is(err, batch.ErrBadRecordCount) {
				t.Fatalf("count 0: Validate = %v", err)
			}
		case err != nil:
			t.Fatalf("a fixed-up batch fails Validate: %v", err)
		case h.Codec() != codec || h.RecordCount != int32(count) || h.Size() != int64(len(b)):
			t.Fatalf("header %+v does not match what was written", h)
		}
		batchCheck(t, b)
	})
}

// batchCheck holds the decoder to its contract on b: no panic, errors that
// are ErrInvalid, Validate no looser than ValidateStored, and when the
// Reader succeeds, records that agree with the header and survive a
// rebuild.
func batchCheck(t *testing.T, b []byte) {
	strict, serr := batch.Validate(b)
	h, err := batch.ValidateStored(b)
	if err != nil {
		batchMustBeInvalid(t, "ValidateStored", err)
		if serr == nil {
			t.Fatalf("Validate accepted a batch ValidateStored refuses: %v", err)
		}
		return
	}
	if serr == nil {
		if strict != h || h.RecordCount < 1 || h.NextOffset() != h.BaseOffset+int64(h.RecordCount) {
			t.Fatalf("Validate accepted a header it should not: %+v (stored %+v)", strict, h)
		}
	} else if !errors.Is(serr, batch.ErrBadRecordCount) {
		// A stored batch differs from a producer's only in its count.
		t.Fatalf("Validate refused a valid stored batch for something else than its count: %v", serr)
	}
	if ph, err := batch.ParseHeader(b); err != nil || ph != h {
		t.Fatalf("ParseHeader disagrees with ValidateStored: %+v, %v", ph, err)
	}
	if h.Size() != int64(len(b)) || h.RecordCount < 0 || h.LastOffsetDelta < 0 || int64(h.RecordCount) > int64(h.LastOffsetDelta)+1 {
		t.Fatalf("ValidateStored accepted a header it should not: %+v", h)
	}

	r := batch.Reader{MaxDecompressedSize: batchMaxDecompressed}
	if _, err := r.Reset(b); err != nil {
		if !errors.Is(err, batch.ErrCorruptRecords) {
			t.Fatalf("Reset after Validate passed: %v, want ErrCorruptRecords", err)
		}
		return
	}
	var got []batch.Record
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			if !errors.Is(err, batch.ErrCorruptRecords) || !errors.Is(err, batch.ErrInvalid) {
				t.Fatalf("Next: %v, want ErrCorruptRecords", err)
			}
			if _, err2 := r.Next(); err2 != err {
				t.Fatalf("Next after an error: %v, then %v", err, err2)
			}
			return
		}
		if rec.Offset < h.BaseOffset || rec.Offset > h.LastOffset() {
			t.Fatalf("record offset %d outside the batch's %d..%d", rec.Offset, h.BaseOffset, h.LastOffset())
		}
		if len(got) > 0 && rec.Offset <= got[len(got)-1].Offset {
			t.Fatalf("offsets do not rise: %d after %d", rec.Offset, got[len(got)-1].Offset)
		}
		if h.TimestampType() == batch.LogAppendTime && rec.Timestamp != h.MaxTimestamp {
			t.Fatalf("LogAppendTime record has timestamp %d, want %d", rec.Timestamp, h.MaxTimestamp)
		}
		got = append(got, batchCloneRecord(rec))
	}
	if len(got) != int(h.RecordCount) {
		t.Fatalf("read %d records of %d without an error", len(got), h.RecordCount)
	}

	// Decode must see the same records, and our Builder must be able to
	// write them again, identically down to null-ness.
	_, decoded, err := batch.Decode(b)
	if err != nil {
		t.Fatalf("Decode fails where Reader succeeded: %v", err)
	}
	batchSameRecords(t, "Decode", decoded, got)
	if len(got) == 0 {
		return // an empty stored batch: nothing to rebuild
	}
	var bb batch.Builder
	for _, rec := range got {
		bb.Append(rec.Timestamp, rec.Key, rec.Value, rec.Headers)
	}
	again, err := bb.Build()
	if err != nil {
		t.Fatalf("rebuilding: %v", err)
	}
	_, rebuilt, err := batch.Decode(again)
	if err != nil {
		t.Fatalf("decoding the rebuilt batch: %v", err)
	}
	for i := range rebuilt {
		rebuilt[i].Offset, rebuilt[i].OffsetDelta = got[i].Offset, got[i].OffsetDelta
	}
	batchSameRecords(t, "rebuild", rebuilt, got)
}

func batchMustBeInvalid(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, batch.ErrInvalid) {
		t.Fatalf("%s: %v does not satisfy ErrInvalid", what, err)
	}
}

func batchCloneRecord(r *batch.Record) batch.Record {
	c := *r
	c.Key, c.Value = batchCloneBytes(r.Key), batchCloneBytes(r.Value)
	c.Headers = nil
	for _, h := range r.Headers {
		c.Headers = append(c.Headers, batch.RecordHeader{Key: batchCloneBytes(h.Key), Value: batchCloneBytes(h.Value)})
	}
	return c
}

// batchCloneBytes keeps the difference between nil and empty.
func batchCloneBytes(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte{}, b...)
}

func batchSameRecords(t *testing.T, what string, got, want []batch.Record) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d records, want %d", what, len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Offset != w.Offset || g.OffsetDelta != w.OffsetDelta || g.Timestamp != w.Timestamp ||
			!batchSameBytes(g.Key, w.Key) || !batchSameBytes(g.Value, w.Value) || len(g.Headers) != len(w.Headers) {
			t.Fatalf("%s: record %d is %+v, want %+v", what, i, g, w)
		}
		for j := range w.Headers {
			if !batchSameBytes(g.Headers[j].Key, w.Headers[j].Key) || !batchSameBytes(g.Headers[j].Value, w.Headers[j].Value) {
				t.Fatalf("%s: record %d header %d is %+v, want %+v", what, i, j, g.Headers[j], w.Headers[j])
			}
		}
	}
}

func batchSameBytes(a, b []byte) bool { return (a == nil) == (b == nil) && bytes.Equal(a, b) }

var batchCastagnoli = crc32.MakeTable(crc32.Castagnoli)

// batchWrap builds a batch around payload, independently of the package under
// test, with a correct length and CRC.
func batchWrap(attrs int16, count int32, payload []byte) []byte {
	b := make([]byte, batch.HeaderSize, batch.HeaderSize+len(payload))
	be := binary.BigEndian
	be.PutUint64(b[0:], 1000)
	be.PutUint32(b[8:], uint32(batch.HeaderSize-12+len(payload)))
	b[16] = batch.Magic
	be.PutUint16(b[21:], uint16(attrs))
	be.PutUint32(b[23:], uint32(count-1))
	be.PutUint64(b[27:], 1_700_000_000_000)
	be.PutUint64(b[35:], 1_700_000_000_500)
	be.PutUint64(b[43:], 0xffffffffffffffff)
	be.PutUint16(b[51:], 0xffff)
	be.PutUint32(b[53:], 0xffffffff)
	be.PutUint32(b[57:], uint32(count))
	b = append(b, payload...)
	be.PutUint32(b[17:], crc32.Checksum(b[21:], batchCastagnoli))
	return b
}

// The harness's encoders are made once per process: building a zstd or
// gzip encoder per input would dominate the fuzzer's time. Both are safe
// for concurrent use the way they are used here (EncodeAll, a pool).
var (
	batchZstd = sync.OnceValue(func() *zstd.Encoder {
		e, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1))
		if err != nil {
			panic(err)
		}
		return e
	})
	batchGzipWriters = sync.Pool{New: func() any { return gzip.NewWriter(nil) }}
)

// compress encodes payload with codec using the libraries directly rather
// than the package under test, so the decoder meets streams it did not
// write itself.
func batchCompress(t *testing.T, codec batch.Codec, payload []byte, rawSnappy bool) []byte {
	var buf bytes.Buffer
	switch codec {
	case batch.None:
		return payload
	case batch.Gzip:
		w := batchGzipWriters.Get().(*gzip.Writer)
		defer batchGzipWriters.Put(w)
		w.Reset(&buf)
		w.Write(payload)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	case batch.Snappy:
		if rawSnappy {
			return s2.EncodeSnappy(nil, payload)
		}
		buf.Write([]byte{0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1})
		for len(payload) > 0 {
			n := min(len(payload), 32<<10)
			block := s2.EncodeSnappy(nil, payload[:n])
			buf.Write(binary.BigEndian.AppendUint32(nil, uint32(len(block))))
			buf.Write(block)
			payload = payload[n:]
		}
	case batch.LZ4:
		w := lz4.NewWriter(&buf)
		w.Write(payload)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	case batch.Zstd:
		return batchZstd().EncodeAll(payload, nil)
	}
	return buf.Bytes()
}

// batchSeeds are valid batches of every codec, with and without the
// shapes that matter: null and empty keys and values, headers, negative
// timestamp deltas, producer fields, LogAppendTime.
func batchSeeds(tb testing.TB) [][]byte {
	var seeds [][]byte
	for _, codec := range []batch.Codec{batch.None, batch.Gzip, batch.Snappy, batch.LZ4, batch.Zstd} {
		b := batch.NewBuilder(codec)
		b.Append(1_700_000_000_000, nil, []byte("first"), nil)
		b.Append(1_699_999_999_990, []byte{}, nil, []batch.RecordHeader{{Key: []byte("h"), Value: nil}})
		b.Append(1_700_000_000_100, []byte("key"), bytes.Repeat([]byte("value "), 30),
			[]batch.RecordHeader{{Key: []byte("a"), Value: []byte("1")}, {Key: []byte{}, Value: []byte{}}})
		out, err := b.Build()
		if err != nil {
			tb.Fatal(err)
		}
		seeds = append(seeds, bytes.Clone(out))

		b.Reset()
		b.SetProducer(12, 1, 40)
		b.Append(5, []byte("k"), []byte("v"), nil)
		out, err = b.Build()
		if err != nil {
			tb.Fatal(err)
		}
		out = bytes.Clone(out)
		batch.SetBaseOffset(out, 77)
		batch.SetLogAppendTime(out, 99)
		seeds = append(seeds, out)
	}
	return seeds
}
