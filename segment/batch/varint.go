package batch

// Kafka's varints are protobuf-style base-128 integers of zigzag-encoded
// values, so small negative numbers (the -1 of a null key) stay one byte.
// encoding/binary's Varint uses the same zigzag mapping, but its reader
// accepts ten-byte encodings where a Kafka varint (int32) stops at five, so
// we keep our own with the width checks the format needs.

const (
	maxVarintLen  = 5  // int32
	maxVarlongLen = 10 // int64
)

func zigzag(v int64) uint64 { return uint64(v<<1) ^ uint64(v>>63) }

func unzigzag(u uint64) int64 { return int64(u>>1) ^ -int64(u&1) }

// uvarintLen is the encoded size of u.
func uvarintLen(u uint64) int {
	n := 1
	for u >= 0x80 {
		u >>= 7
		n++
	}
	return n
}

func varintLen(v int64) int { return uvarintLen(zigzag(v)) }

// appendVarint appends v zigzag-encoded; varint and varlong differ only in
// the range of v, so one function writes both.
func appendVarint(dst []byte, v int64) []byte {
	u := zigzag(v)
	for u >= 0x80 {
		dst = append(dst, byte(u)|0x80)
		u >>= 7
	}
	return append(dst, byte(u))
}

// readUvarint decodes an unsigned base-128 integer of at most maxLen bytes
// from b. It returns the value and the bytes used, or n == 0 when b ends
// mid-integer or the encoding runs past maxLen bytes.
func readUvarint(b []byte, maxLen int) (u uint64, n int) {
	var shift uint
	for i := 0; i < len(b) && i < maxLen; i++ {
		c := b[i]
		u |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return u, i + 1
		}
		shift += 7
	}
	return 0, 0
}

// readVarint decodes a Kafka varint (int32). Values whose zigzag form does
// not fit 32 bits are refused rather than truncated: no encoder writes them.
func readVarint(b []byte) (v int32, n int) {
	// Most fields of a record (deltas, short lengths, header counts) fit
	// one byte: that case is small enough to inline into the decoders.
	if len(b) > 0 && b[0] < 0x80 {
		u := uint32(b[0])
		return int32(u>>1) ^ -int32(u&1), 1
	}
	return readVarintSlow(b)
}

func readVarintSlow(b []byte) (v int32, n int) {
	u, n := readUvarint(b, maxVarintLen)
	if n == 0 || u > 0xffffffff {
		return 0, 0
	}
	return int32(unzigzag(u)), n
}

// readVarlong decodes a Kafka varlong (int64).
func readVarlong(b []byte) (v int64, n int) {
	if len(b) > 0 && b[0] < 0x80 {
		return unzigzag(uint64(b[0])), 1
	}
	return readVarlongSlow(b)
}

func readVarlongSlow(b []byte) (v int64, n int) {
	u, n := readUvarint(b, maxVarlongLen)
	if n == 0 || (n == maxVarlongLen && b[maxVarlongLen-1] > 1) {
		return 0, 0 // the tenth byte carries only bit 63
	}
	return unzigzag(u), n
}
