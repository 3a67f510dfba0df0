package batch

import (
	"encoding/binary"
	"hash/crc32"
)

// Sizes and positions in the batch header; see the package doc for the
// whole layout.
const (
	// HeaderSize is the size of the batch header; records start here.
	HeaderSize = 61
	// Magic is the message format version this package speaks.
	Magic = 2
	// LengthOffset is where batchLength sits. Everything up to and
	// including it (baseOffset and batchLength, 12 bytes) is not counted
	// by batchLength.
	LengthOffset = 8

	leaderEpochOffset     = 12
	magicOffset           = 16
	crcOffset             = 17
	attributesOffset      = 21 // the CRC covers from here to the end
	lastOffsetDeltaOffset = 23
	baseTimestampOffset   = 27
	maxTimestampOffset    = 35
	producerIDOffset      = 43
	producerEpochOffset   = 51
	baseSequenceOffset    = 53
	recordCountOffset     = 57

	// lengthOverhead is what batchLength leaves out: baseOffset and
	// batchLength itself.
	lengthOverhead = LengthOffset + 4
	// minLength is the smallest batchLength that still holds a header.
	minLength = HeaderSize - lengthOverhead
)

// Producer fields of a batch that no idempotent producer wrote.
const (
	NoProducerID    = -1
	NoProducerEpoch = -1
	NoSequence      = -1
)

// Attribute bits.
const (
	codecMask        = 0x07
	timestampTypeBit = 0x08
	transactionalBit = 0x10
	controlBit       = 0x20
)

// castagnoli is immutable once built; crc32 picks the hardware CRC-32C
// instructions for it where the CPU has them.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// TimestampType says where record timestamps come from.
type TimestampType int8

const (
	// CreateTime timestamps were set by the producer.
	CreateTime TimestampType = 0
	// LogAppendTime timestamps were set by the broker when it appended the
	// batch; every record of the batch then reads MaxTimestamp.
	LogAppendTime TimestampType = 1
)

// String returns Kafka's name for the timestamp type.
func (t TimestampType) String() string {
	if t == LogAppendTime {
		return "LogAppendTime"
	}
	return "CreateTime"
}

// Header is the decoded fixed-size header of a record batch.
type Header struct {
	BaseOffset           int64
	Length               int32
	PartitionLeaderEpoch int32
	Magic                int8
	CRC                  uint32
	Attributes           int16
	LastOffsetDelta      int32
	BaseTimestamp        int64
	MaxTimestamp         int64
	ProducerID           int64
	ProducerEpoch        int16
	BaseSequence         int32
	RecordCount          int32
}

// Size is the number of bytes the whole batch occupies.
func (h *Header) Size() int64 { return int64(h.Length) + lengthOverhead }

// LastOffset is the offset of the batch's last record.
func (h *Header) LastOffset() int64 { return h.BaseOffset + int64(h.LastOffsetDelta) }

// NextOffset is the offset the batch after this one starts at.
func (h *Header) NextOffset() int64 { return h.LastOffset() + 1 }

// Codec is the compression codec of the records.
func (h *Header) Codec() Codec { return Codec(h.Attributes & codecMask) }

// TimestampType says whether record timestamps are the producer's or the
// broker's.
func (h *Header) TimestampType() TimestampType {
	if h.Attributes&timestampTypeBit != 0 {
		return LogAppendTime
	}
	return CreateTime
}

// Transactional reports whether the batch belongs to a transaction.
func (h *Header) Transactional() bool { return h.Attributes&transactionalBit != 0 }

// Control reports whether the batch holds control records (transaction
// markers) rather than user records.
func (h *Header) Control() bool { return h.Attributes&controlBit != 0 }

// ParseHeader decodes the header at the start of b, which must hold at least
// HeaderSize bytes. It checks the magic and that Length is large enough for
// a header; it does not check the CRC or that b holds the whole batch (see
// Validate). It does not allocate unless it fails.
func ParseHeader(b []byte) (Header, error) {
	if len(b) < HeaderSize {
		return Header{}, errTruncated(len(b), HeaderSize)
	}
	be := binary.BigEndian
	h := Header{
		BaseOffset:           int64(be.Uint64(b[0:])),
		Length:               int32(be.Uint32(b[LengthOffset:])),
		PartitionLeaderEpoch: int32(be.Uint32(b[leaderEpochOffset:])),
		Magic:                int8(b[magicOffset]),
		CRC:                  be.Uint32(b[crcOffset:]),
		Attributes:           int16(be.Uint16(b[attributesOffset:])),
		LastOffsetDelta:      int32(be.Uint32(b[lastOffsetDeltaOffset:])),
		BaseTimestamp:        int64(be.Uint64(b[baseTimestampOffset:])),
		MaxTimestamp:         int64(be.Uint64(b[maxTimestampOffset:])),
		ProducerID:           int64(be.Uint64(b[producerIDOffset:])),
		ProducerEpoch:        int16(be.Uint16(b[producerEpochOffset:])),
		BaseSequence:         int32(be.Uint32(b[baseSequenceOffset:])),
		RecordCount:          int32(be.Uint32(b[recordCountOffset:])),
	}
	if h.Magic != Magic {
		return h, errBadMagic(h.Magic)
	}
	if h.Length < minLength {
		return h, errLengthTooSmall(h.Length)
	}
	return h, nil
}

// SetBaseOffset sets the batch's base offset in place. The CRC does not cover
// it, so the batch stays valid; this is how a broker assigns offsets. b must
// hold at least a header.
func SetBaseOffset(b []byte, offset int64) {
	binary.BigEndian.PutUint64(b[0:LengthOffset], uint64(offset))
}

// SetPartitionLeaderEpoch sets the batch's leader epoch in place; like the
// base offset, it sits outside the CRC.
func SetPartitionLeaderEpoch(b []byte, epoch int32) {
	binary.BigEndian.PutUint32(b[leaderEpochOffset:magicOffset], uint32(epoch))
}

// SetLogAppendTime marks the batch as carrying broker timestamps and sets
// MaxTimestamp to ts, the time the broker appended it, which every record
// then reads as its timestamp. Both fields are under the CRC, so it is
// recomputed; the records and BaseTimestamp are left as the producer wrote
// them, as Kafka's broker does for topics with LogAppendTime. b must be one
// whole batch, as accepted by Validate.
func SetLogAppendTime(b []byte, ts int64) {
	attrs := binary.BigEndian.Uint16(b[attributesOffset:])
	binary.BigEndian.PutUint16(b[attributesOffset:], attrs|timestampTypeBit)
	binary.BigEndian.PutUint64(b[maxTimestampOffset:], uint64(ts))
	binary.BigEndian.PutUint32(b[crcOffset:], checksum(b))
}

// checksum is the CRC-32C of the covered part of batch b.
func checksum(b []byte) uint32 { return crc32.Checksum(b[attributesOffset:], castagnoli) }
