package enginebench

import (
	"os"

	"golang.org/x/sys/unix"
)

// fdatasync flushes f's data and the metadata needed to read it back, as the
// engine's segments do.
func fdatasync(f *os.File) error {
	for {
		err := unix.Fdatasync(int(f.Fd()))
		if err != unix.EINTR {
			return err
		}
	}
}

// syncAll asks the kernel to write back every dirty page (sync(2)), so a
// timed run does not pay for an earlier one's writeback.
func syncAll() { unix.Sync() }
