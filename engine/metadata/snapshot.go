package metadata

import (
	"encoding/json"
	"fmt"
)

// Layout of a snapshot:
//
//	version uint8   snapshotVersion (1)
//	body    JSON    Image (brokers sorted by id, topics by name)
//
// Everything that makes Apply deterministic is in it, NextProducerID and
// AppliedIndex included: a node restored from a snapshot and one that
// replayed the log give the same answers to the same next record.

const snapshotVersion = 1

// EncodeSnapshot is the bytes of an image.
func EncodeSnapshot(im Image) ([]byte, error) {
	body, err := json.Marshal(im)
	if err != nil {
		return nil, fmt.Errorf("metadata: encode snapshot: %w", err)
	}
	return append([]byte{snapshotVersion}, body...), nil
}

// DecodeSnapshot is the image held by b, checked against the invariants.
// Bad bytes give an error wrapping ErrCorrupt, never a panic.
func DecodeSnapshot(b []byte) (Image, error) {
	if len(b) < 1 || b[0] != snapshotVersion {
		return Image{}, fmt.Errorf("%w: snapshot without version %d", ErrCorrupt, snapshotVersion)
	}
	var im Image
	if err := unmarshalStrict(b[1:], &im); err != nil {
		return Image{}, fmt.Errorf("%w: snapshot: %v", ErrCorrupt, err)
	}
	if err := im.Check(); err != nil {
		return Image{}, fmt.Errorf("%w: snapshot: %v", ErrCorrupt, err)
	}
	return im, nil
}

// Snapshot is the bytes of the whole state, for raft's snapshots.
func (s *State) Snapshot() ([]byte, error) {
	im := s.Image()
	return EncodeSnapshot(im)
}

// Restore replaces the whole state with a snapshot's. A snapshot that does
// not decode or breaks an invariant is refused and the state is unchanged.
func (s *State) Restore(b []byte) error {
	im, err := DecodeSnapshot(b)
	if err != nil {
		return fmt.Errorf("metadata: restore: %w", err)
	}
	s.mu.Lock()
	s.reset()
	s.clusterID = im.ClusterID
	for _, br := range im.Brokers {
		s.brokers[br.ID] = br.clone()
	}
	for _, t := range im.Topics {
		c := t.clone()
		s.topics[t.Name] = &c
		s.topicIDs[t.ID] = t.Name
	}
	s.nextProducerID = im.NextProducerID
	s.applied = im.AppliedIndex
	s.mu.Unlock()
	if s.opts.OnRestore != nil {
		s.opts.OnRestore()
	}
	return nil
}
