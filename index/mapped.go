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
type mapped struct {
	path string
	base int64
	size int // entry size in bytes

	f    fsys.File
	data []byte // the mapping; after Trim it may run past the file's end

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
	slots    int   // entries the file has room for; Append stops there
	fileSize int64 // the file's current size in bytes
	closed   bool
}

// checkFunc reports the first entry among data's first n that breaks an
// index kind's ordering rules, as a message for ErrCorrupt.
type checkFunc func(data []byte, n int) error

// open opens or creates the file at path on fs, checks it with check and
// maps it, first growing it to maxBytes (rounded down to whole entries) when
// that is larger than the file. A file that fails the check is left
// untouched.
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
	ok := false
	defer func() {
		if !ok {
			f.Close()
		}
	}()
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
	// touched until Allocate has given it file blocks, so checking first
	// and growing after leaves a corrupt file as it was.
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
	if err != nil {
		err = fmt.Errorf("index %s: %w: %w", path, ErrCorrupt, err)
	} else if target > cur {
		if perr := f.Allocate(target); perr != nil {
			err = fmt.Errorf("index %s: grow to %d bytes: %w", path, target, perr)
		}
	}
	if err != nil {
		if data != nil {
			f.Unmap(data)
		}
		return err
	}

	ok = true
	m.path, m.base, m.size = path, base, size
	m.f, m.data = f, data
	m.slots, m.fileSize = int(target)/size, target
	m.count.Store(int64(n))
	return nil
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

// full reports whether Append has no room left.
func (m *mapped) full() bool { return m.entries() >= m.slots }

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
func (m *mapped) trim() error {
	if m.closed {
		return fmt.Errorf("index %s: trim: %w", m.path, ErrClosed)
	}
	n := m.entries()
	want := int64(n) * int64(m.size)
	if m.fileSize != want {
		if err := m.f.Truncate(want); err != nil {
			return fmt.Errorf("index %s: trim: %w", m.path, err)
		}
		m.fileSize = want
	}
	m.slots = n
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

// unmap unmaps and closes without trimming; later calls, and close, do
// nothing. Caller has exclusive access.
func (m *mapped) unmap() error {
	if m.closed {
		return nil
	}
	var err error
	m.count.Store(0)
	m.slots = 0
	m.closed = true
	if m.data != nil {
		if uerr := m.f.Unmap(m.data); uerr != nil {
			err = errors.Join(err, fmt.Errorf("index %s: munmap: %w", m.path, uerr))
		}
		m.data = nil
	}
	if cerr := m.f.Close(); cerr != nil {
		err = errors.Join(err, fmt.Errorf("index %s: %w", m.path, cerr))
	}
	return err
}
