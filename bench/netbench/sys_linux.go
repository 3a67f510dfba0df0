package netbench

import (
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// tcpCounters are the kernel's byte counts for one TCP connection.
type tcpCounters struct {
	Acked    uint64 // bytes sent and acknowledged by the peer
	Received uint64 // bytes received
}

// tcpCountersSupported says whether connCounters works here.
const tcpCountersSupported = true

// connCounters returns the kernel's counters (TCP_INFO) of every TCP socket
// of this process connected to peer, keyed by socket inode. It only reads:
// the sockets belong to the client library, which keeps using them.
func connCounters(peer netip.AddrPort) (map[string]tcpCounters, error) {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return nil, err
	}
	out := map[string]tcpCounters{}
	for _, e := range ents {
		link, err := os.Readlink("/proc/self/fd/" + e.Name())
		if err != nil || !strings.HasPrefix(link, "socket:[") {
			continue
		}
		fd, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		sa, err := unix.Getpeername(fd)
		if err != nil {
			continue
		}
		if !samePeer(sa, peer) {
			continue
		}
		info, err := unix.GetsockoptTCPInfo(fd, unix.IPPROTO_TCP, unix.TCP_INFO)
		if err != nil {
			continue
		}
		// The fd may have been closed and reused meanwhile: keep the
		// numbers only if it is still the same socket.
		if again, err := os.Readlink("/proc/self/fd/" + e.Name()); err != nil || again != link {
			continue
		}
		out[link] = tcpCounters{Acked: info.Bytes_acked, Received: info.Bytes_received}
	}
	return out, nil
}

func samePeer(sa unix.Sockaddr, peer netip.AddrPort) bool {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return a.Port == int(peer.Port()) && netip.AddrFrom4(a.Addr) == peer.Addr().Unmap()
	case *unix.SockaddrInet6:
		return a.Port == int(peer.Port()) && netip.AddrFrom16(a.Addr).Unmap() == peer.Addr().Unmap()
	}
	return false
}

// freeBytes is the space available to an unprivileged user in dir's file
// system, or -1 if unknown.
func freeBytes(dir string) int64 {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return -1
	}
	return int64(st.Bavail) * int64(st.Bsize)
}

// dieWithParent makes the child get sig if this process dies first, so an
// interrupted run leaves no broker or helper behind.
func dieWithParent(cmd *exec.Cmd, sig syscall.Signal) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: sig}
}
