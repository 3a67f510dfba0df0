package engine_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/sluicelog/sluice/engine"
)

// TestStraysSweptAtOpen: Open removes the directories no stored topic
// owns (a topic that is not there, a partition past the count) and keeps
// the topic's own, a directory that is not a partition's, and the
// metadata store.
func TestStraysSweptAtOpen(t *testing.T) {
	dir := t.TempDir()
	e := openEngine(t, dir, engine.Options{})
	if err := e.CreateTopic("a", 2, nil); err != nil {
		t.Fatal(err)
	}
	p, err := e.Partition("a", 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Append(buildBatch(t, 0, "v", 5, 1)); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	write := func(rel string) {
		t.Helper()
		path := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a-5/00000000000000000000.log")      // past the partition count
	write("gone-0/00000000000000000000.index") // a topic not stored
	write("gone-0/leader-epoch-checkpoint")
	write("gone-0/.cleaning/00000000000000000000.log")
	if err := os.Mkdir(filepath.Join(dir, "gone-1"), 0o755); err != nil {
		t.Fatal(err)
	}
	write("mine-0/notes.txt") // named like a partition, but not one
	write("backup-01/x.log")  // not a partition name (leading zero)
	write("a-0.123-delete/x") // a deletion a crash interrupted

	logs := &logBuffer{}
	e = openEngine(t, dir, engine.Options{Logger: logs.logger()})
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, ent := range entries {
		if ent.IsDir() {
			names = append(names, ent.Name())
		}
	}
	// a-0 was never appended to: it has no directory, and Open makes none.
	want := []string{"a-1", "backup-01", "meta", "mine-0"}
	if !slices.Equal(names, want) {
		t.Fatalf("directories after open: %v, want %v", names, want)
	}
	if !logs.contains("stray partition directory") || !logs.contains("holds other files") {
		t.Errorf("sweep not logged:\n%s", logs)
	}
	p, err = e.Partition("a", 1)
	if err != nil || p.LogEndOffset() != 5 {
		t.Fatalf("kept partition: %v, log end %d", err, p.LogEndOffset())
	}
	// A topic created under a swept name starts empty.
	if err := e.CreateTopic("gone", 2, nil); err != nil {
		t.Fatal(err)
	}
	if q, err := e.Partition("gone", 0); err != nil || q.LogEndOffset() != 0 {
		t.Fatalf("new topic over a stray: %v", err)
	}
}
