package connset

import (
	"context"
	"io"
	"log/slog"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicelog/sluice/net/internal/sockbuf"
)

// echoConn serves a connection by copying what it reads back until the
// peer closes it or StopReading is called.
type echoConn struct {
	set     *Set
	nc      net.Conn
	stopped atomic.Bool
}

func (c *echoConn) Serve() {
	buf := make([]byte, 64)
	for !c.stopped.Load() {
		c.nc.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		n, err := c.nc.Read(buf)
		if n > 0 {
			c.nc.Write(buf[:n])
		}
		if err != nil && !isTimeout(err) {
			break
		}
	}
	c.set.Release(c)
	c.nc.Close()
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

func (c *echoConn) StopReading() { c.stopped.Store(true) }
func (c *echoConn) Close() error { return c.nc.Close() }

func start(t *testing.T, max int) (*Set, net.Listener, chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := New(max, sockbuf.Sizes{}, slog.New(slog.DiscardHandler))
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln, func(nc net.Conn) Conn { return &echoConn{set: s, nc: nc} }) }()
	return s, ln, done
}

// echoes reports whether a connection answers, within a deadline.
func echoes(t *testing.T, nc net.Conn) bool {
	t.Helper()
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := nc.Write([]byte("ping")); err != nil {
		return false
	}
	buf := make([]byte, 4)
	_, err := io.ReadFull(nc, buf)
	return err == nil && string(buf) == "ping"
}

func dial(t *testing.T, ln net.Listener) net.Conn {
	t.Helper()
	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return nc
}

// TestLimitAndRelease: a connection over the limit is closed; once one
// closes, its slot is free for the next at once.
func TestLimitAndRelease(t *testing.T) {
	s, ln, done := start(t, 2)
	a, b := dial(t, ln), dial(t, ln)
	if !echoes(t, a) || !echoes(t, b) {
		t.Fatal("the first two connections are not served")
	}
	if over := dial(t, ln); echoes(t, over) {
		t.Fatal("a third connection was served past the limit of 2")
	}
	a.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c := dial(t, ln); echoes(t, c) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the closed connection's slot never came back")
		}
	}
	if err := s.Shutdown(context.Background(), ln); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Serve after Shutdown: %v", err)
	}
	if err := s.Shutdown(context.Background(), ln); err != nil {
		t.Fatalf("second Shutdown: %v", err)
	}
}

// stuckConn never finishes by itself: only Close ends it.
type stuckConn struct {
	nc     net.Conn
	closed chan struct{}
	// serving, when set, hears that Serve began: the set holds the
	// connection from then on (newConn runs before it is registered).
	serving chan<- struct{}
}

func (c *stuckConn) Serve() {
	if c.serving != nil {
		c.serving <- struct{}{}
	}
	<-c.closed
}
func (c *stuckConn) StopReading() {}
func (c *stuckConn) Close() error { close(c.closed); return c.nc.Close() }

// TestShutdownDeadline: connections that do not drain are closed when the
// context ends.
func TestShutdownDeadline(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := New(10, sockbuf.Sizes{}, slog.New(slog.DiscardHandler))
	served := make(chan struct{}, 1)
	go s.Serve(ln, func(nc net.Conn) Conn {
		return &stuckConn{nc: nc, closed: make(chan struct{}), serving: served}
	})
	dial(t, ln)
	<-served
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := s.Shutdown(ctx, ln); err != context.DeadlineExceeded {
		t.Fatalf("Shutdown of a stuck connection: %v", err)
	}
}
