package batch

import (
	"fmt"
	"strconv"
	"strings"
)

// Codec is the compression codec of a batch's records, as stored in
// attribute bits 0-2.
type Codec int8

// The codecs Kafka defines. Values 5 to 7 fit the attribute bits but are
// not codecs; batches that carry them are invalid.
const (
	None   Codec = 0
	Gzip   Codec = 1
	Snappy Codec = 2
	LZ4    Codec = 3
	Zstd   Codec = 4
)

// codecNames are Kafka's names, as used in compression.type settings.
var codecNames = [...]string{None: "none", Gzip: "gzip", Snappy: "snappy", LZ4: "lz4", Zstd: "zstd"}

// Valid reports whether c is a codec Kafka defines.
func (c Codec) Valid() bool { return c >= None && c <= Zstd }

// String returns Kafka's name for the codec, or "codec(N)" for a value that
// is not one.
func (c Codec) String() string {
	if c.Valid() {
		return codecNames[c]
	}
	return "codec(" + strconv.Itoa(int(c)) + ")"
}

// ParseCodec returns the codec with Kafka's name name, ignoring case. The
// error wraps ErrBadCodec.
func ParseCodec(name string) (Codec, error) {
	for c, n := range codecNames {
		if strings.EqualFold(name, n) {
			return Codec(c), nil
		}
	}
	return 0, fmt.Errorf("%w: %q (want none, gzip, snappy, lz4 or zstd)", ErrBadCodec, name)
}
