package metadata

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"slices"
)

// A snapshot is one version byte and a body:
//
//	version 1   JSON of Image (the first format; still restored)
//	version 2   binary, below (written since)
//
// Everything that makes Apply deterministic is in it, NextProducerID and
// AppliedIndex included: a node restored from a snapshot and one that
// replayed the log give the same answers to the same next record.
//
// Version 2, every integer a varint (u: unsigned), every string a uvarint
// length and its bytes:
//
//	cluster_id        string
//	next_producer_id  varint
//	applied_index     uvarint
//	brokers           uvarint count, each (sorted by id):
//	    id varint, incarnation string, fenced byte (0/1),
//	    registered_at uvarint, listeners uvarint count of (name, address)
//	    string pairs sorted by name
//	lists             uvarint count, each: uvarint n, then n ids varint;
//	                  the distinct replica and ISR lists, each stored once
//	topics            uvarint count, each (sorted by name):
//	    name string, id 16 bytes, configs uvarint count of (key, value)
//	    string pairs sorted by key, partitions uvarint count, each:
//	    replicas uvarint (a list's index), isr uvarint (a list's index),
//	    leader varint, leader_epoch varint, partition_epoch varint
//	crc               uint32 big-endian, CRC-32C of everything before it
//
// A million partitions over a few brokers share a handful of lists, so a
// partition costs about five bytes; decoding shares one slice per list
// among the partitions that hold it (the image never writes them).

const (
	snapshotVersionJSON   = 1
	snapshotVersionBinary = 2
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// EncodeSnapshot is the bytes of an image, in the current format.
func EncodeSnapshot(im Image) ([]byte, error) {
	var buf bytes.Buffer
	if err := WriteSnapshot(&buf, im); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// encodeSnapshotJSON is the first format, kept so tests can prove old
// snapshots still restore.
func encodeSnapshotJSON(im Image) ([]byte, error) {
	body, err := json.Marshal(im)
	if err != nil {
		return nil, fmt.Errorf("metadata: encode snapshot: %w", err)
	}
	return append([]byte{snapshotVersionJSON}, body...), nil
}

// WriteSnapshot writes an image to w in the current format, in chunks of
// about 64 KiB. The image is only read, so it may be one a State handed
// out and still shares: raft persists snapshots this way, off the apply
// goroutine.
func WriteSnapshot(w io.Writer, im Image) error {
	e := snapWriter{w: w, buf: make([]byte, 0, 80<<10)}
	e.buf = append(e.buf, snapshotVersionBinary)
	e.str(im.ClusterID)
	e.buf = binary.AppendVarint(e.buf, im.NextProducerID)
	e.buf = binary.AppendUvarint(e.buf, im.AppliedIndex)
	e.buf = binary.AppendUvarint(e.buf, uint64(len(im.Brokers)))
	for _, b := range im.Brokers {
		e.buf = binary.AppendVarint(e.buf, int64(b.ID))
		e.str(b.Incarnation)
		e.buf = append(e.buf, boolByte(b.Fenced))
		e.buf = binary.AppendUvarint(e.buf, b.RegisteredAt)
		e.strMap(b.Listeners)
		e.flush(false)
	}

	// First pass: intern the lists, remembering each partition's.
	index := map[string]uint64{}
	var lists [][]int32
	var refs []uint64
	var key []byte
	intern := func(ids []int32) uint64 {
		key = key[:0]
		for _, id := range ids {
			key = binary.AppendVarint(key, int64(id))
		}
		if i, ok := index[string(key)]; ok {
			return i
		}
		i := uint64(len(lists))
		index[string(key)] = i
		lists = append(lists, ids)
		return i
	}
	for _, t := range im.Topics {
		for _, p := range t.Partitions {
			refs = append(refs, intern(p.Replicas), intern(p.ISR))
		}
	}
	e.buf = binary.AppendUvarint(e.buf, uint64(len(lists)))
	for _, l := range lists {
		e.buf = binary.AppendUvarint(e.buf, uint64(len(l)))
		for _, id := range l {
			e.buf = binary.AppendVarint(e.buf, int64(id))
		}
		e.flush(false)
	}

	e.buf = binary.AppendUvarint(e.buf, uint64(len(im.Topics)))
	for _, t := range im.Topics {
		e.str(t.Name)
		e.buf = append(e.buf, t.ID[:]...)
		e.strMap(t.Configs)
		e.buf = binary.AppendUvarint(e.buf, uint64(len(t.Partitions)))
		for _, p := range t.Partitions {
			e.buf = binary.AppendUvarint(e.buf, refs[0])
			e.buf = binary.AppendUvarint(e.buf, refs[1])
			refs = refs[2:]
			e.buf = binary.AppendVarint(e.buf, int64(p.Leader))
			e.buf = binary.AppendVarint(e.buf, int64(p.LeaderEpoch))
			e.buf = binary.AppendVarint(e.buf, int64(p.PartitionEpoch))
			e.flush(false)
		}
	}
	e.flush(true)
	if e.err != nil {
		return fmt.Errorf("metadata: write snapshot: %w", e.err)
	}
	var sum [4]byte
	binary.BigEndian.PutUint32(sum[:], e.crc)
	if _, err := w.Write(sum[:]); err != nil {
		return fmt.Errorf("metadata: write snapshot: %w", err)
	}
	return nil
}

// snapWriter appends to buf and hands it to w, with the running CRC,
// whenever it passes 64 KiB; the first error sticks.
type snapWriter struct {
	w   io.Writer
	buf []byte
	crc uint32
	err error
}

func (e *snapWriter) flush(final bool) {
	if e.err != nil || (!final && len(e.buf) < 64<<10) {
		if e.err != nil {
			e.buf = e.buf[:0]
		}
		return
	}
	e.crc = crc32.Update(e.crc, castagnoli, e.buf)
	_, e.err = e.w.Write(e.buf)
	e.buf = e.buf[:0]
}

func (e *snapWriter) str(s string) {
	e.buf = binary.AppendUvarint(e.buf, uint64(len(s)))
	e.buf = append(e.buf, s...)
}

func (e *snapWriter) strMap(m map[string]string) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	e.buf = binary.AppendUvarint(e.buf, uint64(len(keys)))
	for _, k := range keys {
		e.str(k)
		e.str(m[k])
	}
}

func boolByte(b bool) byte {
	if b {
		return 1
	}
	return 0
}

// DecodeSnapshot is the image held by b, in either format, checked against
// the invariants. Bad bytes give an error wrapping ErrCorrupt, never a
// panic. An image decoded from the binary format shares each distinct
// replica or ISR list among its partitions: treat it as read-only, as a
// State does.
func DecodeSnapshot(b []byte) (Image, error) {
	var im Image
	var err error
	switch {
	case len(b) < 1:
		return Image{}, fmt.Errorf("%w: empty snapshot", ErrCorrupt)
	case b[0] == snapshotVersionJSON:
		err = unmarshalStrict(b[1:], &im)
	case b[0] == snapshotVersionBinary:
		im, err = decodeBinary(b)
	default:
		return Image{}, fmt.Errorf("%w: snapshot version %d, want %d or %d", ErrCorrupt, b[0], snapshotVersionJSON, snapshotVersionBinary)
	}
	if err != nil {
		return Image{}, fmt.Errorf("%w: snapshot: %v", ErrCorrupt, err)
	}
	if err := im.Check(); err != nil {
		return Image{}, fmt.Errorf("%w: snapshot: %v", ErrCorrupt, err)
	}
	canonical(&im)
	return im, nil
}

// canonical makes empty lists and maps nil, as the binary format decodes
// them, so that an image decodes alike from either format.
func canonical(im *Image) {
	if len(im.Brokers) == 0 {
		im.Brokers = nil
	}
	if len(im.Topics) == 0 {
		im.Topics = nil
	}
	for i := range im.Brokers {
		if len(im.Brokers[i].Listeners) == 0 {
			im.Brokers[i].Listeners = nil
		}
	}
	for i := range im.Topics {
		if len(im.Topics[i].Configs) == 0 {
			im.Topics[i].Configs = nil
		}
	}
}

// Snapshot is the bytes of the whole state, for raft's snapshots.
func (s *State) Snapshot() ([]byte, error) {
	return EncodeSnapshot(s.Image())
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
	// The decoded image is this State's alone: its topics are published
	// as they are, pointers into the sorted slice (never written again).
	for i := range im.Topics {
		t := &im.Topics[i]
		t.Configs = cloneMap(t.Configs)
		s.topics[t.Name] = t
		s.topicIDs[t.ID] = t.Name
	}
	s.sorted = im.Topics
	s.nextProducerID = im.NextProducerID
	s.applied = im.AppliedIndex
	s.mu.Unlock()
	if s.opts.OnRestore != nil {
		s.opts.OnRestore()
	}
	return nil
}
