package grouplog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/sluicelog/sluice/engine"
)

// ErrCorrupt is wrapped by every failure to decode a record of the
// offsets topic.
var ErrCorrupt = errors.New("corrupt " + Topic + " record")

// Kind says what a record is about; it is the first field of every key,
// and a key of a new layout gets a new kind (Kafka's key version does the
// same job).
type Kind int16

const (
	// KindOffset is a group's committed offset of one partition.
	KindOffset Kind = 1
	// KindGroup is a group's membership: generation, members, assignments.
	KindGroup Kind = 2
)

// valueVersion is the first field of every value this package writes.
const valueVersion = 1

// Record is one record of the offsets topic, decoded.
type Record struct {
	Kind  Kind
	Group string
	// Tombstone is set for a record without a value: the group's offset
	// of the partition (KindOffset), or its membership (KindGroup), is
	// gone.
	Tombstone bool

	// KindOffset: the partition, the id of its topic when the commit was
	// made (a commit of a topic deleted since, or deleted and created
	// again, is dropped when applied) and the commit itself, to the
	// millisecond.
	Partition engine.TopicPartition
	TopicID   [16]byte
	Offset    engine.CommittedOffset

	// KindGroup: the coordinator's encoding of the membership
	// (engine/group/persist.go, versioned there), opaque here.
	State []byte
}

// AppendKey appends the record's key:
//
//	KindOffset: kind int16 | group string | topic string | partition int32
//	KindGroup:  kind int16 | group string
//
// Integers are big-endian; a string is its length (uint16) then its bytes.
func (r *Record) AppendKey(dst []byte) []byte {
	dst = binary.BigEndian.AppendUint16(dst, uint16(r.Kind))
	dst = appendString(dst, r.Group)
	if r.Kind == KindOffset {
		dst = appendString(dst, r.Partition.Topic)
		dst = binary.BigEndian.AppendUint32(dst, uint32(r.Partition.Partition))
	}
	return dst
}

// AppendValue appends the record's value, or returns nil for a tombstone
// (the record is written with a null value):
//
//	KindOffset: version int16 (=1) | offset int64 | leader epoch int32
//	            commit time int64 (ms) | topic id [16]byte | metadata string
//	KindGroup:  version int16 (=1) | state (the rest of the value)
func (r *Record) AppendValue(dst []byte) []byte {
	if r.Tombstone {
		return nil
	}
	dst = binary.BigEndian.AppendUint16(dst, valueVersion)
	switch r.Kind {
	case KindOffset:
		dst = binary.BigEndian.AppendUint64(dst, uint64(r.Offset.Offset))
		dst = binary.BigEndian.AppendUint32(dst, uint32(r.Offset.LeaderEpoch))
		dst = binary.BigEndian.AppendUint64(dst, uint64(r.Offset.CommitTime.UnixMilli()))
		dst = append(dst, r.TopicID[:]...)
		dst = appendString(dst, r.Offset.Metadata)
	case KindGroup:
		dst = append(dst, r.State...)
	}
	return dst
}

func appendString(dst []byte, s string) []byte {
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(s)))
	return append(dst, s...)
}

// Decode decodes a record from its key and value (nil for a tombstone).
// It fails, wrapping ErrCorrupt, on anything AppendKey and AppendValue
// cannot have written: an unknown kind or value version, a short or long
// field, a negative offset or commit time.
func Decode(key, value []byte) (Record, error) {
	var r Record
	d := decoder{b: key}
	r.Kind = Kind(d.uint16("kind"))
	r.Group = d.string("group")
	switch r.Kind {
	case KindOffset:
		r.Partition.Topic = d.string("topic")
		r.Partition.Partition = int32(d.uint32("partition"))
	case KindGroup:
	default:
		if d.err == nil {
			return r, fmt.Errorf("%w: unknown key kind %d", ErrCorrupt, r.Kind)
		}
	}
	if err := d.end("key"); err != nil {
		return r, err
	}
	if value == nil {
		r.Tombstone = true
		return r, nil
	}
	d = decoder{b: value}
	if v := d.uint16("value version"); d.err == nil && v != valueVersion {
		return r, fmt.Errorf("%w: unknown value version %d", ErrCorrupt, v)
	}
	if r.Kind == KindGroup {
		if d.err != nil {
			return r, d.err
		}
		r.State = d.b
		return r, nil
	}
	r.Offset.Offset = int64(d.uint64("offset"))
	r.Offset.LeaderEpoch = int32(d.uint32("leader epoch"))
	ms := int64(d.uint64("commit time"))
	copy(r.TopicID[:], d.bytes("topic id", len(r.TopicID)))
	r.Offset.Metadata = d.string("metadata")
	if err := d.end("value"); err != nil {
		return r, err
	}
	if r.Offset.Offset < 0 || ms < 0 || ms > math.MaxInt64/int64(time.Millisecond) {
		return r, fmt.Errorf("%w: offset %d, commit time %d", ErrCorrupt, r.Offset.Offset, ms)
	}
	r.Offset.CommitTime = time.UnixMilli(ms)
	return r, nil
}

// decoder reads the fields of a key or value; the first error sticks.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) bytes(what string, n int) []byte {
	if d.err != nil {
		return nil
	}
	if len(d.b) < n {
		d.err = fmt.Errorf("%w: %s: %d bytes left, need %d", ErrCorrupt, what, len(d.b), n)
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) uint16(what string) uint16 {
	if b := d.bytes(what, 2); b != nil {
		return binary.BigEndian.Uint16(b)
	}
	return 0
}

func (d *decoder) uint32(what string) uint32 {
	if b := d.bytes(what, 4); b != nil {
		return binary.BigEndian.Uint32(b)
	}
	return 0
}

func (d *decoder) uint64(what string) uint64 {
	if b := d.bytes(what, 8); b != nil {
		return binary.BigEndian.Uint64(b)
	}
	return 0
}

func (d *decoder) string(what string) string {
	n := d.uint16(what + " length")
	return string(d.bytes(what, int(n)))
}

// end checks that nothing follows the last field.
func (d *decoder) end(what string) error {
	if d.err == nil && len(d.b) != 0 {
		d.err = fmt.Errorf("%w: %d bytes after the %s's last field", ErrCorrupt, len(d.b), what)
	}
	return d.err
}
