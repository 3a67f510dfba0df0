package client

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/sluicelog/sluice/segment/batch"
)

// decode appends the records of a partition's fetched batches at or after
// pos and returns the position after the last batch read. Batches of a
// compacted log may hold fewer records than offsets, or none: the position
// still moves past each batch's whole range, so a consumer never asks
// again for offsets that compaction emptied.
//
// The keys, values and header bytes of uncompressed batches point into
// the batches; those of compressed batches, which the batch reader
// decompresses into memory it overwrites batch by batch, are copied into
// an arena, and the records' header slices are cut from a slab. With
// BorrowRecords the batches are data itself, the response frame, lent
// until the next Poll, and the arena and slab are reused across Polls.
// Without it the records are the caller's: their uncompressed batches are
// read from one copy of the stretch of data that holds them, and the
// arena and slab are allocated afresh for each fetch (k.owned), so nothing
// is allocated per record, and the frame can be reused. A consumer whose
// caller recycles (see Recycle) skips the copy: the records point into
// the frame, which goes back to the frames' free list when the caller
// gives them back, and the arena comes from memory given back before. The copy is made
// before the CRCs are checked, so that what was checked is what the
// records hold.
func (k *Consumer) decode(recs []ConsumerRecord, topic string, partition int32, pos int64, data []byte) ([]ConsumerRecord, int64, error) {
	// Size recs once from the batch headers (fetch does it for the whole
	// response; this covers other callers): growing it record by record
	// copied each 128-byte record many times over (the harness saw 8 bytes
	// allocated per byte fetched).
	count := recordCount(data)
	recs = slices.Grow(recs, count)
	first := len(recs)
	mem := &k.lentMem
	// own is the copy of data[lo:hi] that owned records point into.
	var own []byte
	lo := 0
	// own is needed only when the records will outlive the frame's
	// reuse: a consumer that recycles gives the frame itself to the
	// records (see Recycle), which saves the copy.
	copyPlain := !k.cfg.BorrowRecords && !k.recycling
	if !k.cfg.BorrowRecords {
		mem = &k.owned
	}
	if copyPlain {
		// One memmove of all the uncompressed batches, into memory that
		// append does not clear first (a buffer made to be filled would
		// be cleared, then filled). The compressed and control batches
		// among them, if any, are copied for nothing; those around them
		// are not copied. Giving the records the response frame itself,
		// and reading the next response into a new one, saves the copy
		// but clears each new frame first: BenchmarkConsumePollInto was
		// no faster that way, and a record kept would keep every
		// partition's records of its fetch.
		var hi int
		if lo, hi = plainSpan(data, pos); hi > lo {
			own = bytes.Clone(data[lo:hi])
		}
	}
	k.reader.SkipCRC = k.cfg.SkipCRCCheck
	for rest := data; len(rest) > 0; {
		at := len(data) - len(rest)
		b, next, err := batch.Split(rest)
		if err != nil {
			if errors.Is(err, batch.ErrTruncated) {
				break // a partial batch at the end: read it whole next time
			}
			return recs, pos, fmt.Errorf("fetch %s-%d at offset %d: %w", topic, partition, pos, err)
		}
		rest = next
		h, err := batch.ParseHeader(b)
		if err != nil {
			return recs, pos, fmt.Errorf("fetch %s-%d at offset %d: %w", topic, partition, pos, err)
		}
		if h.NextOffset() <= pos {
			continue // wholly before the position
		}
		if h.Control() {
			pos = h.NextOffset()
			continue
		}
		alias := h.Codec() == batch.None
		if alias && copyPlain {
			if at < lo || at+len(b) > lo+len(own) {
				b = bytes.Clone(b) // not reached: plainSpan found every such batch
			} else {
				b = own[at-lo : at-lo+len(b) : at-lo+len(b)]
			}
		}
		if _, err := k.reader.Reset(b); err != nil {
			return recs, pos, fmt.Errorf("fetch %s-%d batch at offset %d: %w", topic, partition, h.BaseOffset, err)
		}
		if !alias && cap(mem.bytes) == 0 {
			mem.bytes = k.newArena(mem, len(data))
		}
		for {
			r, err := k.reader.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				return recs, pos, fmt.Errorf("fetch %s-%d batch at offset %d: %w", topic, partition, h.BaseOffset, err)
			}
			if r.Offset < pos {
				continue
			}
			// Whole records, overwriting those a PollInto's dst held.
			recs = append(recs, ConsumerRecord{Topic: topic, Partition: partition, Offset: r.Offset, Timestamp: time.UnixMilli(r.Timestamp)})
			cr := &recs[len(recs)-1]
			if alias {
				cr.Key, cr.Value = r.Key, r.Value
			} else {
				cr.Key = k.copyInto(mem, r.Key)
				cr.Value = k.copyInto(mem, r.Value)
			}
			if len(r.Headers) == 0 {
				continue
			}
			// Room for as many headers again for every record left.
			left := max(count-(len(recs)-first), 0)
			cr.Headers = headerSlab(&mem.hdrs, len(r.Headers), left*len(r.Headers))
			for i, hd := range r.Headers {
				if alias {
					cr.Headers[i] = hd
					continue
				}
				cr.Headers[i].Key = k.copyInto(mem, hd.Key)
				cr.Headers[i].Value = k.copyInto(mem, hd.Value)
			}
		}
		pos = h.NextOffset()
	}
	return recs, pos, nil
}

// recordMemory holds what decoded records point to besides the fetch
// frame: copies of compressed batches' keys, values and header bytes, and
// the records' header slices. Both only grow, by new allocations, so
// earlier records keep theirs; reusing one means truncating it, which only
// lent records' memory ever is.
type recordMemory struct {
	bytes []byte
	hdrs  []batch.RecordHeader
}

// checkBatches appends the fetched batches of a partition that end at or
// after pos, each validated as a stored batch (CRC included, unless
// SkipCRCCheck; a compacted batch, with fewer records than offsets or
// none, passes), and returns the position after the last one. Control
// batches advance the position without being returned; empty batches are
// returned, so that a mirror copies a compacted log as it is.
func (k *Consumer) checkBatches(out []FetchedBatch, topic string, partition int32, pos int64, data []byte) ([]FetchedBatch, int64, error) {
	for rest := data; len(rest) > 0; {
		b, next, err := batch.Split(rest)
		if err != nil {
			if errors.Is(err, batch.ErrTruncated) {
				break // a partial batch at the end: read it whole next time
			}
			return out, pos, fmt.Errorf("fetch %s-%d at offset %d: %w", topic, partition, pos, err)
		}
		rest = next
		validate := batch.ValidateStored
		if k.cfg.SkipCRCCheck {
			validate = batch.ValidateStoredFraming
		}
		h, err := validate(b)
		if err != nil {
			return out, pos, fmt.Errorf("fetch %s-%d batch at offset %d: %w", topic, partition, h.BaseOffset, err)
		}
		if h.NextOffset() <= pos {
			continue // wholly before the position
		}
		if !h.Control() {
			out = append(out, FetchedBatch{Topic: topic, Partition: partition, Header: h, Bytes: b, From: pos})
		}
		pos = h.NextOffset()
	}
	return out, pos, nil
}

// plainSpan returns the stretch of data from the first uncompressed batch
// holding records at or after pos to the end of the last whole
// uncompressed batch (lo == hi when there is none): what owned records
// may point into.
func plainSpan(data []byte, pos int64) (lo, hi int) {
	lo = -1
	for rest := data; len(rest) > 0; {
		at := len(data) - len(rest)
		b, next, err := batch.Split(rest)
		if err != nil {
			break
		}
		rest = next
		h, err := batch.ParseHeader(b)
		if err != nil {
			break
		}
		if h.NextOffset() <= pos || h.Control() || h.Codec() != batch.None {
			continue
		}
		if lo < 0 {
			lo = at
		}
		hi = at + len(b)
	}
	if lo < 0 {
		return 0, 0
	}
	return lo, hi
}

// recordCount is the number of records the whole batches in data hold,
// read from their headers.
func recordCount(data []byte) int {
	count := 0
	for rest := data; len(rest) > 0; {
		b, next, err := batch.Split(rest)
		if err != nil {
			break
		}
		if h, err := batch.ParseHeader(b); err == nil {
			// A record takes at least seven bytes: a header that lies
			// about its count cannot make this ask for more.
			count += min(max(int(h.RecordCount), 0), len(b)/7)
		}
		rest = next
	}
	return count
}

// headerSlab returns room for n headers of one record, cut from *slab,
// which grows by new allocations (earlier records keep the old ones) of
// room for at least more headers after these.
func headerSlab(slab *[]batch.RecordHeader, n, more int) []batch.RecordHeader {
	if cap(*slab)-len(*slab) < n {
		*slab = make([]batch.RecordHeader, 0, max(n+more, 2*cap(*slab), 64))
	}
	start := len(*slab)
	*slab = (*slab)[:start+n]
	return (*slab)[start : start+n : start+n]
}

// copyInto copies b to the end of mem's arena and returns the copy (nil
// for nil, so null stays null), capped so that appending to it cannot
// overwrite the next one.
func (k *Consumer) copyInto(mem *recordMemory, b []byte) []byte {
	if b == nil {
		return nil
	}
	if cap(mem.bytes)-len(mem.bytes) < len(b) {
		mem.bytes = k.newArena(mem, max(len(b), 2*cap(mem.bytes), 4096))
	}
	start := len(mem.bytes)
	mem.bytes = append(mem.bytes, b...)
	return mem.bytes[start:len(mem.bytes):len(mem.bytes)]
}

// newArena returns an empty arena of at least n bytes for mem: recycled
// memory for owned records (see Recycle), a new allocation for lent ones,
// whose arena is reused as a whole.
func (k *Consumer) newArena(mem *recordMemory, n int) []byte {
	if mem == &k.owned {
		return k.ownArena(n)
	}
	return make([]byte, 0, n)
}
