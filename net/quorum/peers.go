package quorum

import (
	"errors"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// Peer reachability. hashicorp/raft logs an error for every RPC that fails:
// while one voter is down the leader logs a heartbeat failure (and an
// appendEntries failure) to it every few hundred milliseconds, for as long
// as it stays down. Those lines go to debug (hclogSlog.Log); instead the
// transport reports each RPC's outcome here, and this logs one warning when
// a peer becomes unreachable and one info line when it answers again:
//
//	level=WARN msg="quorum: raft peer unreachable" event=raft_peer_unreachable node=3 addr=... error=...
//	level=INFO msg="quorum: raft peer reachable" event=raft_peer_reachable node=3 addr=... unreachable_for=4.2s
//
// A peer is unreachable once its RPCs have failed for downAfter with no
// success in between, so a single failed RPC (a pooled connection the peer
// closed, redialled at once) says nothing above debug. A peer that flaps is
// warned about at most once per warnEvery.

// peerWarnEvery is how often, at most, one peer's unreachable warning is logged.
const peerWarnEvery = 30 * time.Second

// peerHealth tracks, per peer, whether its RPCs fail.
type peerHealth struct {
	log       *slog.Logger
	downAfter time.Duration // failing this long makes a peer unreachable
	// forgetAfter is the longest gap between two failures that still
	// counts as one outage: a candidate's votes to a dead peer come once
	// per election, a leader's heartbeats every few hundred milliseconds.
	forgetAfter time.Duration
	warnEvery   time.Duration
	closing     func() bool

	mu    sync.Mutex
	peers map[raft.ServerID]*peerState
}

type peerState struct {
	failingSince time.Time // first failure since the last success; zero while healthy
	lastFailure  time.Time
	failures     int
	down         bool      // the unreachable warning was logged, no success since
	lastWarn     time.Time // when it was
}

func newPeerHealth(cfg *Config, closing func() bool) *peerHealth {
	return &peerHealth{
		log:         cfg.Logger,
		downAfter:   cfg.HeartbeatTimeout,
		forgetAfter: 4 * cfg.ElectionTimeout,
		warnEvery:   peerWarnEvery,
		closing:     closing,
		peers:       map[raft.ServerID]*peerState{},
	}
}

// observe records the outcome of one RPC to a peer.
func (h *peerHealth) observe(id raft.ServerID, addr raft.ServerAddress, err error) {
	if err == nil {
		h.succeeded(id, addr)
		return
	}
	var re *RefusalError
	if errors.As(err, &re) || errors.Is(err, raft.ErrTransportShutdown) || h.closing() {
		// A refusal is the mux's to log (the peer answers, and says no);
		// failures while this node closes say nothing about the peer.
		return
	}
	h.failed(id, addr, err, time.Now())
}

func (h *peerHealth) succeeded(id raft.ServerID, addr raft.ServerAddress) {
	h.mu.Lock()
	st := h.peers[id]
	if st == nil || st.failingSince.IsZero() {
		h.mu.Unlock()
		return
	}
	since, down, failures := st.failingSince, st.down, st.failures
	st.failingSince, st.lastFailure, st.failures, st.down = time.Time{}, time.Time{}, 0, false
	h.mu.Unlock()
	args := []any{"node", h.nodeID(id), "addr", string(addr), "unreachable_for", time.Since(since).Round(time.Millisecond), "failed_rpcs", failures}
	if !down {
		h.log.Debug("quorum: raft peer answers again", args...)
		return
	}
	h.log.Info("quorum: raft peer reachable", append([]any{"event", "raft_peer_reachable"}, args...)...)
}

func (h *peerHealth) failed(id raft.ServerID, addr raft.ServerAddress, err error, now time.Time) {
	h.mu.Lock()
	st := h.peers[id]
	if st == nil {
		st = &peerState{}
		h.peers[id] = st
	}
	if st.failingSince.IsZero() || !st.down && now.Sub(st.lastFailure) > h.forgetAfter {
		st.failingSince, st.failures = now, 0
	}
	st.lastFailure = now
	st.failures++
	warn := !st.down && now.Sub(st.failingSince) >= h.downAfter &&
		(st.lastWarn.IsZero() || now.Sub(st.lastWarn) >= h.warnEvery)
	if warn {
		st.down, st.lastWarn = true, now
	}
	since, failures := st.failingSince, st.failures
	h.mu.Unlock()
	if !warn {
		return // raft's own line about this RPC is at debug
	}
	h.log.Warn("quorum: raft peer unreachable", "event", "raft_peer_unreachable",
		"node", h.nodeID(id), "addr", string(addr), "error", err,
		"failing_for", now.Sub(since).Round(time.Millisecond), "failed_rpcs", failures)
}

// nodeID is the voter id raft knows the peer by, -1 if not a number.
func (h *peerHealth) nodeID(id raft.ServerID) int32 {
	n, err := strconv.ParseInt(string(id), 10, 32)
	if err != nil {
		return -1
	}
	return int32(n)
}

// healthTransport is raft's transport, reporting every RPC's outcome to a
// peerHealth. Pipelined appendEntries answer asynchronously and are not
// seen; heartbeats go through AppendEntries and are, every few hundred
// milliseconds at most.
type healthTransport struct {
	*raft.NetworkTransport
	h *peerHealth
}

func (t *healthTransport) AppendEntriesPipeline(id raft.ServerID, target raft.ServerAddress) (raft.AppendPipeline, error) {
	p, err := t.NetworkTransport.AppendEntriesPipeline(id, target)
	t.h.observe(id, target, err)
	return p, err
}

func (t *healthTransport) AppendEntries(id raft.ServerID, target raft.ServerAddress, args *raft.AppendEntriesRequest, resp *raft.AppendEntriesResponse) error {
	err := t.NetworkTransport.AppendEntries(id, target, args, resp)
	t.h.observe(id, target, err)
	return err
}

func (t *healthTransport) RequestVote(id raft.ServerID, target raft.ServerAddress, args *raft.RequestVoteRequest, resp *raft.RequestVoteResponse) error {
	err := t.NetworkTransport.RequestVote(id, target, args, resp)
	t.h.observe(id, target, err)
	return err
}

func (t *healthTransport) RequestPreVote(id raft.ServerID, target raft.ServerAddress, args *raft.RequestPreVoteRequest, resp *raft.RequestPreVoteResponse) error {
	err := t.NetworkTransport.RequestPreVote(id, target, args, resp)
	t.h.observe(id, target, err)
	return err
}

func (t *healthTransport) InstallSnapshot(id raft.ServerID, target raft.ServerAddress, args *raft.InstallSnapshotRequest, resp *raft.InstallSnapshotResponse, data io.Reader) error {
	err := t.NetworkTransport.InstallSnapshot(id, target, args, resp, data)
	t.h.observe(id, target, err)
	return err
}

func (t *healthTransport) TimeoutNow(id raft.ServerID, target raft.ServerAddress, args *raft.TimeoutNowRequest, resp *raft.TimeoutNowResponse) error {
	err := t.NetworkTransport.TimeoutNow(id, target, args, resp)
	t.h.observe(id, target, err)
	return err
}

var (
	_ raft.Transport   = (*healthTransport)(nil)
	_ raft.WithPreVote = (*healthTransport)(nil)
	_ raft.WithClose   = (*healthTransport)(nil)
)

// peerKeys are the argument keys under which raft names another server in
// its log lines: per-RPC failures ("failed to heartbeat to", "failed to
// appendEntries to", "failed to make requestVote RPC"), a lapsed lease
// ("failed to contact"), and the protocol's own refusals of a stale or
// disruptive peer ("peer has newer term", "rejecting vote request").
var peerKeys = map[string]bool{"peer": true, "target": true, "server-id": true, "from": true, "candidate": true}

// namesPeer reports whether a raft log line is about one peer, and is
// not a peer answering yet refusing what it is sent (its RPC succeeded,
// so peerHealth sees nothing wrong): a snapshot a follower will not
// install keeps raft's warning.
func namesPeer(msg string, args []any) bool {
	if msg == "installSnapshot rejected to" {
		return false
	}
	for i := 0; i+1 < len(args); i += 2 {
		if k, ok := args[i].(string); ok && peerKeys[k] {
			return true
		}
	}
	return false
}
