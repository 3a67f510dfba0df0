package quorum

import (
	"errors"
	"net"
	"os"
	"time"
)

// aliveByDeadline is alive for connections without a file descriptor: a read
// that times out means no EOF (and no stray bytes) is waiting. The deadline
// must lie in the future, or the read fails before looking at the socket.
func aliveByDeadline(c net.Conn) bool {
	c.SetReadDeadline(time.Now().Add(time.Millisecond))
	var one [1]byte
	_, err := c.Read(one[:])
	c.SetReadDeadline(time.Time{})
	return errors.Is(err, os.ErrDeadlineExceeded)
}
