package dump_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/sluicelog/sluice/segment"
	"github.com/sluicelog/sluice/segment/batch"
	"github.com/sluicelog/sluice/segment/dump"
)

// writeSegment writes a sealed segment at base offset 100 of n batches of
// two records each (timestamps rising by 10 ms a batch) with an index entry
// after every batch, and returns the files' contents.
func writeSegment(t testing.TB, n int) (log, idx, tidx []byte) {
	t.Helper()
	dir := t.TempDir()
	s, err := segment.Create(dir, 100, segment.Options{IndexIntervalBytes: 1})
	if err != nil {
		t.Fatal(err)
	}
	b := batch.NewBuilder(batch.None)
	for i := range n {
		b.Reset()
		if i%2 == 1 {
			b.SetCodec(batch.LZ4)
		} else {
			b.SetCodec(batch.None)
		}
		b.SetProducer(7, 1, int32(2*i))
		ts := int64(1_700_000_000_000 + 10*i)
		b.Append(ts, []byte(fmt.Sprintf("k%d", i)), []byte(fmt.Sprintf("value %d", i)), nil)
		b.Append(ts+1, nil, []byte{0, 1, 0xff}, nil)
		data, err := b.Build()
		if err != nil {
			t.Fatal(err)
		}
		batch.SetBaseOffset(data, s.NextOffset())
		if err := s.Append(data); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Seal(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	read := func(suffix string) []byte {
		data, err := os.ReadFile(filepath.Join(dir, segment.FileName(100, suffix)))
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	return read(".log"), read(".index"), read(".timeindex")
}

type walked struct {
	batches []dump.Batch
	records []string
}

func walk(t *testing.T, log []byte) (walked, error) {
	t.Helper()
	var w walked
	err := dump.WalkLog(bytes.NewReader(log), int64(len(log)), func(b *dump.Batch, raw []byte) error {
		w.batches = append(w.batches, *b)
		return dump.Records(raw, func(r *batch.Record) error {
			w.records = append(w.records, fmt.Sprintf("%d:%s=%q", r.Offset, r.Key, r.Value))
			return nil
		})
	})
	return w, err
}

func TestWalkLogAndIndexes(t *testing.T) {
	log, idx, tidx := writeSegment(t, 4)
	w, err := walk(t, log)
	if err != nil {
		t.Fatal(err)
	}
	if len(w.batches) != 4 {
		t.Fatalf("%d batches, want 4", len(w.batches))
	}
	pos := int64(0)
	for i, b := range w.batches {
		h := b.Header
		if b.Position != pos || h.BaseOffset != int64(100+2*i) || h.LastOffset() != h.BaseOffset+1 || !b.CRCValid || len(b.Problems) != 0 ||
			h.ProducerID != 7 || h.BaseSequence != int32(2*i) || h.MaxTimestamp != int64(1_700_000_000_001+10*i) {
			t.Fatalf("batch %d: %+v", i, b)
		}
		pos += h.Size()
	}
	if w.batches[1].Header.Codec() != batch.LZ4 || w.records[3] != `103:="\x00\x01\xff"` || w.records[2] != `102:k1="value 1"` {
		t.Fatalf("records: %q", w.records)
	}

	ox := dump.ReadOffsetIndex(idx, 100)
	tx := dump.ReadTimeIndex(tidx, 100)
	if ox.Damage != nil || tx.Damage != nil || len(ox.Problems)+len(tx.Problems) != 0 || len(ox.Entries) == 0 || len(tx.Entries) == 0 {
		t.Fatalf("indexes: %+v %+v", ox, tx)
	}
	l, err := dump.ReadLayout(bytes.NewReader(log), int64(len(log)))
	if err != nil || l.Damage != nil {
		t.Fatal(err, l.Damage)
	}
	if m := dump.VerifyOffsetIndex(ox, l); len(m) != 0 {
		t.Fatalf("offset index mismatches: %v", m)
	}
	if m := dump.VerifyTimeIndex(tx, l); len(m) != 0 {
		t.Fatalf("time index mismatches: %v", m)
	}

	// An entry naming a position inside a batch, and one naming the wrong
	// offset, are both found.
	bad := bytes.Clone(idx)
	e := ox.Entries[0]
	binary.BigEndian.PutUint32(bad[4:], uint32(e.Position+1))
	binary.BigEndian.PutUint32(bad[8:], 0) // entry 1's relative offset: 0
	m := dump.VerifyOffsetIndex(dump.ReadOffsetIndex(bad, 100), l)
	if len(m) != 2 {
		t.Fatalf("mismatches: %v", m)
	}
	badT := bytes.Clone(tidx)
	binary.BigEndian.PutUint64(badT, uint64(tx.Entries[0].Timestamp+5))
	if m := dump.VerifyTimeIndex(dump.ReadTimeIndex(badT, 100), l); len(m) != 1 {
		t.Fatalf("time mismatches: %v", m)
	}
}

func TestWalkLogDamage(t *testing.T) {
	log, _, _ := writeSegment(t, 3)
	first, err := batch.ParseHeader(log)
	if err != nil {
		t.Fatal(err)
	}
	// A flipped byte in the first batch's records: its CRC fails, the walk
	// goes on.
	flipped := bytes.Clone(log)
	flipped[first.Size()-2] ^= 0xff
	w, err := walk(t, flipped)
	if err != nil || len(w.batches) != 3 || w.batches[0].CRCValid || !errors.Is(w.batches[0].Problems[0], batch.ErrBadCRC) || !w.batches[1].CRCValid {
		t.Fatalf("flipped: %v %+v", err, w.batches)
	}
	// A torn tail: the damage is at the start of the last batch.
	second, _ := batch.ParseHeader(log[first.Size():])
	lastPos := first.Size() + second.Size()
	var d *dump.Damage
	if w, err := walk(t, log[:len(log)-3]); !errors.As(err, &d) || d.Position != lastPos || len(w.batches) != 2 {
		t.Fatalf("torn: %v, %d batches", err, len(w.batches))
	}
	// A bad magic in the second batch stops the walk there.
	magic := bytes.Clone(log)
	magic[first.Size()+16] = 1
	if w, err := walk(t, magic); !errors.As(err, &d) || d.Position != first.Size() || !errors.Is(err, batch.ErrBadMagic) || len(w.batches) != 1 {
		t.Fatalf("bad magic: %v, %d batches", err, len(w.batches))
	}
	// Offsets going backwards are a problem of the batch, not damage.
	back := bytes.Clone(log)
	batch.SetBaseOffset(back[first.Size():], 100)
	if w, err := walk(t, back); err != nil || len(w.batches[1].Problems) != 1 {
		t.Fatalf("backwards: %v %+v", err, w.batches)
	}
}

func TestReadIndexTail(t *testing.T) {
	var idx []byte
	for _, e := range [][2]uint32{{0, 0}, {3, 200}, {5, 400}} {
		idx = binary.BigEndian.AppendUint32(idx, e[0])
		idx = binary.BigEndian.AppendUint32(idx, e[1])
	}
	pre := append(bytes.Clone(idx), make([]byte, 40)...)
	if x := dump.ReadOffsetIndex(pre, 10); len(x.Entries) != 3 || x.Preallocated != 40 || x.Damage != nil || x.Entries[2] != (dump.OffsetEntry{Offset: 15, Position: 400}) {
		t.Fatalf("preallocated: %+v", x)
	}
	junk := append(bytes.Clone(pre), 9)
	if x := dump.ReadOffsetIndex(junk, 10); x.Damage == nil || x.Damage.Position != int64(len(pre)) {
		t.Fatalf("odd tail: %+v", x)
	}
	pre[len(idx)+12] = 1
	if x := dump.ReadOffsetIndex(pre, 10); len(x.Entries) != 3 || x.Damage == nil || x.Damage.Position != int64(len(idx)+12) {
		t.Fatalf("non-zero after the end: %+v", x)
	}
	back := bytes.Clone(idx)
	binary.BigEndian.PutUint32(back[16:], 2)
	if x := dump.ReadOffsetIndex(back, 10); len(x.Problems) != 1 {
		t.Fatalf("falling offsets: %+v", x)
	}
	if base, err := dump.BaseOffset("/x/00000000000000000042.timeindex"); err != nil || base != 42 {
		t.Fatal(base, err)
	}
	if _, err := dump.BaseOffset("seg.index"); err == nil {
		t.Fatal("a name without a base offset was accepted")
	}
}
