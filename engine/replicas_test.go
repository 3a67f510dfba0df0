package engine_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/sluicelog/sluice/engine"
	"github.com/sluicelog/sluice/segment/batch"
)

// TestHostedPartitions: a broker of a cluster stores only its replicas. A
// topic created hosting some partitions keeps folders for those alone,
// refuses the others, and reopens the same; SetHosted grows the topic and
// moves replicas in and out, a replica moved out losing its data and one
// moved in starting empty.
func TestHostedPartitions(t *testing.T) {
	dir := t.TempDir()
	e, err := engine.Open(dir, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.CreateTopicHosting("r", [16]byte{7}, 4, nil, []int32{2, 0}); err != nil {
		t.Fatal(err)
	}
	folders := func() []string {
		var out []string
		for id := 0; id < 8; id++ {
			if _, err := os.Stat(filepath.Join(dir, "r-"+string(rune('0'+id)))); err == nil {
				out = append(out, "r-"+string(rune('0'+id)))
			}
		}
		return out
	}
	if got := folders(); len(got) != 0 {
		t.Fatalf("folders %v before any append, want none (made on first append)", got)
	}
	for _, id := range []int32{0, 2} {
		p, err := e.Partition("r", id)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Append(buildBatch(t, 0, "v", 1, 1)); err != nil {
			t.Fatal(err)
		}
	}
	if got := folders(); !slices.Equal(got, []string{"r-0", "r-2"}) {
		t.Fatalf("folders %v, want r-0 and r-2 alone", got)
	}
	if _, err := e.Partition("r", 1); !errors.Is(err, engine.ErrUnknownPartition) {
		t.Fatalf("partition 1, not hosted: %v", err)
	}
	p, err := e.Partition("r", 2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Append(buildBatch(t, batch.None, "x", 3, 1000)); err != nil {
		t.Fatal(err)
	}
	d, err := e.DescribeTopic("r")
	if err != nil || d.PartitionCount != 4 || len(d.Partitions) != 2 {
		t.Fatalf("describe: %+v, %v", d, err)
	}
	// Reopened, the same partitions are hosted, with their records.
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if e, err = engine.Open(dir, engine.Options{}); err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if h, _ := e.Hosted("r"); !slices.Equal(h, []int32{0, 2}) {
		t.Fatalf("hosted after reopening: %v", h)
	}
	if p, err := e.Partition("r", 2); err != nil || p.LogEndOffset() != 4 { // 1 + 3 records
		t.Fatalf("partition 2 after reopening: %v", err)
	}
	// Grow to 6, host 1 and 5, drop 2.
	if err := e.SetHosted("r", 6, []int32{0, 1, 5}); err != nil {
		t.Fatal(err)
	}
	if h, _ := e.Hosted("r"); !slices.Equal(h, []int32{0, 1, 5}) {
		t.Fatalf("hosted: %v", h)
	}
	// r-2 went; r-1 and r-5 are made by their first append.
	if got := folders(); !slices.Equal(got, []string{"r-0"}) {
		t.Fatalf("folders %v after moving replicas", got)
	}
	if _, err := e.Partition("r", 2); !errors.Is(err, engine.ErrUnknownPartition) {
		t.Fatalf("partition 2 after it moved out: %v", err)
	}
	// Back in, it starts from nothing.
	if err := e.SetHosted("r", 6, []int32{0, 1, 2, 5}); err != nil {
		t.Fatal(err)
	}
	if p, err := e.Partition("r", 2); err != nil || p.LogEndOffset() != 0 {
		t.Fatalf("partition 2 back: %v", err)
	}
	if err := e.DeleteTopic("r"); err != nil {
		t.Fatal(err)
	}
	if got := folders(); len(got) != 0 {
		t.Fatalf("folders %v after the delete", got)
	}
}
