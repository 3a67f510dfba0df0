//go:build !linux

package fsys

import "os"

// allocate grows f to size bytes. Without fallocate the file is sparse,
// so a store into an unbacked page of the mapping can still fault on a full
// disk; Linux, where the broker runs in production, reserves the blocks.
func allocate(f *os.File, size int64) error {
	return f.Truncate(size)
}
