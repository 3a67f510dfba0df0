package replica

import (
	"testing"
	"time"

	"github.com/sluicelog/sluice/engine/metadata"
)

// waitFor polls cond until it holds or 10 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10 s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestSyncFollowsChangedTopics: syncs that visit only the topics a record
// changed still follow leader moves and deletions, leave the other
// topics' roles as they were, and a replica whose local storage appears
// without any record is picked up by the periodic full sync.
func TestSyncFollowsChangedTopics(t *testing.T) {
	h := newHarness(t, 400*time.Millisecond)
	h.createTopic("a", [][]int32{{1, 2, 3}})  // the harness's topic ids
	h.createTopic("bb", [][]int32{{1, 2, 3}}) // go by name length
	h.start()
	waitFor(t, "leading a-0 and bb-0", func() bool {
		a, b := h.m.lookup("a", 0), h.m.lookup("bb", 0)
		return a != nil && a.leader && b != nil && b.leader
	})
	bb0 := h.m.lookup("bb", 0)

	two := int32(2)
	p, _ := h.state.Partition("a", 0)
	h.apply(metadata.PartitionChange{Topic: "a", Partition: 0, LeaderEpoch: p.LeaderEpoch, Leader: &two})
	waitFor(t, "following a-0", func() bool {
		a := h.m.lookup("a", 0)
		return a != nil && !a.leader && a.leaderID == 2 && a.epoch == p.LeaderEpoch+1
	})
	if h.m.lookup("bb", 0) != bb0 {
		t.Fatal("bb-0's role was replaced by a change to a")
	}
	h.m.fetchersMu.Lock()
	f := h.m.fetchers[2]
	h.m.fetchersMu.Unlock()
	if f == nil {
		t.Fatal("no fetcher for leader 2")
	}
	f.mu.Lock()
	_, following := f.parts[key{"a", 0}]
	f.mu.Unlock()
	if !following {
		t.Fatal("the fetcher from broker 2 does not have a-0")
	}

	h.apply(metadata.DeleteTopic{Name: "bb"})
	waitFor(t, "bb gone", func() bool { return h.m.lookup("bb", 0) == nil })

	// ccc enters the image before local storage has it; no record follows
	// its creation, only the periodic full sync sees it.
	id := [16]byte{9, 9}
	h.apply(metadata.CreateTopic{Name: "ccc", ID: id, Assignment: [][]int32{{1, 2, 3}}})
	// A later record seen means the sync of ccc's has run.
	one := int32(1)
	p, _ = h.state.Partition("a", 0)
	h.apply(metadata.PartitionChange{Topic: "a", Partition: 0, LeaderEpoch: p.LeaderEpoch, Leader: &one})
	waitFor(t, "leading a-0 again", func() bool {
		a := h.m.lookup("a", 0)
		return a != nil && a.leader && a.epoch == p.LeaderEpoch+1
	})
	if h.m.lookup("ccc", 0) != nil {
		t.Fatal("a role for ccc-0 before its local storage exists")
	}
	if err := h.eng.CreateTopicHosting("ccc", id, 1, nil, []int32{0}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "leading ccc-0", func() bool {
		c := h.m.lookup("ccc", 0)
		return c != nil && c.leader
	})
}
