package fsys

import (
	"io"
	"os"
)

// FS is the file system as segment and index use it: by path.
type FS interface {
	// OpenFile opens the named file as os.OpenFile does.
	OpenFile(name string, flag int, perm os.FileMode) (File, error)
	// Remove removes the named file.
	Remove(name string) error
	// Stat describes the named file.
	Stat(name string) (os.FileInfo, error)
	// Truncate changes the named file's size without opening it: what
	// gives an index's file back its unused end needs no descriptor, so
	// that parking a segment frees descriptors even when none is left.
	Truncate(name string, size int64) error
}

// File is an open file. See the package documentation for which calls go
// through it and which through the *os.File from OS.
type File interface {
	io.ReaderAt
	io.WriterAt
	// Truncate changes the file's size.
	Truncate(size int64) error
	// Allocate grows the file to size bytes with blocks reserved on disk
	// (fallocate), so that later writes, or stores into a mapping of it,
	// cannot fail for want of space. Where the file system cannot reserve
	// blocks, the file is grown sparse instead.
	Allocate(size int64) error
	// Stat describes the file.
	Stat() (os.FileInfo, error)
	// Datasync makes the file's data durable, with the metadata needed to
	// read it back (fdatasync; fsync where there is none).
	Datasync() error
	// Close closes the file.
	Close() error

	// Map maps the first length bytes of the file shared and read-write;
	// length may exceed the file's size as long as nothing touches the part
	// past its end.
	Map(length int) ([]byte, error)
	// Unmap releases a mapping made by Map.
	Unmap(b []byte) error
	// SyncMap writes a mapping's dirty pages to the file and waits (msync).
	SyncMap(b []byte) error

	// OS returns the *os.File under the File, for reads and sendfile.
	OS() *os.File
}
