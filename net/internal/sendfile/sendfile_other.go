//go:build !linux

package sendfile

import (
	"net"
	"os"
)

// Send copies the region through a buffer where sendfile with an
// explicit offset is not available.
func Send(nc net.Conn, f *os.File, off, n int64) error {
	return copyRegion(nc, f, off, n)
}

// writeMore is a plain write where MSG_MORE is not available.
func writeMore(nc net.Conn, b []byte) error {
	_, err := nc.Write(b)
	return err
}
