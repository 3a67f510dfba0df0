package serde

import (
	"encoding/binary"
	"fmt"
)

const (
	// MagicByte starts every value in Confluent's wire format.
	MagicByte = 0
	// HeaderSize is the wire format's header: the magic byte and the
	// 4-byte schema id.
	HeaderSize = 5
)

// ValueSubject is the registry subject of a topic's value schemas under
// Kafka's TopicNameStrategy: "<topic>-value".
func ValueSubject(topic string) string { return topic + "-value" }

// KeySubject is the registry subject of a topic's key schemas under
// Kafka's TopicNameStrategy: "<topic>-key".
func KeySubject(topic string) string { return topic + "-key" }

// AppendHeader appends the wire-format header for schema id to dst: the
// magic byte, then id as 4 big-endian bytes. Registry ids are positive
// 32-bit integers; a larger id would be cut to its low 32 bits.
func AppendHeader(dst []byte, id int) []byte {
	dst = append(dst, MagicByte)
	return binary.BigEndian.AppendUint32(dst, uint32(id))
}

// ParseHeader splits wire-format data into its schema id and its body (a
// subslice of b, not a copy). nil is ErrNull; fewer than HeaderSize bytes
// ErrShortInput; a first byte other than 0 ErrMagicByte. The id is read
// as a signed 32-bit integer, as Java's clients do.
func ParseHeader(b []byte) (id int, body []byte, err error) {
	switch {
	case b == nil:
		return 0, nil, ErrNull
	case len(b) < HeaderSize:
		return 0, nil, fmt.Errorf("%w: %d bytes", ErrShortInput, len(b))
	case b[0] != MagicByte:
		return 0, nil, fmt.Errorf("%w %#02x: not Confluent's wire format", ErrMagicByte, b[0])
	}
	return int(int32(binary.BigEndian.Uint32(b[1:HeaderSize]))), b[HeaderSize:], nil
}
