package quorum

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hashicorp/raft"
)

// Node is one member of the metadata quorum.
type Node struct {
	cfg    Config
	self   Voter
	raft   *raft.Raft
	fsm    *fsm
	store  *Store
	trans  *raft.NetworkTransport
	mux    *mux
	pool   callPool
	ctx    context.Context // ends when Close starts
	cancel context.CancelFunc

	notifyCh chan bool     // raft's leadership notifications, drained by forwardLeadership
	leaderCh chan bool     // what LeaderChanges returns: the latest value only
	raftDone chan struct{} // closed once raft has shut down
	// raftReady is closed once raft is set: the listener accepts peers
	// before that (raft's own streams wait in the transport), and a peer's
	// leader call that arrives during a restart's replay must wait too.
	raftReady chan struct{}
	// currentTerm is the term in which this node, as leader, last confirmed
	// it had applied all earlier leaders' entries (leaderCurrent).
	currentTerm atomic.Uint64
	// joinErr is set when a nonvoter's join was refused for good.
	joinErr atomic.Pointer[error]
	wg      sync.WaitGroup

	closeOnce sync.Once
	closeErr  error
}

// Start opens the raft stores in cfg.Dir, binds the CONTROLLER listener and
// starts raft. On a fresh directory every voter bootstraps the same
// configuration from cfg.Voters (hashicorp/raft's documented way to form a
// static cluster); a node restarting on its directory rejoins with what it
// stored.
func Start(cfg Config) (*Node, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		if cfg.Listener != nil {
			cfg.Listener.Close()
		}
		return nil, err
	}
	self, _ := cfg.self()

	ln := cfg.Listener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", cfg.Listen); err != nil {
			if errors.Is(err, syscall.EADDRINUSE) {
				return nil, fmt.Errorf("quorum: CONTROLLER listener %s is already in use; is another broker with node.id %d running? %w", cfg.Listen, cfg.NodeID, err)
			}
			return nil, fmt.Errorf("quorum: CONTROLLER listener %s: %w", cfg.Listen, err)
		}
	}
	bound := ln.Addr().String()
	if cfg.Nonvoter {
		addr, err := cfg.nonvoterAddr(bound)
		if err != nil {
			ln.Close()
			return nil, err
		}
		self = Voter{ID: cfg.NodeID, Addr: addr}
	} else if !addrMatches(bound, self.Addr) && (cfg.Listener != nil || !addrMatches(cfg.Listen, self.Addr)) {
		ln.Close()
		return nil, fmt.Errorf("quorum: node.id %d listens on %s but controller.quorum.voters gives it %s", cfg.NodeID, bound, self.Addr)
	}

	n, err := start(cfg, self, ln)
	if err != nil {
		ln.Close()
		return nil, err
	}
	return n, nil
}

func start(cfg Config, self Voter, ln net.Listener) (_ *Node, err error) {
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("quorum: %w", err)
	}
	hlog := newHclog(cfg.Logger, "raft")
	store, err := OpenStore(filepath.Join(cfg.Dir, "raft"), cfg.Logger)
	if err != nil {
		return nil, err
	}
	snaps, err := raft.NewFileSnapshotStoreWithLogger(cfg.Dir, cfg.SnapshotRetain, hlog.Named("snapshots"))
	if err != nil {
		store.Close()
		return nil, fmt.Errorf("quorum: snapshot store in %s: %w", cfg.Dir, err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	n := &Node{
		cfg:      cfg,
		self:     self,
		fsm:      newFSM(cfg.StateMachine),
		store:    store,
		ctx:      ctx,
		cancel:   cancel,
		notifyCh: make(chan bool, 8),
		leaderCh: make(chan bool, 1),
		raftDone: make(chan struct{}),

		raftReady: make(chan struct{}),
	}
	n.mux = newMux(ln, &cfg, self)
	n.mux.serveCall = n.serveCall
	n.trans = raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream:  newStreamLayer(n.mux),
		MaxPool: 3,
		Timeout: cfg.IOTimeout,
		Logger:  hlog.Named("transport"),
	})
	trans := &healthTransport{NetworkTransport: n.trans, h: newPeerHealth(&cfg, func() bool { return ctx.Err() != nil })}
	defer func() {
		switch {
		case err == nil:
		case n.raft != nil:
			n.Close()
		default:
			cancel()
			n.trans.Close()
			n.mux.close()
			store.Close()
		}
	}()

	rc := raft.DefaultConfig()
	rc.LocalID = serverID(cfg.NodeID)
	rc.HeartbeatTimeout = cfg.HeartbeatTimeout
	rc.ElectionTimeout = cfg.ElectionTimeout
	rc.LeaderLeaseTimeout = cfg.LeaderLeaseTimeout
	rc.CommitTimeout = cfg.CommitTimeout
	rc.SnapshotThreshold = cfg.SnapshotThreshold
	rc.TrailingLogs = cfg.TrailingLogs
	rc.SnapshotInterval = cfg.SnapshotInterval
	rc.NotifyCh = n.notifyCh
	rc.Logger = hlog

	existing, err := raft.HasExistingState(store, store, snaps)
	if err != nil {
		return nil, fmt.Errorf("quorum: reading raft state in %s: %w", cfg.Dir, err)
	}
	if !existing && !cfg.Nonvoter { // a nonvoter learns the configuration from the leader
		if err := raft.BootstrapCluster(rc, store, store, snaps, trans, configuration(cfg.Voters)); err != nil {
			return nil, fmt.Errorf("quorum: bootstrapping %s: %w", cfg.Dir, err)
		}
	}

	logs, err := raft.NewLogCache(512, store)
	if err != nil {
		return nil, fmt.Errorf("quorum: %w", err)
	}
	n.mux.start()
	if n.raft, err = raft.NewRaft(rc, n.fsm, logs, store, snaps, trans); err != nil {
		return nil, fmt.Errorf("quorum: starting raft in %s: %w", cfg.Dir, err)
	}
	close(n.raftReady)
	n.wg.Add(1)
	go n.forwardLeadership()

	// Voters are static: a directory made for another quorum would let raft
	// elect with a membership nobody configured. Nonvoters beside them come
	// and go. A nonvoter that has not joined yet stores no configuration.
	f := n.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return nil, fmt.Errorf("quorum: reading raft configuration: %w", err)
	}
	servers := f.Configuration().Servers
	if stored := voterServers(servers); (len(servers) > 0 || !cfg.Nonvoter) && !sameServers(stored, configuration(cfg.Voters).Servers) {
		return nil, fmt.Errorf("quorum: controller.quorum.voters (%s) differ from the quorum stored in %s (%s)",
			FormatVoters(cfg.Voters), cfg.Dir, formatServers(stored))
	}
	if cfg.Nonvoter {
		n.wg.Add(1)
		go n.join()
	}
	cfg.Logger.Info("quorum: started", "node", cfg.NodeID, "addr", self.Addr, "dir", cfg.Dir,
		"voters", n.mux.votersText, "nonvoter", cfg.Nonvoter, "bootstrapped", !existing && !cfg.Nonvoter)
	return n, nil
}

// voterServers returns the servers with a vote.
func voterServers(ss []raft.Server) []raft.Server {
	var vs []raft.Server
	for _, s := range ss {
		if s.Suffrage == raft.Voter {
			vs = append(vs, s)
		}
	}
	return vs
}

func serverID(id int32) raft.ServerID { return raft.ServerID(strconv.Itoa(int(id))) }

func configuration(vs []Voter) raft.Configuration {
	var c raft.Configuration
	for _, v := range vs {
		c.Servers = append(c.Servers, raft.Server{Suffrage: raft.Voter, ID: serverID(v.ID), Address: raft.ServerAddress(v.Addr)})
	}
	return c
}

func sameServers(a, b []raft.Server) bool {
	key := func(s []raft.Server) []string {
		k := make([]string, len(s))
		for i, sv := range s {
			k[i] = fmt.Sprintf("%s@%s/%v", sv.ID, sv.Address, sv.Suffrage)
		}
		slices.Sort(k)
		return k
	}
	return slices.Equal(key(a), key(b))
}

func formatServers(ss []raft.Server) string {
	var vs []Voter
	for _, s := range ss {
		id, _ := strconv.Atoi(string(s.ID))
		vs = append(vs, Voter{ID: int32(id), Addr: string(s.Address)})
	}
	return FormatVoters(vs)
}

// forwardLeadership drains raft's NotifyCh, on which raft blocks, into the
// one-slot LeaderChanges channel, replacing a value nobody has read yet.
// It logs each change: the raft leader is the broker's active controller.
func (n *Node) forwardLeadership() {
	defer n.wg.Done()
	leading := false
	for {
		select {
		case v := <-n.notifyCh:
			if v && !n.becameCurrent() {
				continue // leadership already lost; a false follows
			}
			if v != leading {
				leading = v
				msg := "quorum: this node is the active controller"
				if !v {
					msg = "quorum: this node is no longer the active controller"
				}
				n.cfg.Logger.Info(msg, "event", "controller_change", "node", n.cfg.NodeID,
					"active", v, "term", n.raft.CurrentTerm())
			}
			select {
			case <-n.leaderCh:
			default:
			}
			n.leaderCh <- v
		case <-n.raftDone: // not before: raft blocks sending its last "false"
			return
		}
	}
}

// becameCurrent waits, on a new leader, until its state machine holds every
// entry earlier leaders committed, so the broker's controller logic starts
// from a current image. It reports false if leadership was lost meanwhile.
func (n *Node) becameCurrent() bool {
	ctx, cancel := context.WithTimeout(n.ctx, 20*n.cfg.ElectionTimeout)
	defer cancel()
	for n.IsLeader() {
		err := n.leaderCurrent(ctx)
		if err == nil {
			return true
		}
		if ctx.Err() != nil || errors.Is(err, ErrClosed) {
			n.cfg.Logger.Warn("quorum: leader not caught up; reporting leadership anyway", "node", n.cfg.NodeID, "error", err)
			return n.IsLeader()
		}
		select {
		case <-ctx.Done():
		case <-time.After(10 * time.Millisecond):
		}
	}
	return false
}

// leaderCurrent makes sure this node, as leader, has applied every entry
// committed by earlier leaders. raft reports leadership before the new
// leader's first entry commits, and until then its state machine may lack
// entries its predecessor committed. It costs one barrier per term.
func (n *Node) leaderCurrent(ctx context.Context) error {
	term := n.raft.CurrentTerm()
	if n.currentTerm.Load() == term {
		return nil
	}
	if _, _, err := n.syncLocal(ctx); err != nil {
		if errors.Is(err, ErrClosed) || ctx.Err() != nil {
			return err
		}
		return fmt.Errorf("%w: %w", errRetry, err) // a barrier is harmless to repeat
	}
	n.currentTerm.Store(term)
	return nil
}

// Addr returns the CONTROLLER address this node advertises (its voters
// entry, or a nonvoter's Config.Advertise).
func (n *Node) Addr() string { return n.self.Addr }

// IsLeader reports whether this node is the raft leader now; always false
// on a nonvoter.
func (n *Node) IsLeader() bool { return n.raft.State() == raft.Leader }

// Leader returns the leader this node knows of; ok is false while none is known.
func (n *Node) Leader() (id int32, addr string, ok bool) {
	a, sid := n.raft.LeaderWithID()
	if a == "" {
		return -1, "", false
	}
	i, err := strconv.ParseInt(string(sid), 10, 32)
	if err != nil {
		return -1, string(a), true
	}
	return int32(i), string(a), true
}

// LeaderChanges delivers true when this node becomes leader and false when it
// stops. The channel holds only the latest value: a slow reader may miss a
// flip but always ends up with the current state.
func (n *Node) LeaderChanges() <-chan bool { return n.leaderCh }

// Refusals delivers handshake refusals in both directions (*RefusalError),
// without blocking: refusals nobody reads are dropped. A broker can stop on
// errors.Is(err, ErrClusterIDMismatch) or ErrVotersMismatch.
func (n *Node) Refusals() <-chan error { return n.mux.refusals }

// Stats is a point-in-time view of the node's raft state.
type Stats struct {
	State        string // "Follower", "Candidate", "Leader" or "Shutdown"
	Term         uint64
	LastLogIndex uint64
	CommitIndex  uint64
	// AppliedIndex is the index of the last command the StateMachine applied
	// (or of the snapshot it restored); raft's no-op and configuration
	// entries never reach it, so it may trail CommitIndex when idle.
	AppliedIndex uint64
	// LastContact is when this node last heard from a leader; zero if never.
	LastContact time.Time
	LeaderID    int32 // -1 while unknown
	LeaderAddr  string
}

// Stats returns the node's raft state.
func (n *Node) Stats() Stats {
	id, addr, _ := n.Leader()
	return Stats{
		State:        n.raft.State().String(),
		Term:         n.raft.CurrentTerm(),
		LastLogIndex: n.raft.LastIndex(),
		CommitIndex:  n.raft.CommitIndex(),
		AppliedIndex: n.fsm.appliedIndex(),
		LastContact:  n.raft.LastContact(),
		LeaderID:     id,
		LeaderAddr:   addr,
	}
}

// Propose appends cmd to the raft log and returns the StateMachine's result
// for it. On a follower it is forwarded to the leader. When it returns
// without error, this node's own StateMachine has applied the entry.
//
// Propose retries, until ctx ends, only failures that certainly left the
// log untouched (no leader, not the leader); when the leader was reached
// but no answer came back the error wraps ErrOutcomeUnknown. If ctx ends
// while this node waits to apply the entry, the entry is committed and the
// error says so.
func (n *Node) Propose(ctx context.Context, cmd []byte) ([]byte, error) {
	req := &callRequest{Op: opPropose, Payload: cmd}
	idx, res, err := n.toLeader(ctx, req, false, func(ctx context.Context) (uint64, []byte, error) {
		return n.applyLocal(ctx, cmd)
	})
	if err != nil {
		return nil, err
	}
	if err := n.fsm.waitApplied(ctx, idx); err != nil {
		return nil, err
	}
	return res, nil
}

// applyLocal runs raft.Apply on this node, which should be the leader. An
// error wrapping errRetry means the command was not appended.
func (n *Node) applyLocal(ctx context.Context, cmd []byte) (uint64, []byte, error) {
	f := n.raft.Apply(cmd, untilDeadline(ctx))
	if err := n.await(ctx, f); err != nil {
		return 0, nil, err
	}
	res, _ := f.Response().([]byte)
	return f.Index(), res, nil
}

// nudgeFollowers tells followers the new commit index now. The follower
// that forwarded a proposal waits to apply it itself, and raft sends an
// idle follower the commit index only with its next entry or after
// CommitTimeout (10-20 ms); a barrier is such an entry, and its
// AppendEntries carries the commit index at once. Nobody waits for it.
// It costs one more synced log entry per forwarded proposal, which is
// far less than the CommitTimeout it saves (follower Propose: 8.4 ms
// before, 1.2 ms after, in BenchmarkPropose).
func (n *Node) nudgeFollowers() {
	// A short enqueue timeout: when raft's queue is that busy, entries are
	// flowing and carry the commit index anyway.
	n.raft.Barrier(50 * time.Millisecond)
}

// syncLocal makes sure this node, the leader, has applied everything
// committed before the call, and returns its applied index.
func (n *Node) syncLocal(ctx context.Context) (uint64, []byte, error) {
	if err := n.await(ctx, n.raft.Barrier(untilDeadline(ctx))); err != nil {
		return 0, nil, err
	}
	return n.fsm.appliedIndex(), nil, nil
}

// await waits for a raft future and classifies its error.
func (n *Node) await(ctx context.Context, f raft.Future) error {
	done := make(chan error, 1)
	go func() { done <- f.Error() }()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", ErrOutcomeUnknown, ctx.Err())
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, raft.ErrNotLeader), errors.Is(err, raft.ErrEnqueueTimeout),
		errors.Is(err, raft.ErrLeadershipTransferInProgress):
		return fmt.Errorf("%w: %w", errRetry, err)
	case errors.Is(err, raft.ErrRaftShutdown):
		return ErrClosed
	default: // ErrLeadershipLost: the entry may still commit under the next leader
		return fmt.Errorf("%w: %w", ErrOutcomeUnknown, err)
	}
}

// untilDeadline converts ctx's deadline to raft's enqueue timeout (0: none).
func untilDeadline(ctx context.Context) time.Duration {
	if dl, ok := ctx.Deadline(); ok {
		return max(time.Until(dl), time.Millisecond)
	}
	return 0
}

// WaitReady returns once a leader is known and this node's StateMachine has
// applied everything the leader had committed when asked, so local reads see
// a current state. It may be called again at any time as a read barrier.
func (n *Node) WaitReady(ctx context.Context) error {
	req := &callRequest{Op: opSync}
	idx, _, err := n.toLeader(ctx, req, true, func(ctx context.Context) (uint64, []byte, error) {
		idx, res, err := n.syncLocal(ctx)
		if errors.Is(err, ErrOutcomeUnknown) && ctx.Err() == nil {
			err = fmt.Errorf("%w: %w", errRetry, err) // a barrier is harmless to repeat
		}
		return idx, res, err
	})
	if err != nil {
		return err
	}
	return n.fsm.waitApplied(ctx, idx)
}

// Snapshot asks raft to snapshot the state machine now and compact the log.
func (n *Node) Snapshot() error {
	if err := n.raft.Snapshot().Error(); err != nil {
		return fmt.Errorf("quorum: snapshot: %w", err)
	}
	return nil
}

// Close shuts raft down, then the transport, the listener and the stores.
// It is idempotent; calls in flight fail with ErrClosed.
func (n *Node) Close() error {
	n.closeOnce.Do(func() {
		n.cancel()
		var errs []error
		if err := n.raft.Shutdown().Error(); err != nil {
			errs = append(errs, fmt.Errorf("quorum: raft shutdown: %w", err))
		}
		close(n.raftDone)
		n.trans.Close()
		n.pool.close()
		if err := n.mux.close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, fmt.Errorf("quorum: closing listener: %w", err))
		}
		n.wg.Wait()
		if err := n.store.Close(); err != nil {
			errs = append(errs, fmt.Errorf("quorum: closing raft store: %w", err))
		}
		n.closeErr = errors.Join(errs...)
		n.cfg.Logger.Info("quorum: closed", "node", n.cfg.NodeID)
	})
	return n.closeErr
}
