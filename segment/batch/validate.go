package batch

import "encoding/binary"

// Validate checks that b holds exactly one whole, well-formed batch as a
// producer sends it: the length field matches len(b), the magic is 2, the
// codec is one Kafka defines, the CRC-32C matches and RecordCount is at
// least one and equals LastOffsetDelta+1. It neither decompresses nor looks
// inside the records (Reader does), and it does not allocate unless it
// fails. Every error satisfies errors.Is(err, ErrInvalid).
//
// The checks run in this order, which callers can rely on: the framing
// (truncation, magic, length) first, because nothing else can be read
// without it; then the CRC, so that any damage to the covered bytes is
// reported as ErrBadCRC rather than as whatever field it happened to hit;
// then codec and record count, which only a producer bug can get wrong
// under a good CRC.
//
// Validate is for the produce path. Batches that a log stores may have
// been compacted, and those only ValidateStored accepts.
func Validate(b []byte) (Header, error) { return validate(b, true, false) }

// ValidateFraming is Validate without the CRC: every other check, in the
// same order. It is for readers that trust the bytes' path and want the
// speed, as a Kafka consumer with check.crcs=false does; the CRC is most of
// Validate's cost.
func ValidateFraming(b []byte) (Header, error) { return validate(b, false, false) }

// ValidateStored is Validate for batches as a log stores them, which
// compaction may have thinned: LastOffsetDelta is at least zero and
// RecordCount lies between zero and LastOffsetDelta+1, rather than being
// equal to it. Such a batch keeps its offset range, so offsets never move,
// while some of its records are gone; Kafka's cleaner even keeps a batch
// with no records at all when it carries an idempotent producer's last
// sequence. Every other check is Validate's, in the same order. Use it
// wherever a batch comes from a log rather than from a producer: recovery,
// replication, fetch responses. Like Validate, it neither decompresses nor
// allocates unless it fails; Reader checks that the records really are
// RecordCount of them, at rising offsets within the batch's range.
func ValidateStored(b []byte) (Header, error) { return validate(b, true, true) }

// ValidateStoredFraming is ValidateStored without the CRC, as
// ValidateFraming is Validate without it.
func ValidateStoredFraming(b []byte) (Header, error) { return validate(b, false, true) }

func validate(b []byte, checkCRC, stored bool) (Header, error) {
	h, err := ParseHeader(b)
	if err != nil {
		return h, err
	}
	if size := h.Size(); int64(len(b)) != size {
		if int64(len(b)) < size {
			return h, errTruncated(len(b), size)
		}
		return h, errTrailing(len(b), size)
	}
	if checkCRC {
		if sum := checksum(b); sum != h.CRC {
			return h, errBadCRC(h.CRC, sum)
		}
	}
	if !h.Codec().Valid() {
		return h, errBadCodec(h.Attributes)
	}
	if !countFits(&h, stored) {
		return h, errBadRecordCount(h.RecordCount, h.LastOffsetDelta)
	}
	return h, nil
}

// countFits checks RecordCount against LastOffsetDelta: equal to
// LastOffsetDelta+1 and at least one for what producers send, anywhere in
// [0, LastOffsetDelta+1] for what a log stores.
func countFits(h *Header, stored bool) bool {
	if stored {
		return h.LastOffsetDelta >= 0 && h.RecordCount >= 0 && int64(h.RecordCount) <= int64(h.LastOffsetDelta)+1
	}
	return h.RecordCount >= 1 && int64(h.RecordCount) == int64(h.LastOffsetDelta)+1
}

// Split cuts the first batch off b, trusting only its length field: it
// checks that b holds a header's worth of bytes and that the length is at
// least a header and fits in b, but not the magic or the CRC (Validate the
// first batch for that). It is for walking a run of batches, as stored in a
// segment or sent in a produce request.
func Split(b []byte) (first, rest []byte, err error) {
	if len(b) < HeaderSize {
		return nil, b, errTruncated(len(b), HeaderSize)
	}
	length := int32(binary.BigEndian.Uint32(b[LengthOffset:]))
	if length < minLength {
		return nil, b, errLengthTooSmall(length)
	}
	size := int64(length) + lengthOverhead
	if int64(len(b)) < size {
		return nil, b, errTruncated(len(b), size)
	}
	return b[:size:size], b[size:], nil
}
