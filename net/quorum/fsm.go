package quorum

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"sync"

	"github.com/hashicorp/raft"
)

// StateMachine is applied in log order on every node. Apply must be
// deterministic: every node applies the same commands in the same order and
// must reach the same state.
//
// Apply and Snapshot are never called concurrently with each other or with
// Restore; they run on raft's FSM goroutine.
type StateMachine interface {
	// Apply applies one committed command and returns a result, opaque to
	// quorum, that Propose returns to the proposer.
	Apply(cmd []byte) []byte
	// Snapshot returns the whole state as bytes.
	Snapshot() ([]byte, error)
	// Restore replaces the whole state with a snapshot's bytes.
	Restore(snapshot []byte) error
}

// SnapshotFreezer is a StateMachine that can freeze its state cheaply (a
// copy-on-write view, say) and write it later: the FSM goroutine only
// freezes, and raft's snapshot goroutine does the encoding and the
// writing while commands go on being applied. A state machine without it
// has its Snapshot bytes taken on the FSM goroutine.
type SnapshotFreezer interface {
	// FreezeSnapshot returns a function that writes the state as it is
	// now, in the bytes Snapshot would return; it may be called on another
	// goroutine, concurrently with Apply.
	FreezeSnapshot() (write func(io.Writer) error, err error)
}

// fsm adapts a StateMachine to raft.FSM and tracks the index of the last
// entry the state machine has seen, which raft does not expose: raft's
// AppliedIndex moves when entries are handed to the FSM goroutine, before
// they are applied.
//
// The index tracked is that of the last command applied (or the snapshot
// restored); raft's no-op and configuration entries never reach the FSM, so
// it can stay below raft's commit index. Readers compare it only with indexes
// of commands or with another node's tracked index, never with raw commit
// indexes.
type fsm struct {
	sm StateMachine

	mu      sync.Mutex
	applied uint64
	changed chan struct{} // closed and replaced whenever applied moves
}

func newFSM(sm StateMachine) *fsm {
	return &fsm{sm: sm, changed: make(chan struct{})}
}

func (f *fsm) setApplied(index uint64) {
	f.mu.Lock()
	f.applied = index
	close(f.changed)
	f.changed = make(chan struct{})
	f.mu.Unlock()
}

// appliedIndex returns the index of the last command applied or snapshot restored.
func (f *fsm) appliedIndex() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.applied
}

// waitApplied blocks until the state machine has applied index, or ctx ends.
func (f *fsm) waitApplied(ctx context.Context, index uint64) error {
	for {
		f.mu.Lock()
		applied, ch := f.applied, f.changed
		f.mu.Unlock()
		if applied >= index {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("quorum: entry %d is committed but not yet applied locally (applied %d): %w", index, applied, ctx.Err())
		}
	}
}

// Apply implements raft.FSM. raft sends it only LogCommand entries.
func (f *fsm) Apply(l *raft.Log) any {
	res := f.sm.Apply(l.Data)
	f.setApplied(l.Index)
	return res
}

// snapshotVersion heads every snapshot this package writes:
//
//	byte     version (1)
//	uint64   big-endian index of the last command the state includes
//	...      StateMachine.Snapshot bytes
const snapshotVersion = 1

// Snapshot implements raft.FSM. The state is taken (or frozen) here, on
// the FSM goroutine, so it matches the applied index recorded beside it.
func (f *fsm) Snapshot() (raft.FSMSnapshot, error) {
	if fz, ok := f.sm.(SnapshotFreezer); ok {
		write, err := fz.FreezeSnapshot()
		if err != nil {
			return nil, fmt.Errorf("quorum: state machine snapshot: %w", err)
		}
		return &fsmSnapshot{index: f.appliedIndex(), write: write}, nil
	}
	data, err := f.sm.Snapshot()
	if err != nil {
		return nil, fmt.Errorf("quorum: state machine snapshot: %w", err)
	}
	return &fsmSnapshot{index: f.appliedIndex(), data: data}, nil
}

// Restore implements raft.FSM.
func (f *fsm) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return fmt.Errorf("quorum: reading snapshot: %w", err)
	}
	if len(b) < 9 || b[0] != snapshotVersion {
		return fmt.Errorf("quorum: snapshot of %d bytes has no version %d header", len(b), snapshotVersion)
	}
	index := binary.BigEndian.Uint64(b[1:9])
	if err := f.sm.Restore(b[9:]); err != nil {
		return fmt.Errorf("quorum: state machine restore at index %d: %w", index, err)
	}
	f.setApplied(index)
	return nil
}

// fsmSnapshot is the state's bytes, or (SnapshotFreezer) the function
// that writes them.
type fsmSnapshot struct {
	index uint64
	data  []byte
	write func(io.Writer) error
}

// Persist implements raft.FSMSnapshot. raft calls it on its snapshot
// goroutine, so a frozen state is encoded here, off the FSM goroutine.
func (s *fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	var hdr [9]byte
	hdr[0] = snapshotVersion
	binary.BigEndian.PutUint64(hdr[1:], s.index)
	_, err := sink.Write(hdr[:])
	switch {
	case err != nil:
	case s.write != nil:
		err = s.write(sink)
	default:
		_, err = sink.Write(s.data)
	}
	if err != nil {
		sink.Cancel()
		return fmt.Errorf("quorum: writing snapshot: %w", err)
	}
	return sink.Close()
}

// Release implements raft.FSMSnapshot.
func (s *fsmSnapshot) Release() {}
