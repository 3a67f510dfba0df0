package fuzz

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"testing"

	"github.com/sluicelog/sluice/segment/batch"
)

// Bits of FuzzFilter's mode byte.
const (
	// filterFixUp makes the input a batch with the right length, magic
	// and CRC, whatever its other bytes, so that inputs get past the
	// framing and reach the records.
	filterFixUp = 1 << iota
	// filterKeepEmpty asks for an empty batch when no record is kept.
	filterKeepEmpty
)

// filterKeeps is the keep function FuzzFilter uses: mask bit d%64 keeps the
// record at offset delta d.
func filterKeeps(mask uint64, r *batch.Record) bool { return mask>>(uint32(r.OffsetDelta)%64)&1 != 0 }

// FuzzFilter feeds arbitrary bytes to Filterer.Filter with a keep mask. It
// never panics; it fails, leaving dst as it was, on exactly the inputs that
// ValidateStored or the Reader refuse (control batches aside, which it
// keeps whole unread); and otherwise it writes a batch that ValidateStored
// accepts, with the input's header but for length, CRC and count, that
// reads back exactly the records keep accepted, byte for byte.
func FuzzFilter(f *testing.F) {
	for _, seed := range batchSeeds(f) {
		for _, mask := range []uint64{0, 1, 2, 0x5555555555555555, ^uint64(0)} {
			f.Add(seed, byte(0), mask)
			f.Add(seed, byte(filterKeepEmpty), mask)
		}
		// Compacted inputs: a filtered seed, filtered again.
		for _, out := range filterSeeds(f, seed) {
			f.Add(out, byte(0), uint64(0x3))
			f.Add(out, byte(filterKeepEmpty), uint64(0))
		}
		f.Add(seed[:len(seed)-1], byte(filterFixUp), uint64(0xa))
		damaged := bytes.Clone(seed)
		damaged[len(damaged)-2] ^= 0x11
		f.Add(damaged, byte(filterFixUp|filterKeepEmpty), uint64(0x6))
	}
	control := batchSeeds(f)[0]
	binary.BigEndian.PutUint16(control[21:], 0x30)
	f.Add(control, byte(filterFixUp), uint64(0))
	f.Add([]byte{}, byte(0), uint64(0))
	f.Add(make([]byte, batch.HeaderSize), byte(filterFixUp), uint64(1))

	var flt batch.Filterer // reused across inputs, as a cleaner would
	flt.MaxDecompressedSize = batchMaxDecompressed
	f.Fuzz(func(t *testing.T, data []byte, mode byte, mask uint64) {
		if mode&filterFixUp != 0 && len(data) >= batch.HeaderSize {
			data = bytes.Clone(data)
			binary.BigEndian.PutUint32(data[8:], uint32(len(data)-12))
			data[16] = batch.Magic
			binary.BigEndian.PutUint32(data[17:], crc32.Checksum(data[21:], batchCastagnoli))
		}
		opts := batch.FilterOptions{KeepEmpty: mode&filterKeepEmpty != 0}
		prefix := []byte("earlier")
		dst := append(make([]byte, 0, 64), prefix...)
		var seen []int64
		out, kept, err := flt.Filter(dst, data, func(r *batch.Record) bool {
			seen = append(seen, r.Offset)
			return filterKeeps(mask, r)
		}, opts)
		if !bytes.Equal(out[:min(len(out), len(prefix))], prefix) {
			t.Fatalf("Filter changed the bytes already in dst: %q", out)
		}

		h, verr := batch.ValidateStored(data)
		if verr != nil {
			if err == nil {
				t.Fatalf("Filter accepted what ValidateStored refuses: %v", verr)
			}
		}
		if err != nil {
			batchMustBeInvalid(t, "Filter", err)
			if kept != 0 || !bytes.Equal(out, prefix) {
				t.Fatalf("a failed Filter returned %d bytes and kept %d: %v", len(out), kept, err)
			}
			if verr == nil {
				// Only the records can have failed: the Reader must
				// agree that they do not decode.
				if !errors.Is(err, batch.ErrCorruptRecords) || h.Control() {
					t.Fatalf("Filter refused a valid stored batch: %v", err)
				}
				if _, rerr := filterRead(data); rerr == nil {
					t.Fatalf("Filter failed (%v) on records the Reader reads", err)
				}
			}
			return
		}
		got := out[len(prefix):]
		if h.Control() {
			if !bytes.Equal(got, data) || kept != int(h.RecordCount) || seen != nil {
				t.Fatalf("control batch not kept whole: %d bytes of %d, kept %d, keep called %d times", len(got), len(data), kept, len(seen))
			}
			return
		}
		all, rerr := filterRead(data)
		if rerr != nil {
			t.Fatalf("Filter succeeded on records the Reader refuses: %v", rerr)
		}
		var want []batch.Record
		for i := range all {
			if filterKeeps(mask, &all[i]) {
				want = append(want, all[i])
			}
		}
		if len(seen) != len(all) {
			t.Fatalf("keep was called %d times for %d records", len(seen), len(all))
		}
		for i := range all {
			if seen[i] != all[i].Offset {
				t.Fatalf("keep saw offset %d as record %d, want %d", seen[i], i, all[i].Offset)
			}
		}
		if kept != len(want) {
			t.Fatalf("kept %d records, keep accepted %d", kept, len(want))
		}
		switch {
		case kept == 0 && !opts.KeepEmpty:
			if len(got) != 0 {
				t.Fatalf("no record kept, no KeepEmpty, yet %d bytes written", len(got))
			}
			return
		case kept > 0 && kept == len(all):
			if !bytes.Equal(got, data) {
				t.Fatal("every record kept, yet the batch changed")
			}
		}

		oh, err := batch.ValidateStored(got)
		if err != nil {
			t.Fatalf("the filtered batch fails ValidateStored: %v", err)
		}
		wantH := h
		wantH.Length, wantH.CRC, wantH.RecordCount = oh.Length, oh.CRC, int32(kept)
		if kept == 0 {
			wantH.Attributes &^= 0x07 // an empty batch is uncompressed
			if len(got) != batch.HeaderSize {
				t.Fatalf("an empty batch of %d bytes", len(got))
			}
		}
		if oh != wantH {
			t.Fatalf("filtered header\n got %+v\nwant %+v", oh, wantH)
		}
		if _, err := batch.Validate(got); (err == nil) != (kept > 0 && int64(kept) == int64(h.LastOffsetDelta)+1) {
			t.Fatalf("Validate of the filtered batch (%d records, last delta %d): %v", kept, h.LastOffsetDelta, err)
		}
		again, err := filterRead(got)
		if err != nil {
			t.Fatalf("the filtered batch does not read back: %v", err)
		}
		batchSameRecords(t, "filtered", again, want)
		for i := range want {
			if again[i].TimestampDelta != want[i].TimestampDelta || again[i].Attributes != want[i].Attributes {
				t.Fatalf("filtered record %d: %+v, want %+v", i, again[i], want[i])
			}
		}

		// Keeping everything of a filtered batch gives it back unchanged.
		if kept > 0 {
			var f2 batch.Filterer
			same, n, err := f2.Filter(nil, got, func(*batch.Record) bool { return true }, batch.FilterOptions{})
			if err != nil || n != kept || !bytes.Equal(same, got) {
				t.Fatalf("refiltering with keep-all: %d records, %v, equal %v", n, err, bytes.Equal(same, got))
			}
		}
	})
}

// filterRead reads every record of b with the harness's decompression
// bound, cloned.
func filterRead(b []byte) ([]batch.Record, error) {
	r := batch.Reader{MaxDecompressedSize: batchMaxDecompressed}
	if _, err := r.Reset(b); err != nil {
		return nil, err
	}
	var recs []batch.Record
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return recs, nil
		}
		if err != nil {
			return nil, err
		}
		recs = append(recs, batchCloneRecord(rec))
	}
}

// filterSeeds are compacted forms of a valid batch: every other record
// kept, the first dropped, and an empty batch.
func filterSeeds(tb testing.TB, seed []byte) [][]byte {
	var f batch.Filterer
	var out [][]byte
	for _, c := range []struct {
		mask  uint64
		empty bool
	}{{0x5555555555555555, false}, {^uint64(1), false}, {0, true}} {
		b, _, err := f.Filter(nil, seed, func(r *batch.Record) bool { return filterKeeps(c.mask, r) }, batch.FilterOptions{KeepEmpty: c.empty})
		if err != nil {
			tb.Fatal(err)
		}
		if len(b) > 0 {
			out = append(out, b)
		}
	}
	return out
}
