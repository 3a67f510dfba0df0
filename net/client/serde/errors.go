package serde

import (
	"errors"
	"fmt"
)

// Sentinel errors. Errors this package returns wrap one of these (and, from
// the registry, the regclient error too), so callers branch with errors.Is.
var (
	// ErrNull: the data is nil, Kafka's null (a tombstone for a value).
	ErrNull = errors.New("serde: null (nil) data")
	// ErrLength: a fixed-width value has the wrong number of bytes.
	ErrLength = errors.New("serde: wrong length")
	// ErrShortInput: the data is shorter than the 5-byte wire-format header.
	ErrShortInput = errors.New("serde: shorter than the wire-format header")
	// ErrMagicByte: the data does not start with the wire format's magic
	// byte 0, so it was not written by a registry-aware serializer.
	ErrMagicByte = errors.New("serde: unknown magic byte")
	// ErrUnknownSchema: the registry knows no schema with the data's id
	// (the error wraps regclient.ErrSchemaNotFound too).
	ErrUnknownSchema = errors.New("serde: schema id unknown to the registry")
	// ErrIncompatible: the writer's schema cannot be read with the
	// reader's (a field the writer lacks has no default in the reader,
	// types differ, ...).
	ErrIncompatible = errors.New("serde: writer schema not readable with the reader schema")
	// ErrDecode: the Avro body does not decode with the writer's schema:
	// truncated, corrupt, or followed by bytes the schema leaves unread.
	ErrDecode = errors.New("serde: cannot decode Avro data")
	// ErrEncode: the value does not fit the schema.
	ErrEncode = errors.New("serde: cannot encode value with the schema")
)

// lengthError explains a fixed-width value of the wrong size.
func lengthError(what string, want int, b []byte) error {
	if b == nil {
		return ErrNull
	}
	return fmt.Errorf("%w: %s takes %d bytes, got %d", ErrLength, what, want, len(b))
}
