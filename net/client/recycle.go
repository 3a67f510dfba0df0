package client

import "unsafe"

// Recycling owned records' memory.
//
// Records the caller owns point into copies the consumer makes for each
// fetch (see ConsumerRecord). Left to the garbage collector, a stream of
// small records costs an allocation of MaxPartitionBytes or so per fetch
// and the collections that follow: BenchmarkDecode puts that at more than
// the decoding itself. Recycle lets a caller that is done with a Poll's
// records give their memory back. Once a caller has recycled, the
// consumer stops copying uncompressed batches altogether: their records
// point into the response frame, as lent ones do, and the frame goes back
// to the frames' free list (k.free) when the records are recycled;
// compressed batches' records are copied into arenas that go back to
// spare.
//
// Invariants: a buffer is in at most one of fresh, freshFrames, issued,
// spare and the frames' free list. A buffer in issued may be pointed into
// by the caller's records; one in spare or the free list is pointed into
// by nothing the consumer still hands out, unless the caller recycled
// records it kept (its bug, documented on Recycle).

// maxIssued is how many Polls' memory the consumer remembers for Recycle.
// Older entries are forgotten (their memory is left to the collector), so
// a caller that stops recycling holds a few fetches' memory, not a leak.
// Nothing is remembered before the first Recycle.
const maxIssued = 4

// maxSpare bounds the number of buffers kept for reuse (one per partition
// of a fetch, or so), and MaxBytes their total; more are dropped.
const maxSpare = 64

// issuedMem is the memory the records of one Poll point into, keyed by
// the first element of the slice the Poll returned.
type issuedMem struct {
	first  *ConsumerRecord
	bufs   [][]byte // arenas, back to spare
	frames [][]byte // response frames, back to the free list
}

// Recycle gives back the memory of records that Poll or PollInto returned
// (without BorrowRecords) once the caller is done with them and with every
// key, value and header slice in them: the next fetches copy records into
// it instead of into new memory. Pass the slice as the call returned it;
// a part of it, or records of an older Poll than the last four, are not
// recognised, and Recycle then does nothing. The consumer remembers the
// memory of each Poll for this from the first call of Recycle on. A consumer that reads a
// stream of small records at a high rate saves most of its allocation and
// garbage collection this way; one that keeps records needs not call it.
//
// The records' slices must not be used after Recycle: their bytes change
// under them at a later Poll. Typical use, with PollInto reusing the
// records too:
//
//	recs, err := k.PollInto(ctx, recs[:0])
//	... use recs ...
//	k.Recycle(recs)
func (k *Consumer) Recycle(recs []ConsumerRecord) {
	if len(recs) == 0 || k.cfg.BorrowRecords {
		return
	}
	k.pollMu.Lock()
	defer k.pollMu.Unlock()
	k.recycling = true
	first := unsafe.SliceData(recs)
	for i := range k.issued {
		if k.issued[i].first != first {
			continue
		}
		for _, b := range k.issued[i].bufs {
			k.spareBuf(b)
		}
		for _, f := range k.issued[i].frames {
			k.recycle(f)
		}
		k.issued = append(k.issued[:i], k.issued[i+1:]...)
		return
	}
}

// ownArena returns an empty buffer of at least n bytes for the copies of
// compressed records' bytes, recycled when possible. pollMu is held.
func (k *Consumer) ownArena(n int) []byte {
	a := k.takeSpare(n)
	if a == nil {
		a = make([]byte, 0, n)
	}
	if k.recycling {
		k.fresh = append(k.fresh, a)
	}
	return a
}

// takeSpare returns the smallest recycled buffer of at least n bytes,
// emptied, or nil.
func (k *Consumer) takeSpare(n int) []byte {
	best := -1
	for i, b := range k.spare {
		if cap(b) >= n && (best < 0 || cap(b) < cap(k.spare[best])) {
			best = i
		}
	}
	if best < 0 {
		return nil
	}
	b := k.spare[best][:0]
	k.spareBytes -= cap(b)
	last := len(k.spare) - 1
	k.spare[best] = k.spare[last]
	k.spare[last] = nil
	k.spare = k.spare[:last]
	return b
}

// spareBuf keeps b for reuse, unless that would keep more than maxSpare
// buffers or MaxBytes in all.
func (k *Consumer) spareBuf(b []byte) {
	if len(k.spare) >= maxSpare || k.spareBytes+cap(b) > int(k.cfg.MaxBytes) {
		return
	}
	k.spare = append(k.spare, b)
	k.spareBytes += cap(b)
}

// issue ends a Poll without BorrowRecords: the memory its records point
// into is remembered under recs for Recycle, or, when no record points
// into it, kept for reuse at once. pollMu is held.
func (k *Consumer) issue(recs []ConsumerRecord) {
	fresh, frames := k.fresh, k.freshFrames
	k.fresh, k.freshFrames = nil, nil
	if len(fresh)+len(frames) == 0 || !k.recycling {
		return
	}
	if len(recs) == 0 {
		for _, b := range fresh {
			k.spareBuf(b)
		}
		for _, f := range frames {
			k.recycle(f)
		}
		return
	}
	first := unsafe.SliceData(recs)
	for i := range k.issued {
		if k.issued[i].first == first {
			// The slice of an earlier Poll, passed back to PollInto
			// without Recycle: its records were overwritten, and
			// their memory is the caller's to keep or drop.
			k.issued = append(k.issued[:i], k.issued[i+1:]...)
			break
		}
	}
	if len(k.issued) == maxIssued {
		k.issued = append(k.issued[:0], k.issued[1:]...)
	}
	k.issued = append(k.issued, issuedMem{first: first, bufs: fresh, frames: frames})
}
