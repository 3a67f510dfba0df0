package sendfile

import (
	"bytes"
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
// (the writer sets TCP_NODELAY, as both listeners' connections have it),
// whether the records are gathered (a small region) or sent with
// sendfile (a large one).
func TestWriteFrameOneSegment(t *testing.T) {
	file := make([]byte, 64<<10)
	f := tempFile(t, file)
	for _, size := range []int64{1000, 17 << 10} {
		w, r := pair(t)
		w.SetNoDelay(true)
		var fw Writer
		const frames = 20
		before := dataSegsOut(t, w)
		buf := make([]byte, 40+size)
		for range frames {
			if err := fw.WriteFrame(w, make([]byte, 40), []int{40}, func(int) Region { return Region{f, 0, size} }); err != nil {
				t.Fatal(err)
			}
			// Wait for each frame, so no two frames can share a segment.
			r.SetReadDeadline(time.Now().Add(10 * time.Second))
			if _, err := io.ReadFull(r, buf); err != nil {
				t.Fatal(err)
			}
		}
		if segs := dataSegsOut(t, w) - before; segs != frames {
			t.Errorf("%d frames of 40 + %d bytes left in %d data segments, want one each", frames, size, segs)
		}
	}
}

// TestWriteFrameGathersSmallRegions: a frame of a thousand small regions,
// a fetch across a thousand partitions with a record each, leaves in a
// few segments (one write of them all), not one or two per region.
func TestWriteFrameGathersSmallRegions(t *testing.T) {
	file := make([]byte, 100<<10)
	for i := range file {
		file[i] = byte(i)
	}
	f := tempFile(t, file)
	w, r := pair(t)
	w.SetNoDelay(true)
	const n = 1000
	frame := make([]byte, 20*n)
	for i := range frame {
		frame[i] = byte(i * 13)
	}
	at := make([]int, n)
	for i := range at {
		at[i] = 20 * i
	}
	var want []byte
	prev := 0
	for i, cut := range at {
		want = append(want, frame[prev:cut]...)
		want = append(want, file[100*i:100*i+100]...)
		prev = cut
	}
	want = append(want, frame[prev:]...)
	before := dataSegsOut(t, w)
	errc := make(chan error, 1)
	go func() {
		var fw Writer
		errc <- fw.WriteFrame(w, frame, at, func(i int) Region { return Region{f, int64(100 * i), 100} })
	}()
	got := make([]byte, len(want))
	r.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(r, got); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("the bytes received differ from the frame and regions sent")
	}
	if segs := dataSegsOut(t, w) - before; segs > 8 {
		t.Errorf("a frame of %d regions of 100 bytes left in %d data segments, want a few", n, segs)
	}
}
