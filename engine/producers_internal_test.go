package engine

import (
	"errors"
	"math"
	"math/rand"
	"testing"

	"github.com/sluicelog/sluice/segment/batch"
)

func hdr(pid int64, epoch int16, seq int32, records int32) *batch.Header {
	return &batch.Header{ProducerID: pid, ProducerEpoch: epoch, BaseSequence: seq, LastOffsetDelta: records - 1, RecordCount: records}
}

func TestProducerStateSequences(t *testing.T) {
	s := newProducerState()
	off := int64(0)
	appendOK := func(h *batch.Header) {
		t.Helper()
		dup, err := s.check(h)
		if err != nil || dup != nil {
			t.Fatalf("check %+v: dup %v err %v", *h, dup, err)
		}
		s.update(h, off, 1)
		off += int64(h.LastOffsetDelta) + 1
	}
	// A new producer must start at 0.
	if _, err := s.check(hdr(1, 0, 5, 1)); !errors.Is(err, ErrOutOfOrderSequence) {
		t.Fatalf("new producer at 5: %v", err)
	}
	appendOK(hdr(1, 0, 0, 3))  // seq 0-2, offsets 0-2
	appendOK(hdr(1, 0, 3, 2))  // seq 3-4, offsets 3-4
	appendOK(hdr(2, 7, 0, 1))  // another producer, offset 5
	appendOK(hdr(1, 0, 5, 10)) // seq 5-14, offsets 6-15

	// Retries of any of the last batches are duplicates with their offsets.
	dup, err := s.check(hdr(1, 0, 3, 2))
	if err != nil || dup == nil || dup.firstOffset != 3 || dup.lastOffset != 4 {
		t.Fatalf("duplicate: %+v %v", dup, err)
	}
	// A gap or a replay that matches no batch is out of order.
	for _, seq := range []int32{16, 14, 1} {
		if _, err := s.check(hdr(1, 0, seq, 1)); !errors.Is(err, ErrOutOfOrderSequence) {
			t.Fatalf("seq %d: %v", seq, err)
		}
	}
	// An older epoch is fenced; a newer one restarts at 0.
	if _, err := s.check(hdr(2, 6, 1, 1)); !errors.Is(err, ErrInvalidProducerEpoch) {
		t.Fatalf("old epoch: %v", err)
	}
	if _, err := s.check(hdr(2, 8, 1, 1)); !errors.Is(err, ErrOutOfOrderSequence) {
		t.Fatalf("new epoch not at 0: %v", err)
	}
	appendOK(hdr(2, 8, 0, 1))
	if _, err := s.check(hdr(2, 7, 1, 1)); !errors.Is(err, ErrInvalidProducerEpoch) {
		t.Fatalf("fenced epoch: %v", err)
	}
	// Only the last producerWindow batches are remembered.
	for i := 0; i < producerWindow; i++ {
		appendOK(hdr(1, 0, 15+int32(i), 1))
	}
	if dup, err := s.check(hdr(1, 0, 5, 10)); dup != nil || !errors.Is(err, ErrOutOfOrderSequence) {
		t.Fatalf("forgotten batch: %+v %v", dup, err)
	}
}

func TestProducerSequenceWraps(t *testing.T) {
	s := newProducerState()
	s.update(hdr(1, 0, 0, 1), 0, 1)
	e := s.entries[1]
	e.recent[0].lastSeq = math.MaxInt32 - 1
	if _, err := s.check(hdr(1, 0, math.MaxInt32, 3)); err != nil { // MaxInt32, 0, 1
		t.Fatal(err)
	}
	s.update(hdr(1, 0, math.MaxInt32, 3), 1, 1)
	if got := s.entries[1].last().lastSeq; got != 1 {
		t.Fatalf("last sequence after wrap %d, want 1", got)
	}
	if _, err := s.check(hdr(1, 0, 2, 1)); err != nil {
		t.Fatalf("after wrap: %v", err)
	}
}

func TestProducerSnapshotRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	s := newProducerState()
	for i := 0; i < 50; i++ {
		pid := int64(rng.Intn(10))
		e := s.entries[pid]
		seq := int32(0)
		if e != nil {
			seq = e.last().lastSeq + 1
		}
		s.update(hdr(pid, 0, seq, int32(1+rng.Intn(5))), int64(i*10), int64(i))
	}
	b := s.marshal(1234)
	got, off, err := unmarshalProducerState(b)
	if err != nil || off != 1234 {
		t.Fatalf("unmarshal: %v, offset %d", err, off)
	}
	if len(got.entries) != len(s.entries) {
		t.Fatalf("%d entries, want %d", len(got.entries), len(s.entries))
	}
	for id, e := range s.entries {
		if *got.entries[id] != *e {
			t.Fatalf("producer %d: %+v, want %+v", id, *got.entries[id], *e)
		}
	}
	// Every truncation and some garbage are refused, never a panic.
	for i := 0; i < len(b); i++ {
		if _, _, err := unmarshalProducerState(b[:i]); err == nil {
			t.Fatalf("truncated snapshot of %d bytes accepted", i)
		}
	}
	if _, _, err := unmarshalProducerState(append(b, 0)); err == nil {
		t.Fatal("trailing byte accepted")
	}
}

func FuzzProducerSnapshot(f *testing.F) {
	s := newProducerState()
	s.update(hdr(1, 2, 0, 3), 10, 5)
	f.Add(s.marshal(13))
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		st, off, err := unmarshalProducerState(b)
		if err != nil {
			return
		}
		again, off2, err := unmarshalProducerState(st.marshal(off))
		if err != nil || off2 != off || len(again.entries) != len(st.entries) {
			t.Fatalf("re-encoded snapshot differs: %v", err)
		}
	})
}
