//go:build !linux

package segment

import "os"

// fdatasync falls back to fsync where fdatasync is not offered.
func fdatasync(f *os.File) error { return f.Sync() }
