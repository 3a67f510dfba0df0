package fsys

import "os"

// OS is the real file system. Its zero value is ready to use, and it is
// what segment and index use when given no FS.
type OS struct{}

// OpenFile opens the named file with os.OpenFile.
func (OS) OpenFile(name string, flag int, perm os.FileMode) (File, error) {
	f, err := os.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return (*osFile)(f), nil
}

// Remove removes the named file with os.Remove.
func (OS) Remove(name string) error { return os.Remove(name) }

// Stat describes the named file with os.Stat.
func (OS) Stat(name string) (os.FileInfo, error) { return os.Stat(name) }

// Truncate is os.Truncate.
func (OS) Truncate(name string, size int64) error { return os.Truncate(name, size) }

// osFile is an *os.File under another type: converting between the two
// costs nothing, and a pointer fits an interface without an allocation.
type osFile os.File

func (f *osFile) OS() *os.File                             { return (*os.File)(f) }
func (f *osFile) ReadAt(b []byte, off int64) (int, error)  { return f.OS().ReadAt(b, off) }
func (f *osFile) WriteAt(b []byte, off int64) (int, error) { return f.OS().WriteAt(b, off) }
func (f *osFile) Truncate(size int64) error                { return f.OS().Truncate(size) }
func (f *osFile) Stat() (os.FileInfo, error)               { return f.OS().Stat() }
func (f *osFile) Close() error                             { return f.OS().Close() }
func (f *osFile) Allocate(size int64) error                { return allocate(f.OS(), size) }
func (f *osFile) Datasync() error                          { return datasync(f.OS()) }
func (f *osFile) Map(length int) ([]byte, error)           { return mapFile(f.OS(), length) }
func (f *osFile) Unmap(b []byte) error                     { return unmapFile(b) }
func (f *osFile) SyncMap(b []byte) error                   { return syncMapping(b) }
