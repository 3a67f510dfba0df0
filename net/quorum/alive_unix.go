//go:build unix

package quorum

import (
	"errors"
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// alive reports whether an idle pooled connection is still open, by peeking
// without blocking: a peer that closed it (a leader that restarted since it
// was pooled) has left an EOF to read. Checking before a proposal is sent
// keeps a dead socket from making the proposal's outcome unknown.
func alive(c net.Conn) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return aliveByDeadline(c)
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	up := false
	err = rc.Read(func(fd uintptr) bool {
		var b [1]byte
		n, _, err := unix.Recvfrom(int(fd), b[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
		// Nothing to read is the healthy idle state; stray bytes or EOF are not.
		up = n < 0 && (errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EWOULDBLOCK))
		return true
	})
	return err == nil && up
}
