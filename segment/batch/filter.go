package batch

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
)

// FilterOptions say what Filter writes when it keeps no record.
type FilterOptions struct {
	// KeepEmpty makes Filter write an empty batch (the header alone, with
	// RecordCount 0) when keep accepts no record, rather than nothing.
	// Kafka's cleaner keeps such a batch when it is the last one an
	// idempotent producer wrote, so that the producer's epoch and last
	// sequence survive compaction. The default writes nothing.
	KeepEmpty bool
	// Peek, when set, sees every record of the batch, in offset order,
	// before keep sees any, with the same validity rules: the log cleaner
	// hashes a batch's keys in it and looks them all up together, rather
	// than one memory access at a time from keep. A record that fails to
	// decode fails Filter before keep is called.
	Peek func(r *Record)
}

// Filterer rewrites stored batches keeping only some of their records: the
// step of log compaction that thins one batch. The zero value is ready to
// use. It keeps its Reader, encoders and record buffer across calls, so
// that filtering costs no allocation per record, and none at all once
// warm. It is not safe for concurrent use.
type Filterer struct {
	// MaxDecompressedSize bounds what a batch may decompress to, as
	// Reader's field of the same name does. Zero means
	// DefaultMaxDecompressedSize.
	MaxDecompressedSize int

	rd   Reader
	comp compressor
	buf  []byte // the kept records, before compression
}

// Filter appends to dst the batch src with only the records that keep
// accepts, and returns the extended slice and the number of records kept.
// keep sees every record in offset order; the Record and its slices are
// valid only during the call. dst and src must not overlap.
//
// src must be one whole batch as a log stores it: Filter checks it with
// ValidateStored (CRC included) and reads all its records before writing
// anything, so a batch that is invalid, or whose records do not decode,
// fails with an error satisfying ErrInvalid and leaves dst as it was
// (its length and contents; the spare capacity past its length may have
// been written).
//
// The batch written keeps everything of src's header but the length,
// RecordCount and CRC: BaseOffset and LastOffsetDelta (so offsets never
// change, and the next batch still starts where it did), the partition
// leader epoch, the producer ID, epoch and base sequence, the attributes
// and both timestamps. Each kept record is copied byte for byte, offset
// and timestamp deltas included, so it reads back the same offset,
// timestamp, key, value and headers. The records are compressed again
// with src's codec and the CRC-32C is computed afresh. The header's
// MaxTimestamp may then exceed every kept record's timestamp, which
// readers tolerate: a producer can claim a max timestamp no record
// carries. (Kafka's cleaner instead re-encodes the kept records, so its
// base and max timestamps become the kept records'; keeping them here
// keeps a segment's time index, built from MaxTimestamp, true after a
// cleaning.)
//
// When keep accepts every record, the bytes appended are src's exactly,
// neither recompressed nor re-summed; a caller that sees kept equal to
// src's RecordCount may use src itself. When it accepts none, Filter
// appends nothing, or with opts.KeepEmpty an empty batch: the header
// alone, with RecordCount 0 and the codec bits cleared, since there is no
// payload to compress (Kafka writes its empty batches uncompressed too,
// and some clients fail to decompress an empty payload). A control batch
// is appended whole, without calling keep: it holds transaction markers,
// not user records, and kept is its RecordCount.
func (f *Filterer) Filter(dst, src []byte, keep func(r *Record) bool, opts FilterOptions) (out []byte, kept int, err error) {
	h, err := ValidateStored(src)
	if err != nil {
		return dst, 0, err
	}
	if h.Control() {
		return append(dst, src...), int(h.RecordCount), nil
	}
	rd := &f.rd
	rd.MaxDecompressedSize = f.MaxDecompressedSize
	if err := rd.load(src, h); err != nil {
		return dst, 0, err
	}
	if opts.Peek != nil {
		if err := peek(rd, opts.Peek); err != nil {
			return dst, 0, err
		}
	}
	start := len(dst)
	codec := h.Codec()
	// Uncompressed records go straight behind a copy of the header in
	// dst; compressed ones gather in f.buf first.
	var recs []byte
	if codec == None {
		recs = append(dst, src[:HeaderSize]...)
	} else {
		recs = f.buf[:0]
	}
	for {
		from := rd.pos
		rec, err := rd.Next()
		if err != nil {
			if err != io.EOF {
				if codec != None {
					f.buf = recs[:0]
				}
				return dst[:start], 0, err
			}
			break
		}
		if keep(rec) {
			recs = append(recs, rd.data[from:rd.pos]...)
			kept++
		}
	}
	if codec != None {
		f.buf = recs[:0]
	}

	switch {
	case kept == int(h.RecordCount) && kept > 0:
		return append(dst[:start], src...), kept, nil
	case kept == 0 && !opts.KeepEmpty:
		return dst[:start], 0, nil
	case kept == 0:
		out = append(dst[:start], src[:HeaderSize]...)
		attrs := binary.BigEndian.Uint16(out[start+attributesOffset:])
		binary.BigEndian.PutUint16(out[start+attributesOffset:], attrs&^codecMask)
	case codec == None:
		out = recs
	default:
		out = append(dst[:start], src[:HeaderSize]...)
		if out, err = f.comp.compress(out, recs, codec); err != nil {
			return dst[:start], 0, err
		}
	}
	b := out[start:]
	if len(b)-lengthOverhead > math.MaxInt32 {
		return dst[:start], 0, fmt.Errorf("batch: filtered batch of %d bytes does not fit a batch", len(b))
	}
	be := binary.BigEndian
	be.PutUint32(b[LengthOffset:], uint32(len(b)-lengthOverhead))
	be.PutUint32(b[recordCountOffset:], uint32(kept))
	be.PutUint32(b[crcOffset:], checksum(b))
	return out, kept, nil
}

// peek calls fn with each record rd holds and then rewinds rd to its first
// record, without decompressing the batch again.
func peek(rd *Reader, fn func(r *Record)) error {
	data := rd.data
	for {
		rec, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		fn(rec)
	}
	rd.start(rd.header)
	rd.ready, rd.data = true, data
	return nil
}
