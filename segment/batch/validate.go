package batch

import "encoding/binary"

// Validate checks that b holds exactly one whole, well-formed batch: the
// length field matches len(b), the magic is 2, the codec is one Kafka
// defines, the CRC-32C matches and RecordCount is at least one and equals
// LastOffsetDelta+1. It neither decompresses nor looks inside the records
// (Reader does), and it does not allocate unless it fails. Every error
// satisfies errors.Is(err, ErrInvalid).
//
// The checks run in this order, which callers can rely on: the framing
// (truncation, magic, length) first, because nothing else can be read
// without it; then the CRC, so that any damage to the covered bytes is
// reported as ErrBadCRC rather than as whatever field it happened to hit;
// then codec and record count, which only a producer bug can get wrong
// under a good CRC.
func Validate(b []byte) (Header, error) { return validate(b, true) }

// ValidateFraming is Validate without the CRC: every other check, in the
// same order. It is for readers that trust the bytes' path and want the
// speed, as a Kafka consumer with check.crcs=false does; the CRC is most of
// Validate's cost.
func ValidateFraming(b []byte) (Header, error) { return validate(b, false) }

func validate(b []byte, checkCRC bool) (Header, error) {
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
	if h.RecordCount < 1 || int64(h.RecordCount) != int64(h.LastOffsetDelta)+1 {
		return h, errBadRecordCount(h.RecordCount, h.LastOffsetDelta)
	}
	return h, nil
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
