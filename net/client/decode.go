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
// Records own their bytes unless BorrowRecords is set: then the keys and
// values of uncompressed batches point into data itself (the response
// frame, kept until the next Poll), and only decompressed bytes, which the
// batch reader overwrites batch by batch, are copied, into an arena reused
// across Polls.
func (k *Consumer) decode(recs []ConsumerRecord, topic string, partition int32, pos int64, data []byte) ([]ConsumerRecord, int64, error) {
	// Size recs once from the batch headers (fetch does it for the whole
	// response; this covers other callers): growing it record by record
	// copied each 128-byte record many times over (the harness saw 8 bytes
	// allocated per byte fetched).
	recs = slices.Grow(recs, recordCount(data))
	borrow := k.cfg.BorrowRecords
	// Without BorrowRecords the records own their bytes: an uncompressed
	// batch is copied whole and its records point into the copy; the
	// records of compressed batches are copied into one allocation per
	// partition. Either way the response buffer is free for reuse.
	var arena []byte
	// Headers come from a slab too: reused across Polls when borrowed,
	// the caller's own otherwise.
	var owned []batch.RecordHeader
	hslab := &owned
	if borrow {
		arena, hslab = k.arena, &k.hdrs
	}
	for rest := data; len(rest) > 0; {
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
		if alias && !borrow {
			// The caller's records point into a copy of the whole batch:
			// one memmove, into memory that append does not clear first,
			// where copying record by record into a fresh arena cleared
			// the arena and then filled it piecemeal. The copy is made
			// before the CRC is checked, so that what was checked is
			// what the records hold.
			b = bytes.Clone(b)
		}
		k.reader.SkipCRC = k.cfg.SkipCRCCheck
		if _, err := k.reader.Reset(b); err != nil {
			return recs, pos, fmt.Errorf("fetch %s-%d batch at offset %d: %w", topic, partition, h.BaseOffset, err)
		}
		if arena == nil && !alias {
			arena = make([]byte, 0, len(data))
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
			recs = append(recs, ConsumerRecord{Topic: topic, Partition: partition, Offset: r.Offset, Timestamp: time.UnixMilli(r.Timestamp)})
			cr := &recs[len(recs)-1]
			if alias {
				cr.Key, cr.Value = r.Key, r.Value
			} else {
				cr.Key, arena = copyInto(arena, r.Key)
				cr.Value, arena = copyInto(arena, r.Value)
			}
			if len(r.Headers) > 0 {
				cr.Headers = headerSlab(hslab, len(r.Headers))
				for i, hd := range r.Headers {
					if alias {
						cr.Headers[i] = hd
						continue
					}
					cr.Headers[i].Key, arena = copyInto(arena, hd.Key)
					cr.Headers[i].Value, arena = copyInto(arena, hd.Value)
				}
			}
		}
		pos = h.NextOffset()
	}
	if borrow {
		k.arena = arena
	}
	return recs, pos, nil
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
			count += int(h.RecordCount)
		}
		rest = next
	}
	return count
}

// headerSlab returns room for n headers of one record, cut from *slab,
// which grows by new allocations (earlier records keep the old ones).
func headerSlab(slab *[]batch.RecordHeader, n int) []batch.RecordHeader {
	if cap(*slab)-len(*slab) < n {
		*slab = make([]batch.RecordHeader, 0, max(n, 2*cap(*slab), 64))
	}
	start := len(*slab)
	*slab = (*slab)[:start+n]
	return (*slab)[start : start+n : start+n]
}

// copyInto copies b to the end of arena and returns the copy (nil for nil,
// so null stays null), capped so that appending to it cannot overwrite the
// next one.
func copyInto(arena, b []byte) ([]byte, []byte) {
	if b == nil {
		return nil, arena
	}
	if cap(arena)-len(arena) < len(b) {
		arena = make([]byte, 0, max(len(b), 2*cap(arena), 4096))
	}
	start := len(arena)
	arena = append(arena, b...)
	return arena[start:len(arena):len(arena)], arena
}
