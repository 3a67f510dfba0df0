package sockbuf

import (
	"fmt"
	"net"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// OfPeer returns the buffer sizes (SO_SNDBUF, SO_RCVBUF, as the kernel
// reports them: twice what was set) of each of this process's TCP sockets
// whose peer is addr. It reads /proc/self/fd, so that a test can look at
// sockets it holds no handle to: a broker's end of a connection, or a
// client's connections.
func OfPeer(addr string) ([]Sizes, error) {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return nil, err
	}
	var out []Sizes
	for _, e := range ents {
		fd, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE); err != nil || st != unix.SOCK_STREAM {
			continue // not a socket, or closed since the listing
		}
		sa, err := unix.Getpeername(fd)
		if err != nil {
			continue
		}
		in4, ok := sa.(*unix.SockaddrInet4)
		if !ok || (&net.TCPAddr{IP: net.IP(in4.Addr[:]), Port: in4.Port}).String() != addr {
			continue
		}
		send, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF)
		if err != nil {
			return nil, fmt.Errorf("fd %d: SO_SNDBUF: %w", fd, err)
		}
		recv, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF)
		if err != nil {
			return nil, fmt.Errorf("fd %d: SO_RCVBUF: %w", fd, err)
		}
		out = append(out, Sizes{Send: send, Receive: recv})
	}
	return out, nil
}
