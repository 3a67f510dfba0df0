package fsys_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"

	"github.com/sluicelog/sluice/segment/fsys"
)

func openRW(t *testing.T, fs fsys.FS, name string) fsys.File {
	t.Helper()
	f, err := fs.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestOS(t *testing.T) {
	dir := t.TempDir()
	var fs fsys.FS = fsys.OS{}
	name := filepath.Join(dir, "a")
	f := openRW(t, fs, name)
	if _, err := f.WriteAt([]byte("hello"), 3); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 8)
	if n, err := f.ReadAt(buf, 0); n != 8 || err != nil || !bytes.Equal(buf, []byte("\x00\x00\x00hello")) {
		t.Fatalf("ReadAt = %d, %v, %q", n, err, buf)
	}
	if err := f.Datasync(); err != nil {
		t.Fatal(err)
	}
	if err := f.Allocate(4096); err != nil {
		t.Fatal(err)
	}
	if fi, err := f.Stat(); err != nil || fi.Size() != 4096 {
		t.Fatalf("Stat after Allocate: %v, %v", fi, err)
	}
	m, err := f.Map(4096)
	if err != nil {
		t.Fatal(err)
	}
	copy(m[100:], "mapped")
	if err := f.SyncMap(m); err != nil {
		t.Fatal(err)
	}
	if err := f.Unmap(m); err != nil {
		t.Fatal(err)
	}
	if _, err := f.OS().ReadAt(buf[:6], 100); err != nil || string(buf[:6]) != "mapped" {
		t.Fatalf("read through OS(): %q, %v", buf[:6], err)
	}
	if err := f.Truncate(5); err != nil {
		t.Fatal(err)
	}
	if fi, err := fs.Stat(name); err != nil || fi.Size() != 5 {
		t.Fatalf("Stat after Truncate: %v, %v", fi, err)
	}
	if err := fs.Remove(name); err != nil {
		t.Fatal(err)
	}
	if _, err := fs.Stat(name); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Stat after Remove: %v", err)
	}
	if f, err := fs.OpenFile(name, os.O_RDWR, 0); err == nil || f != nil {
		t.Fatalf("OpenFile of a missing file: %v, %v; want a nil File and an error", f, err)
	}
}

// TestOSAllocs: the real FS adds no allocation to the calls on the append
// and flush paths.
func TestOSAllocs(t *testing.T) {
	f := openRW(t, fsys.OS{}, filepath.Join(t.TempDir(), "a"))
	buf := make([]byte, 4096)
	off := int64(0)
	if n := testing.AllocsPerRun(100, func() {
		if _, err := f.WriteAt(buf, off); err != nil {
			t.Fatal(err)
		}
		off += int64(len(buf))
	}); n != 0 {
		t.Errorf("WriteAt allocates %.1f times", n)
	}
	if n := testing.AllocsPerRun(100, func() {
		if err := f.Truncate(off / 2); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("Truncate allocates %.1f times", n)
	}
}

func TestFaultyWrites(t *testing.T) {
	dir := t.TempDir()
	fs := fsys.NewFaulty(nil)
	log := openRW(t, fs, filepath.Join(dir, "x.log"))
	idx := openRW(t, fs, filepath.Join(dir, "x.index"))
	// The third write to a .log fails, twice; .index files are left alone.
	fs.Inject(fsys.Fault{Ops: fsys.OpWrite, Err: syscall.ENOSPC, Path: fsys.PathSuffix(".log"), After: 2, Times: 2})
	var errs []error
	for i := range 6 {
		_, err := log.WriteAt([]byte("abcd"), int64(4*i))
		errs = append(errs, err)
		if _, err := idx.WriteAt([]byte("abcd"), int64(4*i)); err != nil {
			t.Fatalf("write %d to the index: %v", i, err)
		}
	}
	for i, err := range errs {
		if fail := i == 2 || i == 3; fail != (err != nil) || (fail && !errors.Is(err, syscall.ENOSPC)) {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	var pe *os.PathError
	if !errors.As(errs[2], &pe) || pe.Op != "write" || filepath.Base(pe.Path) != "x.log" {
		t.Fatalf("injected error %#v, want a PathError naming the write and the file", errs[2])
	}
	if got := fs.Failed(); got != 2 {
		t.Fatalf("Failed() = %d, want 2", got)
	}

	// A short write writes a prefix, reports it, and fails.
	fs.Inject(fsys.Fault{Ops: fsys.OpWrite, Err: syscall.EIO, Short: 3})
	n, err := log.WriteAt([]byte("WXYZ"), 0)
	if n != 3 || !errors.Is(err, syscall.EIO) {
		t.Fatalf("short write = %d, %v; want 3 and EIO", n, err)
	}
	// Never the whole buffer, however large Short is.
	fs.Inject(fsys.Fault{Ops: fsys.OpWrite, Err: syscall.EIO, Short: 100})
	if n, err := log.WriteAt([]byte("12"), 4); n != 1 || err == nil {
		t.Fatalf("short write of 2 bytes = %d, %v; want 1 and an error", n, err)
	}
	fs.Clear()
	buf := make([]byte, 6)
	if _, err := log.ReadAt(buf, 0); err != nil || string(buf) != "WXYd1b" {
		t.Fatalf("after short writes: %q, %v", buf, err)
	}
}

func TestFaultyOps(t *testing.T) {
	dir := t.TempDir()
	fs := fsys.NewFaulty(fsys.OS{})
	name := filepath.Join(dir, "f")
	f := openRW(t, fs, name)
	for _, c := range []struct {
		op  fsys.Op
		run func() error
	}{
		{fsys.OpTruncate, func() error { return f.Truncate(10) }},
		{fsys.OpAllocate, func() error { return f.Allocate(4096) }},
		{fsys.OpSync, f.Datasync},
		{fsys.OpMap, func() error { _, err := f.Map(4096); return err }},
		{fsys.OpOpen, func() error { _, err := fs.OpenFile(filepath.Join(dir, "g"), os.O_RDWR|os.O_CREATE, 0o644); return err }},
		{fsys.OpRemove, func() error { return fs.Remove(filepath.Join(dir, "nothing")) }},
	} {
		fs.Inject(fsys.Fault{Ops: c.op, Err: syscall.EIO})
		if err := c.run(); !errors.Is(err, syscall.EIO) {
			t.Fatalf("%v with a fault: %v, want EIO", c.op, err)
		}
		// Other operations are untouched.
		if _, err := f.WriteAt([]byte("x"), 0); err != nil {
			t.Fatalf("write during a %v fault: %v", c.op, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "g")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a failed open created the file: %v", err)
	}
	fs.Inject(fsys.Fault{Ops: fsys.OpSync, Err: syscall.EIO})
	b, err := f.Map(4096)
	if err != nil {
		t.Fatalf("Map with only a sync fault: %v", err)
	}
	if err := f.SyncMap(b); !errors.Is(err, syscall.EIO) {
		t.Fatalf("SyncMap with a sync fault: %v", err)
	}
	fs.Clear()
	if err := f.SyncMap(b); err != nil {
		t.Fatal(err)
	}
	if err := f.Unmap(b); err != nil {
		t.Fatal(err)
	}
	if f.OS() == nil {
		t.Fatal("a Faulty file has no *os.File")
	}
}

// TestFaultyConcurrent switches faults while writers run; run with -race.
func TestFaultyConcurrent(t *testing.T) {
	fs := fsys.NewFaulty(nil)
	f := openRW(t, fs, filepath.Join(t.TempDir(), "f"))
	var wg sync.WaitGroup
	var failures [4]int64
	for w := range 4 {
		wg.Go(func() {
			for i := range 2000 {
				if _, err := f.WriteAt([]byte{byte(i)}, int64(w)); err != nil {
					failures[w]++
				}
			}
		})
	}
	for i := range 200 {
		if i%2 == 0 {
			fs.Inject(fsys.Fault{Ops: fsys.OpWrite, Err: syscall.ENOSPC, After: int64(i % 7), Times: 3})
		} else {
			fs.Clear()
		}
	}
	wg.Wait()
	var sum int64
	for _, n := range failures {
		sum += n
	}
	if sum != fs.Failed() {
		t.Fatalf("writers saw %d failures, Faulty counted %d", sum, fs.Failed())
	}
}
