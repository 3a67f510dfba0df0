package index_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"

	"github.com/sluicelog/sluice/index"
	"github.com/sluicelog/sluice/segment/fsys"
)

// offsetBytes encodes (relative offset, position) pairs as an index file.
func offsetBytes(pairs ...[2]uint32) []byte {
	var b []byte
	for _, p := range pairs {
		b = binary.BigEndian.AppendUint32(b, p[0])
		b = binary.BigEndian.AppendUint32(b, p[1])
	}
	return b
}

type timePair struct {
	ts  int64
	rel uint32
}

// timeBytes encodes (timestamp, relative offset) pairs as a time index file.
func timeBytes(pairs ...timePair) []byte {
	var b []byte
	for _, p := range pairs {
		b = binary.BigEndian.AppendUint64(b, uint64(p.ts))
		b = binary.BigEndian.AppendUint32(b, p.rel)
	}
	return b
}

func writeFile(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestOffsetOpenCorrupt(t *testing.T) {
	z := [2]uint32{}
	for name, b := range map[string][]byte{
		"size 7":               make([]byte, 7),
		"size 15":              offsetBytes([2]uint32{1, 2}, [2]uint32{3, 4})[:15],
		"size 17":              append(offsetBytes([2]uint32{1, 2}, [2]uint32{3, 4}), 0),
		"offset repeats":       offsetBytes([2]uint32{1, 10}, [2]uint32{1, 20}),
		"offset goes back":     offsetBytes([2]uint32{5, 10}, [2]uint32{6, 20}, [2]uint32{4, 30}),
		"position repeats":     offsetBytes([2]uint32{1, 10}, [2]uint32{2, 10}),
		"position goes back":   offsetBytes([2]uint32{1, 10}, [2]uint32{2, 9}),
		"garbage after end":    offsetBytes([2]uint32{1, 10}, z, [2]uint32{0, 1}),
		"garbage after zeros":  offsetBytes(z, z, [2]uint32{3, 3}, z),
		"stray byte after end": append(offsetBytes([2]uint32{1, 10}, z), 0, 0, 0, 0, 0, 0, 0, 9),
	} {
		t.Run(name, func(t *testing.T) {
			for _, maxBytes := range []int{0, 4096} {
				p := writeFile(t, "x.index", b)
				x, err := index.OpenOffset(p, 10, maxBytes)
				if !errors.Is(err, index.ErrCorrupt) {
					if err == nil {
						x.Close()
					}
					t.Fatalf("maxBytes %d: err = %v, want ErrCorrupt", maxBytes, err)
				}
				// A refused file is left as it was.
				if got, err := os.ReadFile(p); err != nil || !bytes.Equal(got, b) {
					t.Fatalf("maxBytes %d: file changed (%v)", maxBytes, err)
				}
			}
		})
	}
}

func TestOffsetOpenValid(t *testing.T) {
	z := [2]uint32{}
	const base = 10
	for name, c := range map[string]struct {
		b    []byte
		want []index.OffsetEntry
	}{
		"empty":                 {nil, nil},
		"all zero":              {make([]byte, 800), nil},
		"lone zero entry":       {offsetBytes(z), nil},
		"zero first entry kept": {offsetBytes(z, [2]uint32{1, 5}, z, z), []index.OffsetEntry{{base, 0}, {base + 1, 5}}},
		"trimmed":               {offsetBytes([2]uint32{1, 5}, [2]uint32{2, 6}), []index.OffsetEntry{{base + 1, 5}, {base + 2, 6}}},
		"untrimmed":             {offsetBytes([2]uint32{1, 5}, z, z, z), []index.OffsetEntry{{base + 1, 5}}},
	} {
		t.Run(name, func(t *testing.T) {
			x, err := index.OpenOffset(writeFile(t, "x.index", c.b), base, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer x.Close()
			if got := offsetEntries(x); !slices.Equal(got, c.want) {
				t.Fatalf("entries %v, want %v", got, c.want)
			}
		})
	}
}

func TestTimeOpenCorrupt(t *testing.T) {
	z := timePair{}
	for name, b := range map[string][]byte{
		"size 11":              make([]byte, 11),
		"size 13":              make([]byte, 13),
		"size 25":              append(timeBytes(timePair{1, 2}, timePair{3, 4}), 0),
		"negative timestamp":   timeBytes(timePair{-1, 0}, timePair{5, 1}),
		"timestamp repeats":    timeBytes(timePair{5, 0}, timePair{5, 1}),
		"timestamp goes back":  timeBytes(timePair{5, 0}, timePair{6, 1}, timePair{4, 2}),
		"offset goes back":     timeBytes(timePair{5, 3}, timePair{6, 2}),
		"zero timestamp later": timeBytes(timePair{5, 1}, timePair{0, 3}),
		"garbage after end":    timeBytes(timePair{5, 1}, z, timePair{0, 1}),
		"garbage after zeros":  timeBytes(z, z, timePair{7, 0}),
	} {
		t.Run(name, func(t *testing.T) {
			for _, maxBytes := range []int{0, 4096} {
				p := writeFile(t, "x.timeindex", b)
				x, err := index.OpenTime(p, 10, maxBytes)
				if !errors.Is(err, index.ErrCorrupt) {
					if err == nil {
						x.Close()
					}
					t.Fatalf("maxBytes %d: err = %v, want ErrCorrupt", maxBytes, err)
				}
				if got, err := os.ReadFile(p); err != nil || !bytes.Equal(got, b) {
					t.Fatalf("maxBytes %d: file changed (%v)", maxBytes, err)
				}
			}
		})
	}
}

func TestTimeOpenValid(t *testing.T) {
	z := timePair{}
	const base = 10
	for name, c := range map[string]struct {
		b    []byte
		want []index.TimeEntry
	}{
		"empty":                 {nil, nil},
		"all zero":              {make([]byte, 1200), nil},
		"lone zero entry":       {timeBytes(z), nil},
		"zero first entry kept": {timeBytes(z, timePair{7, 0}, z), []index.TimeEntry{{0, base}, {7, base}}},
		"equal offsets":         {timeBytes(timePair{1, 4}, timePair{2, 4}), []index.TimeEntry{{1, base + 4}, {2, base + 4}}},
		"untrimmed":             {timeBytes(timePair{1, 4}, z, z), []index.TimeEntry{{1, base + 4}}},
	} {
		t.Run(name, func(t *testing.T) {
			x, err := index.OpenTime(writeFile(t, "x.timeindex", c.b), base, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer x.Close()
			if got := timeEntries(x); !slices.Equal(got, c.want) {
				t.Fatalf("entries %v, want %v", got, c.want)
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := index.OpenOffset(filepath.Join(dir, "x.index"), -1, 0); !errors.Is(err, index.ErrRange) {
		t.Errorf("negative base: %v", err)
	}
	if _, err := index.OpenTime(filepath.Join(dir, "no", "such", "dir"), 0, 0); err == nil || errors.Is(err, index.ErrCorrupt) {
		t.Errorf("missing directory: %v, want a plain error", err)
	}
}

// TestOpenFaults: an index on a failing disk reports the failure. A failed
// preallocation leaves the file as it was and maps nothing; a failed msync
// is Sync's error; both work once the disk recovers.
func TestOpenFaults(t *testing.T) {
	dir := t.TempDir()
	fs := fsys.NewFaulty(nil)
	path := filepath.Join(dir, "0.index")
	fs.Inject(fsys.Fault{Ops: fsys.OpAllocate, Err: syscall.ENOSPC})
	if _, err := index.OpenOffsetFS(fs, path, 0, 64); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("OpenOffsetFS on a full disk: %v, want ENOSPC", err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Size() != 0 {
		t.Fatalf("after a failed preallocation: %v, %v; want an empty file", fi, err)
	}
	fs.Inject(fsys.Fault{Ops: fsys.OpSync, Err: syscall.EIO, Path: fsys.PathSuffix(".timeindex")})
	x, err := index.OpenOffsetFS(fs, path, 0, 64)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	y, err := index.OpenTimeFS(fs, filepath.Join(dir, "0.timeindex"), 0, 48)
	if err != nil {
		t.Fatal(err)
	}
	defer y.Close()
	if err := x.Append(0, 0); err != nil {
		t.Fatal(err)
	}
	if err := y.Append(5, 0); err != nil {
		t.Fatal(err)
	}
	if err := x.Sync(); err != nil {
		t.Fatalf("offset index Sync under a .timeindex fault: %v", err)
	}
	if err := y.Sync(); !errors.Is(err, syscall.EIO) {
		t.Fatalf("time index Sync: %v, want EIO", err)
	}
	fs.Clear()
	if err := y.Sync(); err != nil {
		t.Fatal(err)
	}
	if e, ok, err := index.ReadLastTimeFS(fs, y.Path(), 0); err != nil || !ok || e.Timestamp != 5 {
		t.Fatalf("ReadLastTimeFS = %v, %v, %v", e, ok, err)
	}
}
