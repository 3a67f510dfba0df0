package engine_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sluicelog/sluice/engine"
)

// TestGroupView: view writes land as the single node's commits do (read
// back by FetchOffsets and GroupStates); an offset of a topic with another
// id, a missing topic or a partition past the count is dropped;
// ForgetGroups removes exactly the groups it selects; CheckOffsetCommit
// refuses what CommitOffsets would and returns the topic's id.
func TestGroupView(t *testing.T) {
	e, err := engine.Open(t.TempDir(), engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if err := e.CreateTopic("orders", 2, nil); err != nil {
		t.Fatal(err)
	}
	d, _ := e.DescribeTopic("orders")
	at := time.UnixMilli(1_700_000_000_000)
	tp := func(p int32) engine.TopicPartition { return engine.TopicPartition{Topic: "orders", Partition: p} }
	c := func(off int64) engine.CommittedOffset {
		return engine.CommittedOffset{Offset: off, LeaderEpoch: -1, CommitTime: at}
	}
	w := e.NewGroupWrite()
	w.SetOffset("a", tp(0), d.ID, c(5))
	w.SetOffset("a", tp(1), [16]byte{}, c(6))                                              // the zero id matches
	w.SetOffset("a", tp(1), [16]byte{9}, c(99))                                            // another topic's id: dropped
	w.SetOffset("a", tp(2), d.ID, c(7))                                                    // no such partition
	w.SetOffset("a", engine.TopicPartition{Topic: "gone", Partition: 0}, [16]byte{}, c(8)) // no such topic
	w.SetOffset("b", tp(0), d.ID, c(1))
	w.SetOffset("b", tp(1), d.ID, c(2))
	w.DeleteOffset("b", tp(1)) // in order: gone again
	w.SetGroupState("a", []byte("state"))
	w.SetGroupState("b", []byte("state"))
	w.DeleteGroupState("b")
	if err := w.Commit(); err != nil || w.Len() != 0 {
		t.Fatalf("commit: %v, %d left", err, w.Len())
	}
	a, _ := e.FetchOffsets("a")
	if len(a) != 2 || a[tp(0)].Offset != 5 || a[tp(1)].Offset != 6 || !a[tp(0)].CommitTime.Equal(at) {
		t.Fatalf("group a: %v", a)
	}
	if b, _ := e.FetchOffsets("b"); len(b) != 1 || b[tp(0)].Offset != 1 {
		t.Fatalf("group b: %v", b)
	}
	if s, _ := e.GroupStates(); len(s) != 1 || string(s["a"]) != "state" {
		t.Fatalf("states: %v", s)
	}
	n, err := e.ForgetGroups(func(g string) bool { return g == "a" })
	if err != nil || n != 1 {
		t.Fatalf("forget: %d, %v", n, err)
	}
	if a, _ := e.FetchOffsets("a"); len(a) != 0 {
		t.Fatalf("group a after forget: %v", a)
	}
	if s, _ := e.GroupStates(); len(s) != 0 {
		t.Fatalf("states after forget: %v", s)
	}
	if b, _ := e.FetchOffsets("b"); len(b) != 1 {
		t.Fatalf("forget took group b too: %v", b)
	}

	if id, err := e.CheckOffsetCommit(commit("orders", 1, 3, "")); err != nil || id != d.ID {
		t.Fatalf("check: %x, %v", id, err)
	}
	for _, bad := range []engine.OffsetCommit{commit("gone", 0, 1, ""), commit("orders", 2, 1, ""), commit("orders", 0, -1, ""),
		commit("orders", 0, 1, strings.Repeat("m", engine.MaxOffsetMetadata+1))} {
		if _, err := e.CheckOffsetCommit(bad); err == nil || errors.Is(err, engine.ErrClosed) {
			t.Fatalf("check %+v: %v", bad, err)
		}
	}
}
