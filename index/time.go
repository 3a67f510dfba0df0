package index

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/sluicelog/sluice/segment/fsys"
)

// TimeEntrySize is the size of one time index entry in bytes.
const TimeEntrySize = 12

// timeHotEntries is how many of the last entries Lookup tries first.
const timeHotEntries = hotBytes / TimeEntrySize

// TimeEntry is one time index entry, with its offset made absolute.
type TimeEntry struct {
	Timestamp int64 // the segment's largest timestamp so far, in ms
	Offset    int64 // offset of the record that carried it
}

// Time is a segment's time index: sparse (timestamp, offset) pairs recorded
// as the segment's largest timestamp grows. See the package documentation for
// the layout and the concurrency contract.
type Time struct {
	m mapped
}

// OpenTime maps the time index at path for a segment whose base offset is
// base, creating the file if it is missing. maxBytes works as for
// OpenOffset. A file that fails the sanity check yields an error matching
// ErrCorrupt.
func OpenTime(path string, base int64, maxBytes int) (*Time, error) {
	return OpenTimeFS(nil, path, base, maxBytes)
}

// OpenTimeFS is OpenTime on the file system fs (nil for the real one), so
// tests can put failing disks under an index.
func OpenTimeFS(fs fsys.FS, path string, base int64, maxBytes int) (*Time, error) {
	x := new(Time)
	if err := x.m.open(fs, path, base, maxBytes, TimeEntrySize, checkTimes); err != nil {
		return nil, err
	}
	return x, nil
}

// checkTimes requires timestamps to be non-negative and strictly increasing
// and relative offsets never to decrease.
func checkTimes(data []byte, n int) error {
	if n > 0 && timeStamp(data, 0) < 0 {
		return fmt.Errorf("entry 0: negative timestamp %d", timeStamp(data, 0))
	}
	for i := 1; i < n; i++ {
		if prev, cur := timeStamp(data, i-1), timeStamp(data, i); cur <= prev {
			return fmt.Errorf("entry %d: timestamp %d not above %d", i, cur, prev)
		}
		if prev, cur := timeRel(data, i-1), timeRel(data, i); cur < prev {
			return fmt.Errorf("entry %d: relative offset %d below %d", i, cur, prev)
		}
	}
	return nil
}

func timeStamp(data []byte, i int) int64 {
	return int64(binary.BigEndian.Uint64(data[i*TimeEntrySize:]))
}

func timeRel(data []byte, i int) uint32 {
	return binary.BigEndian.Uint32(data[i*TimeEntrySize+8:])
}

// timeSearch returns the last i in [lo, hi) whose timestamp is at most t,
// or lo-1 if there is none.
func timeSearch(data []byte, lo, hi int, t int64) int {
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if timeStamp(data, mid) <= t {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo - 1
}

// timeSearchHot is timeSearch without data-dependent branches, for the
// cached tail; see offsetSearchHot.
func timeSearchHot(data []byte, lo, hi int, t int64) int {
	if lo >= hi {
		return lo - 1
	}
	i, n := lo, hi-lo
	for n > 1 {
		half := n >> 1
		// All ones when entry i+half is at most t, else zero. Both sides
		// are non-negative here, so the difference cannot overflow.
		le := ^((t - timeStamp(data, i+half)) >> 63)
		i += half & int(le)
		n -= half
	}
	if timeStamp(data, i) > t {
		return i - 1
	}
	return i
}

// timeSearchTail is timeSearch over [0, n) that settles targets in the last
// timeHotEntries entries without touching the rest.
func timeSearchTail(data []byte, n int, t int64) int {
	hot := max(n-timeHotEntries, 0)
	if hot > 0 && timeStamp(data, hot) > t {
		return timeSearch(data, 0, hot, t)
	}
	return timeSearchHot(data, hot, n, t)
}

// timeRelSearch returns the last i in [0, n) whose relative offset is at
// most t, or -1; offsets never decrease, so a binary search works.
func timeRelSearch(data []byte, n int, t uint32) int {
	lo, hi := 0, n
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if timeRel(data, mid) <= t {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo - 1
}

// Append adds an entry saying the segment's largest timestamp reached
// timestamp at offset. The timestamp must exceed the last entry's and the
// offset must not go below it (ErrNotMonotonic); a negative timestamp or an
// offset outside the segment's range is ErrRange. It grows the file as
// Offset.Append does, returning the allocation's error if that fails, and
// returns ErrFull past maxBytes or after Trim. Writer only.
func (x *Time) Append(timestamp int64, offset int64) error {
	m := &x.m
	if m.closed {
		return fmt.Errorf("index %s: append: %w", m.path, ErrClosed)
	}
	if timestamp < 0 {
		return fmt.Errorf("index %s: negative timestamp %d: %w", m.path, timestamp, ErrRange)
	}
	if offset < m.base || offset-m.base > math.MaxUint32 {
		return fmt.Errorf("index %s: offset %d is outside [%d, %d]: %w", m.path, offset, m.base, m.base+math.MaxUint32, ErrRange)
	}
	rel := uint32(offset - m.base)
	n := m.entries()
	if n > 0 && (timestamp <= timeStamp(m.data, n-1) || rel < timeRel(m.data, n-1)) {
		last := x.entry(m.data, n-1)
		return fmt.Errorf("index %s: entry (timestamp %d, offset %d) after (%d, %d): %w",
			m.path, timestamp, offset, last.Timestamp, last.Offset, ErrNotMonotonic)
	}
	if n >= m.slots {
		if err := m.room(n); err != nil {
			return err
		}
	}
	b := m.data[n*TimeEntrySize : (n+1)*TimeEntrySize]
	binary.BigEndian.PutUint64(b, uint64(timestamp))
	binary.BigEndian.PutUint32(b[8:], rel)
	m.count.Store(int64(n + 1))
	return nil
}

// Lookup returns the entry with the largest timestamp at most target, or
// {Timestamp: -1, Offset: base} when there is none. To find the first record
// whose timestamp is at least T, scan the log forward from the answer for
// T-1: no record before that entry's offset reached T. It tries the last
// 8 KiB of entries before searching the whole index. A Lookup that overlaps
// TruncateTo answers "none", as the entries it read may have been zeroed
// meanwhile; a scan from the base offset is always correct.
func (x *Time) Lookup(target int64) TimeEntry {
	none := TimeEntry{Timestamp: -1, Offset: x.m.base}
	cuts := x.m.cuts.Load()
	n := x.m.entries()
	if n == 0 || target < 0 {
		return none
	}
	data := x.m.data
	i := timeSearchTail(data, n, target)
	if invariants {
		if j := timeSearch(data, 0, n, target); i != j && !x.m.cutSince(cuts) {
			panic(fmt.Sprintf("index %s: tail search for %d found entry %d, full search %d", x.m.path, target, i, j))
		}
	}
	if i < 0 {
		return none
	}
	e := x.entry(data, i)
	if x.m.cutSince(cuts) || e.Timestamp > target {
		return none
	}
	return e
}

// lookupFull is Lookup without the tail-first step, for tests and benchmarks.
func (x *Time) lookupFull(target int64) TimeEntry {
	n := x.m.entries()
	if n == 0 || target < 0 {
		return TimeEntry{Timestamp: -1, Offset: x.m.base}
	}
	i := timeSearch(x.m.data, 0, n, target)
	if i < 0 {
		return TimeEntry{Timestamp: -1, Offset: x.m.base}
	}
	return x.entry(x.m.data, i)
}

func (x *Time) entry(data []byte, i int) TimeEntry {
	return TimeEntry{
		Timestamp: timeStamp(data, i),
		Offset:    x.m.base + int64(timeRel(data, i)),
	}
}

// Entries returns the number of entries.
func (x *Time) Entries() int { return x.m.entries() }

// Entry returns entry i; it panics unless 0 <= i < Entries().
func (x *Time) Entry(i int) TimeEntry {
	if n := x.m.entries(); uint(i) >= uint(n) {
		panic(fmt.Sprintf("index %s: entry %d out of range [0, %d)", x.m.path, i, n))
	}
	return x.entry(x.m.data, i)
}

// Last returns the last entry; ok is false if the index is empty.
func (x *Time) Last() (e TimeEntry, ok bool) {
	n := x.m.entries()
	if n == 0 {
		return TimeEntry{}, false
	}
	return x.entry(x.m.data, n-1), true
}

// Full reports whether Append would return ErrFull: the index reached
// the maxBytes it was opened with, or was trimmed. Writer only.
func (x *Time) Full() bool { return x.m.full() }

// Reserve makes sure the next n appends will not need to grow the file
// (as many of them as fit below maxBytes), growing it now if need be. A
// writer that must not fail halfway, such as a segment about to write a
// batch to its log, reserves first: a full disk then fails Reserve, before
// anything is written, rather than an Append after. Writer only.
func (x *Time) Reserve(n int) error { return x.m.reserve(n) }

// TruncateTo drops every entry whose offset is at least offset and zeroes
// its bytes. Writer only; readers may keep running (see the package
// documentation for what they see).
func (x *Time) TruncateTo(offset int64) {
	n := x.m.entries()
	switch {
	case offset <= x.m.base:
		x.m.truncate(0)
	case offset-x.m.base <= math.MaxUint32:
		rel := offset - x.m.base
		x.m.truncate(timeRelSearch(x.m.data, n, uint32(rel-1)) + 1)
	}
}

// Reset drops all entries. It needs exclusive access.
func (x *Time) Reset() { x.m.truncate(0) }

// Trim cuts the file to its entries (Entries()*TimeEntrySize bytes), after
// which Append returns ErrFull: call it when the segment rolls. Readers may
// keep running. Reopen with a larger maxBytes to append again.
func (x *Time) Trim() error { return x.m.trim() }

// Sync writes the mapped entries to disk (msync).
func (x *Time) Sync() error { return x.m.sync() }

// Close trims the file and unmaps it; later calls do nothing and the index
// reads as empty. It needs exclusive access.
func (x *Time) Close() error { return x.m.close() }

// Unmap unmaps the file as Close does, but leaves the file's size alone: for an index whose file was opened again for appends (by
// another Time) while readers still used this one. It needs exclusive access.
func (x *Time) Unmap() error { return x.m.unmap() }

// Path returns the index file's path.
func (x *Time) Path() string { return x.m.path }

// Base returns the segment's base offset.
func (x *Time) Base() int64 { return x.m.base }
