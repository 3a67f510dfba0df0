package batch

import (
	"errors"
	"fmt"
)

// ErrInvalid is satisfied by every error that reports a malformed batch, so
// callers that only need "refuse this batch" branch on one value. The
// specific sentinels below say which check failed.
var ErrInvalid = errors.New("batch: invalid record batch")

// invalidError is a specific validation failure that also reports itself as
// ErrInvalid, so that errors.Is works for both without wrapping two errors.
type invalidError struct{ msg string }

func (e *invalidError) Error() string        { return e.msg }
func (e *invalidError) Is(target error) bool { return target == ErrInvalid }

// The specific validation failures. Returned errors wrap one of them with the
// offending field values, so compare with errors.Is.
var (
	// ErrTruncated: fewer bytes than the header or the length field claims.
	ErrTruncated error = &invalidError{"batch: truncated record batch"}
	// ErrBadMagic: the magic byte is not 2.
	ErrBadMagic error = &invalidError{"batch: unsupported magic"}
	// ErrBadLength: the length field is too small for a header, or the
	// bytes hold more than one batch where exactly one was expected.
	ErrBadLength error = &invalidError{"batch: bad batch length"}
	// ErrBadCRC: the CRC-32C does not match the covered bytes.
	ErrBadCRC error = &invalidError{"batch: CRC mismatch"}
	// ErrBadRecordCount: recordCount disagrees with lastOffsetDelta: for
	// Validate, it is below one or not lastOffsetDelta+1; for
	// ValidateStored, it is negative or above lastOffsetDelta+1, or
	// lastOffsetDelta is negative.
	ErrBadRecordCount error = &invalidError{"batch: bad record count"}
	// ErrBadCodec: the attributes name a compression codec Kafka does not
	// define.
	ErrBadCodec error = &invalidError{"batch: unknown compression codec"}
	// ErrCorruptRecords: the records do not decode: a bad compressed
	// payload, a payload past the decompression bound, a malformed record,
	// or a different number of records than the header claims.
	ErrCorruptRecords error = &invalidError{"batch: corrupt records"}
)

// ErrEmpty is returned by [Builder.Build] when no record was appended:
// Kafka producers never send empty batches and [Validate] refuses them.
var ErrEmpty = errors.New("batch: no records to build")

// The constructors below keep fmt and its interface conversions out of the
// hot functions, so that the success path of Validate and ParseHeader stays
// free of allocations.

//go:noinline
func errTruncated(have int, want int64) error {
	return fmt.Errorf("%w: have %d bytes, need %d", ErrTruncated, have, want)
}

//go:noinline
func errBadMagic(magic int8) error {
	return fmt.Errorf("%w: %d, want %d", ErrBadMagic, magic, Magic)
}

//go:noinline
func errLengthTooSmall(length int32) error {
	return fmt.Errorf("%w: %d, below the minimum %d", ErrBadLength, length, HeaderSize-LengthOffset-4)
}

//go:noinline
func errTrailing(have int, size int64) error {
	return fmt.Errorf("%w: %d bytes hold a batch of %d and %d more", ErrBadLength, have, size, int64(have)-size)
}

//go:noinline
func errBadCRC(stored, computed uint32) error {
	return fmt.Errorf("%w: stored %#08x, computed %#08x", ErrBadCRC, stored, computed)
}

//go:noinline
func errBadCodec(attributes int16) error {
	return fmt.Errorf("%w: %d (attributes %#04x)", ErrBadCodec, attributes&codecMask, uint16(attributes))
}

//go:noinline
func errBadRecordCount(count, lastOffsetDelta int32) error {
	return fmt.Errorf("%w: recordCount %d, lastOffsetDelta %d", ErrBadRecordCount, count, lastOffsetDelta)
}

//go:noinline
func errCorrupt(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrCorruptRecords}, args...)...)
}
