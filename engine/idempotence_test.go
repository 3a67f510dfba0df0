package engine_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/sluicelog/sluice/engine"
	"github.com/sluicelog/sluice/segment/batch"
)

// producerBatch builds an idempotent producer's batch of n records starting
// at sequence seq.
func producerBatch(t testing.TB, pid int64, epoch int16, seq int32, n int) []byte {
	t.Helper()
	b := batch.NewBuilder(batch.LZ4)
	b.SetProducer(pid, epoch, seq)
	for i := 0; i < n; i++ {
		b.Append(int64(1000+i), nil, []byte{byte(seq), byte(i)}, nil)
	}
	out, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Clone(out)
}

func TestIdempotentProducer(t *testing.T) {
	dir := t.TempDir()
	e := openEngine(t, dir, engine.Options{})
	if err := e.CreateTopic("idem", 1, map[string]string{"segment.bytes": "700"}); err != nil {
		t.Fatal(err)
	}
	pid, epoch, err := e.InitProducerID(-1, -1)
	if err != nil || epoch != 0 {
		t.Fatalf("init: %d %d %v", pid, epoch, err)
	}
	pid2, _, _ := e.InitProducerID(-1, -1)
	if pid2 == pid {
		t.Fatal("two producers got the same id")
	}
	p, _ := e.Partition("idem", 0)
	seq := int32(0)
	for i := 0; i < 20; i++ {
		res, err := p.Append(producerBatch(t, pid, epoch, seq, 3))
		if err != nil || res.Duplicate || res.BaseOffset != int64(i*3) {
			t.Fatalf("append %d: %+v %v", i, res, err)
		}
		seq += 3
	}
	// A retry of the last batch (its ack was lost) is answered with the
	// original offsets and writes nothing.
	res, err := p.Append(producerBatch(t, pid, epoch, seq-3, 3))
	if err != nil || !res.Duplicate || res.BaseOffset != 57 || res.LastOffset != 59 {
		t.Fatalf("duplicate retry: %+v %v", res, err)
	}
	if p.LogEndOffset() != 60 {
		t.Fatalf("duplicate was written: log end %d", p.LogEndOffset())
	}
	// A gap is refused.
	if _, err := p.Append(producerBatch(t, pid, epoch, seq+1, 1)); !errors.Is(err, engine.ErrOutOfOrderSequence) {
		t.Fatalf("gap: %v", err)
	}
	// Two batches in one request are checked in order.
	set := append(producerBatch(t, pid, epoch, seq, 2), producerBatch(t, pid, epoch, seq+2, 2)...)
	if res, err := p.Append(set); err != nil || res.LastOffset != 63 {
		t.Fatalf("set: %+v %v", res, err)
	}
	seq += 4
	bad := append(producerBatch(t, pid, epoch, seq, 2), producerBatch(t, pid, epoch, seq+5, 2)...)
	if _, err := p.Append(bad); !errors.Is(err, engine.ErrOutOfOrderSequence) || p.LogEndOffset() != 64 {
		t.Fatalf("set with a gap: %v, log end %d", err, p.LogEndOffset())
	}

	// The state survives a clean restart: the retry is still a duplicate.
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	e = openEngine(t, dir, engine.Options{})
	p, _ = e.Partition("idem", 0)
	res, err = p.Append(producerBatch(t, pid, epoch, seq-2, 2))
	if err != nil || !res.Duplicate || res.BaseOffset != 62 {
		t.Fatalf("duplicate after restart: %+v %v", res, err)
	}
	// And a crash: the state is rebuilt from the snapshot and the log.
	if _, err := p.Append(producerBatch(t, pid, epoch, seq, 1)); err != nil {
		t.Fatal(err)
	}
	crashed := crashCopy(t, dir)
	e2 := openEngine(t, crashed, engine.Options{})
	p2, _ := e2.Partition("idem", 0)
	res, err = p2.Append(producerBatch(t, pid, epoch, seq, 1))
	if err != nil || !res.Duplicate || res.BaseOffset != 64 {
		t.Fatalf("duplicate after crash: %+v %v", res, err)
	}
	if res, err := p2.Append(producerBatch(t, pid, epoch, seq+1, 1)); err != nil || res.BaseOffset != 65 {
		t.Fatalf("next after crash: %+v %v", res, err)
	}

	// A new epoch fences the old instance.
	_, epoch2, err := e2.InitProducerID(pid, epoch)
	if err != nil || epoch2 != epoch+1 {
		t.Fatalf("bump epoch: %d %v", epoch2, err)
	}
	if _, err := p2.Append(producerBatch(t, pid, epoch2, 0, 1)); err != nil {
		t.Fatal(err)
	}
	if _, err := p2.Append(producerBatch(t, pid, epoch, seq+2, 1)); !errors.Is(err, engine.ErrInvalidProducerEpoch) {
		t.Fatalf("fenced producer: %v", err)
	}
}

func TestProducerIDsSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	e := openEngine(t, dir, engine.Options{})
	a, _, _ := e.InitProducerID(-1, -1)
	b, _, _ := e.InitProducerID(-1, -1)
	e.Close()
	e = openEngine(t, dir, engine.Options{})
	c, _, err := e.InitProducerID(-1, -1)
	if err != nil || !(a < b && b < c) {
		t.Fatalf("ids %d %d %d (%v)", a, b, c, err)
	}
}
