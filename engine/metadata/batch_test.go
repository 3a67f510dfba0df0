package metadata

import (
	"reflect"
	"slices"
	"testing"
)

// TestPartitionChanges: a batch applies each change as its own record
// would, in order (a later change sees an earlier one's epochs), answers
// each with its own code, and refuses only a malformed batch as a whole.
func TestPartitionChanges(t *testing.T) {
	s := New(Options{})
	for id := int32(1); id <= 3; id++ {
		mustApply(t, s, RegisterBroker{ID: id, Incarnation: "a"})
	}
	mustApply(t, s, CreateTopic{Name: "a", ID: [16]byte{1}, Assignment: [][]int32{{1, 2, 3}, {2, 3, 1}}})
	mustApply(t, s, CreateTopic{Name: "b", ID: [16]byte{2}, Assignment: [][]int32{{3, 1, 2}}})
	pe := func(v int32) *int32 { return &v }
	two := int32(2)
	r := mustApply(t, s, PartitionChanges{Changes: []PartitionChange{
		{Topic: "a", Partition: 0, LeaderEpoch: 0, PartitionEpoch: pe(0), ISR: []int32{1, 2}},
		{Topic: "a", Partition: 0, LeaderEpoch: 0, PartitionEpoch: pe(1), Leader: &two}, // sees the first
		{Topic: "a", Partition: 0, LeaderEpoch: 0, ISR: []int32{2}},                     // stale leader epoch now
		{Topic: "a", Partition: 7, LeaderEpoch: 0},
		{Topic: "b", Partition: 0, LeaderEpoch: 0, PartitionEpoch: pe(0), ISR: []int32{3}},
	}})
	want := []int16{CodeNone, CodeNone, CodeFencedLeaderEpoch, CodeUnknownTopicOrPartition, CodeNone}
	if !slices.Equal(r.Codes, want) || r.Message == "" {
		t.Fatalf("codes %v (%q), want %v", r.Codes, r.Message, want)
	}
	p, _ := s.Partition("a", 0)
	if p.Leader != 2 || p.LeaderEpoch != 1 || p.PartitionEpoch != 2 || !slices.Equal(p.ISR, []int32{1, 2}) {
		t.Fatalf("a-0 after the batch: %+v", p)
	}
	if p, _ := s.Partition("b", 0); !slices.Equal(p.ISR, []int32{3}) || p.PartitionEpoch != 1 {
		t.Fatalf("b-0 after the batch: %+v", p)
	}
	before := s.Image()
	for _, bad := range []PartitionChanges{{}, {Changes: make([]PartitionChange, MaxPartitionChanges+1)}} {
		if r := apply(t, s, bad); r.Code != CodeInvalidRequest {
			t.Fatalf("batch of %d: %+v", len(bad.Changes), r)
		}
	}
	if after := s.Image(); !reflect.DeepEqual(after.Topics, before.Topics) || after.AppliedIndex != before.AppliedIndex+2 {
		t.Fatalf("a refused batch changed the image")
	}
}
