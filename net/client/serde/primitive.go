package serde

import (
	"encoding/binary"
	"math"
)

// canonicalNaN is the bits Java's Double.doubleToLongBits gives every NaN.
const canonicalNaN = 0x7ff8000000000000

// AppendString appends s's bytes to dst. The result is never nil, even for
// an empty s and a nil dst: an empty string is not null.
func AppendString(dst []byte, s string) []byte {
	if dst == nil {
		dst = []byte{} // zero-length: no allocation
	}
	return append(dst, s...)
}

// EncodeString returns s's bytes, never nil.
func EncodeString(s string) []byte {
	return append(make([]byte, 0, len(s)), s...)
}

// DecodeString returns b as a string; nil is ErrNull.
func DecodeString(b []byte) (string, error) {
	if b == nil {
		return "", ErrNull
	}
	return string(b), nil
}

// AppendBytes appends b to dst. The result is never nil: an empty value is
// not null.
func AppendBytes(dst, b []byte) []byte {
	if dst == nil {
		dst = []byte{}
	}
	return append(dst, b...)
}

// DecodeBytes returns b itself (not a copy); nil is ErrNull.
func DecodeBytes(b []byte) ([]byte, error) {
	if b == nil {
		return nil, ErrNull
	}
	return b, nil
}

// AppendInt32 appends v as 4 big-endian bytes, as Kafka's IntegerSerializer.
func AppendInt32(dst []byte, v int32) []byte {
	return binary.BigEndian.AppendUint32(dst, uint32(v))
}

// EncodeInt32 returns v as 4 big-endian bytes.
func EncodeInt32(v int32) []byte { return AppendInt32(make([]byte, 0, 4), v) }

// DecodeInt32 reads 4 big-endian bytes; nil is ErrNull, another length
// ErrLength.
func DecodeInt32(b []byte) (int32, error) {
	if len(b) != 4 {
		return 0, lengthError("int32", 4, b)
	}
	return int32(binary.BigEndian.Uint32(b)), nil
}

// AppendInt64 appends v as 8 big-endian bytes, as Kafka's LongSerializer.
func AppendInt64(dst []byte, v int64) []byte {
	return binary.BigEndian.AppendUint64(dst, uint64(v))
}

// EncodeInt64 returns v as 8 big-endian bytes.
func EncodeInt64(v int64) []byte { return AppendInt64(make([]byte, 0, 8), v) }

// DecodeInt64 reads 8 big-endian bytes; nil is ErrNull, another length
// ErrLength.
func DecodeInt64(b []byte) (int64, error) {
	if len(b) != 8 {
		return 0, lengthError("int64", 8, b)
	}
	return int64(binary.BigEndian.Uint64(b)), nil
}

// AppendFloat64 appends v's IEEE 754 bits as 8 big-endian bytes, as Kafka's
// DoubleSerializer: every NaN as Java's one canonical NaN.
func AppendFloat64(dst []byte, v float64) []byte {
	bits := math.Float64bits(v)
	if v != v {
		bits = canonicalNaN
	}
	return binary.BigEndian.AppendUint64(dst, bits)
}

// EncodeFloat64 returns v as 8 big-endian bytes.
func EncodeFloat64(v float64) []byte { return AppendFloat64(make([]byte, 0, 8), v) }

// DecodeFloat64 reads 8 big-endian IEEE 754 bytes; nil is ErrNull, another
// length ErrLength. A NaN's payload bits are kept.
func DecodeFloat64(b []byte) (float64, error) {
	if len(b) != 8 {
		return 0, lengthError("float64", 8, b)
	}
	return math.Float64frombits(binary.BigEndian.Uint64(b)), nil
}
