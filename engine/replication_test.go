package engine_test

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/sluicelog/sluice/engine"
	"github.com/sluicelog/sluice/segment/batch"
)

// replicatedPartition opens a replicated engine on dir with topic "r" of
// one partition and returns the engine and its partition.
func replicatedPartition(t *testing.T, dir string) (*engine.Engine, *engine.Partition) {
	t.Helper()
	e := openEngine(t, dir, engine.Options{Replicated: true})
	if err := e.CreateTopic("r", 1, nil); err != nil && !errors.Is(err, engine.ErrTopicExists) {
		t.Fatal(err)
	}
	p, err := e.Partition("r", 0)
	if err != nil {
		t.Fatal(err)
	}
	return e, p
}

// copyTo copies the leader's log from offset from to its log end into the
// follower, as a replica fetch does.
func copyTo(t *testing.T, leader, follower *engine.Partition) {
	t.Helper()
	for follower.LogEndOffset() < leader.LogEndOffset() {
		r, err := leader.ReadReplica(follower.LogEndOffset(), 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		b, err := r.ReadTo(nil)
		r.Release()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := follower.AppendReplica(b); err != nil {
			t.Fatal(err)
		}
	}
}

// TestReplicatedHighWatermark: a replicated partition's appends stay
// invisible to readers until the high watermark moves; replica reads see
// the log end; batches carry the leader epoch and the history records it.
func TestReplicatedHighWatermark(t *testing.T) {
	_, p := replicatedPartition(t, t.TempDir())
	p.SetLeaderEpoch(3)
	for i := 0; i < 4; i++ {
		if _, err := p.Append(buildBatch(t, batch.None, fmt.Sprint("a", i), 5, 1000)); err != nil {
			t.Fatal(err)
		}
	}
	if p.LogEndOffset() != 20 || p.HighWatermark() != 0 {
		t.Fatalf("log end %d, high watermark %d; want 20 and 0", p.LogEndOffset(), p.HighWatermark())
	}
	if got := readAll(t, p, 0); len(got) != 0 {
		t.Fatalf("readers see %d records above the high watermark", len(got))
	}
	// Between the high watermark and the log end a read is empty, not
	// out of range; past the log end it is out of range.
	if r, err := p.Read(15, 1<<20); err != nil || r.Len != 0 {
		t.Fatalf("read between hw and log end: %v, %d bytes", err, r.Len)
	}
	if _, err := p.Read(21, 1<<20); !errors.Is(err, engine.ErrOffsetOutOfRange) {
		t.Fatalf("read past the log end: %v", err)
	}
	r, err := p.ReadReplica(0, 1<<20)
	if err != nil || r.Len == 0 {
		t.Fatalf("replica read: %v, %d bytes", err, r.Len)
	}
	r.Release()
	// A batch boundary, then a point inside a batch: the watermark stops
	// at the last whole batch below it.
	p.SetHighWatermark(10)
	if got := readAll(t, p, 0); len(got) != 10 || p.HighWatermark() != 10 {
		t.Fatalf("after hw 10: %d records, hw %d", len(got), p.HighWatermark())
	}
	p.SetHighWatermark(12)
	if p.HighWatermark() != 10 {
		t.Fatalf("hw inside a batch moved to %d, want it kept at 10", p.HighWatermark())
	}
	p.SetHighWatermark(5) // never backwards
	p.SetHighWatermark(100)
	if p.HighWatermark() != 20 {
		t.Fatalf("hw %d, want 20 (clamped to the log end)", p.HighWatermark())
	}
	if ep, end := p.EndOffsetForEpoch(3); ep != 3 || end != 20 {
		t.Fatalf("end of epoch 3: %d %d, want 3 20", ep, end)
	}
	if ep, end := p.EndOffsetForEpoch(9); ep != -1 || end != -1 {
		t.Fatalf("end of unknown newer epoch 9: %d %d, want -1 -1", ep, end)
	}
	p.SetLeaderEpoch(5)
	if _, err := p.Append(buildBatch(t, batch.None, "b", 2, 1000)); err != nil {
		t.Fatal(err)
	}
	if hist := p.EpochHistory(); !slices.Equal(hist, [][2]int64{{3, 0}, {5, 20}}) {
		t.Fatalf("history %v", hist)
	}
	if ep, end := p.EndOffsetForEpoch(4); ep != 3 || end != 20 {
		t.Fatalf("end of epoch 4 (never led): %d %d, want 3 20", ep, end)
	}
	if ep, end := p.EndOffsetForEpoch(1); ep != 1 || end != 0 {
		t.Fatalf("end of epoch 1 (before all): %d %d, want 1 0", ep, end)
	}
}

// TestReplicaAppendAndTruncate: a follower copies a leader's batches byte
// for byte (offsets and epochs), refuses a gap, and truncating a divergent
// tail takes its epochs and producer state with it.
func TestReplicaAppendAndTruncate(t *testing.T) {
	_, leader := replicatedPartition(t, t.TempDir())
	dir := t.TempDir()
	_, follower := replicatedPartition(t, dir)
	leader.SetLeaderEpoch(1)
	for i := 0; i < 3; i++ {
		if _, err := leader.Append(producerBatch(t, 7, 0, int32(i*2), 2)); err != nil {
			t.Fatal(err)
		}
	}
	copyTo(t, leader, follower)
	read := func(p *engine.Partition) []byte {
		r, err := p.ReadReplica(0, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Release()
		b, err := r.ReadTo(nil)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	if !bytes.Equal(read(leader), read(follower)) {
		t.Fatal("the follower's log differs from the leader's")
	}
	if !slices.Equal(follower.EpochHistory(), [][2]int64{{1, 0}}) {
		t.Fatalf("follower history %v", follower.EpochHistory())
	}
	// A batch that goes back below the follower's log end is refused (a
	// gap after it is not: a compacted leader's log has them).
	stray := buildBatch(t, batch.None, "x", 1, 0)
	batch.SetBaseOffset(stray, follower.LogEndOffset()-1)
	if _, err := follower.AppendReplica(stray); !errors.Is(err, engine.ErrReplicaOffset) {
		t.Fatalf("overlap: %v, want ErrReplicaOffset", err)
	}

	// The follower becomes leader at epoch 2 and writes a tail the old
	// leader never saw; the producer's next sequence is known to it.
	follower.SetLeaderEpoch(2)
	if _, err := follower.Append(producerBatch(t, 7, 0, 6, 2)); err != nil {
		t.Fatalf("new leader refused the producer's next batch: %v", err)
	}
	if ep, end := follower.EndOffsetForEpoch(1); ep != 1 || end != 6 {
		t.Fatalf("end of epoch 1: %d %d", ep, end)
	}
	// Cut it off again, as a follower would at the end of epoch 1: the
	// history and the producer's state go back with it, so the same
	// batch is new again rather than a duplicate.
	if err := follower.TruncateTo(6); err != nil {
		t.Fatal(err)
	}
	if follower.LogEndOffset() != 6 || !slices.Equal(follower.EpochHistory(), [][2]int64{{1, 0}}) {
		t.Fatalf("after truncate: end %d history %v", follower.LogEndOffset(), follower.EpochHistory())
	}
	res, err := follower.Append(producerBatch(t, 7, 0, 6, 2))
	if err != nil || res.Duplicate || res.BaseOffset != 6 {
		t.Fatalf("re-append after truncate: %+v %v", res, err)
	}
	// Truncating inside a batch cuts the whole batch.
	if err := follower.TruncateTo(3); err != nil {
		t.Fatal(err)
	}
	if follower.LogEndOffset() != 2 {
		t.Fatalf("truncate to 3 left log end %d, want 2 (the batch holding 3 goes)", follower.LogEndOffset())
	}
	copyTo(t, leader, follower)
	if !bytes.Equal(read(leader), read(follower)) {
		t.Fatal("after re-fetching, the follower's log differs from the leader's")
	}
}

// TestReplicatedReopen: the epoch history and the high watermark survive a
// restart; the restarted replica does not expose records above the saved
// high watermark.
func TestReplicatedReopen(t *testing.T) {
	dir := t.TempDir()
	e, err := engine.Open(dir, engine.Options{Replicated: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.CreateTopic("r", 1, nil); err != nil {
		t.Fatal(err)
	}
	p, _ := e.Partition("r", 0)
	p.SetLeaderEpoch(4)
	for i := 0; i < 3; i++ {
		if _, err := p.Append(buildBatch(t, batch.None, "a", 4, 1000)); err != nil {
			t.Fatal(err)
		}
	}
	p.SetHighWatermark(8)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	_, p = replicatedPartition(t, dir)
	if p.LogEndOffset() != 12 || p.HighWatermark() != 8 {
		t.Fatalf("reopened: end %d hw %d, want 12 and 8", p.LogEndOffset(), p.HighWatermark())
	}
	if !slices.Equal(p.EpochHistory(), [][2]int64{{4, 0}}) {
		t.Fatalf("history %v", p.EpochHistory())
	}
	p.SetHighWatermark(12)
	if got := readAll(t, p, 0); len(got) != 12 {
		t.Fatalf("read %d records, want 12", len(got))
	}
}

// TestEpochCheckpointRefusesDamage: a damaged checkpoint stops the open
// with a message naming the file, rather than replication guessing.
func TestEpochCheckpointRefusesDamage(t *testing.T) {
	for _, bad := range []string{"", "1\n0\n", "0\n2\n3 0\n", "0\n2\n3 10\n2 20\n", "0\n1\n-1 0\n", "0\n1\n1 2 3\n"} {
		if err := engine.ParseEpochCheckpoint([]byte(bad)); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
	for _, good := range []string{"0\n0\n", "0\n2\n3 0\n5 20\n"} {
		if err := engine.ParseEpochCheckpoint([]byte(good)); err != nil {
			t.Errorf("%q: %v", good, err)
		}
	}
}

// TestReplicaResetTo: a follower whose log ends before the leader's log
// start empties its log and takes the leader's from there.
func TestReplicaResetTo(t *testing.T) {
	_, leader := replicatedPartition(t, t.TempDir())
	_, follower := replicatedPartition(t, t.TempDir())
	leader.SetLeaderEpoch(2)
	if _, err := follower.AppendReplica(func() []byte {
		b := buildBatch(t, batch.None, "old", 2, 1000)
		batch.SetPartitionLeaderEpoch(b, 1)
		return b
	}()); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		if _, err := leader.Append(buildBatch(t, batch.None, "a", 4, 1000)); err != nil {
			t.Fatal(err)
		}
	}
	if err := follower.ResetTo(12); err != nil {
		t.Fatal(err)
	}
	if follower.LogStartOffset() != 12 || follower.LogEndOffset() != 12 || follower.HighWatermark() != 12 || len(follower.EpochHistory()) != 0 {
		t.Fatalf("after reset: start %d end %d hw %d history %v", follower.LogStartOffset(), follower.LogEndOffset(), follower.HighWatermark(), follower.EpochHistory())
	}
	copyTo(t, leader, follower)
	follower.SetHighWatermark(20)
	if got := readAll(t, follower, 12); len(got) != 8 || got[0].offset != 12 {
		t.Fatalf("follower after reset holds %v", got)
	}
	if !slices.Equal(follower.EpochHistory(), [][2]int64{{2, 12}}) {
		t.Fatalf("history %v", follower.EpochHistory())
	}
}
