package engine_test

// The log cleaner against what can happen beside it: truncation, replica
// moves, swaps under readers, wide gaps, failing partitions, retention.

import (
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/sluicelog/sluice/engine"
	"github.com/sluicelog/sluice/segment/batch"
)

// replicaBatch is one keyed record (value nil: a tombstone) as a leader
// would have stored it: base offset and leader epoch patched in (both sit
// outside the CRC).
func replicaBatch(t testing.TB, base int64, epoch int32, ts int64, key string, value []byte) []byte {
	t.Helper()
	b := batch.NewBuilder(batch.None)
	b.Append(ts, []byte(key), value, nil)
	raw, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	out := append([]byte(nil), raw...)
	binary.BigEndian.PutUint64(out[0:], uint64(base))
	binary.BigEndian.PutUint32(out[12:], uint32(epoch))
	return out
}

func appendReplica(t testing.TB, p *engine.Partition, epoch int32, ts int64, key string, value []byte) int64 {
	t.Helper()
	off := p.LogEndOffset()
	if _, err := p.AppendReplica(replicaBatch(t, off, epoch, ts, key, value)); err != nil {
		t.Fatal(err)
	}
	return off
}

func newestByKey(recs []keyed) map[string]keyed {
	m := map[string]keyed{}
	for _, r := range recs {
		m[r.key] = r
	}
	return m
}

// TestTruncationVoidsCleaning: a follower that truncates below its high
// watermark (after an unclean election the new leader never had k=v2)
// while a cleaning is between groups voids the cleaning: its offset map
// says k's newest record is the truncated one, and no group cleaned
// against it is installed, so k=v1 stays as on the leader.
func TestTruncationVoidsCleaning(t *testing.T) {
	clock := newFakeClock()
	e := openEngine(t, t.TempDir(), engine.Options{Now: clock.Now, Replicated: true, CleanerDisabled: true, RetentionCheckInterval: -1})
	if err := e.CreateTopic("c", 1, map[string]string{"cleanup.policy": "compact", "segment.bytes": "1024"}); err != nil {
		t.Fatal(err)
	}
	p, _ := e.Partition("c", 0)
	now := clock.Now().UnixMilli()
	appendReplica(t, p, 1, now, "k", []byte("v1"))
	for i := 1; i < 40; i++ {
		appendReplica(t, p, 1, now, fmt.Sprint("f", i), []byte("filler"))
	}
	cut := appendReplica(t, p, 1, now, "k", []byte("v2"))
	for i := 41; i < 70; i++ {
		appendReplica(t, p, 1, now, fmt.Sprint("f", i), []byte("filler"))
	}
	p.SetHighWatermark(p.LogEndOffset())

	truncated := false
	engine.SetCleanerHook(e, func(step string) {
		if step == "written" && !truncated {
			truncated = true
			// The fetcher's log_truncation, on another goroutine in real
			// life; the cleaner holds only cleanMu here.
			if err := p.TruncateTo(cut); err != nil {
				t.Errorf("truncate: %v", err)
			}
		}
	})
	st, err := p.Clean()
	t.Logf("clean: %+v err=%v", st, err)
	if !truncated {
		t.Fatal("hook never ran")
	}
	got := newestByKey(readKeyed(t, p, 0))
	if r, ok := got["k"]; !ok || string(r.value) != "v1" {
		t.Fatalf("after truncating k=v2 away during a cleaning, k reads %+v (present %v); want v1 at offset 0", r, ok)
	}
}

// TestTruncationMovesCleanerCheckpointBack: a truncation below the
// cleaner checkpoint moves it back, so the records written after it are
// deduplicated against one another, and a tombstone among them deletes
// its key for good.
func TestTruncationMovesCleanerCheckpointBack(t *testing.T) {
	clock := newFakeClock()
	e := openEngine(t, t.TempDir(), engine.Options{Now: clock.Now, Replicated: true, CleanerDisabled: true, RetentionCheckInterval: -1})
	if err := e.CreateTopic("c", 1, map[string]string{"cleanup.policy": "compact", "segment.bytes": "1024",
		"delete.retention.ms": "3600000"}); err != nil {
		t.Fatal(err)
	}
	p, _ := e.Partition("c", 0)
	for i := 0; i < 60; i++ {
		appendReplica(t, p, 1, clock.Now().UnixMilli(), fmt.Sprint("a", i), []byte("x"))
	}
	p.SetHighWatermark(p.LogEndOffset())
	st, err := p.Clean()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("first clean: %+v", st)
	// Unclean election: the new leader's log diverges at offset 5.
	if err := p.TruncateTo(5); err != nil {
		t.Fatal(err)
	}
	appendReplica(t, p, 2, clock.Now().UnixMilli(), "k", []byte("deleted soon"))
	appendReplica(t, p, 2, clock.Now().UnixMilli(), "k", nil) // tombstone
	for i := 0; i < 60; i++ {
		appendReplica(t, p, 2, clock.Now().UnixMilli(), fmt.Sprint("b", i), []byte("x"))
	}
	p.SetHighWatermark(p.LogEndOffset())
	if st, err = p.Clean(); err != nil {
		t.Fatal(err)
	}
	t.Logf("second clean: %+v", st)
	clock.Advance(2 * time.Hour) // the tombstone's delete.retention.ms passes
	for i := 0; i < 60; i++ {
		appendReplica(t, p, 2, clock.Now().UnixMilli(), fmt.Sprint("c", i), []byte("x"))
	}
	p.SetHighWatermark(p.LogEndOffset())
	if st, err = p.Clean(); err != nil {
		t.Fatal(err)
	}
	t.Logf("third clean: %+v", st)
	if r, ok := newestByKey(readKeyed(t, p, 0))["k"]; ok && r.value != nil {
		t.Fatalf("k was deleted by a tombstone, but reads %q at offset %d after cleaning", r.value, r.offset)
	}
}

// TestTombstoneOutlivesItsTimestamp: a tombstone produced with an old
// CreateTime (mirrored data, event-time stamps, a Streams changelog)
// stays delete.retention.ms from the first cleaning that sees it, as
// Kafka's delete horizon (KIP-534), so a consumer that read the value
// learns of the delete.
func TestTombstoneOutlivesItsTimestamp(t *testing.T) {
	clock := newFakeClock()
	e := openEngine(t, t.TempDir(), engine.Options{Now: clock.Now, CleanerDisabled: true, RetentionCheckInterval: -1})
	if err := e.CreateTopic("c", 1, map[string]string{"cleanup.policy": "compact", "segment.bytes": "1024"}); err != nil {
		t.Fatal(err)
	}
	p, _ := e.Partition("c", 0)
	now := clock.Now().UnixMilli()
	if _, err := p.Append(keyedBatch(t, now, "k", "v")); err != nil {
		t.Fatal(err)
	}
	b := batch.NewBuilder(batch.None)
	b.Append(now-2*24*3600*1000, []byte("k"), nil, nil) // event time two days ago
	raw, _ := b.Build()
	if _, err := p.Append(append([]byte(nil), raw...)); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 40; i++ {
		if _, err := p.Append(keyedBatch(t, now, fmt.Sprint("f", i), "x")); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := p.Clean(); err != nil {
		t.Fatal(err)
	}
	if _, ok := newestByKey(readKeyed(t, p, 0))["k"]; !ok {
		t.Fatal("the tombstone of k was removed by its first cleaning, written a moment ago (delete.retention.ms is 1 day)")
	}
}

// TestListOffsetDuringSwap: ListOffsets by timestamp while a cleaned
// group replaces its segments (old ones deleted, list not yet swapped)
// waits out the swap and answers from the new segments, rather than
// skipping the group.
func TestListOffsetDuringSwap(t *testing.T) {
	clock := newFakeClock()
	e := openEngine(t, t.TempDir(), engine.Options{Now: clock.Now, CleanerDisabled: true, RetentionCheckInterval: -1})
	if err := e.CreateTopic("c", 1, map[string]string{"cleanup.policy": "compact", "segment.bytes": "1024"}); err != nil {
		t.Fatal(err)
	}
	p, _ := e.Partition("c", 0)
	base := clock.Now().UnixMilli()
	for i := 0; i < 60; i++ {
		if _, err := p.Append(keyedBatch(t, base+int64(i)*1000, fmt.Sprint("k", i), "x")); err != nil {
			t.Fatal(err)
		}
	}
	want, err := p.ListOffset(base + 3000)
	if err != nil || want != 3 {
		t.Fatalf("before: %d %v", want, err)
	}
	var got int64
	var gotErr error
	done := make(chan struct{})
	fired := false // the hook runs on the cleaning's goroutine alone
	engine.SetCleanerHook(e, func(step string) {
		if step == "deleted" && !fired {
			fired = true
			// The swap holds the partition's lock: ListOffset runs
			// beside it, as a request would, loads the segment list
			// the swap is replacing and finds a segment closed. The
			// pause makes that likely, not certain; the answer must
			// be right either way.
			go func() {
				defer close(done)
				got, gotErr = p.ListOffset(base + 3000)
			}()
			time.Sleep(20 * time.Millisecond)
		}
	})
	if _, err := p.Clean(); err != nil {
		t.Fatal(err)
	}
	<-done
	if gotErr != nil || got != want {
		t.Fatalf("ListOffset during the swap: %d, %v; want %d", got, gotErr, want)
	}
}

// TestReplicaCopiesGapPast32Bits: a compacted leader whose cleaner removed
// more than 2^32 consecutive offsets (a few hot keys overwritten for
// hours) serves two consecutive batches that far apart; the follower rolls
// at the second batch's offset, as Kafka does, and copies both.
func TestReplicaCopiesGapPast32Bits(t *testing.T) {
	clock := newFakeClock()
	e := openEngine(t, t.TempDir(), engine.Options{Now: clock.Now, Replicated: true, CleanerDisabled: true, RetentionCheckInterval: -1})
	if err := e.CreateTopic("c", 1, map[string]string{"cleanup.policy": "compact"}); err != nil {
		t.Fatal(err)
	}
	p, _ := e.Partition("c", 0)
	now := clock.Now().UnixMilli()
	if _, err := p.AppendReplica(replicaBatch(t, 0, 1, now, "a", []byte("x"))); err != nil {
		t.Fatal(err)
	}
	if _, err := p.AppendReplica(replicaBatch(t, 1<<32+10, 1, now, "b", []byte("y"))); err != nil {
		t.Fatalf("a batch after a cleaned gap of 2^32 offsets: %v (offline: %v)", err, p.Offline())
	}
}

// TestFailingPartitionDoesNotStarveOthers: a compacted partition whose
// cleaning fails waits its turn, and the other compacted partitions are
// cleaned meanwhile.
func TestFailingPartitionDoesNotStarveOthers(t *testing.T) {
	dir := t.TempDir()
	e := openEngine(t, dir, engine.Options{CleanerDisabled: true, RetentionCheckInterval: -1})
	if err := e.CreateTopic("big", 1, map[string]string{"cleanup.policy": "compact", "segment.bytes": "850000"}); err != nil {
		t.Fatal(err)
	}
	if err := e.CreateTopic("small", 1, map[string]string{"cleanup.policy": "compact", "segment.bytes": "1024",
		"min.cleanable.dirty.ratio": "0.1"}); err != nil {
		t.Fatal(err)
	}
	big, _ := e.Partition("big", 0)
	now := time.Now().UnixMilli()
	for i := 0; i < 45; i++ {
		b := batch.NewBuilder(batch.None)
		for j := 0; j < 1000; j++ {
			b.Append(now, []byte(fmt.Sprintf("key-%06d", i*1000+j)), []byte("v"), nil)
		}
		raw, _ := b.Build()
		if _, err := big.Append(append([]byte(nil), raw...)); err != nil {
			t.Fatal(err)
		}
	}
	small, _ := e.Partition("small", 0)
	for i := 0; i < 200; i++ {
		if _, err := small.Append(keyedBatch(t, now, fmt.Sprint("k", i%5), fmt.Sprint("v", i))); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := small.Clean(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 100; i++ {
		if _, err := small.Append(keyedBatch(t, now, fmt.Sprint("k", i%5), fmt.Sprint("w", i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	var lb logBuffer
	e = openEngine(t, dir, engine.Options{RetentionCheckInterval: -1, CleanerDedupeBufferSize: 1 << 20,
		CleanerThreads: 1, CleanerBackoff: 10 * time.Millisecond, Logger: lb.logger()})
	deadline := time.Now().Add(3 * time.Second)
	for e.CleanerTotals().Runs == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if tot := e.CleanerTotals(); tot.Runs == 0 {
		t.Fatalf("small (dirty, above its min.cleanable.dirty.ratio) never cleaned in 3 s: the cleaner retries big forever: %+v (big's error logged: %v)",
			tot, lb.contains("more keys than log.cleaner.dedupe.buffer.size"))
	}
}

// TestReaddedReplicaStartsClean: a replica moved off this broker and back
// (SetHosted) starts from an empty folder and from no cleaner state: what
// it copies anew is dirty, deduplicated, and a tombstone there deletes its
// key for good.
func TestReaddedReplicaStartsClean(t *testing.T) {
	clock := newFakeClock()
	e := openEngine(t, t.TempDir(), engine.Options{Now: clock.Now, Replicated: true, CleanerDisabled: true, RetentionCheckInterval: -1})
	var id [16]byte
	id[0] = 1
	cfg := map[string]string{"cleanup.policy": "compact", "segment.bytes": "1024", "delete.retention.ms": "3600000"}
	if err := e.CreateTopicHosting("c", id, 1, cfg, []int32{0}); err != nil {
		t.Fatal(err)
	}
	p, _ := e.Partition("c", 0)
	for i := 0; i < 200; i++ {
		appendReplica(t, p, 1, clock.Now().UnixMilli(), fmt.Sprint("a", i), []byte("x"))
	}
	p.SetHighWatermark(p.LogEndOffset())
	st, err := p.Clean()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("first stint: %+v", st)
	if err := e.SetHosted("c", 1, []int32{}); err != nil {
		t.Fatal(err)
	}
	if err := e.SetHosted("c", 1, []int32{0}); err != nil {
		t.Fatal(err)
	}
	p, _ = e.Partition("c", 0)
	// The replica copies the leader's log from 0 again.
	appendReplica(t, p, 1, clock.Now().UnixMilli(), "k", []byte("deleted soon"))
	appendReplica(t, p, 1, clock.Now().UnixMilli(), "k", nil)
	for i := 0; i < 250; i++ {
		appendReplica(t, p, 1, clock.Now().UnixMilli(), fmt.Sprint("b", i), []byte("x"))
	}
	p.SetHighWatermark(p.LogEndOffset())
	clock.Advance(2 * time.Hour)
	st, err = p.Clean()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("second stint: %+v", st)
	if r, ok := newestByKey(readKeyed(t, p, 0))["k"]; ok && r.value != nil {
		t.Fatalf("k was deleted by a tombstone, but reads %q at offset %d after cleaning (FirstDirty %d)", r.value, r.offset, st.FirstDirty)
	}
}

// TestRetentionPassesEmptiedSegments: on cleanup.policy compact,delete, a
// cleaning that empties the oldest segment (every record superseded)
// leaves a zero-byte segment with no timestamp, and retention.ms goes on
// past it to the expired segments behind it.
func TestRetentionPassesEmptiedSegments(t *testing.T) {
	clock := newFakeClock()
	e := openEngine(t, t.TempDir(), engine.Options{Now: clock.Now, CleanerDisabled: true, RetentionCheckInterval: -1})
	if err := e.CreateTopic("c", 1, map[string]string{"cleanup.policy": "compact,delete", "segment.bytes": "1024",
		"retention.ms": "3600000"}); err != nil {
		t.Fatal(err)
	}
	p, _ := e.Partition("c", 0)
	for i := 0; i < 60; i++ {
		if _, err := p.Append(keyedBatch(t, clock.Now().UnixMilli(), "k", fmt.Sprint("v", i))); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := p.Clean(); err != nil {
		t.Fatal(err)
	}
	clock.Advance(2 * time.Hour)
	if _, err := p.Append(keyedBatch(t, clock.Now().UnixMilli(), "k", "new")); err != nil {
		t.Fatal(err)
	}
	n, err := p.EnforceRetention()
	if err != nil || n == 0 {
		t.Fatalf("retention after every record passed retention.ms deleted %d segments (%v); log start %d", n, err, p.LogStartOffset())
	}
}
