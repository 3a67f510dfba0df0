package ops

import (
	"errors"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"
)

// fakeConn is one end of a pipe that records its Close.
type fakeConn struct {
	net.Conn
	name   string
	closed bool
}

func (c *fakeConn) Close() error {
	c.closed = true
	return c.Conn.Close()
}

func newFakeConn(t *testing.T, name string) *fakeConn {
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	return &fakeConn{Conn: a, name: name}
}

// TestLimiter drives the limiter's state machine by hand: admissions,
// the http.Server's state changes, closes.
func TestLimiter(t *testing.T) {
	l := newLimiter(2, slog.New(slog.DiscardHandler))
	check := func(wantOpen, wantWaiting int) {
		t.Helper()
		if open, waiting := l.stats(); open != wantOpen || waiting != wantWaiting {
			t.Fatalf("open %d waiting %d, want %d %d", open, waiting, wantOpen, wantWaiting)
		}
	}
	admit := func(name string) (*fakeConn, net.Conn) {
		t.Helper()
		fc := newFakeConn(t, name)
		return fc, l.admit(fc)
	}

	a, ca := admit("a")
	b, cb := admit("b")
	if ca == nil || cb == nil {
		t.Fatal("refused under the cap")
	}
	check(2, 2)
	l.connState(ca, http.StateNew)
	l.connState(ca, http.StateActive) // a is in a request

	// Full: c displaces b, the one waiting longest (a is busy).
	c, cc := admit("c")
	if cc == nil || !b.closed || a.closed || c.closed {
		t.Fatalf("admitted %v; closed a %v b %v c %v: want c in, b out", cc != nil, a.closed, b.closed, c.closed)
	}
	check(2, 1)
	// The server notices b's close later; that changes nothing.
	l.connState(cb, http.StateActive)
	l.connState(cb, http.StateClosed)
	cb.Close()
	check(2, 1)

	// Both in requests: d is refused.
	l.connState(cc, http.StateActive)
	check(2, 0)
	if d, cd := admit("d"); cd != nil || !d.closed {
		t.Fatalf("admitted %v, closed %v: want d refused", cd != nil, d.closed)
	}
	check(2, 0)

	// a goes idle after its request, c after a while: a waits longest.
	l.connState(ca, http.StateIdle)
	l.connState(cc, http.StateIdle)
	check(2, 2)
	l.connState(ca, http.StateActive) // a's next request
	check(2, 1)
	if e, ce := admit("e"); ce == nil || !c.closed || a.closed || e.closed {
		t.Fatalf("admitted %v; closed a %v c %v: want e in, c out", ce != nil, a.closed, c.closed)
	}
	check(2, 1)

	// Closing gives the slot back once, whoever closes first.
	l.connState(ca, http.StateClosed)
	check(1, 1)
	ca.Close()
	check(1, 1)
	if !a.closed {
		t.Fatal("a not closed")
	}

	// Shutdown: the waiting are closed and nothing more is admitted.
	f, cf := admit("f")
	if cf == nil {
		t.Fatal("f refused")
	}
	l.connState(cf, http.StateActive)
	l.closeWaiting()
	check(1, 0)
	if f.closed {
		t.Fatal("closeWaiting closed a connection inside a request")
	}
	if g, cg := admit("g"); cg != nil || !g.closed {
		t.Fatalf("admitted %v, closed %v: want g refused after closeWaiting", cg != nil, g.closed)
	}
	cf.Close()
	check(0, 0)
}

// chanListener hands out the connections sent on it.
type chanListener struct {
	conns chan net.Conn
	done  chan struct{}
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}
func (l *chanListener) Close() error   { close(l.done); return nil }
func (l *chanListener) Addr() net.Addr { return &net.TCPAddr{} }

// TestLimitListenerRefuses: a connection refused by the cap is closed and
// Accept goes on to the next one rather than returning or blocking on it.
func TestLimitListenerRefuses(t *testing.T) {
	l := newLimiter(1, slog.New(slog.DiscardHandler))
	inner := &chanListener{conns: make(chan net.Conn, 3), done: make(chan struct{})}
	ln := l.listener(inner)
	a, b, c := newFakeConn(t, "a"), newFakeConn(t, "b"), newFakeConn(t, "c")
	inner.conns <- a
	ca, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	l.connState(ca, http.StateActive)
	l.connState(ca, http.StateClosed)
	inner.conns <- b
	inner.conns <- c
	// a's slot is free again, so b is admitted; c waits its turn.
	cb, err := ln.Accept()
	if err != nil || cb.(*limitedConn).Conn != b {
		t.Fatalf("got %v, %v: want b", cb, err)
	}
	l.connState(cb, http.StateActive)
	// c finds the one slot busy: closed, and Accept waits for the next.
	accepted := make(chan error, 1)
	go func() {
		_, err := ln.Accept()
		accepted <- err
	}()
	deadline := time.Now().Add(30 * time.Second)
	for len(inner.conns) > 0 {
		if time.Now().After(deadline) {
			t.Fatal("Accept did not take c")
		}
		time.Sleep(time.Millisecond)
	}
	ln.Close()
	if err := <-accepted; !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept: %v, want net.ErrClosed", err)
	}
	if !c.closed {
		t.Fatal("c, refused, is not closed")
	}
}

// TestServerSettings: the limits reach the http.Server, and nothing cuts
// a long response short.
func TestServerSettings(t *testing.T) {
	s := New(Config{})
	h := s.http
	if h.MaxHeaderBytes != 16<<10 || h.ReadHeaderTimeout != 5*time.Second || h.IdleTimeout != 2*time.Minute || s.conns.max != 256 {
		t.Fatalf("MaxHeaderBytes %d ReadHeaderTimeout %v IdleTimeout %v MaxConns %d: want the defaults",
			h.MaxHeaderBytes, h.ReadHeaderTimeout, h.IdleTimeout, s.conns.max)
	}
	if h.WriteTimeout != 0 || h.ReadTimeout != 0 {
		t.Fatalf("WriteTimeout %v ReadTimeout %v: a profile must stream", h.WriteTimeout, h.ReadTimeout)
	}
	for _, cfg := range []Config{{ReadHeaderTimeout: -1}, {IdleTimeout: -1}, {MaxConns: -1}} {
		if err := New(cfg).Listen(); err == nil {
			t.Errorf("%+v: Listen accepted it", cfg)
		}
	}
}
