package batch

import (
	"io"
)

// RecordHeader is one key/value header of a record. Key is never null on
// the wire; a nil Value is a null value.
type RecordHeader struct {
	Key   []byte
	Value []byte
}

// Record is one decoded record.
type Record struct {
	Attributes     int8
	TimestampDelta int64
	OffsetDelta    int32
	// Offset is the batch's BaseOffset plus OffsetDelta.
	Offset int64
	// Timestamp is the batch's BaseTimestamp plus TimestampDelta, or the
	// batch's MaxTimestamp when the batch carries LogAppendTime.
	Timestamp int64
	Key       []byte // nil when null
	Value     []byte // nil when null
	Headers   []RecordHeader
}

// Reader decodes the records of one batch at a time. The zero value is ready
// to use. It keeps its decompression buffer, decoders and record storage
// across Reset, so that reading costs no allocation per record, and none at
// all once warm. The decompression buffer keeps the size of the largest
// batch read, at most MaxDecompressedSize; drop the Reader to release it. It
// is not safe for concurrent use.
type Reader struct {
	// MaxDecompressedSize bounds how large a compressed batch may grow
	// when decompressed; a larger one fails with ErrCorruptRecords. Zero
	// means DefaultMaxDecompressedSize.
	MaxDecompressedSize int
	// SkipCRC makes Reset check a batch with ValidateFraming rather than
	// Validate: the CRC is not computed (Kafka's check.crcs=false).
	SkipCRC bool

	header  Header
	ready   bool   // a batch was accepted by Reset
	data    []byte // the records: in the batch itself, or in buf
	pos     int
	read    int32 // records returned so far
	prev    int64 // the last OffsetDelta returned, for the ordering check
	err     error // sticky: a failed batch stays failed until Reset
	buf     []byte
	decomp  decompressor
	rec     Record
	headers []RecordHeader
}

// Reset validates b as one whole batch as a log stores it (see
// ValidateStored: a compacted batch, with fewer records than offsets or
// none at all, is accepted), decompresses its records if needed, and makes
// the Reader return them. For an uncompressed batch the records alias b,
// so b must not change while they are read.
func (r *Reader) Reset(b []byte) (Header, error) {
	h, err := validate(b, !r.SkipCRC, true)
	if err != nil {
		r.start(h)
		r.err = err
		return h, err
	}
	return h, r.load(b, h)
}

// start forgets the last batch and takes h as the header of the next.
func (r *Reader) start(h Header) {
	r.header, r.ready, r.data, r.pos, r.read, r.prev, r.err = h, false, nil, 0, 0, -1, nil
}

// load makes the Reader return the records of b, a batch validated as
// stored whose header is h: it decompresses them if need be.
func (r *Reader) load(b []byte, hdr Header) error {
	r.start(hdr)
	h := &r.header
	// An empty batch carries no payload to decompress, whatever its
	// codec says (Kafka's reader does not look either).
	if h.Codec() == None || (h.RecordCount == 0 && len(b) == HeaderSize) {
		r.ready, r.data = true, b[HeaderSize:]
		return nil
	}
	limit := r.MaxDecompressedSize
	if limit <= 0 {
		limit = DefaultMaxDecompressedSize
	}
	var err error
	r.buf, err = r.decomp.decompress(r.buf, b[HeaderSize:], h.Codec(), limit)
	if err != nil {
		r.err = errCorrupt("%v payload of %d bytes: %w", h.Codec(), len(b)-HeaderSize, err)
		return r.err
	}
	r.ready, r.data = true, r.buf
	return nil
}

// Header returns the header of the batch given to the last Reset.
func (r *Reader) Header() Header { return r.header }

// Next decodes the next record. It returns io.EOF after the last one, when
// the records fill the payload exactly and their number matches
// RecordCount; anything else is an error wrapping ErrCorruptRecords.
// Offset deltas must rise from record to record and stay within
// LastOffsetDelta; in a compacted batch they skip the offsets whose
// records were removed. The returned Record and the slices in it are
// valid until the next Next or Reset.
func (r *Reader) Next() (*Record, error) {
	if r.err != nil {
		return nil, r.err
	}
	if !r.ready {
		return nil, io.EOF // never Reset: an empty reader
	}
	h := &r.header
	if r.read == h.RecordCount {
		if r.pos != len(r.data) {
			r.err = errCorrupt("%d bytes follow the last of %d records", len(r.data)-r.pos, h.RecordCount)
			return nil, r.err
		}
		return nil, io.EOF
	}
	if r.pos == len(r.data) {
		r.err = errCorrupt("records end after %d of %d", r.read, h.RecordCount)
		return nil, r.err
	}
	if err := r.decode(r.data[r.pos:]); err != nil {
		r.err = err
		return nil, err
	}
	r.read++
	return &r.rec, nil
}

// decode parses the record at the start of b into r.rec and advances pos.
func (r *Reader) decode(b []byte) error {
	idx := r.read
	ul, n := uvarintAt(b, 0, maxVarintLen)
	if n < 0 || ul > 0xffffffff {
		return errCorrupt("record %d: bad length varint", idx)
	}
	length := unzigzag(ul)
	if length < 0 || length > int64(len(b)-n) {
		return errCorrupt("record %d: length %d with %d bytes left", idx, length, len(b)-n)
	}
	r.pos += n + int(length)
	body := b[n : n+int(length)]

	// The fields are read with plain indexing into body and functions
	// the compiler inlines: this loop is the consumer's per-record cost.
	rec := &r.rec
	if len(body) == 0 {
		return errCorrupt("record %d: truncated attributes", idx)
	}
	rec.Attributes = int8(body[0])
	u, i := uvarintAt(body, 1, maxVarlongLen)
	if i < 0 || (i == 1+maxVarlongLen && body[i-1] > 1) {
		return errCorrupt("record %d: bad timestamp delta varlong", idx)
	}
	rec.TimestampDelta = unzigzag(u)
	if u, i = uvarintAt(body, i, maxVarintLen); i < 0 || u > 0xffffffff {
		return errCorrupt("record %d: bad offset delta varint", idx)
	}
	rec.OffsetDelta = int32(unzigzag(u))
	// Key and value, written out rather than through readBytes so that
	// the varint decoding inlines.
	if u, i = uvarintAt(body, i, maxVarintLen); i < 0 || u > 0xffffffff {
		return errCorrupt("record %d: bad key length", idx)
	}
	switch n := unzigzag(u); {
	case n == -1:
		rec.Key = nil
	case n < -1 || n > int64(len(body)-i):
		return errCorrupt("record %d: key length %d with %d bytes left", idx, n, len(body)-i)
	default:
		rec.Key = body[i : i+int(n) : i+int(n)]
		i += int(n)
	}
	if u, i = uvarintAt(body, i, maxVarintLen); i < 0 || u > 0xffffffff {
		return errCorrupt("record %d: bad value length", idx)
	}
	switch n := unzigzag(u); {
	case n == -1:
		rec.Value = nil
	case n < -1 || n > int64(len(body)-i):
		return errCorrupt("record %d: value length %d with %d bytes left", idx, n, len(body)-i)
	default:
		rec.Value = body[i : i+int(n) : i+int(n)]
		i += int(n)
	}
	var ok bool
	if u, i = uvarintAt(body, i, maxVarintLen); i < 0 || u > 0xffffffff {
		return errCorrupt("record %d: bad header count varint", idx)
	}
	count := unzigzag(u)
	// Each header takes at least two bytes, which bounds how far a lying
	// count could grow r.headers.
	if count < 0 || int(count) > (len(body)-i)/2 {
		return errCorrupt("record %d: header count %d with %d bytes left", idx, count, len(body)-i)
	}
	r.headers = r.headers[:0]
	for range count {
		var hdr RecordHeader
		if hdr.Key, i, ok = readBytes(body, i); !ok {
			return errCorrupt("record %d: bad header key", idx)
		}
		if hdr.Key == nil {
			return errCorrupt("record %d: null header key", idx)
		}
		if hdr.Value, i, ok = readBytes(body, i); !ok {
			return errCorrupt("record %d: bad header value", idx)
		}
		r.headers = append(r.headers, hdr)
	}
	if i != len(body) {
		return errCorrupt("record %d: %d bytes past the last header", idx, len(body)-i)
	}

	h := &r.header
	// Offset deltas must rise and stay within the batch, or the offsets we
	// hand out would not match the ones the header promised.
	if int64(rec.OffsetDelta) <= r.prev || rec.OffsetDelta > h.LastOffsetDelta {
		return errCorrupt("record %d: offset delta %d after %d (last %d)", idx, rec.OffsetDelta, r.prev, h.LastOffsetDelta)
	}
	r.prev = int64(rec.OffsetDelta)
	rec.Headers = nil
	if count > 0 {
		rec.Headers = r.headers
	}
	rec.Offset = h.BaseOffset + int64(rec.OffsetDelta)
	if h.TimestampType() == LogAppendTime {
		rec.Timestamp = h.MaxTimestamp
	} else {
		rec.Timestamp = h.BaseTimestamp + rec.TimestampDelta
	}
	return nil
}

// readBytes reads the nullable byte string at b[i:] and returns it (nil
// for null, non-nil when empty) and the index after it; ok is false when
// the length is malformed or runs past b.
func readBytes(b []byte, i int) (v []byte, next int, ok bool) {
	n, m := readVarint(b[i:])
	if m == 0 || n < -1 {
		return nil, i, false
	}
	i += m
	if n == -1 {
		return nil, i, true
	}
	if int(n) > len(b)-i {
		return nil, i, false
	}
	return b[i : i+int(n) : i+int(n)], i + int(n), true
}

// Decode validates batch b and returns its header and all its records, or
// no records and the first error. It is for tests and tools: it allocates, and the records it returns share no
// memory with b or with any Reader.
func Decode(b []byte) (Header, []Record, error) {
	var r Reader
	h, err := r.Reset(b)
	if err != nil {
		return h, nil, err
	}
	// Every record takes at least seven bytes; trusting RecordCount alone
	// would let a header ask for a huge slice.
	records := make([]Record, 0, min(int(h.RecordCount), len(r.data)/7+1))
	// Keys, values and headers are copied into one arena, which the
	// payload size bounds, so copying never reallocates it.
	arena := make([]byte, 0, len(r.data))
	clone := func(p []byte) []byte {
		if p == nil {
			return nil
		}
		arena = append(arena, p...)
		return arena[len(arena)-len(p) : len(arena) : len(arena)]
	}
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return h, records, nil
		}
		if err != nil {
			return h, nil, err
		}
		out := *rec
		out.Key, out.Value, out.Headers = clone(rec.Key), clone(rec.Value), nil
		if len(rec.Headers) > 0 {
			out.Headers = make([]RecordHeader, len(rec.Headers))
			for i, hdr := range rec.Headers {
				out.Headers[i] = RecordHeader{Key: clone(hdr.Key), Value: clone(hdr.Value)}
			}
		}
		records = append(records, out)
	}
}
