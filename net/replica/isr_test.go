package replica

import (
	"slices"
	"testing"
	"time"
)

// TestISRChangesBatched: a leader whose followers all stop fetching
// takes them out of every partition's ISR in a few raft entries, not one
// per partition, and each partition ends with the ISR it asked for.
func TestISRChangesBatched(t *testing.T) {
	h := newHarness(t, 200*time.Millisecond)
	const n = 300
	assignment := make([][]int32, n)
	for i := range assignment {
		assignment[i] = []int32{1, 2, 3}
	}
	h.createTopic("wide", assignment)
	h.start()
	deadline := time.Now().Add(20 * time.Second)
	for {
		shrunk := 0
		for i := range int32(n) {
			if p, ok := h.state.Partition("wide", i); ok && slices.Equal(p.ISR, []int32{1}) {
				shrunk++
			}
		}
		if shrunk == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d ISRs shrunk after 20 s", shrunk, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := h.changes.Load(); got < n {
		t.Fatalf("%d changes proposed for %d partitions", got, n)
	}
	if got := h.proposals.Load(); got > n/10 {
		t.Fatalf("%d raft entries for %d ISR changes: not batched", got, n)
	}
	t.Logf("%d ISR changes in %d entries", h.changes.Load(), h.proposals.Load())
	if p, _ := h.state.Partition("wide", 0); p.Leader != 1 || p.PartitionEpoch != 1 {
		t.Fatalf("wide-0: %+v", p)
	}
}
