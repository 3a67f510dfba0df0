//go:build !unix

package fsys

import (
	"errors"
	"fmt"
	"os"
	"runtime"
)

// Indexes need shared memory mappings; on platforms without the unix calls
// they cannot be opened, but the package still builds so that code above it
// can.

func mapFile(f *os.File, length int) ([]byte, error) {
	return nil, fmt.Errorf("memory-mapped index on %s: %w", runtime.GOOS, errors.ErrUnsupported)
}

func unmapFile(b []byte) error { return nil }

func syncMapping(b []byte) error { return errors.ErrUnsupported }
