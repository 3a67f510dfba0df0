package cluster

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicelog/sluice/engine/metadata"
	"github.com/sluicelog/sluice/net/quorum"
	"github.com/sluicelog/sluice/net/replica"
)

// ErrRefused is wrapped by every reason a node refuses to start: a data
// directory of another node or cluster, a node id held by a live broker.
var ErrRefused = errors.New("cluster: refused to start")

// Member is one node's seat in the cluster.
type Member struct {
	cfg    Config
	logger *slog.Logger
	state  *metadata.State
	node   *quorum.Node

	// incarnation tells this process apart from an earlier one with the
	// same node id.
	incarnation string
	// knownClusterID is the cluster id this node stands by ("" while
	// unknown): from meta.properties, cluster.id, or the image.
	knownClusterID atomic.Pointer[string]
	// hadMeta is true when the data directory was already a member's.
	hadMeta bool

	mu        sync.Mutex
	listeners map[string]string // the broker's advertised addresses, once registered

	storageMu sync.Mutex // serialises reconciliation of local storage
	// storageLive turns on once Join has caught up with the quorum: from
	// then on local storage follows the image (see reconcileTopic).
	storageLive atomic.Bool
	leadersMu   sync.Mutex // serialises rebuilds of leaders
	leaders     atomic.Pointer[leaderMap]

	ctrl *controller

	// repl runs this broker's replicas once Join has caught up.
	repl        *replica.Manager
	replStarted atomic.Bool
	registered  atomic.Bool
	// beats is how the session stands: the last heartbeat the active
	// controller acknowledged, and the last failure since (for /readyz).
	beats        heartbeatStatus
	shuttingDown atomic.Bool
	shutdownOnce sync.Once

	// creatingOffsets is set while a FindCoordinator's creation of the
	// offsets topic runs.
	creatingOffsets atomic.Bool
	watchMu         sync.Mutex
	watchers        []func() // WatchImage's

	pidMu            sync.Mutex
	pidNext, pidLast int64 // the block in hand: [pidNext, pidLast]; empty when pidNext > pidLast

	// ctx ends when Close begins: the heartbeat loop and the controller's
	// duties stop, and their calls in flight give up.
	ctx     context.Context
	stop    context.CancelFunc
	bg      sync.WaitGroup
	closing sync.Once
}

// Start opens the node's quorum seat: its raft log replays into the image
// (and the image into local storage). It does not register the broker:
// Register does, once the broker's listeners are bound.
func Start(cfg Config) (*Member, error) {
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	m := &Member{cfg: cfg, logger: cfg.Logger.With("component", "cluster")}
	m.ctx, m.stop = context.WithCancel(context.Background())
	m.leaders.Store(&leaderMap{})
	m.incarnation = randomID()
	mp, ok, err := readMetaProperties(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("%w: data directory %s: %v", ErrRefused, cfg.DataDir, err)
	}
	m.hadMeta = ok
	known := cfg.ClusterID
	if ok {
		if mp.NodeID != cfg.NodeID {
			return nil, fmt.Errorf("%w: data directory %s belongs to node.id %d (its %s), but this broker is node.id %d", ErrRefused, cfg.DataDir, mp.NodeID, metaPropertiesFile, cfg.NodeID)
		}
		if cfg.ClusterID != "" && mp.ClusterID != "" && mp.ClusterID != cfg.ClusterID {
			return nil, fmt.Errorf("%w: data directory %s belongs to cluster %s (its %s), but cluster.id is %s", ErrRefused, cfg.DataDir, mp.ClusterID, metaPropertiesFile, cfg.ClusterID)
		}
		if mp.ClusterID != "" {
			known = mp.ClusterID
		}
	} else if cfg.Engine != nil {
		if topics := cfg.Engine.Topics(); len(topics) > 0 {
			return nil, fmt.Errorf("%w: data directory %s holds %d topics of a single-node broker (%v...); a cluster member starts on an empty directory or on one of its own", ErrRefused, cfg.DataDir, len(topics), topics[0])
		}
	}
	m.knownClusterID.Store(&known)
	if err := writeMetaProperties(cfg.DataDir, metaProperties{NodeID: cfg.NodeID, ClusterID: known}); err != nil {
		return nil, fmt.Errorf("data directory %s: %w", cfg.DataDir, err)
	}
	m.ctrl = newController(m)
	m.state = metadata.New(metadata.Options{OnChange: m.onChange, OnRestore: m.onRestore})
	node, err := quorum.Start(quorum.Config{
		NodeID:           cfg.NodeID,
		Dir:              filepath.Join(cfg.DataDir, MetadataDirName),
		Listen:           cfg.ControllerListen,
		Listener:         cfg.ControllerListener,
		Voters:           cfg.Voters,
		Nonvoter:         cfg.Nonvoter,
		ClusterID:        func() string { return *m.knownClusterID.Load() },
		StateMachine:     stateMachine{m.state},
		LeaderHandler:    m.ctrl.handle,
		Logger:           cfg.Logger.With("component", "quorum"),
		HeartbeatTimeout: cfg.RaftHeartbeatTimeout,
		ElectionTimeout:  cfg.RaftElectionTimeout,
	})
	if err != nil {
		return nil, err
	}
	m.node = node
	m.bg.Add(1)
	go func() {
		defer m.bg.Done()
		m.ctrl.run(m.ctx.Done())
	}()
	return m, nil
}

// stateMachine adapts the image to the quorum's opaque commands.
type stateMachine struct{ s *metadata.State }

func (sm stateMachine) Apply(cmd []byte) []byte       { return sm.s.ApplyEncoded(cmd) }
func (sm stateMachine) Snapshot() ([]byte, error)     { return sm.s.Snapshot() }
func (sm stateMachine) Restore(snapshot []byte) error { return sm.s.Restore(snapshot) }

// FreezeSnapshot implements quorum.SnapshotFreezer: the image is copy on
// write, so taking it is cheap on the apply goroutine, and raft encodes it
// on its own (a million partitions take a few hundred milliseconds).
func (sm stateMachine) FreezeSnapshot() (func(io.Writer) error, error) {
	im := sm.s.Image()
	return func(w io.Writer) error { return metadata.WriteSnapshot(w, im) }, nil
}

// Join waits until the quorum has a leader and this node's image is
// current, then checks the cluster id against the data directory's. A
// controller-only node is a member once Join returns; a broker then
// registers.
func (m *Member) Join(ctx context.Context) error {
	refusals := m.node.Refusals()
	ready := make(chan error, 1)
	go func() { ready <- m.node.WaitReady(ctx) }()
	var err error
wait:
	for {
		select {
		case err = <-ready:
			break wait
		case r := <-refusals:
			if errors.Is(r, quorum.ErrClusterIDMismatch) || errors.Is(r, quorum.ErrVotersMismatch) {
				return fmt.Errorf("%w: %v", ErrRefused, r)
			}
		}
	}
	if err != nil {
		return fmt.Errorf("joining the metadata quorum: %w", err)
	}
	// The first active controller names the cluster; wait for its record.
	id, err := m.waitFor(ctx, refusals, func() (string, bool) {
		id := m.state.ClusterID()
		return id, id != ""
	})
	if err != nil {
		return fmt.Errorf("waiting for the cluster id: %w", err)
	}
	if known := *m.knownClusterID.Load(); known != "" && known != id {
		return fmt.Errorf("%w: data directory %s belongs to cluster %s, but the quorum is cluster %s", ErrRefused, m.cfg.DataDir, known, id)
	}
	if *m.knownClusterID.Load() != id {
		m.knownClusterID.Store(&id)
		if err := writeMetaProperties(m.cfg.DataDir, metaProperties{NodeID: m.cfg.NodeID, ClusterID: id}); err != nil {
			return fmt.Errorf("data directory %s: %w", m.cfg.DataDir, err)
		}
	}
	// The image is current: local storage follows it from here on.
	m.storageLive.Store(true)
	m.reconcileAll()
	if !m.replStarted.Load() {
		m.startReplicas()
	}
	return nil
}

// waitFor polls cond until it holds, ctx ends, or a peer refuses us.
func (m *Member) waitFor(ctx context.Context, refusals <-chan error, cond func() (string, bool)) (string, error) {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		if v, ok := cond(); ok {
			return v, nil
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case r := <-refusals:
			if errors.Is(r, quorum.ErrClusterIDMismatch) || errors.Is(r, quorum.ErrVotersMismatch) {
				return "", fmt.Errorf("%w: %v", ErrRefused, r)
			}
		case <-t.C:
		}
	}
}

// Leader calls from brokers to the active controller.
const (
	callRegister  uint8 = 1
	callHeartbeat uint8 = 2
)

type registerRequest struct {
	ID          int32             `json:"id"`
	Incarnation string            `json:"incarnation"`
	Listeners   map[string]string `json:"listeners"`
}

type heartbeatRequest struct {
	ID          int32  `json:"id"`
	Incarnation string `json:"incarnation"`
	// ShuttingDown asks for a controlled shutdown: the controller fences
	// the broker (moving its leaderships) and no longer unfences it.
	ShuttingDown bool `json:"shutting_down,omitempty"`
}

// callResponse answers both calls.
type callResponse struct {
	Code    int16  `json:"code"`
	Message string `json:"message,omitempty"`
	// Reregister asks a heartbeating broker to register again: the image
	// does not know it, or knows another incarnation of it.
	Reregister bool `json:"reregister,omitempty"`
	Fenced     bool `json:"fenced,omitempty"`
}

// Register registers this broker with the listener addresses its
// listeners advertised (Advertise, as they bind), waits until the image
// shows it unfenced, and keeps its session alive with heartbeats until
// Close. A broker restarted within its old session's timeout is told its id
// is taken until that session expires, so Register retries for up to two
// session timeouts before it gives up.
func (m *Member) Register(ctx context.Context) error {
	giveUp := time.Now().Add(2*m.cfg.SessionTimeout + 5*time.Second)
	// The first retry of each kind is a warning, the others debug.
	warned := map[string]bool{}
	retryLevel := func(kind string) slog.Level {
		if warned[kind] {
			return slog.LevelDebug
		}
		warned[kind] = true
		return slog.LevelWarn
	}
	for {
		resp, err := m.register(ctx)
		if err != nil {
			// A controller failover mid-registration: the call is
			// idempotent for this incarnation, so try again.
			if ctx.Err() != nil || time.Now().After(giveUp) {
				return fmt.Errorf("registering node %d: %w", m.cfg.NodeID, err)
			}
			m.logger.Log(ctx, retryLevel("failed"), "registration failed; retrying", "node", m.cfg.NodeID, "err", err)
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(m.cfg.HeartbeatInterval / 2):
			}
			continue
		}
		if resp.Code == metadata.CodeNone {
			break
		}
		if resp.Code != metadata.CodeDuplicateBrokerRegistration || time.Now().After(giveUp) {
			return fmt.Errorf("%w: registering node %d: %s: %s", ErrRefused, m.cfg.NodeID, metadata.CodeName(resp.Code), resp.Message)
		}
		m.logger.Log(ctx, retryLevel("held"), "node id still held by an earlier session; retrying", "node", m.cfg.NodeID, "reason", resp.Message)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(m.cfg.HeartbeatInterval / 2):
		}
	}
	// Heartbeats start now: a registration fenced right away (the old
	// session's expiry racing it) is unfenced by the next one.
	m.bg.Add(1)
	go m.heartbeatLoop()
	_, err := m.waitFor(ctx, nil, func() (string, bool) {
		b, ok := m.state.Broker(m.cfg.NodeID)
		return "", ok && !b.Fenced && b.Incarnation == m.incarnation
	})
	if err != nil {
		return fmt.Errorf("waiting to be unfenced: %w", err)
	}
	m.beats.ok()
	m.registered.Store(true)
	m.imageChanged(nil) // the replicas may lead now
	m.logger.Info("registered with the controller", "event", "registered", "node", m.cfg.NodeID, "cluster_id", m.state.ClusterID())
	return nil
}

func (m *Member) register(ctx context.Context) (callResponse, error) {
	m.mu.Lock()
	req := registerRequest{ID: m.cfg.NodeID, Incarnation: m.incarnation, Listeners: m.listeners}
	m.mu.Unlock()
	return m.call(ctx, callRegister, req)
}

func (m *Member) call(ctx context.Context, kind uint8, req any) (callResponse, error) {
	payload, err := json.Marshal(req)
	if err != nil {
		return callResponse{}, err
	}
	out, err := m.node.LeaderCall(ctx, kind, payload)
	if err != nil {
		return callResponse{}, err
	}
	var resp callResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		return callResponse{}, fmt.Errorf("controller's answer: %w", err)
	}
	return resp, nil
}

// heartbeatLoop keeps the broker's session alive. A heartbeat that the
// controller answers with "register again" (a new controller, or an image
// that lost us) registers again. Failed heartbeats are logged at debug:
// one or two fail in every controller failover. Once they have failed for
// half a session, which puts the broker near fencing, one warning says so
// (heartbeat_failing), and one info line when they reach the controller
// again (heartbeat_recovered).
func (m *Member) heartbeatLoop() {
	defer m.bg.Done()
	t := time.NewTicker(m.cfg.HeartbeatInterval)
	defer t.Stop()
	var failingSince time.Time
	failures, warned := 0, false
	for {
		select {
		case <-m.ctx.Done():
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(m.ctx, m.cfg.SessionTimeout/2)
		resp, err := m.call(ctx, callHeartbeat, heartbeatRequest{ID: m.cfg.NodeID, Incarnation: m.incarnation, ShuttingDown: m.shuttingDown.Load()})
		if err == nil && resp.Reregister {
			resp, err = m.register(ctx)
			if err == nil && resp.Code != metadata.CodeNone {
				m.logger.Error("registering again failed", "code", metadata.CodeName(resp.Code), "reason", resp.Message)
				// Not registered: the session is not alive, whatever the
				// transport says.
				err = fmt.Errorf("registering again refused: %s: %s", metadata.CodeName(resp.Code), resp.Message)
			}
		}
		cancel()
		switch {
		case err == nil:
			m.beats.ok()
			if warned {
				m.logger.Info("heartbeats reach the controller again", "event", "heartbeat_recovered", "node", m.cfg.NodeID,
					"failed_for", time.Since(failingSince).Round(time.Millisecond), "failures", failures)
			}
			failingSince, failures, warned = time.Time{}, 0, false
		case errors.Is(err, context.Canceled):
		default:
			m.beats.failed(err)
			if failures == 0 {
				failingSince = time.Now()
			}
			failures++
			m.logger.Debug("heartbeat failed", "node", m.cfg.NodeID, "failures", failures, "err", err)
			if !warned && time.Since(failingSince) >= m.cfg.SessionTimeout/2 {
				warned = true
				m.logger.Warn("heartbeats to the controller failing", "event", "heartbeat_failing", "node", m.cfg.NodeID,
					"failed_for", time.Since(failingSince).Round(time.Millisecond), "failures", failures,
					"session_timeout", m.cfg.SessionTimeout, "err", err)
			}
		}
	}
}

// Close moves this broker's leaderships away first (controlled shutdown,
// bounded by ControlledShutdownTimeout), then stops its replicas, leaves
// the quorum and stops heartbeats.
func (m *Member) Close() error {
	var err error
	m.closing.Do(func() {
		m.controlledShutdown(context.Background())
		if m.replStarted.Load() {
			m.repl.Close()
		}
		m.stop()
		m.bg.Wait()
		err = m.node.Close()
	})
	return err
}

// State is the node's metadata image, for reading.
func (m *Member) State() *metadata.State { return m.state }

// Node is the node's quorum seat.
func (m *Member) Node() *quorum.Node { return m.node }

// NodeID is this node's id.
func (m *Member) NodeID() int32 { return m.cfg.NodeID }

// propose proposes a record and turns a refusal into an error. A caller
// without a deadline gets ProposeTimeout: with the quorum lost, an admin
// request fails (REQUEST_TIMED_OUT, NOT_CONTROLLER) instead of hanging.
func (m *Member) propose(ctx context.Context, rec metadata.Record) (metadata.Result, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, ProposeTimeout)
		defer cancel()
	}
	cmd, err := metadata.Encode(rec)
	if err != nil {
		return metadata.Result{}, err
	}
	out, err := m.node.Propose(ctx, cmd)
	if err != nil {
		return metadata.Result{}, err
	}
	res, err := metadata.DecodeResult(out)
	if err != nil {
		return metadata.Result{}, err
	}
	return res, res.Err()
}

// randomID is 16 random bytes in URL-safe base64: the shape of Kafka's
// cluster ids, and this package's incarnations.
func randomID() string {
	var raw [16]byte
	if _, err := rand.Read(raw[:]); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return base64.RawURLEncoding.EncodeToString(raw[:])
}
