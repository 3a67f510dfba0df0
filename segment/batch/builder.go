package batch

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Builder accumulates records into one batch, the way a producer does. The
// zero value is ready to use and builds uncompressed batches with no
// producer ID. A Builder reuses its buffers and compressors across Reset, so
// once warm, Append and Build do not allocate. It is not safe for concurrent
// use and must not be copied after first use.
type Builder struct {
	codec         Codec
	transactional bool
	// hasProducer distinguishes "not set" from producer ID 0, so that the
	// zero Builder writes NoProducerID.
	hasProducer   bool
	producerID    int64
	producerEpoch int16
	baseSequence  int32

	// buf holds a header-sized gap and then the uncompressed records; the
	// header is written over the gap by Build.
	buf           []byte
	records       int32
	baseTimestamp int64
	maxTimestamp  int64

	out  []byte // the compressed batch, for codecs other than None
	comp compressor
}

// NewBuilder returns a Builder that compresses with codec.
func NewBuilder(codec Codec) *Builder {
	return &Builder{codec: codec}
}

// Reset starts a new, empty batch. The codec, producer and transactional
// settings stay, and so do the buffers and compressors.
func (b *Builder) Reset() {
	b.buf = b.buf[:0]
	b.out = b.out[:0]
	b.records = 0
	b.baseTimestamp, b.maxTimestamp = 0, 0
}

// SetCodec sets the codec Build compresses with. An invalid codec makes
// Build fail.
func (b *Builder) SetCodec(c Codec) { b.codec = c }

// SetProducer sets the idempotent producer's ID and epoch and the sequence
// number of the batch's first record. Without it, batches carry
// NoProducerID, NoProducerEpoch and NoSequence.
func (b *Builder) SetProducer(id int64, epoch int16, baseSequence int32) {
	b.hasProducer = true
	b.producerID, b.producerEpoch, b.baseSequence = id, epoch, baseSequence
}

// SetTransactional marks the batches as part of a transaction.
func (b *Builder) SetTransactional(transactional bool) { b.transactional = transactional }

// Records is the number of records appended since the last Reset.
func (b *Builder) Records() int { return int(b.records) }

// Size is the size of the batch so far before compression, header
// included: what a producer compares against batch.size.
func (b *Builder) Size() int {
	if b.records == 0 {
		return HeaderSize
	}
	return len(b.buf)
}

// Append adds a record with timestamp ts (milliseconds since the epoch). The
// first record's timestamp becomes the batch's base timestamp. A nil key or
// value is stored as null, an empty non-nil one as empty; a nil header key
// is stored as empty, since Kafka has no null header keys. The arguments are
// copied, so the caller may reuse them.
func (b *Builder) Append(ts int64, key, value []byte, headers []RecordHeader) {
	if b.records == 0 {
		b.buf = append(b.buf[:0], make([]byte, HeaderSize)...)
		b.baseTimestamp, b.maxTimestamp = ts, ts
	}
	b.maxTimestamp = max(b.maxTimestamp, ts)
	tsDelta := ts - b.baseTimestamp
	offsetDelta := int64(b.records)

	// The length prefix comes first, so size the body before writing it.
	body := 1 + varintLen(tsDelta) + varintLen(offsetDelta) +
		bytesLen(key) + bytesLen(value) + varintLen(int64(len(headers)))
	for i := range headers {
		body += varintLen(int64(len(headers[i].Key))) + len(headers[i].Key) + bytesLen(headers[i].Value)
	}

	buf := grow(b.buf, varintLen(int64(body))+body)
	buf = appendVarint(buf, int64(body))
	buf = append(buf, 0) // record attributes: unused by Kafka
	buf = appendVarint(buf, tsDelta)
	buf = appendVarint(buf, offsetDelta)
	buf = appendBytes(buf, key)
	buf = appendBytes(buf, value)
	buf = appendVarint(buf, int64(len(headers)))
	for i := range headers {
		buf = appendVarint(buf, int64(len(headers[i].Key)))
		buf = append(buf, headers[i].Key...)
		buf = appendBytes(buf, headers[i].Value)
	}
	b.buf = buf
	b.records++
}

// bytesLen is the encoded size of a nullable byte string.
func bytesLen(p []byte) int {
	if p == nil {
		return 1 // the varint -1
	}
	return varintLen(int64(len(p))) + len(p)
}

// appendBytes appends a nullable byte string: its length, or -1 for nil,
// then its bytes.
func appendBytes(dst, p []byte) []byte {
	if p == nil {
		return appendVarint(dst, -1)
	}
	return append(appendVarint(dst, int64(len(p))), p...)
}

// Build finishes the batch and returns it, compressed with the Builder's
// codec, with BaseOffset 0 and PartitionLeaderEpoch -1 (the broker sets
// both). The returned bytes belong to the Builder and stay valid until the
// next Reset or Append. Build may be called again after more Appends; it
// fails with ErrEmpty before the first Append.
func (b *Builder) Build() ([]byte, error) { return b.build(&b.comp) }

// Compressor holds a set of encoders that Builders can share through
// BuildWith instead of each keeping its own. A producer with hundreds of
// open batches then keeps one set, not hundreds: an encoder's state (zstd's
// match tables above all) costs far more to make and to warm than a batch
// takes to compress. The zero value is ready to use; it is not safe for
// concurrent use.
type Compressor struct{ c compressor }

// BuildWith is Build compressing with c instead of the Builder's own
// encoders.
func (b *Builder) BuildWith(c *Compressor) ([]byte, error) { return b.build(&c.c) }

func (b *Builder) build(comp *compressor) ([]byte, error) {
	if b.records == 0 {
		return nil, ErrEmpty
	}
	if !b.codec.Valid() {
		return nil, fmt.Errorf("%w: cannot build a batch with %v", ErrBadCodec, b.codec)
	}
	batch := b.buf
	if b.codec != None {
		var err error
		b.out, err = comp.compress(append(b.out[:0], b.buf[:HeaderSize]...), b.buf[HeaderSize:], b.codec)
		if err != nil {
			return nil, err
		}
		batch = b.out
	}
	if len(batch)-lengthOverhead > math.MaxInt32 {
		return nil, fmt.Errorf("batch: %d bytes do not fit a batch", len(batch))
	}
	b.writeHeader(batch)
	return batch, nil
}

// writeHeader fills the header gap at the start of batch, CRC last.
func (b *Builder) writeHeader(batch []byte) {
	be := binary.BigEndian
	attrs := uint16(b.codec)
	if b.transactional {
		attrs |= transactionalBit
	}
	producerID, producerEpoch, baseSequence := int64(NoProducerID), int16(NoProducerEpoch), int32(NoSequence)
	if b.hasProducer {
		producerID, producerEpoch, baseSequence = b.producerID, b.producerEpoch, b.baseSequence
	}
	be.PutUint64(batch[0:], 0)
	be.PutUint32(batch[LengthOffset:], uint32(len(batch)-lengthOverhead))
	be.PutUint32(batch[leaderEpochOffset:], math.MaxUint32) // -1: no leader yet
	batch[magicOffset] = Magic
	be.PutUint16(batch[attributesOffset:], attrs)
	be.PutUint32(batch[lastOffsetDeltaOffset:], uint32(b.records-1))
	be.PutUint64(batch[baseTimestampOffset:], uint64(b.baseTimestamp))
	be.PutUint64(batch[maxTimestampOffset:], uint64(b.maxTimestamp))
	be.PutUint64(batch[producerIDOffset:], uint64(producerID))
	be.PutUint16(batch[producerEpochOffset:], uint16(producerEpoch))
	be.PutUint32(batch[baseSequenceOffset:], uint32(baseSequence))
	be.PutUint32(batch[recordCountOffset:], uint32(b.records))
	be.PutUint32(batch[crcOffset:], checksum(batch))
}
