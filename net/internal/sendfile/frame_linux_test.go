package sendfile

import (
	"io"
	"net"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func dataSegsOut(t *testing.T, c *net.TCPConn) uint32 {
	t.Helper()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var info *unix.TCPInfo
	var gerr error
	rc.Control(func(fd uintptr) { info, gerr = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO) })
	if gerr != nil {
		t.Skipf("TCP_INFO: %v", gerr)
	}
	return info.Data_segs_out
}

// TestWriteFrameOneSegment: a frame's framing leaves in the same TCP
// segment as the records after it, not in a small segment of its own
// (the writer sets TCP_NODELAY, as both listeners' connections have it).
func TestWriteFrameOneSegment(t *testing.T) {
	file := make([]byte, 4096)
	f := tempFile(t, file)
	w, r := pair(t)
	w.SetNoDelay(true)
	const frames = 20
	before := dataSegsOut(t, w)
	buf := make([]byte, 40+1000)
	for range frames {
		if err := WriteFrame(w, make([]byte, 40), []int{40}, func(int) Region { return Region{f, 0, 1000} }); err != nil {
			t.Fatal(err)
		}
		// Wait for each frame, so no two frames can share a segment.
		r.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.ReadFull(r, buf); err != nil {
			t.Fatal(err)
		}
	}
	if segs := dataSegsOut(t, w) - before; segs != frames {
		t.Errorf("%d frames of 40 + 1000 bytes left in %d data segments, want one each", frames, segs)
	}
}
