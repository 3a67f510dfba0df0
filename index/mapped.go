package index

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"sync/atomic"

	"github.com/sluicelog/sluice/segment/fsys"
)

// hotBytes is how much of an index's end Lookup searches before the whole:
// two pages, which the writer and caught-up readers keep in the page cache.
const hotBytes = 8 << 10

// mapped is what both index kinds share: the file, its mapping, the
// published entry count and the file's life cycle (open, grow, trim, close).
// Offset and Time give the bytes their meaning.
//
// The file's descriptor is closed as soon as the mapping is made: a shared
// mapping stays valid without it, and a broker with many partitions cannot
// spend a descriptor per index. Growing and trimming open the file again by
// path, and act only if it is still the file that was mapped (os.SameFile):
// a segment deleted, or replaced by the cleaner, under a mapping that
// readers still held must not have its successor cut.
type mapped struct {
	path string
	base int64
	size int // entry size in bytes

	fs fsys.FS
	// f is the File the mapping came from, already closed: Unmap and
	// SyncMap act on the mapping alone (see package fsys), and keep their
	// fault injection.
	f    fsys.File
	fi   os.FileInfo // identity of the mapped file, for SameFile
	data []byte      // the mapping; after Trim it may run past the file's end

	// count is the number of entries readers may see. The writer stores an
	// entry's bytes before it raises count, so a reader that loads count
	// once finds every entry below it complete.
	count atomic.Int64
	// cuts is odd while truncate drops entries and grows by two with each
	// truncate: a lookup that loads it before and after it reads entries
	// knows whether a cut may have zeroed (or, with appends after the cut,
	// rewritten) what it read.
	cuts atomic.Uint64

	// The rest is the writer's alone.
	slots    int   // entries backed by allocated file blocks: stores stop there
	limit    int   // entries Append may reach by growing the file; ErrFull there
	fileSize int64 // the file's current size in bytes
	closed   bool
}

// Growth of a writable index's file: it is allocated a chunk at a time as
// entries approach its end, instead of to its full size at open, so that an
// active segment that holds a few entries costs a few blocks of disk, not
// megabytes. A chunk is the file's current size, at least minChunk and at
// most maxChunk, so a busy index grows in few steps.
const (
	minChunk = 64 << 10
	maxChunk = 1 << 20
)

// checkFunc reports the first entry among data's first n that breaks an
// index kind's ordering rules, as a message for ErrCorrupt.
type checkFunc func(data []byte, n int) error

// open opens or creates the file at path on fs, checks it with check and
// maps it. When maxBytes (rounded down to whole entries) is larger than the
// file, the mapping covers maxBytes and Append may grow the file up to it;
// the file itself is allocated only a chunk past its entries. A file that
// fails the check is left untouched. The descriptor is closed before open
// returns.
func (m *mapped) open(fs fsys.FS, path string, base int64, maxBytes, size int, check checkFunc) error {
	if base < 0 {
		return fmt.Errorf("index %s: negative base offset %d: %w", path, base, ErrRange)
	}
	if fs == nil {
		fs = fsys.OS{}
	}
	f, err := fs.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("index %s: %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("index %s: %w", path, err)
	}
	cur := fi.Size()
	if cur%int64(size) != 0 {
		return fmt.Errorf("index %s: size %d is not a multiple of the entry size %d: %w", path, cur, size, ErrCorrupt)
	}
	if cur > math.MaxInt {
		return fmt.Errorf("index %s: size %d too large to map", path, cur)
	}
	target := cur
	if want := int64(maxBytes - maxBytes%size); maxBytes > 0 && want > cur {
		target = want
	}

	// Map the final length at once. The part past the current end is not
	// touched until grow has given it file blocks, so checking first and
	// growing after leaves a corrupt file as it was.
	var data []byte
	if target > 0 {
		if data, err = f.Map(int(target)); err != nil {
			return fmt.Errorf("index %s: mmap: %w", path, err)
		}
	}
	n, err := findEnd(data[:cur], size)
	if err == nil {
		err = check(data, n)
	}
	m.path, m.base, m.size, m.fs = path, base, size, fs
	m.f, m.fi, m.data = f, fi, data
	m.slots, m.limit, m.fileSize = int(cur)/size, int(target)/size, cur
	if err != nil {
		err = fmt.Errorf("index %s: %w: %w", path, ErrCorrupt, err)
	} else if m.limit > m.slots {
		// Room for the entries that follow, so the first appends do not
		// each grow the file.
		err = m.growWith(f, n+1)
	}
	if err != nil {
		if data != nil {
			f.Unmap(data)
		}
		m.data = nil
		return err
	}
	m.count.Store(int64(n))
	return nil
}

// reserve makes sure the next n entries, as many of them as the limit
// allows, are backed by file blocks, growing the file if need be. Beyond
// the limit Append answers ErrFull, which is no error of reserve's. Writer
// only; it allocates nothing unless it grows the file.
func (m *mapped) reserve(n int) error {
	if m.closed {
		return fmt.Errorf("index %s: reserve: %w", m.path, ErrClosed)
	}
	need := min(m.entries()+n, m.limit)
	if need <= m.slots {
		return nil
	}
	return m.grow(need)
}

// grow allocates the file a chunk further, and at least to need entries,
// through a descriptor opened for the purpose. Stores into a mapping of a
// sparse part of a file fault (SIGBUS) when the disk is full, so no entry
// is stored past slots: a failed allocation (ENOSPC) is an error here, and
// the caller's append fails cleanly instead.
func (m *mapped) grow(need int) error {
	f, err := m.reopen()
	if err != nil {
		return err
	}
	defer f.Close()
	return m.growWith(f, need)
}

// growWith is grow on the already open f.
func (m *mapped) growWith(f fsys.File, need int) error {
	chunk := min(max(m.fileSize, minChunk), maxChunk)
	want := max(m.fileSize+chunk, int64(need)*int64(m.size))
	want = min(want-want%int64(m.size), int64(m.limit)*int64(m.size))
	if want <= m.fileSize {
		return nil
	}
	if err := f.Allocate(want); err != nil {
		return fmt.Errorf("index %s: grow to %d bytes: %w", m.path, want, err)
	}
	m.fileSize = want
	m.slots = int(want) / m.size
	return nil
}

// errReplaced means the file at the index's path is no longer the one
// mapped: the segment was deleted or replaced meanwhile.
var errReplaced = errors.New("file at the path is not the one mapped")

// reopen opens the mapped file again by path for a truncate or an
// allocation, and checks that it is still the same file.
func (m *mapped) reopen() (fsys.File, error) {
	f, err := m.fs.OpenFile(m.path, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("index %s: reopen: %w", m.path, err)
	}
	fi, err := f.Stat()
	if err == nil && !os.SameFile(fi, m.fi) {
		err = errReplaced
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("index %s: reopen: %w", m.path, err)
	}
	return f, nil
}

// findEnd returns the number of entries in data, the rest being zero; see
// "Preallocation and the end of the entries" in doc.go for the rule.
func findEnd(data []byte, size int) (int, error) {
	slots := len(data) / size
	zero := func(i int) bool { return isZero(data[i*size : (i+1)*size]) }
	n := 0
	if slots > 1 && zero(0) && !zero(1) {
		n = 1 // an all-zero first entry is real when one follows it
	}
	for n < slots && !zero(n) {
		n++
	}
	if !isZero(data[n*size:]) {
		return 0, fmt.Errorf("nonzero bytes after the last entry (entry %d of %d slots)", n, slots)
	}
	return n, nil
}

// isZero reports whether b holds only zero bytes, a word at a time since an
// untrimmed index can be megabytes of zeros.
func isZero(b []byte) bool {
	for len(b) >= 8 {
		if binary.NativeEndian.Uint64(b) != 0 {
			return false
		}
		b = b[8:]
	}
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// entries returns the number of published entries.
func (m *mapped) entries() int { return int(m.count.Load()) }

// full reports whether Append has no room left, even after growing the
// file.
func (m *mapped) full() bool { return m.entries() >= m.limit }

// room makes sure entry n may be stored, growing the file if need be; it
// returns ErrFull past the limit. Append's check, allocation-free unless it
// grows the file.
func (m *mapped) room(n int) error {
	if n < m.slots {
		return nil
	}
	if n >= m.limit {
		return ErrFull
	}
	return m.grow(n + 1)
}

// truncate keeps the first keep entries and zeroes the others, so a crash
// afterwards cannot resurrect them. It lowers the count before it zeroes:
// a reader that loads the count afterwards never looks at the zeroed
// entries, and one that loaded it before finds each entry either as it was
// or zero; see "Concurrency" in doc.go. Writer only.
func (m *mapped) truncate(keep int) {
	n := m.entries()
	if m.closed || keep >= n {
		return
	}
	m.cuts.Add(1)
	m.count.Store(int64(keep))
	clear(m.data[keep*m.size : n*m.size])
	m.cuts.Add(1)
}

// cutSince reports whether a truncate ran, or is running, since cuts was
// read as before.
func (m *mapped) cutSince(before uint64) bool {
	return before%2 == 1 || m.cuts.Load() != before
}

// trim cuts the file to its entries and stops further appends. The mapping
// stays as it is: no reader looks past the entries, which remain backed by
// the file, so readers need not be stopped and no new mapping is needed.
// A file that is gone, or is no longer the one mapped (the segment was
// deleted or replaced), is left alone: there is nothing of this index's to
// cut.
func (m *mapped) trim() error {
	if m.closed {
		return fmt.Errorf("index %s: trim: %w", m.path, ErrClosed)
	}
	n := m.entries()
	want := int64(n) * int64(m.size)
	if m.fileSize != want {
		// By path, with no descriptor: parking must free descriptors
		// when there are none left to open one with. The file is
		// checked to be the one mapped first; the segment's lock keeps
		// the cleaner from replacing it in between.
		fi, err := m.fs.Stat(m.path)
		if err == nil && !os.SameFile(fi, m.fi) {
			err = errReplaced
		}
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, errReplaced) {
			m.slots, m.limit = n, n
			return nil
		}
		if err == nil {
			err = m.fs.Truncate(m.path, want)
		}
		if err != nil {
			return fmt.Errorf("index %s: trim: %w", m.path, err)
		}
		m.fileSize = want
	}
	m.slots, m.limit = n, n
	return nil
}

// sync flushes the mapped part of the file to disk.
func (m *mapped) sync() error {
	if m.closed {
		return fmt.Errorf("index %s: sync: %w", m.path, ErrClosed)
	}
	n := min(int64(len(m.data)), m.fileSize)
	if n == 0 {
		return nil
	}
	if err := m.f.SyncMap(m.data[:n]); err != nil {
		return fmt.Errorf("index %s: msync: %w", m.path, err)
	}
	return nil
}

// close trims, unmaps and closes; later calls do nothing. Caller has
// exclusive access.
func (m *mapped) close() error {
	if m.closed {
		return nil
	}
	return errors.Join(m.trim(), m.unmap())
}

// unmap unmaps without trimming (the descriptor was closed at open);
// later calls, and close, do nothing. Caller has exclusive access.
func (m *mapped) unmap() error {
	if m.closed {
		return nil
	}
	var err error
	m.count.Store(0)
	m.slots, m.limit = 0, 0
	m.closed = true
	if m.data != nil {
		if uerr := m.f.Unmap(m.data); uerr != nil {
			err = errors.Join(err, fmt.Errorf("index %s: munmap: %w", m.path, uerr))
		}
		m.data = nil
	}
	return err
}
