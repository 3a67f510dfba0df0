package client

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	"github.com/sluicelog/sluice/net/internal/sockbuf"
	"github.com/sluicelog/sluice/net/protocol"
)

// conn is one TCP connection to a broker with many requests in flight. The
// broker answers a connection's requests in the order they arrived, so the
// pending calls form a FIFO: each response frame belongs to the oldest
// pending call, and its correlation id must say so, or the stream is out of
// step and the connection is dropped.
//
// Request timeouts ride on the read deadline: it is always the deadline of
// the oldest pending call, because nothing behind that call can be answered
// before it. When it passes, the connection is presumed hung and closed,
// failing every pending call with a timeout (which callers may retry on a
// new connection). A caller whose context ends merely abandons its call: the
// answer is still read off the wire, to keep the stream in step, and
// dropped.
type conn struct {
	addr   string
	nc     net.Conn
	logger *slog.Logger

	// wmu serialises writers, so that the order of the pending queue is the
	// order of the requests on the wire.
	wmu  sync.Mutex
	corr int32
	wbuf []byte

	mu      sync.Mutex
	pending []*call
	err     error // set once when the connection breaks; never cleared

	readerDone chan struct{}

	// inline connections have no reader goroutine: see conn_inline.go.
	inline bool
	rsem   chan struct{} // one slot, held while reading r
	r      *bufio.Reader
	drainT *time.Timer // guarded by mu
}

// call is one request waiting for its response.
type call struct {
	c        *conn
	corr     int32
	key      protocol.APIKey
	deadline time.Time
	// buf, if not nil, is memory the response frame may be read into.
	buf []byte
	// timeout is deadline's distance from the send: an inline connection
	// read long after the send gives the broker that long again.
	timeout time.Duration
	// notify, if not nil, receives the call when it completes; otherwise
	// done is closed.
	notify chan<- *call
	done   chan struct{}

	// Set before completion is signalled.
	body  []byte // the response body (after the correlation id)
	frame []byte // the whole frame, which body points into
	err   error
	// data is the sender's: what the request carried.
	data any
}

// dial connects to addr within timeout (and ctx) and starts the reader,
// unless inline.
func dial(ctx context.Context, addr string, timeout time.Duration, logger *slog.Logger, inline bool, bufs sockbuf.Sizes) (*conn, error) {
	d := net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, ctxErr
		}
		return nil, &netError{addr: addr, op: "dial", timeout: isTimeout(err), err: err}
	}
	if tc, ok := nc.(*net.TCPConn); ok {
		// Requests are written whole; Nagle would only add latency.
		tc.SetNoDelay(true)
	}
	if err := bufs.Apply(nc); err != nil {
		// The connection still works with the OS's buffers.
		logger.Warn("socket buffers not set", "broker", addr, "err", err)
	}
	c := &conn{addr: addr, nc: nc, logger: logger, readerDone: make(chan struct{}), inline: inline}
	if inline {
		c.r, c.rsem = bufio.NewReaderSize(nc, 64<<10), make(chan struct{}, 1)
		close(c.readerDone)
		return c, nil
	}
	go c.readLoop()
	return c, nil
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// broken returns the error that broke the connection, or nil.
func (c *conn) broken() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// send writes one request. With a response expected it registers a call
// that completes with the response (or with the connection's failure); for
// a Produce with acks=0 it returns a nil call once the bytes are written.
//
// A non-nil error means the request was not fully written, so the broker
// cannot have acted on it: any request may be retried after that.
func (c *conn) send(req protocol.Request, expectResponse bool, deadline time.Time, buf []byte, notify chan<- *call) (*call, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.broken(); err != nil {
		return nil, err
	}
	c.corr++
	c.wbuf = protocol.AppendRequestFrame(c.wbuf[:0], c.corr, req)
	var cl *call
	if expectResponse {
		cl = &call{c: c, corr: c.corr, key: req.Key(), deadline: deadline, timeout: time.Until(deadline), buf: buf, notify: notify}
		if notify == nil {
			cl.done = make(chan struct{})
		}
		c.mu.Lock()
		if c.err != nil {
			err := c.err
			c.mu.Unlock()
			return nil, err
		}
		c.pending = append(c.pending, cl)
		if len(c.pending) == 1 && !c.inline {
			// The oldest call sets the read deadline; see the type comment.
			c.nc.SetReadDeadline(deadline)
		}
		c.mu.Unlock()
	}
	if cl != nil && c.inline {
		c.armDrain()
	}
	c.nc.SetWriteDeadline(deadline)
	_, err := c.nc.Write(c.wbuf)
	if cap(c.wbuf) > 1<<20 {
		c.wbuf = nil // do not pin one huge request's memory
	}
	if err != nil {
		nerr := &netError{addr: c.addr, op: "write", timeout: isTimeout(err), err: err}
		// Take the call back so that it fails once, by this return. If
		// the reader broke the connection first, fail has taken the call
		// and will complete it: then the caller must learn the outcome
		// from the call, as for any request that may have left.
		mine := cl == nil
		c.mu.Lock()
		if n := len(c.pending); cl != nil && n > 0 && c.pending[n-1] == cl {
			c.pending = c.pending[:n-1]
			mine = true
		}
		c.mu.Unlock()
		c.fail(nerr)
		if !mine {
			return cl, nil
		}
		return nil, nerr
	}
	return cl, nil
}

// wait blocks until cl completes or ctx ends. On ctx's end the call is
// abandoned: its response will be read and dropped.
func (c *conn) wait(ctx context.Context, cl *call) ([]byte, error) {
	if c.inline {
		return c.waitInline(ctx, cl)
	}
	select {
	case <-cl.done:
		return cl.body, cl.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// roundTrip sends req and decodes the answer into resp.
func (c *conn) roundTrip(ctx context.Context, req protocol.Request, resp protocol.Response, timeout time.Duration) error {
	// The deadline is the request timeout, not the caller's context: a
	// short context abandons the call, while only a broker that stops
	// answering for the whole timeout gets the connection killed.
	cl, err := c.send(req, true, time.Now().Add(timeout), nil, nil)
	if err != nil {
		return err
	}
	body, err := c.wait(ctx, cl)
	if err != nil {
		return err
	}
	if err := resp.DecodeFrom(body); err != nil {
		err = fmt.Errorf("broker %s: %v response: %w", c.addr, req.Key(), err)
		c.fail(err) // a broker we cannot understand is not one to keep talking to
		return err
	}
	return nil
}

// readLoop reads response frames and hands each to the oldest pending call
// until the connection breaks or is closed.
func (c *conn) readLoop() {
	defer close(c.readerDone)
	r := bufio.NewReaderSize(c.nc, 64<<10)
	for {
		_, err := r.Peek(protocol.LengthSize)
		if err == nil {
			err = c.readResponse(r)
		}
		if err != nil {
			c.fail(readError(c.addr, err))
			return
		}
	}
}

// readResponse reads the response frame that r holds the start of and
// completes the oldest pending call with it.
//
// Waiting for the frame to start (Peek) comes before choosing the memory
// it goes into: the call it answers is registered before its request is
// written, so it is known by now, while before the wait it might not have
// been (and its buffer would go unused).
func (c *conn) readResponse(r *bufio.Reader) error {
	var buf []byte
	c.mu.Lock()
	if len(c.pending) > 0 {
		buf = c.pending[0].buf
	}
	c.mu.Unlock()
	frame, err := protocol.ReadFrame(r, buf, 0)
	if err != nil {
		return err
	}
	corr, body, err := protocol.ParseResponseHeader(frame)
	c.mu.Lock()
	if len(c.pending) == 0 {
		c.mu.Unlock()
		return fmt.Errorf("unexpected response (correlation id %d) with no request pending", corr)
	}
	cl := c.pending[0]
	if err == nil && corr != cl.corr {
		err = fmt.Errorf("response correlation id %d, expected %d: stream out of step", corr, cl.corr)
	}
	if err != nil {
		c.mu.Unlock()
		return err
	}
	c.pending[0] = nil
	c.pending = c.pending[1:]
	if !c.inline {
		if len(c.pending) > 0 {
			c.nc.SetReadDeadline(c.pending[0].deadline)
		} else {
			c.nc.SetReadDeadline(time.Time{})
		}
	}
	c.mu.Unlock()
	cl.frame, cl.body = frame, body
	cl.complete()
	return nil
}

// readError turns a failed read into the error pending calls get.
func readError(addr string, err error) error {
	var ne *netError
	switch {
	case errors.As(err, &ne):
		return err
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return &netError{addr: addr, op: "read", err: errors.New("connection closed by broker")}
	case isTimeout(err):
		return &netError{addr: addr, op: "read", timeout: true, err: errors.New("no response within the request timeout")}
	}
	return &netError{addr: addr, op: "read", err: err}
}

func (cl *call) complete() {
	if cl.notify != nil {
		cl.notify <- cl
	} else {
		close(cl.done)
	}
}

// fail breaks the connection with err: the socket is closed and every
// pending call completes with err. Only the first failure counts.
func (c *conn) fail(err error) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	c.err = err
	pending := c.pending
	c.pending = nil
	c.mu.Unlock()
	c.nc.Close()
	if !errors.Is(err, ErrClosed) {
		c.logger.Debug("broker connection lost", "addr", c.addr, "err", err, "pending", len(pending))
	}
	for _, cl := range pending {
		cl.err = err
		cl.complete()
	}
}

// close breaks the connection and waits for its reader to exit.
func (c *conn) close() {
	c.fail(fmt.Errorf("broker %s: connection %w", c.addr, ErrClosed))
	<-c.readerDone
	if c.inline {
		c.stopDrain()
	}
}

// connPool holds one connection per broker address, redialled when it
// breaks. The Client has one for admin and metadata requests; each
// Consumer has its own, so that long-poll fetches never queue in front of
// anything else.
type connPool struct {
	dialTimeout time.Duration
	logger      *slog.Logger
	// inline dials connections whose waiters read their responses
	// themselves: for a consumer, whose polls run one at a time.
	inline bool
	// bufs sizes the kernel buffers of the connections it dials.
	bufs sockbuf.Sizes

	mu     sync.Mutex
	closed bool
	slots  map[string]*connSlot
}

type connSlot struct {
	mu sync.Mutex // held while dialling, so that callers share one dial
	c  *conn
}

func newConnPool(dialTimeout time.Duration, logger *slog.Logger) *connPool {
	return &connPool{dialTimeout: dialTimeout, logger: logger, slots: map[string]*connSlot{}}
}

// get returns a live connection to addr, dialling one if needed.
func (p *connPool) get(ctx context.Context, addr string) (*conn, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, ErrClosed
	}
	s := p.slots[addr]
	if s == nil {
		s = &connSlot{}
		p.slots[addr] = s
	}
	p.mu.Unlock()

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.c != nil {
		if s.c.broken() == nil {
			return s.c, nil
		}
		s.c.close() // reap its reader
		s.c = nil
	}
	c, err := dial(ctx, addr, p.dialTimeout, p.logger, p.inline, p.bufs)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed {
		c.close()
		return nil, ErrClosed
	}
	s.c = c
	return c, nil
}

// closeAll closes every connection; later gets fail with ErrClosed.
func (p *connPool) closeAll() {
	p.mu.Lock()
	p.closed = true
	slots := p.slots
	p.slots = map[string]*connSlot{}
	p.mu.Unlock()
	for _, s := range slots {
		s.mu.Lock()
		if s.c != nil {
			s.c.close()
			s.c = nil
		}
		s.mu.Unlock()
	}
}
