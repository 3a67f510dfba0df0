package kafka

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicelog/sluice/net/internal/replyq"
	"github.com/sluicelog/sluice/net/internal/sendfile"
	"github.com/sluicelog/sluice/net/request"
)

// pipelineDepth is how many decoded requests a connection reads ahead of
// the one being handled. Responses still leave in request order.
const pipelineDepth = 32

// apiVersionsKey is ApiVersions' key: its response header never has tagged
// fields, whatever the version, so that any client can read it.
const apiVersionsKey = 18

// conn serves one client connection: a reader goroutine decodes frames
// into a bounded queue and the connection's goroutine answers them one at
// a time, in order. One at a time keeps a producer's pipelined batches in
// their order in the log.
//
// A response is written by the connection's goroutine, except for a
// produce that must wait for the disk (flush.on.ack): its records are
// appended, and the wait for their fdatasync and the response go to the
// ordered writer (replyq), so that the next request is appended while the
// sync runs and one sync covers several requests. Responses still leave
// in request order: while the writer holds any, produce responses go
// through it too, and any other request first waits until it has written
// them all.
type conn struct {
	s      *Server
	nc     net.Conn
	logger *slog.Logger
	// remoteHost is the client's address without its port.
	remoteHost string
	// ctx ends when the connection is done; long group calls watch it.
	ctx    context.Context
	cancel context.CancelFunc

	queue chan *inbound
	// free recycles frame buffers between the reader and the handler.
	free chan []byte

	stopOnce sync.Once
	stopped  chan struct{}

	wbuf []byte
	// fw writes fetch responses, gathering small record regions.
	fw sendfile.Writer
	// prod and fetchReq are the request layer's values, and lens and
	// regions a fetch response's record lengths and the partitions they
	// come from: all reused from request to request.
	prod     *request.Produce
	fetchReq request.Fetch
	lens     []int64
	regions  []int

	// writer writes the responses of produces that wait for a sync;
	// prods recycles the request.Produce values it is done with, and
	// replyBuf is its frame buffer (the writer goroutine's alone).
	writer   *replyq.Writer[reply]
	prods    request.ProducePool
	replyBuf []byte
}

// reply is a produce handed to the writer: its records are appended, its
// sync is to wait for and its response to write.
type reply struct {
	in   *inbound
	req  *kmsg.ProduceRequest
	prod *request.Produce
}

// inbound is one request read off the wire. msg is an unsupported when the
// request is answered with UNSUPPORTED_VERSION without being handled.
type inbound struct {
	hdr   header
	msg   kmsg.Request
	frame []byte // owns the bytes msg points into (records)
	// received is when the request was read, as metrics.Listener stamps
	// it: its latency and slowness count from there.
	received int64
}

// header is a Kafka request header (v1, or v2 for flexible versions).
type header struct {
	key, version  int16
	correlationID int32
	flexible      bool
	clientID      string
}

func newConn(s *Server, nc net.Conn) *conn {
	ctx, cancel := context.WithCancel(context.Background())
	host := nc.RemoteAddr().String()
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	c := &conn{
		s:          s,
		nc:         nc,
		remoteHost: host,
		logger:     s.logger.With("remote", nc.RemoteAddr().String(), "protocol", "kafka"),
		ctx:        ctx,
		cancel:     cancel,
		queue:      make(chan *inbound, pipelineDepth),
		free:       make(chan []byte, 4),
		stopped:    make(chan struct{}),
		prod:       new(request.Produce),
	}
	c.writer = replyq.New(pipelineDepth, c.serveReply)
	return c
}

// StopReading makes the reader stop after the frame it is on: Shutdown's
// way to drain a connection.
func (c *conn) StopReading() {
	c.stopOnce.Do(func() {
		close(c.stopped)
		c.nc.SetReadDeadline(time.Now())
	})
}

func (c *conn) isStopped() bool {
	select {
	case <-c.stopped:
		return true
	default:
		return false
	}
}

// Close closes the connection's socket (a Shutdown that ran out of time).
func (c *conn) Close() error { return c.nc.Close() }

// Serve answers the connection's requests until it ends; it closes the
// socket.
func (c *conn) Serve() {
	defer c.cancel()
	m := c.s.cfg.Metrics
	m.Accepted()
	defer m.Closed()
	c.logger.Debug("connection opened")
	go c.readLoop()
	for r := range c.queue {
		m.Begin()
		handedOff, err := c.handle(r)
		if !handedOff {
			c.finished(r)
		}
		if err != nil {
			c.logger.Info("closing connection", "api", kmsg.NameForKey(r.hdr.key), "err", err)
			c.s.conns.Release(c)
			c.nc.Close()
			c.cancel()
			for range c.queue { // let the reader finish
				m.Dropped()
			}
			c.writer.Close()
			return
		}
		if !handedOff {
			c.recycle(r.frame)
		}
	}
	c.writer.Close()
	c.s.conns.Release(c)
	c.nc.Close()
	c.logger.Debug("connection closed")
}

// finished counts a request answered (or dropped with its connection).
func (c *conn) finished(r *inbound) {
	if slow := c.s.cfg.Metrics.Finished(r.hdr.key, r.received, waitAllowance(r.msg)); slow > 0 {
		c.logger.Warn("slow request", "event", "slow_request", "api", kmsg.NameForKey(r.hdr.key),
			"version", r.hdr.version, "client_id", r.hdr.clientID, "took", slow)
	}
}

func (c *conn) recycle(frame []byte) {
	select {
	case c.free <- frame[:0]:
	default:
	}
}

// readLoop decodes requests until the stream ends, breaks, idles out or
// the server stops it. Requests already queued are still answered.
func (c *conn) readLoop() {
	defer close(c.queue)
	// Nothing more will come: long polls and group waits need not wait.
	defer c.cancel()
	for !c.isStopped() {
		c.nc.SetReadDeadline(time.Now().Add(c.s.cfg.IdleTimeout))
		var buf []byte
		select {
		case buf = <-c.free:
		default:
		}
		frame, err := readFrame(c.nc, buf, c.s.cfg.MaxRequestBytes)
		if err != nil {
			c.readFailed(err)
			return
		}
		r, err := c.s.decodeRequest(frame)
		if err != nil {
			c.logger.Warn("closing connection: bad request", "err", err)
			return
		}
		if _, ok := r.msg.(unsupported); ok {
			// Clients probe with the newest ApiVersions they speak and
			// retry with what the answer lists: an ordinary handshake.
			c.logger.Debug("unsupported api or version", "api", kmsg.NameForKey(r.hdr.key),
				"version", int16(binary.BigEndian.Uint16(frame[2:])))
		}
		r.received = c.s.cfg.Metrics.Received()
		c.queue <- r
	}
}

// waitAllowance is how long a request asks the broker to wait for it (a
// fetch's max wait, a group join's rebalance): time within it is not
// slowness.
func waitAllowance(msg kmsg.Request) time.Duration {
	switch m := msg.(type) {
	case *kmsg.FetchRequest:
		return time.Duration(m.MaxWaitMillis) * time.Millisecond
	case *kmsg.JoinGroupRequest:
		return time.Duration(max(m.RebalanceTimeoutMillis, m.SessionTimeoutMillis)) * time.Millisecond
	case *kmsg.SyncGroupRequest:
		// A follower's SyncGroup waits for the leader's assignment, which
		// has the whole rebalance to come.
		return time.Minute
	}
	return 0
}

// errBadRequest is wrapped by every request the broker cannot answer: the
// connection is closed.
var errBadRequest = errors.New("bad kafka request")

// decodeRequest parses a request frame (without its length): the header,
// then the body with kmsg. A known API at a version this broker does not
// answer comes back wrapped in unsupported (ApiVersions then at v0, as
// Kafka answers it); anything that cannot be parsed is an error.
func (s *Server) decodeRequest(frame []byte) (r *inbound, err error) {
	defer func() {
		// kmsg decodes defensively; this only keeps a decoder bug from
		// taking the broker down with it.
		if p := recover(); p != nil {
			r, err = nil, fmt.Errorf("%w: decoder panic: %v", errBadRequest, p)
		}
	}()
	if len(frame) < 10 {
		return nil, fmt.Errorf("%w: %d bytes is too short for a header", errBadRequest, len(frame))
	}
	h := header{
		key:           int16(binary.BigEndian.Uint16(frame)),
		version:       int16(binary.BigEndian.Uint16(frame[2:])),
		correlationID: int32(binary.BigEndian.Uint32(frame[4:])),
	}
	msg := kmsg.RequestForKey(h.key)
	if msg == nil {
		return nil, fmt.Errorf("%w: api key %d", errBadRequest, h.key)
	}
	r = &inbound{hdr: h, frame: frame}
	if h.version < 0 || h.version > msg.MaxVersion() {
		if h.key == apiVersionsKey {
			// Kafka answers a newer ApiVersions than it knows at v0, so the
			// client learns what this broker speaks.
			r.hdr.version = 0
			r.msg = unsupported{kmsg.NewPtrApiVersionsRequest()}
			return r, nil
		}
		return nil, fmt.Errorf("%w: %s v%d is newer than this broker knows", errBadRequest, kmsg.NameForKey(h.key), h.version)
	}
	msg.SetVersion(h.version)
	r.hdr.flexible = msg.IsFlexible()
	body, clientID, err := skipHeaderRest(frame[8:], r.hdr.flexible)
	if err != nil {
		return nil, err
	}
	r.hdr.clientID = clientID
	if !s.apis.supports(h.key, h.version) {
		if h.key == apiVersionsKey {
			r.hdr.version = 0
			r.msg = unsupported{kmsg.NewPtrApiVersionsRequest()}
			return r, nil
		}
		// Decoded anyway when it can be, so the UNSUPPORTED_VERSION answer
		// names the request's own topics and partitions.
		if msg.ReadFrom(body) != nil {
			msg = kmsg.RequestForKey(h.key)
			msg.SetVersion(h.version)
		}
		r.msg = unsupported{msg}
		return r, nil
	}
	if err := msg.ReadFrom(body); err != nil {
		return nil, fmt.Errorf("%w: %s v%d: %v", errBadRequest, kmsg.NameForKey(h.key), h.version, err)
	}
	r.msg = msg
	return r, nil
}

// unsupported marks a request to answer with UNSUPPORTED_VERSION.
type unsupported struct{ kmsg.Request }

// skipHeaderRest reads the client id and skips, in flexible headers, the
// tagged fields; it returns the body and the client id.
func skipHeaderRest(b []byte, flexible bool) ([]byte, string, error) {
	n := int16(binary.BigEndian.Uint16(b))
	b = b[2:]
	if n < -1 {
		return nil, "", fmt.Errorf("%w: client id length %d", errBadRequest, n)
	}
	var clientID string
	if n > 0 {
		if int(n) > len(b) {
			return nil, "", fmt.Errorf("%w: client id of %d bytes in %d", errBadRequest, n, len(b))
		}
		clientID = string(b[:n])
		b = b[n:]
	}
	if !flexible {
		return b, clientID, nil
	}
	count, m := binary.Uvarint(b)
	if m <= 0 {
		return nil, "", fmt.Errorf("%w: header tagged fields", errBadRequest)
	}
	b = b[m:]
	for ; count > 0; count-- {
		_, m = binary.Uvarint(b) // tag
		if m <= 0 {
			return nil, "", fmt.Errorf("%w: header tag", errBadRequest)
		}
		b = b[m:]
		size, m := binary.Uvarint(b)
		if m <= 0 || size > uint64(len(b)-m) {
			return nil, "", fmt.Errorf("%w: header tag size", errBadRequest)
		}
		b = b[m+int(size):]
	}
	return b, clientID, nil
}

// readFrame reads one size-prefixed frame into buf (grown as needed) and
// returns its body.
func readFrame(r io.Reader, buf []byte, maxSize int) ([]byte, error) {
	var size [4]byte
	if _, err := io.ReadFull(r, size[:]); err != nil {
		return nil, err
	}
	n := int32(binary.BigEndian.Uint32(size[:]))
	if n < 0 || int(n) > maxSize {
		return nil, fmt.Errorf("%w: frame of %d bytes, socket.request.max.bytes is %d", errFrameSize, n, maxSize)
	}
	if cap(buf) < int(n) {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(r, buf); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return buf, nil
}

var errFrameSize = errors.New("request frame size out of range")

func (c *conn) readFailed(err error) {
	var ne net.Error
	switch {
	case errors.Is(err, io.EOF):
		c.logger.Debug("client closed connection")
	case c.isStopped():
	case errors.As(err, &ne) && ne.Timeout(), errors.Is(err, os.ErrDeadlineExceeded):
		c.logger.Info("closing idle connection", "idle", c.s.cfg.IdleTimeout)
	case errors.Is(err, errFrameSize):
		c.logger.Warn("closing connection", "err", err)
	case errors.Is(err, io.ErrUnexpectedEOF):
		c.logger.Warn("closing connection: truncated request frame")
	default:
		c.logger.Info("closing connection: read failed", "err", err)
	}
}

// handle answers one request, or hands it to the writer (handedOff). It
// returns an error only when the connection must close (a write failed, or
// an acks=0 produce failed).
func (c *conn) handle(r *inbound) (handedOff bool, err error) {
	if m, ok := r.msg.(*kmsg.ProduceRequest); ok {
		return c.handleProduce(r, m)
	}
	if c.writer.Busy() {
		if err := c.writer.Drain(); err != nil {
			return false, err
		}
	}
	return false, c.handleOther(r)
}

// handleProduce appends a produce's records and answers it, or, when it
// must wait for a sync or the writer holds responses before it, hands it
// to the writer.
func (c *conn) handleProduce(r *inbound, m *kmsg.ProduceRequest) (handedOff bool, err error) {
	prod := c.prod
	failed := c.s.appendProduce(c.ctx, prod, m)
	if m.Acks == 0 {
		prod.Reset(0, false)
		// No response at all, as in Kafka, which closes the connection
		// when it could not take the records.
		if failed {
			return false, errors.New("acks=0 produce failed")
		}
		return false, nil
	}
	switch {
	case c.writer.Busy() || prod.SyncPending() && (len(c.queue) > 0 || prod.AwaitsReplicas()):
		c.prod = c.prods.Get()
		return true, c.writer.Add(reply{in: r, req: m, prod: prod})
	case prod.SyncPending():
		// Only the disk to wait for, and nothing read ahead behind
		// this produce: wait for its
		// fdatasync here, sparing the hand-off to the writer's
		// goroutine (see net/server's handleProduce).
		c.s.h.Sync(prod)
	}
	resp := produceResponse(m, prod)
	prod.Reset(0, false) // no reference to the frame outlives the request
	return false, c.respond(r.hdr, resp)
}

// serveReply is the writer's work for one produce, in request order: wait
// for the records' sync (Handler.Sync, whose failure becomes the
// partitions' error codes), then write the response, so that it leaves
// only after the fdatasync covering its records returned. broken (an
// earlier write failed) skips the write. Either way it releases the
// request.
func (c *conn) serveReply(rp reply, broken bool) (err error) {
	c.s.h.Sync(rp.prod)
	if !broken {
		resp := produceResponse(rp.req, rp.prod)
		resp.SetVersion(rp.in.hdr.version)
		b := appendHeader(c.replyBuf[:0], rp.in.hdr)
		b = resp.AppendTo(b)
		binary.BigEndian.PutUint32(b, uint32(len(b)-4))
		c.replyBuf = b
		if err = c.write(b); err != nil {
			c.logger.Info("closing connection: write failed", "api", kmsg.NameForKey(rp.in.hdr.key), "err", err)
			c.nc.Close()
		}
	}
	c.prods.Put(rp.prod) // no reference to the frame outlives the request
	c.finished(rp.in)
	c.recycle(rp.in.frame)
	return err
}

// handleOther answers a request that is not a produce.
func (c *conn) handleOther(r *inbound) error {
	switch m := r.msg.(type) {
	case unsupported:
		if r.hdr.key == apiVersionsKey {
			// The list still goes back (at v0, see decodeRequest), so the
			// client can retry with a version this broker answers.
			resp := c.s.apiVersions()
			resp.ErrorCode = kerr.UnsupportedVersion.Code
			return c.respond(r.hdr, resp)
		}
		return c.respond(r.hdr, unsupportedResponse(m.Request, r.hdr.version))
	case *kmsg.ApiVersionsRequest:
		return c.respond(r.hdr, c.s.apiVersions())
	case *kmsg.FetchRequest:
		return c.fetch(r.hdr, m)
	}
	resp, err := c.s.dispatch(c, r.hdr, r.msg)
	if err != nil {
		return err
	}
	return c.respond(r.hdr, resp)
}

// appendHeader starts a response frame in dst: a size placeholder, the
// correlation id and, for flexible versions but ApiVersions, an empty tag
// section. finishFrame fills in the size.
func appendHeader(dst []byte, h header) []byte {
	dst = append(dst, 0, 0, 0, 0)
	dst = binary.BigEndian.AppendUint32(dst, uint32(h.correlationID))
	if h.flexible && h.key != apiVersionsKey {
		dst = append(dst, 0)
	}
	return dst
}

// respond writes resp as the answer to the request with header h.
func (c *conn) respond(h header, resp kmsg.Response) error {
	resp.SetVersion(h.version)
	b := appendHeader(c.wbuf[:0], h)
	b = resp.AppendTo(b)
	binary.BigEndian.PutUint32(b, uint32(len(b)-4))
	c.wbuf = b
	return c.write(b)
}

func (c *conn) write(b []byte) error {
	c.nc.SetWriteDeadline(time.Now().Add(c.s.cfg.WriteTimeout))
	_, err := c.nc.Write(b)
	return err
}
