package sockbuf

import (
	"net"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// sockopt reads an int socket option of c.
func sockopt(t *testing.T, c *net.TCPConn, opt int) int {
	t.Helper()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var v int
	var gerr error
	rc.Control(func(fd uintptr) { v, gerr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, opt) })
	if gerr != nil {
		t.Fatal(gerr)
	}
	return v
}

func dialPair(t *testing.T) *net.TCPConn {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		if c, err := ln.Accept(); err == nil {
			t.Cleanup(func() { c.Close() })
		}
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c.(*net.TCPConn)
}

func TestApplyFixesBuffers(t *testing.T) {
	c := dialPair(t)
	if err := (Sizes{Send: 96 << 10, Receive: 80 << 10}).Apply(c); err != nil {
		t.Fatal(err)
	}
	// Linux doubles the size asked for (bookkeeping overhead) and
	// reports the doubled figure.
	if got := sockopt(t, c, unix.SO_SNDBUF); got != 2*96<<10 {
		t.Errorf("SO_SNDBUF %d, want %d", got, 2*96<<10)
	}
	if got := sockopt(t, c, unix.SO_RCVBUF); got != 2*80<<10 {
		t.Errorf("SO_RCVBUF %d, want %d", got, 2*80<<10)
	}
}

func TestApplyLeavesDefaults(t *testing.T) {
	c := dialPair(t)
	send, recv := sockopt(t, c, unix.SO_SNDBUF), sockopt(t, c, unix.SO_RCVBUF)
	for _, s := range []Sizes{{}, {Send: -1, Receive: -1}} {
		if err := s.Apply(c); err != nil {
			t.Fatal(err)
		}
		if gs, gr := sockopt(t, c, unix.SO_SNDBUF), sockopt(t, c, unix.SO_RCVBUF); gs != send || gr != recv {
			t.Errorf("%+v changed the buffers from %d/%d to %d/%d", s, send, recv, gs, gr)
		}
	}
}

// TestOfPeer: both ends of a connection are found by their peers, with the
// sizes set on them, and an address nobody is connected to finds nothing.
func TestOfPeer(t *testing.T) {
	c := dialPair(t)
	if err := (Sizes{Send: 96 << 10, Receive: 80 << 10}).Apply(c); err != nil {
		t.Fatal(err)
	}
	mine, err := OfPeer(c.RemoteAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	if len(mine) != 1 || mine[0] != (Sizes{Send: 2 * 96 << 10, Receive: 2 * 80 << 10}) {
		t.Errorf("OfPeer(%s) = %+v, want the dialled socket with its sizes", c.RemoteAddr(), mine)
	}
	var theirs []Sizes
	for deadline := time.Now().Add(10 * time.Second); len(theirs) == 0 && time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if theirs, err = OfPeer(c.LocalAddr().String()); err != nil {
			t.Fatal(err)
		}
	}
	if len(theirs) != 1 {
		t.Errorf("OfPeer(%s) = %+v, want the accepted socket", c.LocalAddr(), theirs)
	}
	if none, err := OfPeer("127.0.0.1:1"); err != nil || len(none) != 0 {
		t.Errorf("OfPeer of an address nobody is connected to = %+v, %v", none, err)
	}
}
