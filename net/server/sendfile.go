package server

import (
	"net"
	"os"

	"github.com/sluicelog/sluice/net/internal/sendfile"
)

// sendRegion writes n bytes of f from off to the connection with
// sendfile(2) (package sendfile).
func sendRegion(nc net.Conn, f *os.File, off, n int64) error {
	return sendfile.Send(nc, f, off, n)
}
