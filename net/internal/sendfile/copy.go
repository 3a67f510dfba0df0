package sendfile

import (
	"fmt"
	"io"
	"net"
	"os"
)

// copyRegion is the portable way to send a file region: through a buffer,
// with ReadAt so the file's shared offset is never used.
func copyRegion(nc net.Conn, f *os.File, off, n int64) error {
	w, err := io.Copy(nc, io.NewSectionReader(f, off, n))
	if err == nil && w != n {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		return fmt.Errorf("copy region: %w", err)
	}
	return nil
}
