package engine

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/sluicelog/sluice/segment/batch"
)

// Errors of idempotent produce, with Kafka's meanings.
var (
	// ErrOutOfOrderSequence: a batch's first sequence is not the one after
	// the producer's last (a gap, or a producer unknown to the partition
	// starting past 0).
	ErrOutOfOrderSequence = errors.New("out of order sequence number")
	// ErrInvalidProducerEpoch: the batch's producer epoch is older than the
	// one the partition has seen: the producer was fenced by a newer
	// instance.
	ErrInvalidProducerEpoch = errors.New("producer epoch is fenced")
	// ErrDuplicateSequence: a batch that was already appended, inside a
	// request of several batches (a lone duplicate batch is answered as a
	// success with its original offsets instead).
	ErrDuplicateSequence = errors.New("duplicate sequence number")
	// ErrUnknownProducerID: a batch past sequence 0 from a producer the
	// partition has no state for (never seen, or expired after
	// producer.id.expiration.ms). It always comes wrapped together with
	// ErrOutOfOrderSequence, so callers that only know that one still match.
	ErrUnknownProducerID = errors.New("unknown producer id")
)

// producerWindow is how many recent batches per producer a partition
// remembers to recognise retried duplicates: Kafka's limit on in-flight
// requests per connection for idempotent producers.
const producerWindow = 5

// producerBatch is what a partition remembers of one appended batch.
type producerBatch struct {
	firstSeq, lastSeq       int32
	firstOffset, lastOffset int64
}

// producerEntry is one producer's state in one partition.
type producerEntry struct {
	epoch int16
	// recent holds up to producerWindow batches, oldest first.
	recent [producerWindow]producerBatch
	n      int
	// lastAppendMs is the wall-clock time of the producer's last append,
	// for expiry.
	lastAppendMs int64
}

func (e *producerEntry) last() *producerBatch {
	if e.n == 0 {
		return nil
	}
	return &e.recent[e.n-1]
}

func (e *producerEntry) add(b producerBatch) {
	if e.n == producerWindow {
		copy(e.recent[:], e.recent[1:])
		e.n--
	}
	e.recent[e.n] = b
	e.n++
}

// producerState tracks the idempotent producers of one partition: it is a
// pure state machine fed batch headers, by appends and by log replay. Its
// owner (the partition) serialises access.
type producerState struct {
	entries map[int64]*producerEntry
}

func newProducerState() *producerState {
	return &producerState{entries: map[int64]*producerEntry{}}
}

// nextSeq is the sequence after seq; sequences wrap to 0 after MaxInt32,
// as in Kafka.
func nextSeq(seq int32, by int32) int32 {
	if seq > math.MaxInt32-by {
		return seq - math.MaxInt32 + by - 1
	}
	return seq + by
}

// check decides what to do with a batch of an idempotent producer: append
// it (nil, nil), answer it as a duplicate of a batch already in the log
// (the remembered batch, nil), or refuse it (nil, error). It changes
// nothing.
func (s *producerState) check(h *batch.Header) (*producerBatch, error) {
	e, ok := s.entries[h.ProducerID]
	lastSeq := nextSeq(h.BaseSequence, h.LastOffsetDelta)
	switch {
	case !ok && h.BaseSequence != 0:
		return nil, fmt.Errorf("%w (%w): producer %d epoch %d starts at sequence %d, expected 0",
			ErrUnknownProducerID, ErrOutOfOrderSequence, h.ProducerID, h.ProducerEpoch, h.BaseSequence)
	case !ok || h.ProducerEpoch > e.epoch:
		if h.BaseSequence != 0 {
			return nil, fmt.Errorf("%w: producer %d epoch %d starts at sequence %d, expected 0",
				ErrOutOfOrderSequence, h.ProducerID, h.ProducerEpoch, h.BaseSequence)
		}
		return nil, nil
	case h.ProducerEpoch < e.epoch:
		return nil, fmt.Errorf("%w: producer %d epoch %d, current epoch %d",
			ErrInvalidProducerEpoch, h.ProducerID, h.ProducerEpoch, e.epoch)
	}
	for i := 0; i < e.n; i++ {
		if b := &e.recent[i]; b.firstSeq == h.BaseSequence && b.lastSeq == lastSeq {
			return b, nil
		}
	}
	if last := e.last(); last != nil && h.BaseSequence != nextSeq(last.lastSeq, 1) {
		return nil, fmt.Errorf("%w: producer %d epoch %d sent sequence %d, expected %d",
			ErrOutOfOrderSequence, h.ProducerID, h.ProducerEpoch, h.BaseSequence, nextSeq(last.lastSeq, 1))
	}
	return nil, nil
}

// update records a batch written at firstOffset. Replay after a restart
// calls it for every idempotent batch in the log, in order.
func (s *producerState) update(h *batch.Header, firstOffset, nowMs int64) {
	e, ok := s.entries[h.ProducerID]
	if !ok {
		e = &producerEntry{}
		s.entries[h.ProducerID] = e
	}
	if h.ProducerEpoch != e.epoch || !ok {
		*e = producerEntry{epoch: h.ProducerEpoch}
	}
	e.add(producerBatch{
		firstSeq:    h.BaseSequence,
		lastSeq:     nextSeq(h.BaseSequence, h.LastOffsetDelta),
		firstOffset: firstOffset,
		lastOffset:  firstOffset + int64(h.LastOffsetDelta),
	})
	e.lastAppendMs = nowMs
}

// expire forgets producers that have not appended since beforeMs.
func (s *producerState) expire(beforeMs int64) int {
	n := 0
	for id, e := range s.entries {
		if e.lastAppendMs < beforeMs {
			delete(s.entries, id)
			n++
		}
	}
	return n
}

// Snapshot format (big-endian), stored in the meta store:
//
//	version int8 (=1) | offset int64 (state holds every batch below it) |
//	count int32 | count × (producerID int64 | epoch int16 | lastAppendMs int64 |
//	n int8 | n × (firstSeq int32 | lastSeq int32 | firstOffset int64 | lastOffset int64))
const snapshotVersion = 1

func (s *producerState) marshal(offset int64) []byte {
	b := make([]byte, 0, 13+len(s.entries)*(19+producerWindow*24))
	b = append(b, snapshotVersion)
	b = binary.BigEndian.AppendUint64(b, uint64(offset))
	b = binary.BigEndian.AppendUint32(b, uint32(len(s.entries)))
	for id, e := range s.entries {
		b = binary.BigEndian.AppendUint64(b, uint64(id))
		b = binary.BigEndian.AppendUint16(b, uint16(e.epoch))
		b = binary.BigEndian.AppendUint64(b, uint64(e.lastAppendMs))
		b = append(b, byte(e.n))
		for i := 0; i < e.n; i++ {
			r := e.recent[i]
			b = binary.BigEndian.AppendUint32(b, uint32(r.firstSeq))
			b = binary.BigEndian.AppendUint32(b, uint32(r.lastSeq))
			b = binary.BigEndian.AppendUint64(b, uint64(r.firstOffset))
			b = binary.BigEndian.AppendUint64(b, uint64(r.lastOffset))
		}
	}
	return b
}

var errBadSnapshot = errors.New("bad producer snapshot")

// unmarshalProducerState decodes a snapshot; any damage is an error (the
// caller then rebuilds the state from the log).
func unmarshalProducerState(b []byte) (*producerState, int64, error) {
	if len(b) < 13 || b[0] != snapshotVersion {
		return nil, 0, errBadSnapshot
	}
	offset := int64(binary.BigEndian.Uint64(b[1:]))
	count := int(binary.BigEndian.Uint32(b[9:]))
	b = b[13:]
	if count < 0 || count > len(b)/19 {
		return nil, 0, errBadSnapshot
	}
	s := &producerState{entries: make(map[int64]*producerEntry, count)}
	for i := 0; i < count; i++ {
		if len(b) < 19 {
			return nil, 0, errBadSnapshot
		}
		id := int64(binary.BigEndian.Uint64(b))
		e := &producerEntry{
			epoch:        int16(binary.BigEndian.Uint16(b[8:])),
			lastAppendMs: int64(binary.BigEndian.Uint64(b[10:])),
			n:            int(b[18]),
		}
		b = b[19:]
		if e.n > producerWindow || len(b) < e.n*24 {
			return nil, 0, errBadSnapshot
		}
		for j := 0; j < e.n; j++ {
			e.recent[j] = producerBatch{
				firstSeq:    int32(binary.BigEndian.Uint32(b)),
				lastSeq:     int32(binary.BigEndian.Uint32(b[4:])),
				firstOffset: int64(binary.BigEndian.Uint64(b[8:])),
				lastOffset:  int64(binary.BigEndian.Uint64(b[16:])),
			}
			b = b[24:]
		}
		s.entries[id] = e
	}
	if len(b) != 0 {
		return nil, 0, errBadSnapshot
	}
	return s, offset, nil
}
