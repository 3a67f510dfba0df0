package quorum

import (
	"bytes"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/raft"
)

// freezingSM is listSM with SnapshotFreezer: it freezes a copy of the
// list and counts how often the byte path is used instead.
type freezingSM struct {
	listSM
	byteSnapshots int
}

func (s *freezingSM) Snapshot() ([]byte, error) {
	s.byteSnapshots++
	return s.listSM.Snapshot()
}

func (s *freezingSM) FreezeSnapshot() (func(io.Writer) error, error) {
	frozen := s.list()
	return func(w io.Writer) error {
		_, err := io.WriteString(w, strings.Join(frozen, "\n"))
		return err
	}, nil
}

// memSink is a raft.SnapshotSink in memory.
type memSink struct {
	bytes.Buffer
	closed, cancelled bool
}

func (s *memSink) ID() string    { return "mem" }
func (s *memSink) Cancel() error { s.cancelled = true; return nil }
func (s *memSink) Close() error  { s.closed = true; return nil }

// TestFrozenSnapshotPersistsTheStateAtTheSnapshot: a SnapshotFreezer's
// snapshot is written at Persist, after more commands were applied, yet
// holds the state and index of the moment raft asked; it restores like a
// byte snapshot.
func TestFrozenSnapshotPersistsTheStateAtTheSnapshot(t *testing.T) {
	sm := &freezingSM{}
	f := newFSM(sm)
	for i, cmd := range []string{"a", "b"} {
		f.Apply(&raft.Log{Index: uint64(i + 1), Data: []byte(cmd)})
	}
	snap, err := f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	f.Apply(&raft.Log{Index: 3, Data: []byte("c")}) // after the freeze
	var sink memSink
	if err := snap.Persist(&sink); err != nil || !sink.closed || sink.cancelled {
		t.Fatalf("persist: %v (closed %v, cancelled %v)", err, sink.closed, sink.cancelled)
	}
	if sm.byteSnapshots != 0 {
		t.Fatal("the freezer's state was taken as bytes on the FSM goroutine")
	}
	other := &listSM{}
	g := newFSM(other)
	if err := g.Restore(io.NopCloser(bytes.NewReader(sink.Bytes()))); err != nil {
		t.Fatal(err)
	}
	if got := other.list(); !slices.Equal(got, []string{"a", "b"}) || g.appliedIndex() != 2 {
		t.Fatalf("restored %q at index %d, want [a b] at 2", got, g.appliedIndex())
	}
}
