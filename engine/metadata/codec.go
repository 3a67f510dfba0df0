package metadata

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
)

// Layout of an encoded record:
//
//	type    uint8   RecordType
//	version uint8   recordVersion (1)
//	body    JSON    the record struct, with its json field names
//
// JSON is plenty for metadata rates and keeps raft entries readable in a
// debugger; encoding/json sorts map keys, so equal records encode to equal
// bytes. A version byte leaves room to change a body without a new type.
// Layout of an encoded Result: version uint8 (1), then the JSON of Result.

const (
	recordVersion = 1
	resultVersion = 1
)

// ErrCorrupt marks bytes that do not decode as a record, result or
// snapshot.
var ErrCorrupt = errors.New("metadata: corrupt encoding")

// Encode is the bytes of a record, to propose through raft.
func Encode(rec Record) ([]byte, error) {
	if rec == nil || (reflect.ValueOf(rec).Kind() == reflect.Pointer && reflect.ValueOf(rec).IsNil()) {
		return nil, errors.New("metadata: encode a nil record")
	}
	body, err := json.Marshal(rec)
	if err != nil {
		return nil, fmt.Errorf("metadata: encode record type %d: %w", rec.Type(), err)
	}
	out := make([]byte, 0, 2+len(body))
	out = append(out, byte(rec.Type()), recordVersion)
	return append(out, body...), nil
}

// Decode is the record held by b. The record comes back as a value (say
// FenceBroker, not *FenceBroker). Bad bytes give an error wrapping
// ErrCorrupt, never a panic.
func Decode(b []byte) (Record, error) {
	if len(b) < 2 {
		return nil, fmt.Errorf("%w: record of %d bytes", ErrCorrupt, len(b))
	}
	ptr, ok := newRecord(RecordType(b[0]))
	if !ok {
		return nil, fmt.Errorf("%w: unknown record type %d", ErrCorrupt, b[0])
	}
	if b[1] != recordVersion {
		return nil, fmt.Errorf("%w: record type %d version %d, want %d", ErrCorrupt, b[0], b[1], recordVersion)
	}
	if err := unmarshalStrict(b[2:], ptr); err != nil {
		return nil, fmt.Errorf("%w: record type %d: %v", ErrCorrupt, b[0], err)
	}
	return reflect.ValueOf(ptr).Elem().Interface().(Record), nil
}

// EncodeResult is the bytes of a Result, the answer to a forwarded proposal.
func EncodeResult(r Result) []byte {
	body, err := json.Marshal(r)
	if err != nil {
		// A struct of an int16, a string and an int64 always marshals.
		panic(fmt.Sprintf("metadata: encode result: %v", err))
	}
	return append([]byte{resultVersion}, body...)
}

// DecodeResult is the Result held by b.
func DecodeResult(b []byte) (Result, error) {
	var r Result
	if len(b) < 1 || b[0] != resultVersion {
		return Result{}, fmt.Errorf("%w: result without version %d", ErrCorrupt, resultVersion)
	}
	if err := unmarshalStrict(b[1:], &r); err != nil {
		return Result{}, fmt.Errorf("%w: result: %v", ErrCorrupt, err)
	}
	if len(r.Codes) == 0 {
		r.Codes = nil // as encoded: an empty list is left out
	}
	return r, nil
}

// unmarshalStrict decodes exactly one JSON value into v. Unknown fields are
// refused: a record this binary does not fully understand must not be
// applied as if it did.
func unmarshalStrict(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("trailing data after the JSON body")
	}
	return nil
}
