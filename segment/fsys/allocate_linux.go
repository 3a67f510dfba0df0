package fsys

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// allocate grows f to size bytes with blocks reserved on disk, so later
// stores into a mapping of it cannot fault for lack of space. File systems
// that cannot reserve blocks (EOPNOTSUPP) get a sparse file instead: an
// index still works, it just loses that guarantee.
func allocate(f *os.File, size int64) error {
	for {
		err := unix.Fallocate(int(f.Fd()), 0, 0, size)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.EOPNOTSUPP), errors.Is(err, unix.ENOTSUP):
			return f.Truncate(size)
		default:
			return &os.PathError{Op: "fallocate", Path: f.Name(), Err: err}
		}
	}
}
