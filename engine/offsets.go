package engine

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// Committed group offsets live in the meta store beside the topics:
//
//	offsets/<group length uint16><group><topic>/<partition uint32>
//
// Big-endian numbers keep a group's keys together and in topic, partition
// order; the group's length prefix lets a group id hold any byte ('/'
// included) without two groups' key spaces overlapping. The value is
//
//	version uint8 (=1) | offset int64 | leader epoch int32 (-1: none)
//	commit time int64 (ms since the epoch) | metadata (the rest, UTF-8)
//
// Every commit is one pebble batch written with pebble.Sync, so an offset
// is on disk before the commit is acknowledged.
const offsetsPrefix = "offsets/"

// offsetValueVersion is the first byte of every stored offset value.
const offsetValueVersion = 1

// offsetValueFixed is the size of a value without its metadata.
const offsetValueFixed = 1 + 8 + 4 + 8

// MaxOffsetMetadata is the longest metadata string a commit may carry, in
// bytes (Kafka's offset.metadata.max.bytes default).
const MaxOffsetMetadata = 4096

// MaxGroupIDLength bounds a group id, so that it fits the uint16 prefix of
// the offset keys with room to spare.
const MaxGroupIDLength = 1024

// Errors of offset commits. A commit of several partitions fails per
// partition: the others are still written.
var (
	// ErrInvalidGroupID: the group id is empty or too long.
	ErrInvalidGroupID = errors.New("invalid group id")
	// ErrInvalidOffset: a committed offset is negative.
	ErrInvalidOffset = errors.New("committed offset is negative")
	// ErrOffsetMetadataTooLarge: the metadata passes MaxOffsetMetadata.
	ErrOffsetMetadataTooLarge = errors.New("offset metadata too large")
	// ErrCorruptOffset: a stored offset value does not decode.
	ErrCorruptOffset = errors.New("corrupt stored offset")
)

// TopicPartition names one partition of a topic.
type TopicPartition struct {
	Topic     string
	Partition int32
}

// OffsetCommit is one partition's committed position: the offset of the
// next record the group will read.
type OffsetCommit struct {
	TopicPartition
	Offset int64
	// LeaderEpoch is the partition leader epoch the offset was read at, or
	// -1 when the client does not know it.
	LeaderEpoch int32
	Metadata    string
}

// CommittedOffset is what FetchOffsets returns for a partition.
type CommittedOffset struct {
	Offset      int64
	LeaderEpoch int32
	Metadata    string
	CommitTime  time.Time
}

// ValidateGroupID checks a group id: 1 to MaxGroupIDLength bytes.
func ValidateGroupID(group string) error {
	switch {
	case group == "":
		return fmt.Errorf("%w: empty", ErrInvalidGroupID)
	case len(group) > MaxGroupIDLength:
		return fmt.Errorf("%w: %d bytes, at most %d allowed", ErrInvalidGroupID, len(group), MaxGroupIDLength)
	}
	return nil
}

func groupKeyPrefix(group string) []byte {
	k := make([]byte, 0, len(offsetsPrefix)+2+len(group))
	k = append(k, offsetsPrefix...)
	k = binary.BigEndian.AppendUint16(k, uint16(len(group)))
	return append(k, group...)
}

func offsetKey(group, topic string, partition int32) []byte {
	k := groupKeyPrefix(group)
	k = append(k, topic...)
	k = append(k, '/')
	return binary.BigEndian.AppendUint32(k, uint32(partition))
}

// parseOffsetKey splits a key under offsetsPrefix.
func parseOffsetKey(k []byte) (group string, tp TopicPartition, ok bool) {
	rest := k[len(offsetsPrefix):]
	if len(rest) < 2 {
		return "", tp, false
	}
	n := int(binary.BigEndian.Uint16(rest))
	rest = rest[2:]
	if len(rest) < n+1+4 {
		return "", tp, false
	}
	group = string(rest[:n])
	rest = rest[n:]
	if rest[len(rest)-5] != '/' {
		return "", tp, false
	}
	tp.Topic = string(rest[:len(rest)-5])
	tp.Partition = int32(binary.BigEndian.Uint32(rest[len(rest)-4:]))
	return group, tp, true
}

// AppendOffsetValue encodes a stored offset value (see the layout above).
func AppendOffsetValue(dst []byte, c CommittedOffset) []byte {
	dst = append(dst, offsetValueVersion)
	dst = binary.BigEndian.AppendUint64(dst, uint64(c.Offset))
	dst = binary.BigEndian.AppendUint32(dst, uint32(c.LeaderEpoch))
	dst = binary.BigEndian.AppendUint64(dst, uint64(c.CommitTime.UnixMilli()))
	return append(dst, c.Metadata...)
}

// DecodeOffsetValue decodes a stored offset value; it fails, wrapping
// ErrCorruptOffset, on anything AppendOffsetValue cannot have written.
func DecodeOffsetValue(v []byte) (CommittedOffset, error) {
	if len(v) < offsetValueFixed {
		return CommittedOffset{}, fmt.Errorf("%w: %d bytes, need at least %d", ErrCorruptOffset, len(v), offsetValueFixed)
	}
	if v[0] != offsetValueVersion {
		return CommittedOffset{}, fmt.Errorf("%w: version %d", ErrCorruptOffset, v[0])
	}
	c := CommittedOffset{
		Offset:      int64(binary.BigEndian.Uint64(v[1:])),
		LeaderEpoch: int32(binary.BigEndian.Uint32(v[9:])),
		Metadata:    string(v[offsetValueFixed:]),
	}
	ms := int64(binary.BigEndian.Uint64(v[13:]))
	if c.Offset < 0 || ms < 0 || ms > math.MaxInt64/int64(time.Millisecond) {
		return CommittedOffset{}, fmt.Errorf("%w: offset %d, commit time %d", ErrCorruptOffset, c.Offset, ms)
	}
	c.CommitTime = time.UnixMilli(ms)
	return c, nil
}

// CommitOffsets stores a group's committed offsets, durably: the batch is
// synced before CommitOffsets returns. Each commit is checked first (the
// topic and partition exist, the offset is not negative, the metadata fits);
// the returned slice has one error per commit (nil for those written) and
// the error is for the group as a whole (a bad id, a failed write).
// Commits that fail their check change nothing.
func (e *Engine) CommitOffsets(group string, commits []OffsetCommit) ([]error, error) {
	if err := ValidateGroupID(group); err != nil {
		return nil, err
	}
	// The read lock orders commits against DeleteTopic, which removes the
	// topic's offsets under the write lock: no offset of a deleted topic
	// survives it.
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.closed {
		return nil, ErrClosed
	}
	errs := make([]error, len(commits))
	b := e.meta.db.NewBatch()
	defer b.Close()
	now := e.now()
	var val []byte
	n := 0
	for i, c := range commits {
		if _, errs[i] = e.checkCommitLocked(c); errs[i] != nil {
			continue
		}
		val = AppendOffsetValue(val[:0], CommittedOffset{Offset: c.Offset, LeaderEpoch: c.LeaderEpoch, Metadata: c.Metadata, CommitTime: now})
		if err := b.Set(offsetKey(group, c.Topic, c.Partition), val, nil); err != nil {
			return nil, fmt.Errorf("commit offsets of group %q: %w", group, err)
		}
		n++
	}
	if n == 0 {
		return errs, nil
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return nil, fmt.Errorf("commit offsets of group %q: %w", group, err)
	}
	return errs, nil
}

// FetchOffsets returns every offset the group has committed.
func (e *Engine) FetchOffsets(group string) (map[TopicPartition]CommittedOffset, error) {
	if err := ValidateGroupID(group); err != nil {
		return nil, err
	}
	lo := groupKeyPrefix(group)
	it, err := e.meta.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: prefixEnd(lo)})
	if err != nil {
		return nil, fmt.Errorf("fetch offsets of group %q: %w", group, err)
	}
	defer it.Close()
	out := map[TopicPartition]CommittedOffset{}
	for it.First(); it.Valid(); it.Next() {
		g, tp, ok := parseOffsetKey(it.Key())
		if !ok || g != group {
			return nil, fmt.Errorf("fetch offsets of group %q: %w: key %q", group, ErrCorruptOffset, it.Key())
		}
		c, err := DecodeOffsetValue(it.Value())
		if err != nil {
			return nil, fmt.Errorf("fetch offsets of group %q, %s-%d: %w", group, tp.Topic, tp.Partition, err)
		}
		out[tp] = c
	}
	return out, it.Error()
}

// DeleteGroupOffsets removes every offset of the group, durably.
func (e *Engine) DeleteGroupOffsets(group string) error {
	if err := ValidateGroupID(group); err != nil {
		return err
	}
	lo := groupKeyPrefix(group)
	if err := e.meta.db.DeleteRange(lo, prefixEnd(lo), pebble.Sync); err != nil {
		return fmt.Errorf("delete offsets of group %q: %w", group, err)
	}
	return nil
}

// GroupOffsetInfo summarises one group's stored offsets.
type GroupOffsetInfo struct {
	Group      string
	Partitions int
	// LastCommit is the most recent commit time of any of its offsets.
	LastCommit time.Time
}

// GroupsWithOffsets lists the groups that have committed offsets, sorted.
func (e *Engine) GroupsWithOffsets() ([]GroupOffsetInfo, error) {
	lo := []byte(offsetsPrefix)
	it, err := e.meta.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: prefixEnd(lo)})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	byGroup := map[string]*GroupOffsetInfo{}
	for it.First(); it.Valid(); it.Next() {
		g, _, ok := parseOffsetKey(it.Key())
		if !ok {
			continue
		}
		info := byGroup[g]
		if info == nil {
			info = &GroupOffsetInfo{Group: g}
			byGroup[g] = info
		}
		info.Partitions++
		if c, err := DecodeOffsetValue(it.Value()); err == nil && c.CommitTime.After(info.LastCommit) {
			info.LastCommit = c.CommitTime
		}
	}
	if err := it.Error(); err != nil {
		return nil, err
	}
	out := make([]GroupOffsetInfo, 0, len(byGroup))
	for _, info := range byGroup {
		out = append(out, *info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Group < out[j].Group })
	return out, nil
}

// deleteTopicOffsets adds to b the deletion of every group's offsets of
// the topic. Offsets are keyed by group first, so this scans them all; a
// topic deletion is rare enough for that.
func (m *metaStore) deleteTopicOffsets(b *pebble.Batch, topic string) error {
	lo := []byte(offsetsPrefix)
	it, err := m.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: prefixEnd(lo)})
	if err != nil {
		return err
	}
	defer it.Close()
	for it.First(); it.Valid(); it.Next() {
		if _, tp, ok := parseOffsetKey(it.Key()); ok && tp.Topic == topic {
			if err := b.Delete(append([]byte(nil), it.Key()...), nil); err != nil {
				return err
			}
		}
	}
	return it.Error()
}

// prefixEnd is the smallest key after every key starting with p.
func prefixEnd(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}
