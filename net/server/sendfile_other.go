//go:build !linux

package server

import (
	"net"
	"os"
)

// sendRegion copies the region through a buffer where sendfile with an
// explicit offset is not available.
func sendRegion(nc net.Conn, f *os.File, off, n int64) error {
	return copyRegion(nc, f, off, n)
}
