// Package connset runs the accept loop that the broker's listeners (the
// native protocol's and the Kafka protocol's) share: it admits connections
// up to a limit, sizes their kernel buffers as configured, serves each on a
// goroutine of its own, and drains them on shutdown.
//
// Invariants: a connection holds one of the max slots from its accept until
// it calls Release (which it does just before closing its socket, so that a
// client that sees the close can connect again at once) or its Serve
// returns, whichever is first. After Shutdown begins no connection is
// admitted; every live one is asked to stop reading, and Shutdown returns
// when all have finished, or closes their sockets when its context ends
// first.
package connset

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicelog/sluice/net/internal/sockbuf"
)

// Conn is one admitted connection.
type Conn interface {
	// Serve runs the connection until it is done, and closes its socket.
	Serve()
	// StopReading makes it answer what it has read and read no more.
	StopReading()
	// Close closes its socket at once.
	Close() error
}

// Set is the connections of one listener.
type Set struct {
	max    int
	bufs   sockbuf.Sizes
	logger *slog.Logger

	n        atomic.Int64
	mu       sync.Mutex
	conns    map[Conn]struct{}
	closed   bool
	stopping chan struct{}
	wg       sync.WaitGroup
}

// New returns a set admitting at most max connections at a time, each
// with kernel buffers of bufs (socket.send.buffer.bytes and
// socket.receive.buffer.bytes).
func New(max int, bufs sockbuf.Sizes, logger *slog.Logger) *Set {
	return &Set{max: max, bufs: bufs, logger: logger, conns: map[Conn]struct{}{}, stopping: make(chan struct{})}
}

// Stopping is closed when Shutdown begins: long waits (fetch long polls)
// end early on it.
func (s *Set) Stopping() <-chan struct{} { return s.stopping }

// Serve accepts connections from ln until Shutdown, making each with
// newConn and serving it on its own goroutine. It returns nil after
// Shutdown, or the error that stopped accepting.
func (s *Set) Serve(ln net.Listener, newConn func(net.Conn) Conn) error {
	var backoff time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			select {
			case <-s.stopping:
				return nil
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				// Out of file descriptors and the like: back off rather
				// than spin, and keep serving those already in.
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				time.Sleep(backoff)
				continue
			}
			return fmt.Errorf("accept: %w", err)
		}
		backoff = 0
		if n := s.n.Add(1); n > int64(s.max) {
			s.n.Add(-1)
			s.logger.Warn("connection refused: max.connections reached", "remote", nc.RemoteAddr().String(), "max", s.max)
			nc.Close()
			continue
		}
		if err := s.bufs.Apply(nc); err != nil {
			// The connection still works with the OS's buffers.
			s.logger.Warn("socket buffers not set", "remote", nc.RemoteAddr().String(), "err", err)
		}
		c := newConn(nc)
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			s.n.Add(-1)
			nc.Close()
			continue
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			c.Serve()
			s.Release(c)
		}()
	}
}

// Release gives c's slot back; later calls are no-ops. A connection calls
// it just before it closes its socket.
func (s *Set) Release(c Conn) {
	s.mu.Lock()
	_, ok := s.conns[c]
	delete(s.conns, c)
	s.mu.Unlock()
	if ok {
		s.n.Add(-1)
	}
}

// Shutdown closes ln, lets every connection answer the requests it has
// read (long polls answer at once with what they have) and waits for them.
// If ctx ends first, it closes the connections at once and returns ctx's
// error. Later calls return nil at once.
func (s *Set) Shutdown(ctx context.Context, ln net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.stopping)
	for c := range s.conns {
		c.StopReading()
	}
	s.mu.Unlock()
	if ln != nil {
		ln.Close()
	}
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		<-done
		return ctx.Err()
	}
}
