package batch

// uvarintAt decodes the unsigned varint at b[i:] and returns it and the
// index after it, or next < 0 when it is truncated or longer than max
// bytes. It is small enough for the compiler to inline into the record
// decoder, whose per-record cost it dominates.
func uvarintAt(b []byte, i, max int) (u uint64, next int) {
	var s uint
	end := min(len(b), i+max)
	for ; i < end; i++ {
		c := b[i]
		if c < 0x80 {
			return u | uint64(c)<<s, i + 1
		}
		u |= uint64(c&0x7f) << s
		s += 7
	}
	return 0, -1
}
