package index_test

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/sluicelog/sluice/index"
	"github.com/sluicelog/sluice/segment/fsys"
)

// fdsOn counts this process's descriptors open on a path under dir.
func fdsOn(t *testing.T, dir string) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	n := 0
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		if target, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name())); err == nil && strings.HasPrefix(target, dir) {
			n++
		}
	}
	return n
}

// TestIndexGrowsInChunks: a writable index's file is allocated a chunk
// ahead of its entries, not to maxBytes, holds no descriptor while open,
// and grows chunk by chunk up to maxBytes, where Append answers ErrFull.
func TestIndexGrowsInChunks(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "0.index")
	const maxBytes = 4 << 20
	x, err := index.OpenOffset(path, 0, maxBytes)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if n := fdsOn(t, dir); n != 0 {
		t.Fatalf("%d descriptors open on the index, want 0", n)
	}
	if got := fileSize(t, path); got != 64<<10 {
		t.Fatalf("new index file of %d bytes, want one 64 KiB chunk", got)
	}
	slots := maxBytes / index.OffsetEntrySize
	sizes := map[int64]bool{}
	for i := range slots {
		if err := x.Append(int64(i), int64(i)); err != nil {
			t.Fatalf("Append %d: %v", i, err)
		}
		size := fileSize(t, path)
		if size < int64(i+1)*index.OffsetEntrySize {
			t.Fatalf("entry %d stored past the file's end (%d bytes)", i, size)
		}
		sizes[size] = true
	}
	// 64 KiB, then doubling to 1 MiB steps: 64, 128, 256, 512 KiB, 1, 2,
	// 3, 4 MiB.
	if len(sizes) != 8 {
		t.Errorf("file grew through %d sizes, want 8: %v", len(sizes), sizes)
	}
	if !x.Full() {
		t.Fatal("Full after maxBytes of entries = false")
	}
	if err := x.Append(int64(slots), int64(slots)); err != index.ErrFull {
		t.Fatalf("Append past maxBytes = %v, want ErrFull", err)
	}
	if err := x.Reserve(10); err != nil {
		t.Fatalf("Reserve on a full index = %v, want nil (Append answers ErrFull)", err)
	}
	if n := fdsOn(t, dir); n != 0 {
		t.Fatalf("%d descriptors open after growing, want 0", n)
	}
	e := x.Lookup(int64(slots / 3))
	if e.Offset != int64(slots/3) || e.Position != int64(slots/3) {
		t.Fatalf("Lookup = %v", e)
	}
}

// TestIndexGrowFullDisk: when growing the file fails (a full disk), Append
// and Reserve return the error, store nothing past the file's end (which
// would be SIGBUS), keep the entries they had, and carry on once there is
// room.
func TestIndexGrowFullDisk(t *testing.T) {
	dir := t.TempDir()
	fs := fsys.NewFaulty(nil)
	path := filepath.Join(dir, "0.timeindex")
	x, err := index.OpenTimeFS(fs, path, 0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	chunk := (64 << 10) / index.TimeEntrySize
	for i := range chunk {
		if err := x.Append(int64(i+1), int64(i)); err != nil {
			t.Fatal(err)
		}
	}
	fs.Inject(fsys.Fault{Ops: fsys.OpAllocate, Err: syscall.ENOSPC})
	if err := x.Reserve(1); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Reserve on a full disk = %v, want ENOSPC", err)
	}
	if err := x.Append(int64(chunk+1), int64(chunk)); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Append on a full disk = %v, want ENOSPC", err)
	}
	if x.Entries() != chunk {
		t.Fatalf("Entries after failed growth = %d, want %d", x.Entries(), chunk)
	}
	if got := fileSize(t, path); got != int64(chunk*index.TimeEntrySize) {
		t.Fatalf("file of %d bytes after failed growth", got)
	}
	fs.Clear()
	if err := x.Reserve(1); err != nil {
		t.Fatal(err)
	}
	if err := x.Append(int64(chunk+1), int64(chunk)); err != nil {
		t.Fatal(err)
	}
	if last, ok := x.Last(); !ok || last.Timestamp != int64(chunk+1) {
		t.Fatalf("Last = %v, %v", last, ok)
	}
}

// TestIndexTrimLeavesReplacedFile: an index whose file was deleted and a
// new one made at its path (a segment cut away and created again, or
// replaced by the cleaner) trims nothing on Close: the new file is not its.
func TestIndexTrimLeavesReplacedFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "0.index")
	x, err := index.OpenOffset(path, 0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if err := x.Append(0, 0); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	newer := offsetBytes([2]uint32{1, 10}, [2]uint32{2, 20}, [2]uint32{3, 30})
	if err := os.WriteFile(path, newer, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := x.Close(); err != nil {
		t.Fatalf("Close over a replaced file: %v", err)
	}
	if got := fileSize(t, path); got != int64(len(newer)) {
		t.Fatalf("replacing file cut to %d bytes, want %d", got, len(newer))
	}

	// A deleted file, with nothing in its place: Close has nothing to do.
	y, err := index.OpenOffset(path, 0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := y.Close(); err != nil {
		t.Fatalf("Close over a deleted file: %v", err)
	}
}
