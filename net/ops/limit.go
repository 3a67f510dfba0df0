package ops

import (
	"container/list"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// limiter caps the connections a listener holds open at max without ever
// blocking Accept. A connection is either inside a request (its headers
// are read and its handler runs) or waiting for one (just accepted, or
// idle between keep-alive requests). When max are open, a new connection
// takes the slot of the one that has waited longest for a request, which
// is closed; only when all max are inside requests is the new one closed
// instead. A slowloris client, which never finishes its headers, thus can
// neither block the accept loop nor keep out a scraper that sends its
// request at once, and what it costs is bounded by max.
//
// The http.Server reports each connection's state through connState; the
// listener's Accept admits and evicts.
type limiter struct {
	max    int
	logger *slog.Logger

	mu      sync.Mutex
	open    int       // connections admitted and not yet released
	waiting list.List // of *limitedConn waiting for a request, longest first
	closed  bool      // after closeWaiting: admit nothing more
	// Refusals and evictions are logged at most once a minute, with how
	// many happened since the last line, lest an attack flood the log.
	lastWarn           time.Time
	refused, displaced int
}

func newLimiter(max int, logger *slog.Logger) *limiter {
	return &limiter{max: max, logger: logger}
}

// limitedConn is a connection the limiter admitted.
type limitedConn struct {
	net.Conn
	lim *limiter
	// Guarded by lim.mu.
	elem     *list.Element // in lim.waiting; nil while inside a request
	released bool          // its slot is given back
}

// Close gives the slot back and closes the connection.
func (c *limitedConn) Close() error {
	c.lim.mu.Lock()
	c.lim.releaseLocked(c)
	c.lim.mu.Unlock()
	return c.Conn.Close()
}

// listener wraps ln so that its connections count against l.
func (l *limiter) listener(ln net.Listener) net.Listener {
	return limitListener{Listener: ln, lim: l}
}

type limitListener struct {
	net.Listener
	lim *limiter
}

// Accept returns the next admitted connection; the connections it turns
// away it closes at once and does not return.
func (ll limitListener) Accept() (net.Conn, error) {
	for {
		nc, err := ll.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if c := ll.lim.admit(nc); c != nil {
			return c, nil
		}
	}
}

// admit takes nc into a slot, closing the longest-waiting connection to
// free one if all are taken, and returns it; or it closes nc and returns
// nil, when every slot is inside a request or the limiter is closed.
func (l *limiter) admit(nc net.Conn) net.Conn {
	c := &limitedConn{Conn: nc, lim: l}
	var victim *limitedConn
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		nc.Close()
		return nil
	}
	if l.open >= l.max {
		if front := l.waiting.Front(); front != nil {
			victim = front.Value.(*limitedConn)
			l.releaseLocked(victim)
			l.displaced++
		} else {
			l.refused++
		}
	}
	admitted := l.open < l.max
	if admitted {
		l.open++
		c.elem = l.waiting.PushBack(c)
	}
	warn := l.warnLocked()
	l.mu.Unlock()
	warn()
	if victim != nil {
		victim.Conn.Close()
	}
	if !admitted {
		nc.Close()
		return nil
	}
	return c
}

// connState is the http.Server's ConnState hook.
func (l *limiter) connState(nc net.Conn, st http.ConnState) {
	c, ok := nc.(*limitedConn)
	if !ok {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if c.released {
		return // displaced, or closed already
	}
	switch st {
	case http.StateActive, http.StateHijacked:
		// A hijacked connection is its handler's now: it keeps its slot
		// until closed, and the limiter never takes it.
		if c.elem != nil {
			l.waiting.Remove(c.elem)
			c.elem = nil
		}
	case http.StateIdle:
		if c.elem == nil {
			c.elem = l.waiting.PushBack(c)
		}
	case http.StateClosed:
		l.releaseLocked(c)
	}
}

// releaseLocked gives c's slot back; later calls are no-ops.
func (l *limiter) releaseLocked(c *limitedConn) {
	if c.released {
		return
	}
	c.released = true
	if c.elem != nil {
		l.waiting.Remove(c.elem)
		c.elem = nil
	}
	l.open--
}

// closeWaiting closes every connection waiting for a request and admits
// no more: the server is shutting down, and http.Server.Shutdown would
// otherwise wait up to 5 s for a connection that never sends its headers.
func (l *limiter) closeWaiting() {
	l.mu.Lock()
	l.closed = true
	var cs []*limitedConn
	for e := l.waiting.Front(); e != nil; e = e.Next() {
		cs = append(cs, e.Value.(*limitedConn))
	}
	for _, c := range cs {
		l.releaseLocked(c)
	}
	l.mu.Unlock()
	for _, c := range cs {
		c.Conn.Close()
	}
}

// warnLocked returns what logs the refusals and evictions since the
// last line, if there were any and that line is a minute old; the caller
// calls it after unlocking.
func (l *limiter) warnLocked() func() {
	now := time.Now()
	if l.refused+l.displaced == 0 || now.Sub(l.lastWarn) < time.Minute {
		return func() {}
	}
	refused, displaced := l.refused, l.displaced
	l.lastWarn, l.refused, l.displaced = now, 0, 0
	return func() {
		l.logger.Warn("connection limit reached", "max", l.max,
			"refused", refused, "closed_waiting", displaced)
	}
}

// stats returns the open and waiting connection counts, for tests.
func (l *limiter) stats() (open, waiting int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.open, l.waiting.Len()
}
