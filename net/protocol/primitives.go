package protocol

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// ErrMalformed is wrapped by every error a DecodeFrom or a header parser
// returns for bytes that do not follow the wire format: a length past the
// end, a null where null is not allowed, a bool that is neither 0 nor 1,
// bytes left over after the last field. A server answers a request that
// fails this way with INVALID_REQUEST; a client treats a response that
// fails this way as a broken connection.
var ErrMalformed = errors.New("protocol: malformed message")

// Size limits of the primitive encodings.
const (
	// MaxStringLen is the longest string the int16 length prefix can
	// carry. Encoders cut longer strings to this length.
	MaxStringLen = math.MaxInt16
)

// The append helpers write one primitive each, big-endian. They are the
// only place that knows the byte layout of a primitive; messages are built
// from them and nothing else.

func appendInt8(dst []byte, v int8) []byte { return append(dst, byte(v)) }

func appendInt16(dst []byte, v int16) []byte {
	return binary.BigEndian.AppendUint16(dst, uint16(v))
}

func appendInt32(dst []byte, v int32) []byte {
	return binary.BigEndian.AppendUint32(dst, uint32(v))
}

func appendInt64(dst []byte, v int64) []byte {
	return binary.BigEndian.AppendUint64(dst, uint64(v))
}

func appendBool(dst []byte, v bool) []byte {
	if v {
		return append(dst, 1)
	}
	return append(dst, 0)
}

func appendUUID(dst []byte, id [16]byte) []byte { return append(dst, id[:]...) }

// appendString writes a non-null string; longer than MaxStringLen is cut.
func appendString(dst []byte, s string) []byte {
	if len(s) > MaxStringLen {
		s = s[:MaxStringLen]
	}
	dst = appendInt16(dst, int16(len(s)))
	return append(dst, s...)
}

// appendNullableString writes nil as length -1.
func appendNullableString(dst []byte, s *string) []byte {
	if s == nil {
		return appendInt16(dst, -1)
	}
	return appendString(dst, *s)
}

// appendBytes writes nil as length -1 and any other slice, empty included,
// with its length.
func appendBytes(dst, b []byte) []byte {
	if b == nil {
		return appendInt32(dst, -1)
	}
	dst = appendInt32(dst, int32(len(b)))
	return append(dst, b...)
}

// appendArray writes a count and then each element. A nil slice is a null
// array (-1) when the field is nullable and an empty one (0) otherwise.
func appendArray[T any](dst []byte, s []T, nullable bool, enc func(*T, []byte) []byte) []byte {
	if s == nil && nullable {
		return appendInt32(dst, -1)
	}
	dst = appendInt32(dst, int32(len(s)))
	for i := range s {
		dst = enc(&s[i], dst)
	}
	return dst
}

func appendInt32s(dst []byte, s []int32) []byte {
	dst = appendInt32(dst, int32(len(s)))
	for _, v := range s {
		dst = appendInt32(dst, v)
	}
	return dst
}

func appendStrings(dst []byte, s []string, nullable bool) []byte {
	if s == nil && nullable {
		return appendInt32(dst, -1)
	}
	dst = appendInt32(dst, int32(len(s)))
	for _, v := range s {
		dst = appendString(dst, v)
	}
	return dst
}

// decoder reads primitives from a body. The first failure sticks: later
// reads return zero values and leave err alone, so a message decoder reads
// every field without checking and looks at the error once, in finish.
//
// Every length is checked against the bytes left before anything is
// allocated, and an array's count against the bytes left divided by the
// smallest encoding of one element, so no input makes the decoder allocate
// more than a small multiple of its own size.
type decoder struct {
	b   []byte
	off int
	err error
}

func (d *decoder) left() int { return len(d.b) - d.off }

// more reports whether bytes are left to read and nothing failed so far.
func (d *decoder) more() bool { return d.err == nil && d.off < len(d.b) }

// take returns the next n bytes as a sub-slice whose capacity ends with
// them, so appending to it cannot overwrite what follows in the body.
func (d *decoder) take(n int, what string) []byte {
	if d.err != nil {
		return nil
	}
	if n > d.left() {
		d.fail("%s needs %d bytes, %d left", what, n, d.left())
		return nil
	}
	p := d.b[d.off : d.off+n : d.off+n]
	d.off += n
	return p
}

func (d *decoder) int8() int8 {
	p := d.take(1, "int8")
	if p == nil {
		return 0
	}
	return int8(p[0])
}

func (d *decoder) int16() int16 {
	p := d.take(2, "int16")
	if p == nil {
		return 0
	}
	return int16(binary.BigEndian.Uint16(p))
}

func (d *decoder) int32() int32 {
	p := d.take(4, "int32")
	if p == nil {
		return 0
	}
	return int32(binary.BigEndian.Uint32(p))
}

func (d *decoder) int64() int64 {
	p := d.take(8, "int64")
	if p == nil {
		return 0
	}
	return int64(binary.BigEndian.Uint64(p))
}

func (d *decoder) errorCode() ErrorCode { return ErrorCode(d.int16()) }

func (d *decoder) bool() bool {
	p := d.take(1, "bool")
	if p == nil {
		return false
	}
	switch p[0] {
	case 0:
		return false
	case 1:
		return true
	}
	d.fail("bool is %d, want 0 or 1", p[0])
	return false
}

func (d *decoder) uuid() (id [16]byte) {
	copy(id[:], d.take(16, "uuid"))
	return id
}

func (d *decoder) string() string {
	n := d.int16()
	if n < 0 {
		d.fail("string length %d in a non-nullable field", n)
		return ""
	}
	return string(d.take(int(n), "string"))
}

func (d *decoder) nullableString() *string {
	n := d.int16()
	if n == -1 {
		return nil
	}
	if n < -1 {
		d.fail("string length %d", n)
		return nil
	}
	p := d.take(int(n), "string")
	if p == nil {
		return nil
	}
	s := string(p)
	return &s
}

// bytes returns a sub-slice of the body, not a copy; -1 is nil and 0 an
// empty, non-nil slice.
func (d *decoder) bytes() []byte {
	n := d.int32()
	if n == -1 {
		return nil
	}
	if n < -1 {
		d.fail("bytes length %d", n)
		return nil
	}
	return d.take(int(n), "bytes")
}

// arrayLen reads an array count: -1 for a null array (only when nullable),
// else the count, which must fit in the bytes left at min bytes an element.
func (d *decoder) arrayLen(min int, nullable bool) int {
	n := d.int32()
	if d.err != nil {
		return 0
	}
	if n == -1 && nullable {
		return -1
	}
	if n < 0 {
		d.fail("array count %d in a non-nullable field", n)
		return 0
	}
	if int64(n) > int64(d.left()/min) {
		d.fail("array of %d elements of at least %d bytes does not fit in %d bytes", n, min, d.left())
		return 0
	}
	return int(n)
}

// makeArray reads an array count and makes the slice for the elements,
// which the caller then decodes in place:
//
//	r.Topics = makeArray[ProduceRequestTopic](&d, produceRequestTopicMin, false)
//	for i := range r.Topics {
//		r.Topics[i].decode(&d)
//	}
//
// A null array is nil; an empty one is nil when the field is not nullable
// (nil and empty encode alike there) and a non-nil empty slice when it is.
// After a failure the remaining elements decode as zero values, since
// reads after a failure return zeros, and finish reports the failure.
//
// (A generic helper taking the element decoder as a func value would be
// shorter, but the indirect call makes the decoder escape to the heap:
// one allocation per message.)
func makeArray[T any](d *decoder, min int, nullable bool) []T {
	n := d.arrayLen(min, nullable)
	switch {
	case n < 0 || d.err != nil:
		return nil
	case n == 0:
		if nullable {
			return []T{}
		}
		return nil
	}
	return make([]T, n)
}

func (d *decoder) int32s() []int32 {
	n := d.arrayLen(4, false)
	if n <= 0 {
		return nil
	}
	s := make([]int32, n)
	for i := range s {
		s[i] = d.int32()
	}
	return s
}

func (d *decoder) strings(nullable bool) []string {
	n := d.arrayLen(2, nullable)
	switch {
	case n < 0 || d.err != nil:
		return nil
	case n == 0:
		if nullable {
			return []string{}
		}
		return nil
	}
	s := make([]string, n)
	for i := range s {
		s[i] = d.string()
		if d.err != nil {
			return nil
		}
	}
	return s
}

// finish reports the first failure, or bytes left over after the last
// field, naming the message.
func (d *decoder) finish(key APIKey, response bool) error {
	if d.err == nil && d.off != len(d.b) {
		d.fail("%d bytes left after the last field", len(d.b)-d.off)
	}
	if d.err == nil {
		return nil
	}
	return errMessage(key, response, d.err)
}

//go:noinline
func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("at byte %d: "+format, append([]any{d.off}, args...)...)
	}
}

//go:noinline
func errMessage(key APIKey, response bool, err error) error {
	kind := "request"
	if response {
		kind = "response"
	}
	return fmt.Errorf("%w: %v %s: %v", ErrMalformed, key, kind, err)
}
