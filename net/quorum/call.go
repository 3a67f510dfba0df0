package quorum

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// Leader calls travel on CONTROLLER connections whose hello has kind 2. The
// dialer sends request frames and reads one response frame per request;
// connections are pooled per leader address, one call in flight each.
//
//	request:   uint32  length of what follows
//	           uint8   op: 1 call, 2 propose, 3 sync, 4 join (join.go)
//	           uint8   kind (op call only; the LeaderHandler's kind)
//	           uint32  milliseconds the caller still waits, 0 for no limit
//	           ...     payload
//	response:  uint32  length of what follows
//	           uint8   status (below)
//	           uint64  index: the entry's (propose) or the leader's applied index (sync)
//	           ...     payload: the result, or an error text
const (
	opCall    = 1
	opPropose = 2
	opSync    = 3

	requestHeaderLen  = 1 + 1 + 4
	responseHeaderLen = 1 + 8
)

// Response statuses.
const (
	statusOK = iota
	// statusHandlerError: the LeaderHandler returned an error; payload is its text.
	statusHandlerError
	// statusRetry: nothing happened (not the leader, queue full); try again.
	statusRetry
	// statusFailed: the operation may or may not have taken effect.
	statusFailed
	// statusBadRequest: the frame made no sense to the leader.
	statusBadRequest
)

// maxIdleCalls is how many idle call connections are kept per leader address.
const maxIdleCalls = 4

var (
	// ErrClosed is returned by calls on a closed Node.
	ErrClosed = errors.New("quorum: node closed")
	// ErrNoLeader is wrapped in the error of a call that ran out of time
	// while no leader was known.
	ErrNoLeader = errors.New("quorum: no leader")
	// ErrOutcomeUnknown is wrapped when a proposal reached the leader but no
	// answer came back (connection lost, leadership lost, deadline): the
	// command may or may not be committed. Propose does not retry these, as
	// commands need not be idempotent.
	ErrOutcomeUnknown = errors.New("quorum: proposal outcome unknown")
	// errRetry marks leader-side failures after which nothing happened.
	errRetry = errors.New("retry")
)

// HandlerError is a LeaderHandler's error carried back to LeaderCall's
// caller: the leader was reached and refused. Any other LeaderCall error
// means the transport failed or time ran out.
type HandlerError struct {
	Text string
}

func (e *HandlerError) Error() string { return "quorum: leader handler: " + e.Text }

type callRequest struct {
	Op        uint8
	Kind      uint8
	TimeoutMs uint32
	Payload   []byte
}

type callResponse struct {
	Status  uint8
	Index   uint64
	Payload []byte
}

func (r *callRequest) frame() []byte {
	b := make([]byte, 4, 4+requestHeaderLen+len(r.Payload))
	binary.BigEndian.PutUint32(b, uint32(requestHeaderLen+len(r.Payload)))
	b = append(b, r.Op, r.Kind)
	b = binary.BigEndian.AppendUint32(b, r.TimeoutMs)
	return append(b, r.Payload...)
}

// decodeCallRequest decodes a request body (the frame without its length).
func decodeCallRequest(b []byte) (callRequest, error) {
	if len(b) < requestHeaderLen {
		return callRequest{}, fmt.Errorf("call request of %d bytes is shorter than its %d-byte header", len(b), requestHeaderLen)
	}
	return callRequest{Op: b[0], Kind: b[1], TimeoutMs: binary.BigEndian.Uint32(b[2:6]), Payload: b[6:]}, nil
}

func (r *callResponse) frame() []byte {
	b := make([]byte, 4, 4+responseHeaderLen+len(r.Payload))
	binary.BigEndian.PutUint32(b, uint32(responseHeaderLen+len(r.Payload)))
	b = append(b, r.Status)
	b = binary.BigEndian.AppendUint64(b, r.Index)
	return append(b, r.Payload...)
}

// decodeCallResponse decodes a response body (the frame without its length).
func decodeCallResponse(b []byte) (callResponse, error) {
	if len(b) < responseHeaderLen {
		return callResponse{}, fmt.Errorf("call response of %d bytes is shorter than its %d-byte header", len(b), responseHeaderLen)
	}
	return callResponse{Status: b[0], Index: binary.BigEndian.Uint64(b[1:9]), Payload: b[9:]}, nil
}

// readFrame reads one length-prefixed frame of at most limit bytes.
func readFrame(r io.Reader, limit int) ([]byte, error) {
	var n [4]byte
	if _, err := io.ReadFull(r, n[:]); err != nil {
		return nil, err
	}
	l := binary.BigEndian.Uint32(n[:])
	if uint64(l) > uint64(limit) {
		return nil, fmt.Errorf("frame of %d bytes exceeds the %d-byte limit", l, limit)
	}
	b := make([]byte, l)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, err
	}
	return b, nil
}

// callPool keeps idle call connections per address.
type callPool struct {
	mu     sync.Mutex
	idle   map[string][]net.Conn
	closed bool
}

// get returns an idle connection to addr that the peer has not closed, or nil.
func (p *callPool) get(addr string) net.Conn {
	for {
		p.mu.Lock()
		cs := p.idle[addr]
		if len(cs) == 0 {
			p.mu.Unlock()
			return nil
		}
		c := cs[len(cs)-1]
		p.idle[addr] = cs[:len(cs)-1]
		p.mu.Unlock()
		if alive(c) {
			return c
		}
		c.Close()
	}
}

func (p *callPool) put(addr string, c net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || len(p.idle[addr]) >= maxIdleCalls {
		c.Close()
		return
	}
	if p.idle == nil {
		p.idle = make(map[string][]net.Conn)
	}
	p.idle[addr] = append(p.idle[addr], c)
}

func (p *callPool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	for _, cs := range p.idle {
		for _, c := range cs {
			c.Close()
		}
	}
	p.idle = nil
}

// roundTrip sends one request to addr. sent reports whether the request may
// have reached the peer, which makes a failure ambiguous.
func (n *Node) roundTrip(ctx context.Context, addr string, req *callRequest) (resp callResponse, sent bool, err error) {
	c := n.pool.get(addr)
	if c == nil {
		if c, err = n.mux.dial(ctx, addr, kindCall); err != nil {
			return resp, false, err
		}
	}
	if dl, ok := ctx.Deadline(); ok {
		req.TimeoutMs = uint32(min(max(time.Until(dl).Milliseconds(), 1), 1<<32-1))
	}
	c.SetDeadline(time.Time{})
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	_, err = c.Write(req.frame())
	var body []byte
	if err == nil {
		body, err = readFrame(c, n.cfg.MaxCallBytes)
	}
	if !stop() && err == nil {
		err = ctx.Err() // the deadline fired; the connection is unusable
	}
	if err == nil {
		resp, err = decodeCallResponse(body)
	}
	if err != nil {
		c.Close()
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return resp, true, fmt.Errorf("quorum: call to leader %s: %w", addr, err)
	}
	n.pool.put(addr, c)
	return resp, true, nil
}

// toLeader runs req on the leader: locally through local when this node
// leads, else over the network. It retries, until ctx ends, whatever left
// no effect; an ambiguous failure is retried only when retryAmbiguous.
func (n *Node) toLeader(ctx context.Context, req *callRequest, retryAmbiguous bool,
	local func(ctx context.Context) (uint64, []byte, error)) (uint64, []byte, error) {
	backoff := 5 * time.Millisecond
	var last error
	for {
		if n.ctx.Err() != nil {
			return 0, nil, ErrClosed
		}
		if err := n.joinFailed(); err != nil {
			return 0, nil, err
		}
		if n.raft.State() == raft.Leader {
			idx, res, err := local(ctx)
			if !errors.Is(err, errRetry) {
				return idx, res, err
			}
			last = err
		} else if addr, _ := n.raft.LeaderWithID(); addr == "" {
			last = ErrNoLeader
		} else {
			resp, sent, err := n.roundTrip(ctx, string(addr), req)
			switch {
			case err != nil && sent && !retryAmbiguous:
				return 0, nil, fmt.Errorf("%w: %w", ErrOutcomeUnknown, err)
			case err != nil:
				last = err
			case resp.Status == statusOK:
				return resp.Index, resp.Payload, nil
			case resp.Status == statusHandlerError:
				return 0, nil, &HandlerError{Text: string(resp.Payload)}
			case resp.Status == statusRetry:
				last = fmt.Errorf("quorum: leader %s: %s", addr, resp.Payload)
			case resp.Status == statusFailed && !retryAmbiguous:
				return 0, nil, fmt.Errorf("%w: leader %s: %s", ErrOutcomeUnknown, addr, resp.Payload)
			default:
				last = fmt.Errorf("quorum: leader %s: status %d: %s", addr, resp.Status, resp.Payload)
				if resp.Status == statusBadRequest {
					return 0, nil, last
				}
			}
		}
		select {
		case <-ctx.Done():
			return 0, nil, fmt.Errorf("quorum: %w (last failure: %w)", ctx.Err(), last)
		case <-n.ctx.Done():
			return 0, nil, ErrClosed
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 100*time.Millisecond)
	}
}

// serveCall serves call requests on one accepted connection until it fails
// or the node closes (the mux closes the connection).
func (n *Node) serveCall(c net.Conn) {
	defer c.Close()
	select {
	case <-n.raftReady:
	case <-n.ctx.Done():
		return
	}
	for {
		body, err := readFrame(c, n.cfg.MaxCallBytes)
		if err != nil {
			return
		}
		resp := n.serveRequest(body)
		if _, err := c.Write(resp.frame()); err != nil {
			return
		}
	}
}

func (n *Node) serveRequest(body []byte) callResponse {
	req, err := decodeCallRequest(body)
	if err != nil {
		return callResponse{Status: statusBadRequest, Payload: []byte(err.Error())}
	}
	ctx, cancel := n.ctx, context.CancelFunc(func() {})
	if req.TimeoutMs > 0 {
		ctx, cancel = context.WithTimeout(ctx, time.Duration(req.TimeoutMs)*time.Millisecond)
	}
	defer cancel()
	if req.Op == opJoin {
		return n.serveJoin(ctx, req.Payload)
	}
	if n.raft.State() != raft.Leader {
		return callResponse{Status: statusRetry, Payload: []byte("not the leader")}
	}
	var idx uint64
	var res []byte
	switch req.Op {
	case opCall:
		if err := n.leaderCurrent(ctx); err != nil {
			return callResponse{Status: statusRetry, Payload: []byte(err.Error())}
		}
		res, err = n.handle(ctx, req.Kind, req.Payload)
		if err != nil {
			return callResponse{Status: statusHandlerError, Payload: []byte(err.Error())}
		}
	case opPropose:
		idx, res, err = n.applyLocal(ctx, req.Payload)
		if err == nil {
			n.nudgeFollowers()
		}
	case opSync:
		idx, res, err = n.syncLocal(ctx)
	default:
		return callResponse{Status: statusBadRequest, Payload: fmt.Appendf(nil, "unknown op %d", req.Op)}
	}
	switch {
	case err == nil:
		return callResponse{Status: statusOK, Index: idx, Payload: res}
	case errors.Is(err, errRetry):
		return callResponse{Status: statusRetry, Payload: []byte(err.Error())}
	default:
		return callResponse{Status: statusFailed, Payload: []byte(err.Error())}
	}
}

// handle runs the LeaderHandler.
func (n *Node) handle(ctx context.Context, kind uint8, payload []byte) ([]byte, error) {
	if n.cfg.LeaderHandler == nil {
		return nil, errors.New("no LeaderHandler configured")
	}
	return n.cfg.LeaderHandler(ctx, kind, payload)
}

// LeaderCall runs the LeaderHandler on the current leader with kind and
// payload and returns its result. The handler runs only once the leader's
// state machine holds every entry committed before its term. It waits for a leader and retries lost
// connections until ctx ends, so the handler may run more than once for one
// call and must be idempotent (heartbeats and registrations are). A handler
// error comes back as a *HandlerError; any other error is the transport's or
// ctx's.
func (n *Node) LeaderCall(ctx context.Context, kind uint8, payload []byte) ([]byte, error) {
	req := &callRequest{Op: opCall, Kind: kind, Payload: payload}
	_, res, err := n.toLeader(ctx, req, true, func(ctx context.Context) (uint64, []byte, error) {
		if err := n.leaderCurrent(ctx); err != nil {
			return 0, nil, err
		}
		res, err := n.handle(ctx, kind, payload)
		if err != nil {
			return 0, nil, &HandlerError{Text: err.Error()}
		}
		return 0, res, nil
	})
	return res, err
}
