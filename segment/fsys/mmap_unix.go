//go:build unix

package fsys

import (
	"os"

	"golang.org/x/sys/unix"
)

// mapFile maps the first length bytes of f shared and read-write, so stores
// reach the page cache (and the file) without write calls. length may exceed
// the file's size as long as nothing touches the part past its end.
func mapFile(f *os.File, length int) ([]byte, error) {
	return unix.Mmap(int(f.Fd()), 0, length, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
}

// unmapFile releases a mapping made by mapFile.
func unmapFile(b []byte) error {
	return unix.Munmap(b)
}

// syncMapping writes the mapping's dirty pages to the file and waits for it.
func syncMapping(b []byte) error {
	return unix.Msync(b, unix.MS_SYNC)
}
