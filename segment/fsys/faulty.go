package fsys

import (
	"os"
	"strings"
	"sync/atomic"
)

// Op is a set of file operations a Fault applies to.
type Op uint16

// The operations a Fault can fail.
const (
	OpOpen     Op = 1 << iota // FS.OpenFile
	OpRemove                  // FS.Remove
	OpWrite                   // File.WriteAt
	OpTruncate                // File.Truncate
	OpAllocate                // File.Allocate
	OpSync                    // File.Datasync and File.SyncMap
	OpMap                     // File.Map
)

var opNames = [...]string{"open", "remove", "write", "truncate", "fallocate", "sync", "mmap"}

// String names the operation for the errors Faulty returns.
func (op Op) String() string {
	for i, name := range opNames {
		if op == 1<<i {
			return name
		}
	}
	return "op"
}

// Fault describes which operations fail and how. The zero Fault fails
// nothing.
type Fault struct {
	// Ops is the set of operations that fail.
	Ops Op
	// Err is the error they fail with, such as syscall.ENOSPC or
	// syscall.EIO; it reaches the caller inside an *os.PathError.
	Err error
	// Path, when set, limits the fault to files whose path it accepts
	// (the path they were opened with).
	Path func(path string) bool
	// After is how many matching operations still succeed before the
	// first failure: After 2 fails the third write.
	After int64
	// Times is how many operations fail, after which the fault lets
	// everything through again; 0 fails every matching one until the
	// fault is replaced or cleared.
	Times int64
	// Short makes a failing write first write this many bytes (at most
	// one fewer than asked) and report them, as a write that ran out of
	// disk midway does. 0 writes nothing.
	Short int
}

// PathSuffix returns a Fault.Path that accepts the paths ending in suffix,
// such as ".log" or ".index".
func PathSuffix(suffix string) func(path string) bool {
	return func(path string) bool { return strings.HasSuffix(path, suffix) }
}

// fault is an injected Fault with its counters.
type fault struct {
	Fault
	seen atomic.Int64 // matching operations so far
}

// Faulty is an FS that passes every call to another FS, failing the ones
// its current Fault selects. Inject and Clear switch faults at any time,
// from any goroutine, while files are in use; each operation looks at the
// fault once, atomically. Files opened before Inject are subject to it.
type Faulty struct {
	fs     FS
	cur    atomic.Pointer[fault]
	failed atomic.Int64
}

// NewFaulty returns a Faulty over fs (OS{} when nil) with no fault.
func NewFaulty(fs FS) *Faulty {
	if fs == nil {
		fs = OS{}
	}
	return &Faulty{fs: fs}
}

// Inject makes ft the current fault, replacing any other, with its
// counters at zero.
func (f *Faulty) Inject(ft Fault) { f.cur.Store(&fault{Fault: ft}) }

// Clear removes the current fault: every operation succeeds again, as far
// as the FS underneath lets it.
func (f *Faulty) Clear() { f.cur.Store(nil) }

// Failed returns how many operations the faults failed so far.
func (f *Faulty) Failed() int64 { return f.failed.Load() }

// check decides whether op on path fails now: it returns the error to
// report (and, for a write, how many bytes to write first), or nil.
func (f *Faulty) check(op Op, path string) (short int, err error) {
	ft := f.cur.Load()
	if ft == nil || ft.Ops&op == 0 || (ft.Path != nil && !ft.Path(path)) {
		return 0, nil
	}
	n := ft.seen.Add(1)
	if n <= ft.After || (ft.Times > 0 && n > ft.After+ft.Times) {
		return 0, nil
	}
	f.failed.Add(1)
	return ft.Short, &os.PathError{Op: op.String(), Path: path, Err: ft.Err}
}

// OpenFile opens the file on the FS underneath, unless an OpOpen fault
// fails it.
func (f *Faulty) OpenFile(name string, flag int, perm os.FileMode) (File, error) {
	if _, err := f.check(OpOpen, name); err != nil {
		return nil, err
	}
	file, err := f.fs.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return &faultyFile{File: file, fs: f, name: name}, nil
}

// Remove removes the file on the FS underneath, unless an OpRemove fault
// fails it.
func (f *Faulty) Remove(name string) error {
	if _, err := f.check(OpRemove, name); err != nil {
		return err
	}
	return f.fs.Remove(name)
}

// Truncate truncates the file on the FS underneath, unless an OpTruncate
// fault fails it.
func (f *Faulty) Truncate(name string, size int64) error {
	if _, err := f.check(OpTruncate, name); err != nil {
		return err
	}
	return f.fs.Truncate(name, size)
}

// Stat is the FS underneath's; it never fails by a fault.
func (f *Faulty) Stat(name string) (os.FileInfo, error) { return f.fs.Stat(name) }

// faultyFile is a File of a Faulty: the calls a Fault may select check it
// first; the others (ReadAt, Stat, Close, Unmap, OS) pass straight through.
type faultyFile struct {
	File
	fs   *Faulty
	name string
}

func (f *faultyFile) WriteAt(b []byte, off int64) (int, error) {
	short, err := f.fs.check(OpWrite, f.name)
	if err == nil {
		return f.File.WriteAt(b, off)
	}
	if short = min(short, len(b)-1); short > 0 {
		n, werr := f.File.WriteAt(b[:short], off)
		if werr != nil {
			return n, werr
		}
		return n, err
	}
	return 0, err
}

func (f *faultyFile) Truncate(size int64) error {
	if _, err := f.fs.check(OpTruncate, f.name); err != nil {
		return err
	}
	return f.File.Truncate(size)
}

func (f *faultyFile) Allocate(size int64) error {
	if _, err := f.fs.check(OpAllocate, f.name); err != nil {
		return err
	}
	return f.File.Allocate(size)
}

func (f *faultyFile) Datasync() error {
	if _, err := f.fs.check(OpSync, f.name); err != nil {
		return err
	}
	return f.File.Datasync()
}

func (f *faultyFile) SyncMap(b []byte) error {
	if _, err := f.fs.check(OpSync, f.name); err != nil {
		return err
	}
	return f.File.SyncMap(b)
}

func (f *faultyFile) Map(length int) ([]byte, error) {
	if _, err := f.fs.check(OpMap, f.name); err != nil {
		return nil, err
	}
	return f.File.Map(length)
}
