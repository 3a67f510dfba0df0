package dump

import (
	"encoding/binary"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
)

// Entry sizes, as package index lays them out.
const (
	OffsetEntrySize = 8  // relative offset uint32, position uint32
	TimeEntrySize   = 12 // timestamp int64, relative offset uint32
)

// OffsetEntry is one offset index entry, its offset made absolute.
type OffsetEntry struct {
	Offset   int64
	Position int64
}

// TimeEntry is one time index entry, its offset made absolute.
type TimeEntry struct {
	Timestamp int64
	Offset    int64
}

// Index is what an index file holds: its entries, the zero bytes a
// preallocated (active or crashed) index keeps after them, and its faults.
type Index[E any] struct {
	Entries []E
	// Preallocated is the number of zero bytes after the last entry.
	Preallocated int
	// Problems are entries that break the index's ordering; the entries
	// are still listed.
	Problems []error
	// Damage, if not nil, is where the file stops making sense: bytes that
	// are not a whole entry, or non-zero bytes after the end of the
	// entries. Entries before it are listed.
	Damage *Damage
}

// BaseOffset reads a segment's base offset from its file name
// (00000000000000000042.index: 42).
func BaseOffset(path string) (int64, error) {
	name := filepath.Base(path)
	if i := strings.IndexByte(name, '.'); i >= 0 {
		name = name[:i]
	}
	n, err := strconv.ParseInt(name, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%s: a segment file is named by its base offset (00000000000000000042.index)", filepath.Base(path))
	}
	return n, nil
}

// entriesEnd finds where the entries of an index end, as package index
// does: at the first all-zero entry, except that entry 0 may be all zero
// (relative offset 0 at position 0, or timestamp 0 at the base) and counts
// when entry 1 is not all zero.
func entriesEnd(data []byte, size int) int {
	n := len(data) / size
	for i := 0; i < n; i++ {
		if !isZero(data[i*size : (i+1)*size]) {
			continue
		}
		if i == 0 && n > 1 && !isZero(data[size:2*size]) {
			continue
		}
		return i
	}
	return n
}

func isZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// tail checks what follows the n entries of data: zero bytes are
// preallocated room; anything else, or bytes that are not a whole entry,
// is damage.
func tail(data []byte, n, size int) (preallocated int, damage *Damage) {
	rest := data[n*size:]
	for i, c := range rest {
		if c != 0 {
			at := n*size + i
			return i, &Damage{int64(at), fmt.Errorf("non-zero byte after the last of %d entries (entry %d)", n, at/size)}
		}
	}
	if odd := len(data) % size; odd != 0 {
		return len(rest) - odd, &Damage{int64(len(data) - odd), fmt.Errorf("%d bytes at the end are not a whole %d-byte entry", odd, size)}
	}
	return len(rest), nil
}

// ReadOffsetIndex decodes the offset index data of the segment with base
// offset base. Offsets and positions must strictly increase.
func ReadOffsetIndex(data []byte, base int64) Index[OffsetEntry] {
	var x Index[OffsetEntry]
	n := entriesEnd(data, OffsetEntrySize)
	x.Preallocated, x.Damage = tail(data, n, OffsetEntrySize)
	x.Entries = make([]OffsetEntry, 0, n)
	for i := 0; i < n; i++ {
		e := data[i*OffsetEntrySize:]
		x.Entries = append(x.Entries, OffsetEntry{
			Offset:   base + int64(binary.BigEndian.Uint32(e)),
			Position: int64(binary.BigEndian.Uint32(e[4:])),
		})
		if i > 0 {
			prev, cur := x.Entries[i-1], x.Entries[i]
			if cur.Offset <= prev.Offset || cur.Position <= prev.Position {
				x.Problems = append(x.Problems, fmt.Errorf("entry %d (offset %d, position %d) does not follow entry %d (offset %d, position %d): both must grow",
					i, cur.Offset, cur.Position, i-1, prev.Offset, prev.Position))
			}
		}
	}
	return x
}

// ReadTimeIndex decodes the time index data of the segment with base
// offset base. Timestamps must strictly increase and never be negative;
// offsets must not decrease.
func ReadTimeIndex(data []byte, base int64) Index[TimeEntry] {
	var x Index[TimeEntry]
	n := entriesEnd(data, TimeEntrySize)
	x.Preallocated, x.Damage = tail(data, n, TimeEntrySize)
	x.Entries = make([]TimeEntry, 0, n)
	for i := 0; i < n; i++ {
		e := data[i*TimeEntrySize:]
		cur := TimeEntry{Timestamp: int64(binary.BigEndian.Uint64(e)), Offset: base + int64(binary.BigEndian.Uint32(e[8:]))}
		x.Entries = append(x.Entries, cur)
		if cur.Timestamp < 0 {
			x.Problems = append(x.Problems, fmt.Errorf("entry %d: negative timestamp %d", i, cur.Timestamp))
		}
		if i > 0 {
			prev := x.Entries[i-1]
			if cur.Timestamp <= prev.Timestamp || cur.Offset < prev.Offset {
				x.Problems = append(x.Problems, fmt.Errorf("entry %d (timestamp %d, offset %d) does not follow entry %d (timestamp %d, offset %d): timestamps must grow, offsets not fall",
					i, cur.Timestamp, cur.Offset, i-1, prev.Timestamp, prev.Offset))
			}
		}
	}
	return x
}
