package main

// faultProxy: a TCP proxy on 127.0.0.1 that the fault campaign
// (faults_test.go) puts in front of one broker's Kafka listener, so that
// it can delay or cut that broker's traffic without touching the machine's
// network.

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// proxyMode is what a faultProxy does with the bytes it reads.
type proxyMode int32

const (
	// proxyPass forwards everything at once.
	proxyPass proxyMode = iota
	// proxyDelay holds every chunk for the proxy's delay before writing
	// it on.
	proxyDelay
	// proxyDrop is a silent partition: connections are accepted and read
	// but nothing is forwarded, so requests time out rather than fail.
	// A connection that lost bytes this way stays cut until the mode goes
	// back to pass or delay, which closes it (its stream is corrupt).
	proxyDrop
)

func (m proxyMode) String() string {
	switch m {
	case proxyPass:
		return "pass"
	case proxyDelay:
		return "delay"
	case proxyDrop:
		return "drop"
	}
	return "?"
}

// faultProxy listens on its own port of 127.0.0.1 (bound at once, so no
// other process can take it) and forwards each connection to target.
type faultProxy struct {
	t     *testing.T
	ln    net.Listener
	mode  atomic.Int32
	delay atomic.Int64 // nanoseconds, for proxyDelay

	mu     sync.Mutex
	target string
	conns  map[*proxyConn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// proxyConn is one accepted connection and, unless it was accepted while
// dropping, its connection to the target.
type proxyConn struct {
	client, server net.Conn // server is nil for a connection accepted while dropping
	cut            atomic.Bool
	once           sync.Once
}

func (pc *proxyConn) close() {
	pc.once.Do(func() {
		pc.client.Close()
		if pc.server != nil {
			pc.server.Close()
		}
	})
}

// newFaultProxy starts a proxy in pass mode; setTarget must name where to
// forward before the first connection. The test's cleanup stops it.
func newFaultProxy(t *testing.T) *faultProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &faultProxy{t: t, ln: ln, conns: map[*proxyConn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

func (p *faultProxy) addr() string { return p.ln.Addr().String() }

func (p *faultProxy) setTarget(addr string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.target = addr
}

// set changes the mode (and the delay, for proxyDelay). Leaving
// proxyDrop closes every connection it cut, so both ends reconnect.
func (p *faultProxy) set(m proxyMode, delay time.Duration) {
	p.delay.Store(int64(delay))
	p.mode.Store(int32(m))
	if m == proxyDrop {
		return
	}
	p.mu.Lock()
	var cut []*proxyConn
	for pc := range p.conns {
		if pc.cut.Load() {
			cut = append(cut, pc)
		}
	}
	p.mu.Unlock()
	for _, pc := range cut {
		pc.close()
	}
}

func (p *faultProxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		pc := &proxyConn{client: c}
		if proxyMode(p.mode.Load()) == proxyDrop {
			pc.cut.Store(true)
		} else {
			p.mu.Lock()
			target := p.target
			p.mu.Unlock()
			s, err := net.DialTimeout("tcp", target, 2*time.Second)
			if err != nil {
				// As near as a listening proxy gets to a dead broker's
				// refusal: a reset, which clients retry (a plain close
				// right after connecting reads to kgo as a TLS mismatch,
				// and fails the records).
				if tc, ok := c.(*net.TCPConn); ok {
					tc.SetLinger(0)
				}
				c.Close()
				continue
			}
			pc.server = s
		}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			pc.close()
			return
		}
		p.conns[pc] = struct{}{}
		if pc.server == nil {
			p.wg.Add(1)
			p.mu.Unlock()
			go p.pipe(pc, pc.client, nil)
			continue
		}
		p.wg.Add(2)
		p.mu.Unlock()
		go p.pipe(pc, pc.client, pc.server)
		go p.pipe(pc, pc.server, pc.client)
	}
}

// pipe copies from src to dst under the proxy's mode until either side
// fails; with no dst (a connection accepted while dropping) it reads and
// discards.
func (p *faultProxy) pipe(pc *proxyConn, src, dst net.Conn) {
	defer p.wg.Done()
	defer func() {
		pc.close()
		p.mu.Lock()
		delete(p.conns, pc)
		p.mu.Unlock()
	}()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			switch proxyMode(p.mode.Load()) {
			case proxyDrop:
				pc.cut.Store(true)
			case proxyDelay:
				time.Sleep(time.Duration(p.delay.Load()))
			}
			if !pc.cut.Load() && dst != nil {
				if _, werr := dst.Write(buf[:n]); werr != nil {
					return
				}
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *faultProxy) close() {
	p.mu.Lock()
	p.closed = true
	var all []*proxyConn
	for pc := range p.conns {
		all = append(all, pc)
	}
	p.mu.Unlock()
	p.ln.Close()
	for _, pc := range all {
		pc.close()
	}
	p.wg.Wait()
}

// TestFaultProxy: in pass mode the proxy forwards both ways; in delay mode
// each chunk arrives no sooner than the delay; in drop mode nothing comes
// through, on an old connection or a new one, and no error tells the
// client; back in pass mode the cut connections are closed and new ones
// work. A target that refuses gets the client a reset, not a clean close.
func TestFaultProxy(t *testing.T) {
	echo, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer echo.Close()
	go func() {
		for {
			c, err := echo.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 1024)
				for {
					n, err := c.Read(buf)
					if err != nil {
						return
					}
					if _, err := c.Write(buf[:n]); err != nil {
						return
					}
				}
			}()
		}
	}()
	p := newFaultProxy(t)
	p.setTarget(echo.Addr().String())
	dial := func() net.Conn {
		t.Helper()
		c, err := net.DialTimeout("tcp", p.addr(), 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	// roundTrip sends msg and reads it back within d: the error when it
	// does not come back whole.
	roundTrip := func(c net.Conn, msg string, d time.Duration) error {
		c.SetDeadline(time.Now().Add(d))
		if _, err := c.Write([]byte(msg)); err != nil {
			return err
		}
		got := make([]byte, len(msg))
		if _, err := io.ReadFull(c, got); err != nil {
			return err
		}
		if string(got) != msg {
			return fmt.Errorf("read %q, sent %q", got, msg)
		}
		return nil
	}

	c := dial()
	if err := roundTrip(c, "pass", 5*time.Second); err != nil {
		t.Fatalf("pass: %v", err)
	}

	p.set(proxyDelay, 100*time.Millisecond)
	start := time.Now()
	if err := roundTrip(c, "delay", 5*time.Second); err != nil {
		t.Fatalf("delay: %v", err)
	}
	if took := time.Since(start); took < 200*time.Millisecond {
		t.Fatalf("delay: a round trip took %v through two 100 ms delays", took)
	}

	p.set(proxyDrop, 0)
	if err := roundTrip(c, "drop", 300*time.Millisecond); !isTimeout(err) {
		t.Fatalf("drop, old connection: %v, want a timeout", err)
	}
	fresh := dial()
	if err := roundTrip(fresh, "drop", 300*time.Millisecond); !isTimeout(err) {
		t.Fatalf("drop, new connection: %v, want a timeout", err)
	}

	p.set(proxyPass, 0)
	for _, cut := range []net.Conn{c, fresh} {
		cut.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := cut.Read(make([]byte, 16)); err == nil || isTimeout(err) {
			t.Fatalf("a connection cut by drop was not closed on healing: %v", err)
		}
	}
	if err := roundTrip(dial(), "healed", 5*time.Second); err != nil {
		t.Fatalf("healed: %v", err)
	}

	echo.Close()
	refused, err := net.DialTimeout("tcp", p.addr(), 2*time.Second)
	if err == nil {
		// The reset may come before the dial returns, or after.
		defer refused.Close()
		refused.SetDeadline(time.Now().Add(5 * time.Second))
		_, err = refused.Read(make([]byte, 1))
	}
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("target refusing: the client got %v, want a reset", err)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
