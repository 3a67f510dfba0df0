package metadata

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"reflect"
	"testing"
	"time"
)

// TestSnapshotFormats: a state's snapshot in the binary format and the
// same image in the first (JSON) format both restore to the state they
// came from, and the binary one is written identically by EncodeSnapshot
// and WriteSnapshot.
func TestSnapshotFormats(t *testing.T) {
	for seed := range uint64(4) {
		s := New(Options{})
		for _, cmd := range randomLog(t, seed+100, 1500) {
			s.Apply(cmd)
		}
		im := s.Image()
		bin, err := EncodeSnapshot(im)
		if err != nil {
			t.Fatal(err)
		}
		if bin[0] != snapshotVersionBinary {
			t.Fatalf("snapshot version %d", bin[0])
		}
		var streamed bytes.Buffer
		if err := WriteSnapshot(&streamed, im); err != nil || !bytes.Equal(streamed.Bytes(), bin) {
			t.Fatalf("WriteSnapshot differs from EncodeSnapshot (%v)", err)
		}
		old, err := encodeSnapshotJSON(im)
		if err != nil {
			t.Fatal(err)
		}
		for _, snap := range [][]byte{bin, old} {
			r := New(Options{})
			if err := r.Restore(snap); err != nil {
				t.Fatalf("seed %d: restore of version %d: %v", seed, snap[0], err)
			}
			if r.Dump() != s.Dump() {
				t.Fatalf("seed %d: version %d restored\n%s\nwant\n%s", seed, snap[0], r.Dump(), s.Dump())
			}
			got := r.Image()
			if !reflect.DeepEqual(normal(got), normal(im)) {
				t.Fatalf("seed %d: version %d: images differ", seed, snap[0])
			}
			// The restored state goes on like the original.
			rec, _ := Encode(RegisterBroker{ID: 9, Incarnation: "late"})
			if a, b := s.Apply(rec), r.Apply(rec); !reflect.DeepEqual(a, b) {
				t.Fatalf("after restore: %+v vs %+v", a, b)
			}
			s = New(Options{})
			if err := s.Restore(bin); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// normal makes nil and empty slices alike, as JSON and the binary format
// are free to differ there.
func normal(im Image) Image {
	if len(im.Topics) == 0 {
		im.Topics = nil
	}
	if len(im.Brokers) == 0 {
		im.Brokers = nil
	}
	return im
}

// TestSnapshotRefusesCorruption: every truncation and a flipped bit in
// each byte of a binary snapshot is refused with ErrCorrupt.
func TestSnapshotRefusesCorruption(t *testing.T) {
	s := New(Options{})
	for _, cmd := range randomLog(t, 7, 300) {
		s.Apply(cmd)
	}
	snap, err := s.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	for n := range len(snap) {
		if _, err := DecodeSnapshot(snap[:n]); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("truncated to %d of %d bytes: %v", n, len(snap), err)
		}
	}
	for i := range snap {
		bad := bytes.Clone(snap)
		bad[i] ^= 0x10
		if _, err := DecodeSnapshot(bad); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("bit flipped at byte %d: %v", i, err)
		}
	}
	for _, b := range [][]byte{nil, {3}, {snapshotVersionBinary}, {0}} {
		if _, err := DecodeSnapshot(b); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("DecodeSnapshot(%x): %v", b, err)
		}
	}
}

// TestMillionPartitionSnapshot: a million partitions (1,000 topics of
// 1,000 over three brokers) snapshot and restore to the same image, well
// inside the 10 s; and stay small thanks to the interned lists.
func TestMillionPartitionSnapshot(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a million-partition image")
	}
	s := bigState(t, 1000, 1000, 3)
	mustApplyTB(t, s, FenceBroker{ID: 2}) // varied ISRs and epochs
	mustApplyTB(t, s, UnfenceBroker{ID: 2})
	start := time.Now()
	snap, err := s.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	start = time.Now()
	r := New(Options{})
	if err := r.Restore(snap); err != nil {
		t.Fatal(err)
	}
	restoreTook := time.Since(start)
	t.Logf("1M partitions: snapshot %d bytes in %v, restore in %v", len(snap), took, restoreTook)
	if took+restoreTook > 10*time.Second {
		t.Errorf("snapshot and restore took %v, the target is 10 s", took+restoreTook)
	}
	if len(snap) > 20<<20 {
		t.Errorf("snapshot of %d bytes: more than 20 bytes a partition", len(snap))
	}
	a, b := s.Image(), r.Image()
	if a.AppliedIndex != b.AppliedIndex || len(a.Topics) != len(b.Topics) || !reflect.DeepEqual(a.Brokers, b.Brokers) {
		t.Fatal("restored image differs")
	}
	for i := range a.Topics {
		if !reflect.DeepEqual(a.Topics[i], b.Topics[i]) {
			t.Fatalf("topic %s differs after restore", a.Topics[i].Name)
		}
	}
}

// FuzzDecodeSnapshot: snapshot bytes from disk or a peer are refused or
// decoded, never a panic; what decodes satisfies the invariants and
// encodes back to bytes that decode to the same image.
func FuzzDecodeSnapshot(f *testing.F) {
	s := New(Options{})
	for _, cmd := range randomLog(f, 3, 200) {
		s.Apply(cmd)
	}
	bin, _ := s.Snapshot()
	old, _ := encodeSnapshotJSON(s.Image())
	f.Add(bin)
	f.Add(old)
	f.Add([]byte{snapshotVersionBinary, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte(fmt.Sprintf("\x01%s", `{"cluster_id":"","brokers":[],"topics":[],"next_producer_id":1000,"applied_index":0}`)))
	f.Fuzz(func(t *testing.T, b []byte) {
		checkDecoded(t, b)
		// Most mutations only break the checksum: mend it, so that the
		// decoder behind it sees them too.
		if len(b) >= 5 && b[0] == snapshotVersionBinary {
			body := b[:len(b)-4]
			checkDecoded(t, binary.BigEndian.AppendUint32(bytes.Clone(body), crc32.Checksum(body, castagnoli)))
		}
	})
}

// checkDecoded: b is refused with ErrCorrupt, or decodes to an image that
// keeps the invariants and survives a round trip.
func checkDecoded(t *testing.T, b []byte) {
	t.Helper()
	im, err := DecodeSnapshot(b)
	if err != nil {
		if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("error without ErrCorrupt: %v", err)
		}
		return
	}
	if err := im.Check(); err != nil {
		t.Fatalf("decoded image breaks an invariant: %v", err)
	}
	again, err := EncodeSnapshot(im)
	if err != nil {
		t.Fatal(err)
	}
	back, err := DecodeSnapshot(again)
	if err != nil {
		t.Fatalf("re-encoded snapshot refused: %v", err)
	}
	if back.String() != im.String() {
		t.Fatalf("round trip changed the image:\n%s\n%s", im.String(), back.String())
	}
}
