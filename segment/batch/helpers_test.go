package batch_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"testing"

	"github.com/sluicelog/sluice/segment/batch"
)

var allCodecs = []batch.Codec{batch.None, batch.Gzip, batch.Snappy, batch.LZ4, batch.Zstd}

// rec is a record as a producer hands it to a Builder.
type rec struct {
	ts      int64
	key     []byte
	value   []byte
	headers []batch.RecordHeader
}

// sampleRecords covers the shapes that encode differently: null and empty
// keys and values, null header values, empty header keys, timestamps before
// the base (negative deltas) and values long enough for multi-byte lengths
// and for the codecs to find something to compress.
func sampleRecords(n int) []rec {
	const base = 1_700_000_000_000
	recs := make([]rec, n)
	for i := range recs {
		r := &recs[i]
		r.ts = base + int64(i*7) - int64(i%3)*50
		switch i % 5 {
		case 0:
			r.key = nil
		case 1:
			r.key = []byte{}
		default:
			r.key = []byte(fmt.Sprintf("key-%d", i))
		}
		switch i % 4 {
		case 0:
			r.value = nil
		case 1:
			r.value = []byte{}
		case 2:
			r.value = bytes.Repeat([]byte(fmt.Sprintf("value %d, ", i)), 40)
		default:
			r.value = []byte(fmt.Sprintf("v%d", i))
		}
		switch i % 3 {
		case 1:
			r.headers = []batch.RecordHeader{{Key: []byte("trace"), Value: []byte(fmt.Sprint(i))}}
		case 2:
			r.headers = []batch.RecordHeader{
				{Key: []byte("a"), Value: nil},
				{Key: []byte{}, Value: []byte{}},
				{Key: []byte("c"), Value: bytes.Repeat([]byte{byte(i)}, 200)},
			}
		}
	}
	return recs
}

func buildBatch(t testing.TB, codec batch.Codec, recs []rec) []byte {
	t.Helper()
	b := batch.NewBuilder(codec)
	for _, r := range recs {
		b.Append(r.ts, r.key, r.value, r.headers)
	}
	out, err := b.Build()
	if err != nil {
		t.Fatalf("Build(%v): %v", codec, err)
	}
	return bytes.Clone(out)
}

// checkRecords compares decoded records with what was appended, null-ness
// included.
func checkRecords(t testing.TB, h batch.Header, got []batch.Record, want []rec) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d records, want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.Offset != h.BaseOffset+int64(i) || g.OffsetDelta != int32(i) {
			t.Errorf("record %d: offset %d (delta %d), want %d", i, g.Offset, g.OffsetDelta, h.BaseOffset+int64(i))
		}
		wantTS := w.ts
		if h.TimestampType() == batch.LogAppendTime {
			wantTS = h.MaxTimestamp
		}
		if g.Timestamp != wantTS {
			t.Errorf("record %d: timestamp %d, want %d", i, g.Timestamp, wantTS)
		}
		sameBytes(t, fmt.Sprintf("record %d key", i), g.Key, w.key)
		sameBytes(t, fmt.Sprintf("record %d value", i), g.Value, w.value)
		if len(g.Headers) != len(w.headers) {
			t.Errorf("record %d: %d headers, want %d", i, len(g.Headers), len(w.headers))
			continue
		}
		for j, wh := range w.headers {
			gk := g.Headers[j].Key
			if gk == nil {
				t.Errorf("record %d header %d: nil key", i, j)
			}
			if !bytes.Equal(gk, wh.Key) {
				t.Errorf("record %d header %d: key %q, want %q", i, j, gk, wh.Key)
			}
			sameBytes(t, fmt.Sprintf("record %d header %d value", i, j), g.Headers[j].Value, wh.Value)
		}
	}
}

func sameBytes(t testing.TB, what string, got, want []byte) {
	t.Helper()
	if (got == nil) != (want == nil) || !bytes.Equal(got, want) {
		t.Errorf("%s: got %q (nil %v), want %q (nil %v)", what, trim(got), got == nil, trim(want), want == nil)
	}
}

func trim(b []byte) []byte {
	if len(b) > 40 {
		return b[:40]
	}
	return b
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// assemble writes a batch around payload by hand, independently of the
// Builder, so tests can put any record bytes, codec or count under a correct
// CRC.
func assemble(attrs int16, count int32, baseTS int64, payload []byte) []byte {
	b := make([]byte, batch.HeaderSize, batch.HeaderSize+len(payload))
	be := binary.BigEndian
	be.PutUint32(b[8:], uint32(batch.HeaderSize-12+len(payload)))
	be.PutUint32(b[12:], 0xffffffff)
	b[16] = batch.Magic
	be.PutUint16(b[21:], uint16(attrs))
	be.PutUint32(b[23:], uint32(count-1))
	be.PutUint64(b[27:], uint64(baseTS))
	be.PutUint64(b[35:], uint64(baseTS))
	be.PutUint64(b[43:], 0xffffffffffffffff)
	be.PutUint16(b[51:], 0xffff)
	be.PutUint32(b[53:], 0xffffffff)
	be.PutUint32(b[57:], uint32(count))
	b = append(b, payload...)
	fixCRC(b)
	return b
}

func fixCRC(b []byte) {
	binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[21:], castagnoli))
}

// varint appends Kafka zigzag varints, written here independently of the
// package's encoder.
func varint(dst []byte, vs ...int64) []byte {
	for _, v := range vs {
		dst = binary.AppendVarint(dst, v)
	}
	return dst
}

// rawRecord encodes one record by hand: attributes 0, the given deltas, key
// and value as given (nil is null), no headers.
func rawRecord(tsDelta, offsetDelta int64, key, value []byte) []byte {
	body := []byte{0}
	body = varint(body, tsDelta, offsetDelta)
	for _, p := range [][]byte{key, value} {
		if p == nil {
			body = varint(body, -1)
		} else {
			body = append(varint(body, int64(len(p))), p...)
		}
	}
	body = varint(body, 0)
	return append(varint(nil, int64(len(body))), body...)
}
