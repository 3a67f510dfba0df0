package batch_test

import (
	"bytes"
	stdgzip "compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"

	"github.com/sluicelog/sluice/segment/batch"
)

// storedBatch builds a batch as a log would hold it: records from
// sampleRecords, a producer, an assigned base offset and leader epoch, and
// with logAppend the broker's timestamp.
func storedBatch(t testing.TB, codec batch.Codec, n int, logAppend bool) []byte {
	t.Helper()
	bb := batch.NewBuilder(codec)
	bb.SetProducer(31, 4, 900)
	for _, r := range sampleRecords(n) {
		bb.Append(r.ts, r.key, r.value, r.headers)
	}
	out, err := bb.Build()
	if err != nil {
		t.Fatal(err)
	}
	b := bytes.Clone(out)
	batch.SetBaseOffset(b, 5000)
	batch.SetPartitionLeaderEpoch(b, 7)
	if logAppend {
		batch.SetLogAppendTime(b, 1_800_000_000_000)
	}
	return b
}

// decodeAll is Decode that fails the test on error.
func decodeAll(t testing.TB, b []byte) (batch.Header, []batch.Record) {
	t.Helper()
	h, recs, err := batch.Decode(b)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	return h, recs
}

// sameRecord compares two decoded records field by field, null-ness of
// keys, values and header values included.
func sameRecord(t testing.TB, what string, got, want batch.Record) {
	t.Helper()
	if got.Offset != want.Offset || got.OffsetDelta != want.OffsetDelta || got.Timestamp != want.Timestamp ||
		got.TimestampDelta != want.TimestampDelta || got.Attributes != want.Attributes {
		t.Fatalf("%s: record %+v, want %+v", what, got, want)
	}
	sameBytes(t, what+" key", got.Key, want.Key)
	sameBytes(t, what+" value", got.Value, want.Value)
	if len(got.Headers) != len(want.Headers) {
		t.Fatalf("%s: %d headers, want %d", what, len(got.Headers), len(want.Headers))
	}
	for i := range want.Headers {
		sameBytes(t, fmt.Sprintf("%s header %d key", what, i), got.Headers[i].Key, want.Headers[i].Key)
		sameBytes(t, fmt.Sprintf("%s header %d value", what, i), got.Headers[i].Value, want.Headers[i].Value)
	}
}

// sameHeaderBut checks that a filtered batch's header is its source's but
// for length, CRC, record count and, for an empty batch, the codec.
func sameHeaderBut(t testing.TB, got, src batch.Header, count int32) {
	t.Helper()
	want := src
	want.Length, want.CRC, want.RecordCount = got.Length, got.CRC, count
	if count == 0 {
		want.Attributes &^= 0x07
	}
	if got != want {
		t.Fatalf("filtered header\n got %+v\nwant %+v", got, want)
	}
}

func dropOdd(r *batch.Record) bool { return r.Offset%2 == 0 }

func TestFilterRoundTrip(t *testing.T) {
	var f batch.Filterer // one for all, as a cleaner would keep it
	for _, codec := range allCodecs {
		for _, logAppend := range []bool{false, true} {
			t.Run(fmt.Sprintf("%v/logappend=%v", codec, logAppend), func(t *testing.T) {
				src := storedBatch(t, codec, 60, logAppend)
				sh, all := decodeAll(t, src)
				var want []batch.Record
				for _, r := range all {
					if dropOdd(&r) {
						want = append(want, r)
					}
				}
				prefix := []byte("earlier batches")
				var seen []int64
				out, kept, err := f.Filter(bytes.Clone(prefix), src, func(r *batch.Record) bool {
					seen = append(seen, r.Offset)
					return dropOdd(r)
				}, batch.FilterOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if kept != len(want) || len(seen) != len(all) {
					t.Fatalf("kept %d of %d records (keep saw %d), want %d", kept, len(all), len(seen), len(want))
				}
				for i, o := range seen {
					if o != all[i].Offset {
						t.Fatalf("keep saw offset %d as record %d, want %d", o, i, all[i].Offset)
					}
				}
				if !bytes.Equal(out[:len(prefix)], prefix) {
					t.Fatalf("Filter changed dst's bytes: %q", out[:len(prefix)])
				}
				b := out[len(prefix):]
				h, err := batch.ValidateStored(b)
				if err != nil {
					t.Fatalf("ValidateStored: %v", err)
				}
				sameHeaderBut(t, h, sh, int32(len(want)))
				if _, err := batch.Validate(b); !errors.Is(err, batch.ErrBadRecordCount) {
					t.Fatalf("Validate of a compacted batch: %v, want ErrBadRecordCount", err)
				}
				_, got := decodeAll(t, b)
				if len(got) != len(want) {
					t.Fatalf("decoded %d records, want %d", len(got), len(want))
				}
				for i := range want {
					sameRecord(t, fmt.Sprintf("record %d", i), got[i], want[i])
				}

				// A second pass thins the compacted batch again.
				out2, kept2, err := f.Filter(nil, b, func(r *batch.Record) bool { return r.Offset%4 == 0 }, batch.FilterOptions{})
				if err != nil {
					t.Fatal(err)
				}
				h2, got2 := decodeAll(t, out2)
				sameHeaderBut(t, h2, sh, int32(kept2))
				var want2 []batch.Record
				for _, r := range want {
					if r.Offset%4 == 0 {
						want2 = append(want2, r)
					}
				}
				if len(got2) != len(want2) || kept2 != len(want2) {
					t.Fatalf("second pass: %d records (kept %d), want %d", len(got2), kept2, len(want2))
				}
				for i := range want2 {
					sameRecord(t, fmt.Sprintf("second pass record %d", i), got2[i], want2[i])
				}
			})
		}
	}
}

// TestFilterPeek: Peek sees every record, keys and values intact, before
// keep sees any, and the batch written is the one Filter writes without
// it.
func TestFilterPeek(t *testing.T) {
	var f batch.Filterer
	for _, codec := range allCodecs {
		src := storedBatch(t, codec, 40, false)
		_, all := decodeAll(t, src)
		want, _, err := f.Filter(nil, src, dropOdd, batch.FilterOptions{})
		if err != nil {
			t.Fatal(err)
		}
		want = bytes.Clone(want)
		var peeked []batch.Record
		kept := 0
		got, n, err := f.Filter(nil, src, func(r *batch.Record) bool {
			if len(peeked) != len(all) {
				t.Fatalf("%v: keep called after %d of %d records peeked", codec, len(peeked), len(all))
			}
			kept++
			return dropOdd(r)
		}, batch.FilterOptions{Peek: func(r *batch.Record) {
			c := *r
			c.Key, c.Value, c.Headers = bytes.Clone(r.Key), bytes.Clone(r.Value), nil
			peeked = append(peeked, c)
		}})
		if err != nil {
			t.Fatalf("%v: %v", codec, err)
		}
		if kept != len(all) || n != len(all)/2 || !bytes.Equal(got, want) {
			t.Fatalf("%v: with Peek keep saw %d records, kept %d, same output %v; want %d, %d, true",
				codec, kept, n, bytes.Equal(got, want), len(all), len(all)/2)
		}
		for i, r := range all {
			r.Headers = nil
			sameRecord(t, fmt.Sprintf("%v: peeked record %d", codec, i), peeked[i], r)
		}
	}
}

func TestFilterKeepAll(t *testing.T) {
	var f batch.Filterer
	for _, codec := range allCodecs {
		src := storedBatch(t, codec, 25, false)
		out, kept, err := f.Filter([]byte{1, 2}, src, func(*batch.Record) bool { return true }, batch.FilterOptions{})
		if err != nil || kept != 25 {
			t.Fatalf("%v: kept %d, %v", codec, kept, err)
		}
		if !bytes.Equal(out[2:], src) || out[0] != 1 || out[1] != 2 {
			t.Fatalf("%v: keeping every record did not append the input unchanged", codec)
		}
		// A strict producer batch stays one.
		if _, err := batch.Validate(out[2:]); err != nil {
			t.Fatalf("%v: %v", codec, err)
		}
	}
}

func TestFilterEmpty(t *testing.T) {
	var f batch.Filterer
	none := func(*batch.Record) bool { return false }
	for _, codec := range allCodecs {
		src := storedBatch(t, codec, 10, false)
		sh, _ := batch.ValidateStored(src)

		dst := []byte("keep me")
		out, kept, err := f.Filter(dst, src, none, batch.FilterOptions{})
		if err != nil || kept != 0 || !bytes.Equal(out, []byte("keep me")) {
			t.Fatalf("%v: no records, no KeepEmpty: %q, %d, %v; want dst unchanged", codec, out, kept, err)
		}

		out, kept, err = f.Filter(nil, src, none, batch.FilterOptions{KeepEmpty: true})
		if err != nil || kept != 0 {
			t.Fatalf("%v: KeepEmpty: %d, %v", codec, kept, err)
		}
		if len(out) != batch.HeaderSize {
			t.Fatalf("%v: empty batch of %d bytes, want the header alone", codec, len(out))
		}
		h, err := batch.ValidateStored(out)
		if err != nil {
			t.Fatalf("%v: ValidateStored of the empty batch: %v", codec, err)
		}
		sameHeaderBut(t, h, sh, 0)
		if h.Codec() != batch.None || h.ProducerID != 31 || h.ProducerEpoch != 4 || h.BaseSequence != 900 ||
			h.LastOffset() != sh.LastOffset() || h.NextOffset() != 5010 {
			t.Fatalf("%v: empty batch header %+v", codec, h)
		}
		if _, err := batch.Validate(out); !errors.Is(err, batch.ErrBadRecordCount) {
			t.Fatalf("%v: Validate of an empty batch: %v, want ErrBadRecordCount", codec, err)
		}
		if _, recs, err := batch.Decode(out); err != nil || len(recs) != 0 {
			t.Fatalf("%v: Decode of the empty batch: %d records, %v", codec, len(recs), err)
		}

		// Filtering an empty batch gives it back, or nothing.
		again, kept, err := f.Filter(nil, out, func(*batch.Record) bool { t.Fatal("keep called on an empty batch"); return true },
			batch.FilterOptions{KeepEmpty: true})
		if err != nil || kept != 0 || !bytes.Equal(again, out) {
			t.Fatalf("%v: refiltering the empty batch: %d, %v", codec, kept, err)
		}
		if again, _, err := f.Filter(nil, out, none, batch.FilterOptions{}); err != nil || len(again) != 0 {
			t.Fatalf("%v: refiltering the empty batch without KeepEmpty: %d bytes, %v", codec, len(again), err)
		}
	}
}

func TestFilterControlBatchWhole(t *testing.T) {
	src := storedBatch(t, batch.None, 2, false)
	attrs := binary.BigEndian.Uint16(src[21:])
	binary.BigEndian.PutUint16(src[21:], attrs|0x30) // transactional, control
	fixCRC(src)
	var f batch.Filterer
	out, kept, err := f.Filter(nil, src, func(*batch.Record) bool { t.Fatal("keep called on a control batch"); return false },
		batch.FilterOptions{})
	if err != nil || kept != 2 || !bytes.Equal(out, src) {
		t.Fatalf("control batch: kept %d, %v, equal %v", kept, err, bytes.Equal(out, src))
	}
}

func TestFilterRefusesBadInput(t *testing.T) {
	var f batch.Filterer
	all := func(*batch.Record) bool { return true }
	none := func(*batch.Record) bool { return false }
	good := storedBatch(t, batch.None, 5, false)
	badCRC := bytes.Clone(good)
	badCRC[len(badCRC)-1] ^= 1
	corrupt := assemble(0, 2, 0, append(rawRecord(0, 0, nil, nil), rawRecord(0, 0, nil, nil)...)) // repeated delta
	cases := []struct {
		name string
		b    []byte
		want error
	}{
		{"truncated", good[:len(good)-1], batch.ErrTruncated},
		{"bad CRC", badCRC, batch.ErrBadCRC},
		{"repeated offset delta", corrupt, batch.ErrCorruptRecords},
		{"gzip garbage", assemble(int16(batch.Gzip), 1, 0, []byte("not gzip")), batch.ErrCorruptRecords},
	}
	for _, c := range cases {
		for _, keep := range []func(*batch.Record) bool{all, none} {
			// dst has room past its length: Filter must not leave it
			// longer, whatever it wrote into that room.
			dst := append(make([]byte, 0, 1<<12), "prefix"...)
			out, kept, err := f.Filter(dst, c.b, keep, batch.FilterOptions{KeepEmpty: true})
			if !errors.Is(err, c.want) || !errors.Is(err, batch.ErrInvalid) {
				t.Errorf("%s: %v, want %v", c.name, err, c.want)
			}
			if kept != 0 || string(out) != "prefix" {
				t.Errorf("%s: failed Filter returned %q, kept %d", c.name, out, kept)
			}
		}
	}
	// The Filterer works on after a failure.
	if out, kept, err := f.Filter(nil, good, dropOdd, batch.FilterOptions{}); err != nil || kept != 3 {
		t.Fatalf("after failures: kept %d, %v", kept, err)
	} else if _, err := batch.ValidateStored(out); err != nil {
		t.Fatal(err)
	}
}

// drain reads r to its end and returns the number of records read and
// the error that stopped it, nil at io.EOF.
func drain(r *batch.Reader) (int, error) {
	for n := 0; ; n++ {
		if _, err := r.Next(); err != nil {
			if err == io.EOF {
				err = nil
			}
			return n, err
		}
	}
}

// compacted assembles a stored batch by hand: count records under a
// lastOffsetDelta of its own, any attributes.
func compacted(attrs int16, count, lastDelta int32, payload []byte) []byte {
	b := assemble(attrs, count, 0, payload)
	binary.BigEndian.PutUint32(b[23:], uint32(lastDelta))
	fixCRC(b)
	return b
}

func TestValidateStored(t *testing.T) {
	rec := func(deltas ...int64) []byte {
		var p []byte
		for _, d := range deltas {
			p = append(p, rawRecord(d*10, d, []byte{byte('a' + d)}, nil)...)
		}
		return p
	}
	cases := []struct {
		name          string
		b             []byte
		stored, valid error // what ValidateStored and Validate say
		offsets       []int64
		decode        error
	}{
		{"producer batch", compacted(0, 3, 2, rec(0, 1, 2)), nil, nil, []int64{0, 1, 2}, nil},
		{"gaps", compacted(0, 2, 5, rec(1, 4)), nil, batch.ErrBadRecordCount, []int64{1, 4}, nil},
		{"last offset gone", compacted(0, 1, 9, rec(0)), nil, batch.ErrBadRecordCount, []int64{0}, nil},
		{"empty", compacted(0, 0, 3, nil), nil, batch.ErrBadRecordCount, nil, nil},
		{"empty, one offset", compacted(0, 0, 0, nil), nil, batch.ErrBadRecordCount, nil, nil},
		// Kafka's reader skips the payload of an empty batch; so do we
		// when there is none.
		{"empty gzip, no payload", compacted(int16(batch.Gzip), 0, 3, nil), nil, batch.ErrBadRecordCount, nil, nil},
		{"empty with bytes", compacted(0, 0, 3, rec(1)), nil, batch.ErrBadRecordCount, nil, batch.ErrCorruptRecords},
		{"more records than offsets", compacted(0, 3, 1, rec(0, 1, 2)), batch.ErrBadRecordCount, batch.ErrBadRecordCount, nil, nil},
		{"negative last delta", compacted(0, 0, -1, nil), batch.ErrBadRecordCount, batch.ErrBadRecordCount, nil, nil},
		{"negative count", compacted(0, -1, 3, nil), batch.ErrBadRecordCount, batch.ErrBadRecordCount, nil, nil},
		{"delta past the last", compacted(0, 2, 3, rec(1, 4)), nil, batch.ErrBadRecordCount, nil, batch.ErrCorruptRecords},
		{"deltas fall", compacted(0, 2, 5, rec(3, 2)), nil, batch.ErrBadRecordCount, nil, batch.ErrCorruptRecords},
		{"deltas repeat", compacted(0, 2, 5, rec(3, 3)), nil, batch.ErrBadRecordCount, nil, batch.ErrCorruptRecords},
		{"count above the records", compacted(0, 3, 5, rec(1, 4)), nil, batch.ErrBadRecordCount, nil, batch.ErrCorruptRecords},
		{"bad codec", compacted(6, 1, 3, rec(1)), batch.ErrBadCodec, batch.ErrBadCodec, nil, nil},
	}
	for _, c := range cases {
		if _, err := batch.ValidateStored(c.b); !errors.Is(err, c.stored) || (err != nil) != (c.stored != nil) {
			t.Errorf("%s: ValidateStored = %v, want %v", c.name, err, c.stored)
		}
		if _, err := batch.ValidateStoredFraming(c.b); !errors.Is(err, c.stored) || (err != nil) != (c.stored != nil) {
			t.Errorf("%s: ValidateStoredFraming = %v, want %v", c.name, err, c.stored)
		}
		if _, err := batch.Validate(c.b); !errors.Is(err, c.valid) || (err != nil) != (c.valid != nil) {
			t.Errorf("%s: Validate = %v, want %v", c.name, err, c.valid)
		}
		if c.stored != nil {
			continue
		}
		_, recs, err := batch.Decode(c.b)
		if c.decode != nil {
			if !errors.Is(err, c.decode) {
				t.Errorf("%s: Decode = %v, want %v", c.name, err, c.decode)
			}
			continue
		}
		if err != nil || len(recs) != len(c.offsets) {
			t.Errorf("%s: Decode = %d records, %v; want %d", c.name, len(recs), err, len(c.offsets))
			continue
		}
		for i, r := range recs {
			if r.Offset != c.offsets[i] || r.Timestamp != 10*c.offsets[i] || r.Key[0] != byte('a'+c.offsets[i]) {
				t.Errorf("%s: record %d is %+v, want offset %d", c.name, i, r, c.offsets[i])
			}
		}
	}
	// The stored checks come after the CRC, as Validate's do.
	b := compacted(0, 3, 1, rec(0, 1, 2))
	b[len(b)-1] ^= 1
	if _, err := batch.ValidateStored(b); !errors.Is(err, batch.ErrBadCRC) {
		t.Errorf("ValidateStored of a damaged batch: %v, want ErrBadCRC", err)
	}
	if _, err := batch.ValidateStoredFraming(b); !errors.Is(err, batch.ErrBadRecordCount) {
		t.Errorf("ValidateStoredFraming of a damaged batch: %v, want ErrBadRecordCount", err)
	}
}

// TestReaderEmptyBatches reads an empty batch of every codec: with
// no payload, and with the codec's stream of nothing.
func TestReaderEmptyBatches(t *testing.T) {
	var r batch.Reader
	for _, codec := range allCodecs {
		for _, payload := range [][]byte{nil, compressNothing(t, codec)} {
			b := compacted(int16(codec), 0, 4, payload)
			if _, err := r.Reset(b); err != nil {
				t.Fatalf("%v, %d-byte payload: %v", codec, len(payload), err)
			}
			if rec, err := r.Next(); rec != nil || err != io.EOF {
				t.Fatalf("%v, %d-byte payload: Next = %v, %v", codec, len(payload), rec, err)
			}
		}
	}
}

// compressNothing is codec's encoding of no bytes, written with the
// codec libraries directly.
func compressNothing(t *testing.T, codec batch.Codec) []byte {
	t.Helper()
	var buf bytes.Buffer
	switch codec {
	case batch.Gzip:
		w := stdgzip.NewWriter(&buf)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	case batch.Snappy:
		// The xerial header with no blocks.
		buf.Write([]byte{0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1})
	case batch.LZ4:
		w := lz4.NewWriter(&buf)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	case batch.Zstd:
		enc, err := zstd.NewWriter(nil)
		if err != nil {
			t.Fatal(err)
		}
		return enc.EncodeAll(nil, nil)
	}
	return buf.Bytes()
}

func TestFilterDoesNotAllocate(t *testing.T) {
	for _, codec := range allCodecs {
		if raceEnabled && codec != batch.None {
			continue // the codecs pool internally; see TestBuildDoesNotAllocate
		}
		src := storedBatch(t, codec, 200, false)
		var f batch.Filterer
		var dst []byte
		allocs := testing.AllocsPerRun(20, func() {
			var err error
			if dst, _, err = f.Filter(dst[:0], src, dropOdd, batch.FilterOptions{}); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%v: Filter over 200 records allocates %v times", codec, allocs)
		}
	}
}
