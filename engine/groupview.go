package engine

import (
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// In a cluster the committed offsets and group states in the meta store
// (offsets.go, groupstate.go) are a view: the truth is the replicated
// __consumer_offsets log (net/grouplog), which the coordinator replays
// into this view when it takes a partition of that log over and applies as
// records become committed. The view is written with GroupWrite and wiped
// per group with ForgetGroups; its keys and values are the single node's,
// so that reads (FetchOffsets, GroupsWithOffsets, GroupStates) serve both.
//
// View writes are not synced: a crash loses at most what the log still
// holds, and every load replays the log from its start.

// GroupWrite is a batch of changes to the group view, applied at once by
// Commit. It is not safe for concurrent use.
type GroupWrite struct {
	e       *Engine
	offsets []viewOffset
	states  []viewState
}

type viewOffset struct {
	group   string
	tp      TopicPartition
	topicID [16]byte
	c       CommittedOffset
	delete  bool
}

type viewState struct {
	group  string
	state  []byte
	delete bool
}

// NewGroupWrite starts a batch of view changes.
func (e *Engine) NewGroupWrite() *GroupWrite { return &GroupWrite{e: e} }

// SetOffset sets a group's committed offset of a partition. topicID is
// the id of the topic the commit was made for: a commit of a topic since
// deleted, or deleted and created again, is dropped at Commit (the zero id
// matches any).
func (w *GroupWrite) SetOffset(group string, tp TopicPartition, topicID [16]byte, c CommittedOffset) {
	w.offsets = append(w.offsets, viewOffset{group: group, tp: tp, topicID: topicID, c: c})
}

// DeleteOffset removes a group's committed offset of a partition.
func (w *GroupWrite) DeleteOffset(group string, tp TopicPartition) {
	w.offsets = append(w.offsets, viewOffset{group: group, tp: tp, delete: true})
}

// SetGroupState sets a group's stored state (the coordinator's encoding).
func (w *GroupWrite) SetGroupState(group string, state []byte) {
	w.states = append(w.states, viewState{group: group, state: state})
}

// DeleteGroupState removes a group's stored state.
func (w *GroupWrite) DeleteGroupState(group string) {
	w.states = append(w.states, viewState{group: group, delete: true})
}

// Len is the number of changes in the batch.
func (w *GroupWrite) Len() int { return len(w.offsets) + len(w.states) }

// Commit applies the changes in the order they were made, in one pebble
// batch, not synced. Offsets of a topic the engine does not have (with
// that id), or of a partition past its count, are dropped: they were made
// for a topic deleted since. Commit empties w for reuse.
func (w *GroupWrite) Commit() error {
	e := w.e
	defer func() {
		clear(w.offsets)
		clear(w.states)
		w.offsets, w.states = w.offsets[:0], w.states[:0]
	}()
	if w.Len() == 0 {
		return nil
	}
	// As CommitOffsets: the read lock orders the batch against DeleteTopic.
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.closed {
		return ErrClosed
	}
	b := e.meta.db.NewBatch()
	defer b.Close()
	var val []byte
	for _, o := range w.offsets {
		if err := ValidateGroupID(o.group); err != nil {
			continue
		}
		k := offsetKey(o.group, o.tp.Topic, o.tp.Partition)
		if o.delete {
			if err := b.Delete(k, nil); err != nil {
				return fmt.Errorf("group view: %w", err)
			}
			continue
		}
		t, ok := e.topics[o.tp.Topic]
		if !ok || o.tp.Partition < 0 || int(o.tp.Partition) >= len(t.partitions) ||
			o.topicID != [16]byte{} && o.topicID != t.meta.ID || o.c.Offset < 0 {
			continue
		}
		val = AppendOffsetValue(val[:0], o.c)
		if err := b.Set(k, val, nil); err != nil {
			return fmt.Errorf("group view: %w", err)
		}
	}
	for _, s := range w.states {
		if err := ValidateGroupID(s.group); err != nil {
			continue
		}
		var err error
		if s.delete {
			err = b.Delete(groupStateKey(s.group), nil)
		} else {
			err = b.Set(groupStateKey(s.group), s.state, nil)
		}
		if err != nil {
			return fmt.Errorf("group view: %w", err)
		}
	}
	if err := b.Commit(pebble.NoSync); err != nil {
		return fmt.Errorf("group view: %w", err)
	}
	return nil
}

// ForgetGroups removes the committed offsets and stored states of every
// group match selects, and returns how many groups it removed.
func (e *Engine) ForgetGroups(match func(group string) bool) (int, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.closed {
		return 0, ErrClosed
	}
	b := e.meta.db.NewBatch()
	defer b.Close()
	groups := map[string]bool{}
	scan := func(prefix string, groupOf func(k []byte) (string, bool)) error {
		lo := []byte(prefix)
		it, err := e.meta.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: prefixEnd(lo)})
		if err != nil {
			return err
		}
		defer it.Close()
		for it.First(); it.Valid(); it.Next() {
			g, ok := groupOf(it.Key())
			if !ok || !match(g) {
				continue
			}
			groups[g] = true
			if err := b.Delete(append([]byte(nil), it.Key()...), nil); err != nil {
				return err
			}
		}
		return it.Error()
	}
	err := scan(offsetsPrefix, func(k []byte) (string, bool) {
		g, _, ok := parseOffsetKey(k)
		return g, ok
	})
	if err == nil {
		err = scan(groupStatePrefix, func(k []byte) (string, bool) {
			return string(k[len(groupStatePrefix):]), true
		})
	}
	if err == nil && b.Count() > 0 {
		err = b.Commit(pebble.NoSync)
	}
	if err != nil {
		return 0, fmt.Errorf("forget groups: %w", err)
	}
	return len(groups), nil
}

// CheckOffsetCommit checks one commit as CommitOffsets does (the topic and
// partition exist, the offset is not negative, the metadata fits) without
// storing it, and returns the topic's id: a coordinator that writes
// commits somewhere else first checks them here.
func (e *Engine) CheckOffsetCommit(c OffsetCommit) ([16]byte, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.closed {
		return [16]byte{}, ErrClosed
	}
	t, err := e.checkCommitLocked(c)
	if err != nil {
		return [16]byte{}, err
	}
	return t.meta.ID, nil
}

// checkCommitLocked is CheckOffsetCommit's check; e.mu is held.
func (e *Engine) checkCommitLocked(c OffsetCommit) (*topic, error) {
	t, ok := e.topics[c.Topic]
	switch {
	case !ok:
		return nil, fmt.Errorf("%w: %s", ErrUnknownTopic, c.Topic)
	case c.Partition < 0 || int(c.Partition) >= len(t.partitions):
		return nil, fmt.Errorf("%w: %s-%d", ErrUnknownPartition, c.Topic, c.Partition)
	case c.Offset < 0:
		return nil, fmt.Errorf("%w: %s-%d offset %d", ErrInvalidOffset, c.Topic, c.Partition, c.Offset)
	case len(c.Metadata) > MaxOffsetMetadata:
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrOffsetMetadataTooLarge, len(c.Metadata), MaxOffsetMetadata)
	}
	return t, nil
}
