package batch

import (
	"fmt"
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

// Reset validates b as one whole batch (see Validate), decompresses its
// records if needed, and makes the Reader return them. For an uncompressed
// batch the records alias b, so b must not change while they are read.
func (r *Reader) Reset(b []byte) (Header, error) {
	r.ready, r.data, r.pos, r.read, r.prev, r.err = false, nil, 0, 0, -1, nil
	h, err := Validate(b)
	r.header = h
	if err != nil {
		r.err = err
		return h, err
	}
	if h.Codec() == None {
		r.ready, r.data = true, b[HeaderSize:]
		return h, nil
	}
	limit := r.MaxDecompressedSize
	if limit <= 0 {
		limit = DefaultMaxDecompressedSize
	}
	r.buf, err = r.decomp.decompress(r.buf, b[HeaderSize:], h.Codec(), limit)
	if err != nil {
		r.err = errCorrupt("%v payload of %d bytes: %w", h.Codec(), len(b)-HeaderSize, err)
		return h, r.err
	}
	r.ready, r.data = true, r.buf
	return h, nil
}

// Header returns the header of the batch given to the last Reset.
func (r *Reader) Header() Header { return r.header }

// Next decodes the next record. It returns io.EOF after the last one, when
// the records fill the payload exactly and their number matches
// RecordCount; anything else is an error wrapping ErrCorruptRecords. The
// returned Record and the slices in it are valid until the next Next or
// Reset.
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
	length, n := readVarint(b)
	if n == 0 {
		return errCorrupt("record %d: bad length varint", idx)
	}
	if length < 0 || int64(length) > int64(len(b)-n) {
		return errCorrupt("record %d: length %d with %d bytes left", idx, length, len(b)-n)
	}
	r.pos += n + int(length)
	p := recordParser{b: b[n : n+int(length)]}

	rec := &r.rec
	rec.Attributes = int8(p.byte())
	rec.TimestampDelta = p.varlong()
	rec.OffsetDelta = p.varint()
	rec.Key = p.bytes()
	rec.Value = p.bytes()
	count := p.varint()
	if p.bad {
		return errCorrupt("record %d: %s", idx, p.what)
	}
	// Each header takes at least two bytes, which bounds how far a lying
	// count could grow r.headers.
	if count < 0 || int(count) > len(p.b)/2 {
		return errCorrupt("record %d: header count %d with %d bytes left", idx, count, len(p.b))
	}
	r.headers = r.headers[:0]
	for range count {
		var hdr RecordHeader
		hdr.Key = p.bytes()
		if hdr.Key == nil && !p.bad {
			return errCorrupt("record %d: null header key", idx)
		}
		hdr.Value = p.bytes()
		r.headers = append(r.headers, hdr)
	}
	if p.bad {
		return errCorrupt("record %d: header: %s", idx, p.what)
	}
	if len(p.b) != 0 {
		return errCorrupt("record %d: %d bytes past the last header", idx, len(p.b))
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

// recordParser reads the fields of one record. The first failure sets bad
// and what, and later reads return zero values, so decode checks once per
// group of fields instead of after each.
type recordParser struct {
	b    []byte
	bad  bool
	what string
}

func (p *recordParser) fail(what string) {
	if !p.bad {
		p.bad, p.what, p.b = true, what, nil
	}
}

func (p *recordParser) byte() byte {
	if len(p.b) < 1 {
		p.fail("truncated attributes")
		return 0
	}
	c := p.b[0]
	p.b = p.b[1:]
	return c
}

func (p *recordParser) varint() int32 {
	v, n := readVarint(p.b)
	if n == 0 {
		p.fail("bad varint")
		return 0
	}
	p.b = p.b[n:]
	return v
}

func (p *recordParser) varlong() int64 {
	v, n := readVarlong(p.b)
	if n == 0 {
		p.fail("bad varlong")
		return 0
	}
	p.b = p.b[n:]
	return v
}

// bytes reads a nullable byte string; null is nil and empty is non-nil.
func (p *recordParser) bytes() []byte {
	n := p.varint()
	switch {
	case p.bad:
		return nil
	case n == -1:
		return nil
	case n < 0:
		p.fail(fmt.Sprintf("negative length %d", n))
		return nil
	case int(n) > len(p.b):
		p.fail(fmt.Sprintf("length %d past the %d bytes left", n, len(p.b)))
		return nil
	}
	v := p.b[:n:n]
	p.b = p.b[n:]
	return v
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
