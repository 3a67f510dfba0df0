package sendfile

import (
	"fmt"
	"io"
	"net"
	"os"

	"golang.org/x/sys/unix"
)

// Send writes n bytes of f, starting at off, to the connection with
// sendfile(2): the bytes go from the page cache to the socket without
// entering Go's heap. The offset is explicit, never the file's shared one,
// so concurrent fetches of one segment do not race. When the socket is
// full the goroutine parks in the poller (returning false from the Write
// callback), so the connection's write deadline applies.
func Send(nc net.Conn, f *os.File, off, n int64) error {
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		return copyRegion(nc, f, off, n)
	}
	sock, err := tc.SyscallConn()
	if err != nil {
		return err
	}
	file, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var sendErr error
	ctlErr := file.Control(func(ffd uintptr) {
		werr := sock.Write(func(sfd uintptr) bool {
			for n > 0 {
				m, e := unix.Sendfile(int(sfd), int(ffd), &off, int(min(n, 1<<30)))
				if m > 0 {
					n -= int64(m)
				}
				switch {
				case e == unix.EAGAIN:
					return false
				case e == unix.EINTR:
				case e != nil:
					sendErr = fmt.Errorf("sendfile: %w", e)
					return true
				case m == 0:
					sendErr = fmt.Errorf("sendfile: file ended %d bytes early: %w", n, io.ErrUnexpectedEOF)
					return true
				}
			}
			return true
		})
		if sendErr == nil {
			sendErr = werr
		}
	})
	if ctlErr != nil {
		return ctlErr
	}
	return sendErr
}

// writeMore writes b with MSG_MORE: the kernel queues it for the bytes
// that follow instead of sending it at once. Like Send, it parks in the
// poller when the socket is full, so the write deadline applies.
func writeMore(nc net.Conn, b []byte) error {
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		_, err := nc.Write(b)
		return err
	}
	sock, err := tc.SyscallConn()
	if err != nil {
		return err
	}
	var sendErr error
	werr := sock.Write(func(sfd uintptr) bool {
		for len(b) > 0 {
			m, e := unix.SendmsgN(int(sfd), b, nil, nil, unix.MSG_MORE|unix.MSG_NOSIGNAL)
			if m > 0 {
				b = b[m:]
			}
			switch {
			case e == unix.EAGAIN:
				return false
			case e == unix.EINTR:
			case e != nil:
				sendErr = fmt.Errorf("send: %w", e)
				return true
			}
		}
		return true
	})
	if sendErr == nil {
		sendErr = werr
	}
	return sendErr
}
