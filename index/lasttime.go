package index

import (
	"errors"
	"fmt"
	"math"
	"os"

	"github.com/sluicelog/sluice/segment/fsys"
)

// ReadLastTime returns the last entry of the time index at path for a
// segment whose base offset is base, without mapping the file: retention
// needs only the largest timestamp of old segments, and mapping each of them
// would spend a memory map per segment. A trimmed file costs one pread; an
// untrimmed one (left by a crash) is read whole to find its end. ok is false
// when the index is empty or missing. Only the last entry is checked, so a
// corrupt file may go unnoticed here; OpenTime checks everything.
func ReadLastTime(path string, base int64) (e TimeEntry, ok bool, err error) {
	return ReadLastTimeFS(nil, path, base)
}

// ReadLastTimeFS is ReadLastTime on the file system fs (nil for the real
// one).
func ReadLastTimeFS(fs fsys.FS, path string, base int64) (e TimeEntry, ok bool, err error) {
	if fs == nil {
		fs = fsys.OS{}
	}
	f, err := fs.OpenFile(path, os.O_RDONLY, 0)
	if errors.Is(err, os.ErrNotExist) {
		return TimeEntry{}, false, nil
	}
	if err != nil {
		return TimeEntry{}, false, fmt.Errorf("index %s: %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return TimeEntry{}, false, fmt.Errorf("index %s: %w", path, err)
	}
	size := fi.Size()
	if size%TimeEntrySize != 0 {
		return TimeEntry{}, false, fmt.Errorf("index %s: size %d is not a multiple of the entry size %d: %w", path, size, TimeEntrySize, ErrCorrupt)
	}
	if size == 0 {
		return TimeEntry{}, false, nil
	}

	var last [TimeEntrySize]byte
	if _, err := f.ReadAt(last[:], size-TimeEntrySize); err != nil {
		return TimeEntry{}, false, fmt.Errorf("index %s: %w", path, err)
	}
	if !isZero(last[:]) {
		return lastTimeEntry(path, base, last[:], 0)
	}
	if size == TimeEntrySize {
		return TimeEntry{}, false, nil // a lone all-zero entry reads as none
	}

	// Untrimmed: find the end the way OpenTime does.
	if size > math.MaxInt32 {
		return TimeEntry{}, false, fmt.Errorf("index %s: size %d too large for a time index: %w", path, size, ErrCorrupt)
	}
	data := make([]byte, size)
	if _, err := f.ReadAt(data, 0); err != nil {
		return TimeEntry{}, false, fmt.Errorf("index %s: %w", path, err)
	}
	n, err := findEnd(data, TimeEntrySize)
	if err == nil {
		err = checkTimes(data, n)
	}
	if err != nil {
		return TimeEntry{}, false, fmt.Errorf("index %s: %w: %w", path, ErrCorrupt, err)
	}
	if n == 0 {
		return TimeEntry{}, false, nil
	}
	return lastTimeEntry(path, base, data, n-1)
}

// lastTimeEntry decodes entry i of data as a file's last time entry.
func lastTimeEntry(path string, base int64, data []byte, i int) (TimeEntry, bool, error) {
	ts := timeStamp(data, i)
	if ts < 0 {
		return TimeEntry{}, false, fmt.Errorf("index %s: negative timestamp %d: %w", path, ts, ErrCorrupt)
	}
	return TimeEntry{Timestamp: ts, Offset: base + int64(timeRel(data, i))}, true, nil
}
