package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	"github.com/sluicelog/sluice/net/internal/replyq"
	"github.com/sluicelog/sluice/net/internal/sendfile"
	"github.com/sluicelog/sluice/net/protocol"
	"github.com/sluicelog/sluice/net/request"
)

// pipelineDepth is how many decoded requests a connection reads ahead of
// the one being handled. Responses still leave in request order; the depth
// only lets a client pipeline without waiting for each answer.
const pipelineDepth = 32

// conn serves one client connection: a reader goroutine decodes frames into
// a bounded queue, and the connection's own goroutine handles them one at a
// time, in order. One at a time keeps a producer's pipelined batches in
// their order in the log.
//
// A response is written by the handling goroutine, except for a produce
// that must wait for the disk (flush.on.ack): its records are appended,
// and the wait for their fdatasync and the response go to a writer
// goroutine (started at the first such produce), so that the next request
// is appended while the sync runs and one sync covers several requests.
// Responses still leave in request order: while the writer holds any,
// produce responses go through it too, and any other request first waits
// until it has written them all (drain).
type conn struct {
	s      *Server
	nc     net.Conn
	logger *slog.Logger

	queue chan *pending
	// free recycles frame buffers between the reader and the handler.
	free chan []byte

	stopOnce sync.Once
	stopped  chan struct{}
	// ctx ends when the reader stops (the client went away, idled out,
	// or Shutdown began): group calls waiting on a rebalance give up.
	ctx    context.Context
	cancel context.CancelFunc

	wbuf []byte
	// fw writes fetch responses, gathering small record regions.
	fw sendfile.Writer
	// fetchNext is where each partition's last fetch on this connection
	// ended: what a FetchContinue offset stands for. Only the handler
	// goroutine touches it.
	fetchNext map[fetchKey]int64
	// cuts is reused for where a fetch response's record regions go, and
	// regions for which partition of fetchReq each comes from.
	cuts    []int
	regions []int
	// prod and fetchReq are the request layer's values, reused from
	// request to request.
	prod     *request.Produce
	fetchReq request.Fetch

	// writer writes the responses of produces that wait for a sync
	// (replyq); prods recycles the request.Produce values it is done
	// with, and replyBuf is its frame buffer (the writer goroutine's).
	writer   *replyq.Writer[reply]
	prods    request.ProducePool
	replyBuf []byte
}

// reply is a produce handed to the writer: its records are appended, its
// sync is to wait for and its response to write.
type reply struct {
	p    *pending
	req  *protocol.ProduceRequest
	prod *request.Produce
}

// pending is one request read off the wire, or the error code it gets
// instead of being handled.
type pending struct {
	hdr   protocol.RequestHeader
	req   protocol.Request
	fail  protocol.ErrorCode
	frame []byte // owns the bytes req points into
	// received is when the request was read, as metrics.Listener stamps
	// it: its latency and slowness count from there.
	received int64
}

func newConn(s *Server, nc net.Conn) *conn {
	ctx, cancel := context.WithCancel(s.ctx)
	c := &conn{
		ctx:     ctx,
		cancel:  cancel,
		s:       s,
		nc:      nc,
		logger:  s.logger.With("remote", nc.RemoteAddr().String()),
		queue:   make(chan *pending, pipelineDepth),
		free:    make(chan []byte, 4),
		stopped: make(chan struct{}),
		prod:    new(request.Produce),
	}
	c.writer = replyq.New(pipelineDepth, c.serveReply)
	return c
}

// StopReading makes the reader stop after the frame it is on: Shutdown's way
// to drain a connection.
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
	m := c.s.cfg.Metrics
	m.Accepted()
	defer m.Closed()
	c.logger.Debug("connection opened")
	go c.readLoop()
	for p := range c.queue {
		m.Begin()
		handedOff, err := c.handle(p)
		if !handedOff {
			c.finished(p)
		}
		if err != nil {
			c.logger.Info("closing connection: write failed", "api", p.hdr.APIKey.String(), "err", err)
			c.s.conns.Release(c)
			c.nc.Close()
			for range c.queue { // let the reader finish
				m.Dropped()
			}
			c.writer.Close()
			return
		}
		if !handedOff {
			c.recycle(p.frame)
		}
	}
	c.writer.Close()
	c.s.conns.Release(c)
	c.nc.Close()
	c.logger.Debug("connection closed")
}

// finished counts a request answered (or dropped with its connection).
func (c *conn) finished(p *pending) {
	if slow := c.s.cfg.Metrics.Finished(int16(p.hdr.APIKey), p.received, waitAllowance(p.req)); slow > 0 {
		c.logger.Warn("slow request", "event", "slow_request", "api", p.hdr.APIKey.String(),
			"version", p.hdr.Version, "took", slow)
	}
}

func (c *conn) recycle(frame []byte) {
	select {
	case c.free <- frame[:0]:
	default:
	}
}

// serveReply is the writer's work for one produce, in request order: wait
// for the records' sync (Handler.Sync, whose failure becomes the
// partitions' error codes), then write the response, so that it leaves
// only after the fdatasync covering its records returned. broken (an
// earlier write failed) skips the write. Either way it releases the
// request.
func (c *conn) serveReply(r reply, broken bool) (err error) {
	c.s.h.Sync(r.prod)
	if !broken {
		c.replyBuf = protocol.AppendResponseFrame(c.replyBuf[:0], r.p.hdr.CorrelationID, produceResponse(r.req, r.prod))
		if err = c.write(c.replyBuf); err != nil {
			c.logger.Info("closing connection: write failed", "api", r.p.hdr.APIKey.String(), "err", err)
			c.nc.Close()
		}
	}
	c.prods.Put(r.prod) // no reference to the frame outlives the request
	c.finished(r.p)
	c.recycle(r.p.frame)
	return err
}

// readLoop decodes requests until the stream ends, breaks, idles out or the
// server stops it. Requests already queued are still answered.
func (c *conn) readLoop() {
	defer close(c.queue)
	// Nothing more will come: a JoinGroup or SyncGroup waiting on a
	// rebalance for this client need not wait.
	defer c.cancel()
	for {
		if c.isStopped() {
			return
		}
		c.nc.SetReadDeadline(time.Now().Add(c.s.cfg.IdleTimeout))
		var buf []byte
		select {
		case buf = <-c.free:
		default:
		}
		frame, err := protocol.ReadFrame(c.nc, buf, c.s.cfg.MaxRequestBytes)
		if err != nil {
			c.readFailed(err)
			return
		}
		hdr, body, err := protocol.ParseRequestHeader(frame)
		if err != nil {
			c.logger.Warn("closing connection: request frame too short for a header", "bytes", len(frame))
			return
		}
		p := &pending{hdr: hdr, frame: frame}
		switch req, ok := protocol.NewRequest(hdr.APIKey); {
		case !ok || !protocol.Supported(hdr.APIKey, hdr.Version):
			// Clients probe with the newest ApiVersions they speak and
			// retry with what the answer lists: an ordinary handshake.
			c.logger.Debug("unsupported api or version", "api_key", int16(hdr.APIKey), "version", hdr.Version)
			p.fail = protocol.ErrUnsupportedVersion
		default:
			if err := req.DecodeFrom(body); err != nil {
				c.logger.Warn("malformed request", "api", hdr.APIKey.String(), "err", err)
				p.fail = protocol.ErrInvalidRequest
			} else {
				p.req = req
			}
		}
		p.received = c.s.cfg.Metrics.Received()
		c.queue <- p
	}
}

// waitAllowance is how long a request asks the broker to wait for it (a
// fetch's max wait, a group join's rebalance): time within it is not
// slowness.
func waitAllowance(req protocol.Request) time.Duration {
	switch r := req.(type) {
	case *protocol.FetchRequest:
		return time.Duration(r.MaxWaitMs) * time.Millisecond
	case *protocol.JoinGroupRequest:
		return time.Duration(max(r.RebalanceTimeoutMs, r.SessionTimeoutMs)) * time.Millisecond
	case *protocol.SyncGroupRequest:
		// A follower's SyncGroup waits for the leader's assignment, which
		// has the whole rebalance to come.
		return time.Minute
	}
	return 0
}

func (c *conn) readFailed(err error) {
	var ne net.Error
	switch {
	case errors.Is(err, io.EOF):
		c.logger.Debug("client closed connection")
	case c.isStopped():
	case errors.As(err, &ne) && ne.Timeout(), errors.Is(err, os.ErrDeadlineExceeded):
		c.logger.Info("closing idle connection", "idle", c.s.cfg.IdleTimeout)
	case errors.Is(err, protocol.ErrFrameTooLarge):
		c.logger.Warn("closing connection: request larger than socket.request.max.bytes", "max", c.s.cfg.MaxRequestBytes, "err", err)
	case errors.Is(err, io.ErrUnexpectedEOF):
		c.logger.Warn("closing connection: truncated request frame")
	default:
		c.logger.Info("closing connection: read failed", "err", err)
	}
}

// handle answers one request, or hands it to the writer (handedOff). It
// returns an error only when the connection can no longer be written.
func (c *conn) handle(p *pending) (handedOff bool, err error) {
	if req, ok := p.req.(*protocol.ProduceRequest); ok {
		return c.handleProduce(p, req)
	}
	if c.writer.Busy() {
		if err := c.writer.Drain(); err != nil {
			return false, err
		}
	}
	return false, c.handleOther(p)
}

// handleProduce appends a produce's records and answers it, or, when it
// must wait for a sync or the writer holds responses before it, hands it
// to the writer.
func (c *conn) handleProduce(p *pending, req *protocol.ProduceRequest) (handedOff bool, err error) {
	prod := c.prod
	failed := c.appendProduce(req, prod)
	if req.Acks == protocol.AcksNone {
		prod.Reset(0, false)
		// Fire and forget: no response at all, as in Kafka, which
		// closes the connection when it cannot take the records.
		if failed {
			return false, errors.New("acks=0 produce failed")
		}
		return false, nil
	}
	switch {
	case c.writer.Busy() || prod.SyncPending() && (len(c.queue) > 0 || prod.AwaitsReplicas()):
		c.prod = c.prods.Get()
		return true, c.writer.Add(reply{p: p, req: req, prod: prod})
	case prod.SyncPending():
		// Only the disk to wait for, and nothing read ahead behind
		// this produce, so no later request could share its fdatasync
		// yet: wait for it here,
		// sparing the hand-off to the writer's goroutine (a wake-up
		// that cost a durable produce ~0.1 ms at low rates here). A
		// produce that arrives meanwhile waits in the queue and goes
		// through the writer, which the next fdatasync then covers
		// together with those behind it.
		c.s.h.Sync(prod)
	}
	resp := produceResponse(req, prod)
	prod.Reset(0, false) // no reference to the frame outlives the request
	return false, c.respond(p.hdr.CorrelationID, resp)
}

// handleOther answers a request that is not a produce.
func (c *conn) handleOther(p *pending) error {
	if p.req == nil {
		if p.hdr.APIKey == protocol.APIVersions && p.fail == protocol.ErrUnsupportedVersion {
			// A client speaking a newer ApiVersions still learns what this
			// broker speaks, as Kafka arranges.
			return c.respond(p.hdr.CorrelationID, &protocol.APIVersionsResponse{
				ErrorCode: protocol.ErrUnsupportedVersion, APIKeys: protocol.SupportedAPIs()})
		}
		c.wbuf = protocol.AppendErrorResponseFrame(c.wbuf[:0], p.hdr.CorrelationID, p.fail)
		return c.write(c.wbuf)
	}
	switch req := p.req.(type) {
	case *protocol.FetchRequest:
		return c.fetch(p.hdr.CorrelationID, req)
	default:
		return c.respond(p.hdr.CorrelationID, c.s.dispatch(c, p.req))
	}
}

func (c *conn) respond(correlationID int32, resp protocol.Response) error {
	c.wbuf = protocol.AppendResponseFrame(c.wbuf[:0], correlationID, resp)
	return c.write(c.wbuf)
}

func (c *conn) write(b []byte) error {
	c.nc.SetWriteDeadline(time.Now().Add(c.s.cfg.WriteTimeout))
	_, err := c.nc.Write(b)
	return err
}
