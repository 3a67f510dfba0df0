package engine_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sluicelog/sluice/engine"
)

func commit(topic string, p int32, off int64, meta string) engine.OffsetCommit {
	return engine.OffsetCommit{TopicPartition: engine.TopicPartition{Topic: topic, Partition: p}, Offset: off, LeaderEpoch: -1, Metadata: meta}
}

func TestOffsetsSurviveRestartAndGoWithTheirTopic(t *testing.T) {
	dir := t.TempDir()
	now := time.UnixMilli(1_700_000_000_123)
	e, err := engine.Open(dir, engine.Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"orders", "audit"} {
		if err := e.CreateTopic(name, 2, nil); err != nil {
			t.Fatal(err)
		}
	}
	// Group ids may hold any byte, '/' included, without colliding.
	for _, g := range []string{"g", "g/orders", "g2"} {
		errs, err := e.CommitOffsets(g, []engine.OffsetCommit{commit("orders", 0, 10, "m-"+g), commit("orders", 1, 11, ""), commit("audit", 0, 3, "")})
		if err != nil || errs[0] != nil || errs[1] != nil || errs[2] != nil {
			t.Fatalf("commit %s: %v %v", g, err, errs)
		}
	}
	// Bad commits change nothing.
	errs, err := e.CommitOffsets("g", []engine.OffsetCommit{commit("nope", 0, 1, ""), commit("orders", 2, 1, ""),
		commit("orders", 0, -1, ""), commit("orders", 0, 99, strings.Repeat("x", engine.MaxOffsetMetadata+1))})
	if err != nil || !errors.Is(errs[0], engine.ErrUnknownTopic) || !errors.Is(errs[1], engine.ErrUnknownPartition) ||
		!errors.Is(errs[2], engine.ErrInvalidOffset) || !errors.Is(errs[3], engine.ErrOffsetMetadataTooLarge) {
		t.Fatalf("bad commits: %v %v", err, errs)
	}
	if _, err := e.CommitOffsets("", nil); !errors.Is(err, engine.ErrInvalidGroupID) {
		t.Fatalf("empty group id: %v", err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}

	e = openEngine(t, dir, engine.Options{})
	offs, err := e.FetchOffsets("g")
	if err != nil {
		t.Fatal(err)
	}
	got := offs[engine.TopicPartition{Topic: "orders", Partition: 0}]
	if len(offs) != 3 || got.Offset != 10 || got.Metadata != "m-g" || !got.CommitTime.Equal(now) || got.LeaderEpoch != -1 {
		t.Fatalf("after restart: %+v", offs)
	}
	groups, err := e.GroupsWithOffsets()
	if err != nil || len(groups) != 3 || groups[1].Group != "g/orders" || groups[1].Partitions != 3 {
		t.Fatalf("groups: %+v %v", groups, err)
	}
	if err := e.DeleteTopic("orders"); err != nil {
		t.Fatal(err)
	}
	for _, g := range []string{"g", "g/orders", "g2"} {
		offs, _ := e.FetchOffsets(g)
		if len(offs) != 1 || offs[engine.TopicPartition{Topic: "audit", Partition: 0}].Offset != 3 {
			t.Fatalf("%s after deleting orders: %+v", g, offs)
		}
	}
	if err := e.DeleteGroupOffsets("g"); err != nil {
		t.Fatal(err)
	}
	if offs, _ := e.FetchOffsets("g"); len(offs) != 0 {
		t.Fatalf("after delete: %v", offs)
	}
	if offs, _ := e.FetchOffsets("g2"); len(offs) != 1 {
		t.Fatalf("g2 lost its offsets with g: %v", offs)
	}
}
