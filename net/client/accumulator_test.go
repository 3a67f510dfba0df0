package client

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/sluicelog/sluice/net/protocol"
	"github.com/sluicelog/sluice/segment/batch"
)

// The accumulator is driven here without IO: batches are queued, sealed
// and answered by hand, with a fake clock.

type accTest struct {
	t      *testing.T
	pt     *partState
	cfg    ProducerConfig
	now    time.Time
	serial uint64
}

func newAccTest(t *testing.T) *accTest {
	a := &accTest{t: t, now: time.Unix(1000, 0)}
	a.cfg.setDefaults()
	a.pt = &partState{tp: tp{"t", 0}, topic: &topicState{name: "t", partitions: 1}}
	return a
}

// queue adds a full batch of n records.
func (a *accTest) queue(n int) *pbatch {
	a.serial++
	b := &pbatch{part: a.pt, b: batch.NewBuilder(batch.None), created: a.now, serial: a.serial, full: true}
	for range n {
		b.b.Append(a.now.UnixMilli(), nil, []byte("v"), nil)
		b.recs = append(b.recs, recordMeta{})
	}
	a.pt.queue = append(a.pt.queue, b)
	a.pt.order = append(a.pt.order, b)
	return b
}

// send takes the next ready batch as the sender would.
func (a *accTest) send() *pbatch {
	a.t.Helper()
	ok, _ := a.pt.ready(a.now, a.cfg.Linger, false)
	if !ok {
		a.t.Fatalf("nothing ready (blocked %v, retry %d, queue %d)", a.pt.blocked, len(a.pt.retry), len(a.pt.queue))
	}
	b := a.pt.next(math.MaxInt32, true, 7, 0)
	if b == nil {
		a.t.Fatal("next: nothing")
	}
	b.attempts++
	a.pt.inflight++
	if b.wire == nil { // as the sender's buildWire does, outside the lock
		var err error
		if b.wire, err = b.b.Build(); err != nil {
			a.t.Fatal(err)
		}
	}
	if h, _ := batch.ParseHeader(b.wire); h.BaseSequence != b.seq || h.ProducerID != 7 {
		a.t.Fatalf("wire header seq %d pid %d, batch seq %d", h.BaseSequence, h.ProducerID, b.seq)
	}
	return b
}

func (a *accTest) answer(b *pbatch, err error, code protocol.ErrorCode) produceOutcome {
	return a.pt.result(b, err, code, nil, 100, -1, a.now, &a.cfg, true)
}

func (a *accTest) notReady() {
	a.t.Helper()
	if ok, _ := a.pt.ready(a.now, a.cfg.Linger, false); ok {
		a.t.Fatal("partition ready while it should wait")
	}
}

var errConn = &netError{addr: "x", op: "read", err: errors.New("cut")}

func TestAccumulatorSequencesAndRetryOrder(t *testing.T) {
	a := newAccTest(t)
	a.queue(3)
	a.queue(2)
	a.queue(4)
	b1, b2, b3 := a.send(), a.send(), a.send()
	if b1.seq != 0 || b2.seq != 3 || b3.seq != 5 || a.pt.nextSeq != 9 {
		t.Fatalf("sequences %d %d %d next %d", b1.seq, b2.seq, b3.seq, a.pt.nextSeq)
	}
	// b1 is acknowledged; the connection breaks under b2 and b3.
	if a.answer(b1, nil, protocol.NoError) != outcomeDone || a.pt.ackedSeq != 3 {
		t.Fatalf("after b1: acked %d", a.pt.ackedSeq)
	}
	if a.answer(b2, errConn, protocol.NoError) != outcomeRetry {
		t.Fatal("b2 not retried")
	}
	a.notReady() // b3 is still out
	if a.answer(b3, errConn, protocol.NoError) != outcomeRetry {
		t.Fatal("b3 not retried")
	}
	a.notReady() // blocked until unblock runs
	if bump, err := a.pt.unblock(true, 7, 0); bump || err != nil {
		t.Fatalf("unblock: %v %v", bump, err)
	}
	a.notReady() // the retry backoff
	a.now = a.now.Add(a.cfg.RetryBackoff)
	// The retries go in order with their original sequences and bytes.
	if r := a.send(); r != b2 || r.seq != 3 || r.attempts != 2 {
		t.Fatalf("first retry: %+v", r)
	}
	if r := a.send(); r != b3 || r.seq != 5 {
		t.Fatalf("second retry: seq %d", r.seq)
	}
	// b2's retry was a duplicate the broker recognised: success.
	a.answer(b2, nil, protocol.NoError)
	a.answer(b3, nil, protocol.NoError)
	done := a.pt.popDone(nil)
	if len(done) != 3 || done[0] != b1 || done[1] != b2 || done[2] != b3 {
		t.Fatalf("completion order: %d batches", len(done))
	}
	if a.pt.ackedSeq != 9 {
		t.Fatalf("acked %d", a.pt.ackedSeq)
	}
}

func TestAccumulatorCallbacksWaitForEarlierBatches(t *testing.T) {
	a := newAccTest(t)
	a.queue(1)
	a.queue(1)
	b1, b2 := a.send(), a.send()
	a.answer(b1, errConn, protocol.NoError) // to be retried
	a.answer(b2, nil, protocol.NoError)     // acknowledged first
	if done := a.pt.popDone(nil); len(done) != 0 {
		t.Fatalf("%d batches completed before the earlier one", len(done))
	}
	a.pt.unblock(true, 7, 0)
	a.now = a.now.Add(time.Second)
	a.answer(a.send(), nil, protocol.NoError)
	if done := a.pt.popDone(nil); len(done) != 2 || done[0] != b1 {
		t.Fatalf("completion: %d", len(done))
	}
}

func TestAccumulatorRefusedBatchRewinds(t *testing.T) {
	a := newAccTest(t)
	a.queue(2)
	a.queue(2)
	a.queue(2)
	b1, b2, b3 := a.send(), a.send(), a.send()
	a.answer(b1, nil, protocol.NoError)
	// b2 is refused for good: its sequence is a gap, so b3 is refused as
	// out of order, which is expected and retried.
	if a.answer(b2, nil, protocol.ErrMessageTooLarge) != outcomeDone || !errors.Is(b2.err, protocol.ErrMessageTooLarge) {
		t.Fatalf("b2: %v", b2.err)
	}
	if a.answer(b3, nil, protocol.ErrOutOfOrderSequenceNumber) != outcomeRetry {
		t.Fatalf("b3 failed: %v", b3.err)
	}
	if bump, err := a.pt.unblock(true, 7, 0); bump || err != nil {
		t.Fatal(bump, err)
	}
	// b3 is renumbered into the gap and rebuilt.
	if b3.seq != 2 || a.pt.nextSeq != 4 {
		t.Fatalf("after rewind: b3 seq %d next %d", b3.seq, a.pt.nextSeq)
	}
	if h, _ := batch.ParseHeader(b3.wire); h.BaseSequence != 2 {
		t.Fatalf("b3 rebuilt with sequence %d", h.BaseSequence)
	}
	a.now = a.now.Add(time.Second)
	if r := a.send(); r != b3 {
		t.Fatal("b3 not resent")
	}
	a.queue(1)
	a.answer(b3, nil, protocol.NoError)
	if b := a.send(); b.seq != 4 {
		t.Fatalf("next batch seq %d", b.seq)
	}
}

func TestAccumulatorUnexplainedOutOfOrderIsFatal(t *testing.T) {
	a := newAccTest(t)
	a.queue(1)
	a.queue(1)
	a.queue(1)
	b1, b2, b3 := a.send(), a.send(), a.send()
	// Nothing failed before, yet the broker says out of order: it lost
	// the producer's state.
	if a.answer(b1, nil, protocol.ErrOutOfOrderSequenceNumber) != outcomeDone {
		t.Fatal("b1 retried")
	}
	// The partition's other pending batches fail with the same error,
	// whatever comes back for them.
	a.answer(b2, nil, protocol.ErrOutOfOrderSequenceNumber)
	a.answer(b3, errConn, protocol.NoError)
	for i, b := range []*pbatch{b1, b2, b3} {
		if !b.done || !errors.Is(b.err, protocol.ErrOutOfOrderSequenceNumber) {
			t.Fatalf("batch %d: done %v err %v", i+1, b.done, b.err)
		}
	}
	if bump, _ := a.pt.unblock(true, 7, 0); !bump {
		t.Fatal("no epoch bump asked for")
	}
	a.notReady()
}

func TestAccumulatorDeliveryTimeout(t *testing.T) {
	a := newAccTest(t)
	a.cfg.DeliveryTimeout = time.Second
	a.queue(1)
	b1 := a.send()
	a.now = a.now.Add(2 * time.Second)
	// A connection failure past the timeout: failed, and since the broker
	// may have the batch, its sequence state is uncertain.
	if a.answer(b1, errConn, protocol.NoError) != outcomeDone || !errors.Is(b1.err, ErrTimeout) || !errors.Is(b1.err, ErrNetwork) {
		t.Fatalf("b1: %v", b1.err)
	}
	if bump, _ := a.pt.unblock(true, 7, 0); !bump {
		t.Fatal("no bump after giving up on a batch of unknown fate")
	}
	// Queued batches expire too, with the cause.
	b := newAccTest(t)
	b.cfg.DeliveryTimeout = time.Second
	q := b.queue(1)
	b.now = b.now.Add(time.Second)
	cause := errors.New("dial refused")
	if !b.pt.expire(b.now, b.cfg.DeliveryTimeout, true, cause) || !errors.Is(q.err, ErrTimeout) || !errors.Is(q.err, cause) {
		t.Fatalf("queued batch: %v", q.err)
	}
}

func TestAccumulatorRetriesLimit(t *testing.T) {
	a := newAccTest(t)
	a.cfg.Retries = 1
	a.queue(1)
	b1 := a.send()
	if a.answer(b1, nil, protocol.ErrNotLeaderOrFollower) != outcomeRetry {
		t.Fatal("first failure not retried")
	}
	a.pt.unblock(true, 7, 0)
	a.now = a.now.Add(time.Second)
	a.send()
	if a.answer(b1, nil, protocol.ErrNotLeaderOrFollower) != outcomeDone || !errors.Is(b1.err, protocol.ErrNotLeaderOrFollower) {
		t.Fatalf("second failure: %v", b1.err)
	}
}

func TestAddSeqWraps(t *testing.T) {
	for _, c := range []struct{ seq, n, want int32 }{
		{0, 5, 5},
		{math.MaxInt32 - 5, 5, math.MaxInt32},
		{math.MaxInt32 - 5, 6, 0},
		{math.MaxInt32, 1, 0},
		{math.MaxInt32 - 1, 10, 8},
	} {
		if got := addSeq(c.seq, c.n); got != c.want {
			t.Errorf("addSeq(%d, %d) = %d, want %d", c.seq, c.n, got, c.want)
		}
	}
}

func TestReadyLinger(t *testing.T) {
	a := newAccTest(t)
	b := a.queue(1)
	b.full = false
	ok, at := a.pt.ready(a.now, 5*time.Millisecond, false)
	if ok || !at.Equal(a.now.Add(5*time.Millisecond)) {
		t.Fatalf("open batch: ready %v at %v", ok, at)
	}
	if ok, _ := a.pt.ready(a.now, 5*time.Millisecond, true); !ok {
		t.Fatal("flush does not make it ready")
	}
	if ok, _ := a.pt.ready(a.now.Add(5*time.Millisecond), 5*time.Millisecond, false); !ok {
		t.Fatal("not ready after the linger")
	}
}
