package quorum

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// The CONTROLLER listener carries two kinds of connection: raft's RPC streams
// and leader calls. Each connection opens with a hello from the dialer and a
// reply from the acceptor:
//
//	hello:  "SLQR"  magic
//	        uint8   version (1)
//	        uint8   kind: 1 raft RPC stream, 2 leader calls
//	        int32   the dialer's node id
//	        uint16  length, then the dialer's cluster id ("" while unknown)
//	        uint16  length, then the dialer's voters in FormatVoters form
//	reply:  uint8   code: 0 ok, else why the connection is refused
//	        uint16  length, then a message (empty when ok)
//
// All integers are big-endian. The voters travel as text rather than a hash
// so that a refusal can say what differs.
const (
	helloMagic   = "SLQR"
	helloVersion = 1

	kindRaft = 1
	kindCall = 2

	maxClusterIDLen = 1024
	maxVotersLen    = 1<<16 - 1
	maxReplyMsgLen  = 1<<16 - 1
	helloFixedLen   = 4 + 1 + 1 + 4
)

// Reply codes.
const (
	replyOK = iota
	replyClusterID
	replyVoters
	replyUnknownNode
	replyBadHello
	replyClosing
)

// Refusal causes, wrapped by RefusalError so callers can tell them apart with errors.Is.
var (
	// ErrClusterIDMismatch: both sides know a cluster id and they differ,
	// typically a data directory from another cluster.
	ErrClusterIDMismatch = errors.New("cluster id mismatch")
	// ErrVotersMismatch: the two nodes were given different controller.quorum.voters.
	ErrVotersMismatch = errors.New("controller.quorum.voters differ")
	// ErrUnknownPeer: the dialer's node id is not among the acceptor's
	// voters, on a raft stream (nonvoters may open leader-call connections).
	ErrUnknownPeer = errors.New("peer is not a voter")
	// ErrBadHandshake: the bytes were not a hello of a version we speak.
	ErrBadHandshake = errors.New("bad quorum handshake")
)

// RefusalError is a connection refused during the handshake, by us (Inbound)
// or by the peer. Node.Refusals delivers them so a broker started with
// another cluster's data directory can stop instead of retrying forever.
type RefusalError struct {
	// Inbound is true when this node refused a peer, false when a peer refused us.
	Inbound bool
	// PeerID is the other node's id; -1 when not known.
	PeerID int32
	// PeerAddr is the other side's address (remote address when inbound).
	PeerAddr string
	// Reason is the refusing side's message, e.g.
	// "cluster id mismatch: peer node 3 says X, we are Y".
	Reason string
	// Err is one of ErrClusterIDMismatch, ErrVotersMismatch, ErrUnknownPeer, ErrBadHandshake.
	Err error
}

func (e *RefusalError) Error() string {
	if e.Inbound {
		return fmt.Sprintf("quorum: refused a connection from node %d (%s): %s", e.PeerID, e.PeerAddr, e.Reason)
	}
	return fmt.Sprintf("quorum: node %d at %s refused our connection: %s", e.PeerID, e.PeerAddr, e.Reason)
}

func (e *RefusalError) Unwrap() error { return e.Err }

func codeErr(code uint8) error {
	switch code {
	case replyClusterID:
		return ErrClusterIDMismatch
	case replyVoters:
		return ErrVotersMismatch
	case replyUnknownNode:
		return ErrUnknownPeer
	default:
		return ErrBadHandshake
	}
}

// hello is the first message on every connection.
type hello struct {
	Kind      uint8
	NodeID    int32
	ClusterID string
	Voters    string
}

func (h *hello) append(b []byte) ([]byte, error) {
	if len(h.ClusterID) > maxClusterIDLen {
		return nil, fmt.Errorf("quorum: cluster id of %d bytes is longer than %d", len(h.ClusterID), maxClusterIDLen)
	}
	if len(h.Voters) > maxVotersLen {
		return nil, fmt.Errorf("quorum: controller.quorum.voters of %d bytes is longer than %d", len(h.Voters), maxVotersLen)
	}
	b = append(b, helloMagic...)
	b = append(b, helloVersion, h.Kind)
	b = binary.BigEndian.AppendUint32(b, uint32(h.NodeID))
	b = binary.BigEndian.AppendUint16(b, uint16(len(h.ClusterID)))
	b = append(b, h.ClusterID...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(h.Voters)))
	b = append(b, h.Voters...)
	return b, nil
}

// readHello reads exactly one hello from r and nothing more, since the
// connection then belongs to raft or the call server.
func readHello(r io.Reader) (hello, error) {
	var h hello
	var fixed [helloFixedLen]byte
	if _, err := io.ReadFull(r, fixed[:]); err != nil {
		return h, fmt.Errorf("%w: reading hello: %w", ErrBadHandshake, err)
	}
	if string(fixed[:4]) != helloMagic {
		return h, fmt.Errorf("%w: magic %q, want %q", ErrBadHandshake, fixed[:4], helloMagic)
	}
	if fixed[4] != helloVersion {
		return h, fmt.Errorf("%w: version %d, want %d", ErrBadHandshake, fixed[4], helloVersion)
	}
	h.Kind = fixed[5]
	if h.Kind != kindRaft && h.Kind != kindCall {
		return h, fmt.Errorf("%w: connection kind %d", ErrBadHandshake, h.Kind)
	}
	h.NodeID = int32(binary.BigEndian.Uint32(fixed[6:]))
	var err error
	if h.ClusterID, err = readString16(r, maxClusterIDLen, "cluster id"); err != nil {
		return h, err
	}
	if h.Voters, err = readString16(r, maxVotersLen, "voters"); err != nil {
		return h, err
	}
	return h, nil
}

func readString16(r io.Reader, limit int, what string) (string, error) {
	var n [2]byte
	if _, err := io.ReadFull(r, n[:]); err != nil {
		return "", fmt.Errorf("%w: reading %s length: %w", ErrBadHandshake, what, err)
	}
	l := int(binary.BigEndian.Uint16(n[:]))
	if l > limit {
		return "", fmt.Errorf("%w: %s of %d bytes is longer than %d", ErrBadHandshake, what, l, limit)
	}
	b := make([]byte, l)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", fmt.Errorf("%w: reading %s: %w", ErrBadHandshake, what, err)
	}
	return string(b), nil
}

func appendReply(b []byte, code uint8, msg string) []byte {
	if len(msg) > maxReplyMsgLen {
		msg = msg[:maxReplyMsgLen]
	}
	b = append(b, code)
	b = binary.BigEndian.AppendUint16(b, uint16(len(msg)))
	return append(b, msg...)
}

func readReply(r io.Reader) (code uint8, msg string, err error) {
	var c [1]byte
	if _, err := io.ReadFull(r, c[:]); err != nil {
		return 0, "", fmt.Errorf("reading handshake reply: %w", err)
	}
	msg, err = readString16(r, maxReplyMsgLen, "reply message")
	return c[0], msg, err
}

// mux owns the CONTROLLER listener: it reads each connection's hello, refuses
// strangers, and hands raft streams to the stream layer and call connections
// to the call server.
type mux struct {
	ln         net.Listener
	nodeID     int32
	self       Voter
	voters     []Voter
	votersText string
	clusterID  func() string
	ioTimeout  time.Duration
	log        *slog.Logger

	raftConns chan net.Conn
	serveCall func(net.Conn) // serves one call connection until it ends
	refusals  chan error

	limitMu  sync.Mutex
	lastLogs map[string]time.Time // refusal log rate limiting, by cause and peer

	connMu sync.Mutex
	conns  map[*trackedConn]struct{}
	closed chan struct{}
	once   sync.Once
	wg     sync.WaitGroup
}

// refusalLogEvery is how often one kind of refusal from one peer is logged;
// a refused raft peer retries every heartbeat.
const refusalLogEvery = 10 * time.Second

func newMux(ln net.Listener, cfg *Config, self Voter) *mux {
	return &mux{
		ln:         ln,
		nodeID:     cfg.NodeID,
		self:       self,
		voters:     cfg.Voters,
		votersText: FormatVoters(cfg.Voters),
		clusterID:  cfg.ClusterID,
		ioTimeout:  cfg.IOTimeout,
		log:        cfg.Logger,
		raftConns:  make(chan net.Conn),
		refusals:   make(chan error, 16),
		lastLogs:   make(map[string]time.Time),
		conns:      make(map[*trackedConn]struct{}),
		closed:     make(chan struct{}),
	}
}

func (m *mux) start() {
	m.wg.Add(1)
	go m.acceptLoop()
}

func (m *mux) acceptLoop() {
	defer m.wg.Done()
	var delay time.Duration
	for {
		c, err := m.ln.Accept()
		if err != nil {
			select {
			case <-m.closed:
				return
			default:
			}
			// Temporary failures (EMFILE) back off like net/http does.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			m.log.Warn("quorum: accept failed", "addr", m.self.Addr, "error", err, "retry_in", delay)
			select {
			case <-m.closed:
				return
			case <-time.After(delay):
			}
			continue
		}
		delay = 0
		tc := m.track(c)
		if tc == nil {
			c.Close()
			return
		}
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			m.handle(tc)
		}()
	}
}

// track registers c so Close can end it; nil once the mux is closed.
func (m *mux) track(c net.Conn) *trackedConn {
	m.connMu.Lock()
	defer m.connMu.Unlock()
	select {
	case <-m.closed:
		return nil
	default:
	}
	tc := &trackedConn{Conn: c, m: m}
	m.conns[tc] = struct{}{}
	return tc
}

// trackedConn removes itself from the mux when closed.
type trackedConn struct {
	net.Conn
	m    *mux
	once sync.Once
}

// Read reports a connection closed by our own shutdown as io.EOF, which
// raft's transport ends quietly on instead of logging a decode error.
func (c *trackedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if err != nil && errors.Is(err, net.ErrClosed) {
		err = io.EOF
	}
	return n, err
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.m.connMu.Lock()
		delete(c.m.conns, c)
		c.m.connMu.Unlock()
	})
	return c.Conn.Close()
}

// handle runs the acceptor's side of the handshake and dispatches the connection.
func (m *mux) handle(c *trackedConn) {
	remote := c.RemoteAddr().String()
	c.SetDeadline(time.Now().Add(m.ioTimeout))
	h, err := readHello(c)
	if err != nil {
		c.Write(appendReply(nil, replyBadHello, err.Error()))
		c.Close()
		m.logLimited("bad-hello/"+remote, "quorum: dropped a connection with a bad handshake", "remote", remote, "error", err)
		return
	}
	if code, reason := m.check(&h); code != replyOK {
		c.Write(appendReply(nil, code, reason))
		c.Close()
		m.refuse(&RefusalError{Inbound: true, PeerID: h.NodeID, PeerAddr: remote, Reason: reason, Err: codeErr(code)})
		return
	}
	if _, err := c.Write(appendReply(nil, replyOK, "")); err != nil {
		c.Close()
		return
	}
	c.SetDeadline(time.Time{})
	switch h.Kind {
	case kindRaft:
		select {
		case m.raftConns <- c:
		case <-m.closed:
			c.Close()
		}
	case kindCall:
		m.serveCall(c)
	}
}

// check decides whether to accept a hello; the message speaks from our side.
func (m *mux) check(h *hello) (uint8, string) {
	ours := m.clusterID()
	if h.ClusterID != "" && ours != "" && h.ClusterID != ours {
		return replyClusterID, fmt.Sprintf("cluster id mismatch: peer node %d says %s, we are %s", h.NodeID, h.ClusterID, ours)
	}
	if h.Voters != m.votersText {
		return replyVoters, fmt.Sprintf("controller.quorum.voters differ: peer node %d has %s, we have %s", h.NodeID, h.Voters, m.votersText)
	}
	for _, v := range m.voters {
		if v.ID == h.NodeID {
			return replyOK, ""
		}
	}
	if h.Kind == kindCall {
		return replyOK, "" // a nonvoter (join.go): same cluster, same voters
	}
	return replyUnknownNode, fmt.Sprintf("node %d is not in controller.quorum.voters (%s)", h.NodeID, m.votersText)
}

// dial connects to a peer's CONTROLLER listener and runs the handshake.
func (m *mux) dial(ctx context.Context, addr string, kind uint8) (net.Conn, error) {
	select {
	case <-m.closed:
		return nil, ErrClosed
	default:
	}
	ctx, cancel := context.WithTimeout(ctx, m.ioTimeout)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("quorum: dial %s: %w", addr, err)
	}
	h := hello{Kind: kind, NodeID: m.nodeID, ClusterID: m.clusterID(), Voters: m.votersText}
	b, err := h.append(nil)
	if err != nil {
		c.Close()
		return nil, err
	}
	dl, _ := ctx.Deadline()
	c.SetDeadline(dl)
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if _, err := c.Write(b); err != nil {
		c.Close()
		return nil, fmt.Errorf("quorum: handshake with %s: %w", addr, err)
	}
	code, msg, err := readReply(c)
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("quorum: handshake with %s: %w", addr, err)
	}
	if code != replyOK {
		c.Close()
		e := &RefusalError{PeerID: m.idOf(addr), PeerAddr: addr, Reason: msg, Err: codeErr(code)}
		m.refuse(e)
		return nil, e
	}
	if !stop() {
		c.Close()
		return nil, fmt.Errorf("quorum: handshake with %s: %w", addr, ctx.Err())
	}
	c.SetDeadline(time.Time{})
	return c, nil
}

// idOf returns the voter id with the address, -1 if none.
func (m *mux) idOf(addr string) int32 {
	for _, v := range m.voters {
		if v.Addr == addr {
			return v.ID
		}
	}
	return -1
}

// refuse logs a refusal (rate limited) and offers it on the refusals channel,
// dropping it when nobody drains the channel.
func (m *mux) refuse(e *RefusalError) {
	m.logLimited(fmt.Sprintf("%t/%d/%v", e.Inbound, e.PeerID, e.Err), e.Error())
	select {
	case m.refusals <- e:
	default:
	}
}

func (m *mux) logLimited(key, msg string, args ...any) {
	now := time.Now()
	m.limitMu.Lock()
	last, seen := m.lastLogs[key]
	ok := !seen || now.Sub(last) >= refusalLogEvery
	if ok {
		m.lastLogs[key] = now
	}
	m.limitMu.Unlock()
	if ok {
		m.log.Error(msg, args...)
	}
}

// close stops accepting, ends every accepted connection and waits for the
// handlers. Raft's stream layer and the call server are stopped before.
func (m *mux) close() error {
	var err error
	m.once.Do(func() {
		m.connMu.Lock()
		close(m.closed)
		conns := make([]*trackedConn, 0, len(m.conns))
		for c := range m.conns {
			conns = append(conns, c)
		}
		m.connMu.Unlock()
		err = m.ln.Close()
		for _, c := range conns {
			c.Close()
		}
		m.wg.Wait()
	})
	return err
}

// streamLayer is raft's view of the mux: the raft streams accepted, and
// dials that announce themselves as raft streams.
type streamLayer struct {
	m      *mux
	once   sync.Once
	closed chan struct{}
}

func newStreamLayer(m *mux) *streamLayer {
	return &streamLayer{m: m, closed: make(chan struct{})}
}

// Accept implements net.Listener.
func (s *streamLayer) Accept() (net.Conn, error) {
	select {
	case c := <-s.m.raftConns:
		return c, nil
	case <-s.closed:
		return nil, net.ErrClosed
	case <-s.m.closed:
		return nil, net.ErrClosed
	}
}

// Close implements net.Listener. It stops raft's accept loop only; the mux
// and its listener are closed by Node.Close.
func (s *streamLayer) Close() error {
	s.once.Do(func() { close(s.closed) })
	return nil
}

// Addr implements net.Listener: the advertised address from voters, which
// raft sends to peers as its own and followers report as the leader's.
func (s *streamLayer) Addr() net.Addr { return voterAddr(s.m.self.Addr) }

// Dial implements raft.StreamLayer.
func (s *streamLayer) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return s.m.dial(ctx, string(addr), kindRaft)
}

type voterAddr string

func (a voterAddr) Network() string { return "tcp" }
func (a voterAddr) String() string  { return string(a) }

var _ raft.StreamLayer = (*streamLayer)(nil)
