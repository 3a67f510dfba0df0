package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/sluicelog/sluice/engine/metadata"
)

// controller is the active controller's work, done on whichever node leads
// the quorum: admitting registrations, tracking heartbeats, fencing brokers
// whose session expired, and naming the cluster.
type controller struct {
	m *Member

	mu   sync.Mutex
	live *metadata.Liveness // nil while this node does not lead
}

func newController(m *Member) *controller { return &controller{m: m} }

// liveness returns the heartbeat tracker, making it when this node has just
// become leader: every registered broker gets a session, so that a
// controller failover fences nobody who is still alive. The session is
// shorter than a full one (newSessionGrace): a live broker heartbeats to
// the new controller within a few intervals, while a broker that died with
// the old controller should not keep its partitions a whole session more.
func (c *controller) liveness() *metadata.Liveness {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.live == nil {
		c.live = metadata.NewLiveness(c.m.cfg.SessionTimeout)
		start := time.Now().Add(c.newSessionGrace() - c.m.cfg.SessionTimeout)
		for _, b := range c.m.state.Brokers() {
			c.live.Heartbeat(b.ID, b.Incarnation, start)
		}
	}
	return c.live
}

// newSessionGrace is how long a new controller waits for a broker's first
// heartbeat: three heartbeat intervals or half a session, whichever is
// longer, never more than a session. A live broker's heartbeat reaches the
// new controller within about two intervals of its election (a call to
// the dead one fails at once on its closed connection, and the next goes
// to the new leader).
func (c *controller) newSessionGrace() time.Duration {
	return min(c.m.cfg.SessionTimeout, max(3*c.m.cfg.HeartbeatInterval, c.m.cfg.SessionTimeout/2))
}

// run follows leadership until stop: while this node leads, it names the
// cluster if nobody has and fences expired brokers.
func (c *controller) run(stop <-chan struct{}) {
	var stopCurrent func()
	stopDuties := func() {
		if stopCurrent != nil {
			stopCurrent()
			stopCurrent = nil
		}
		c.mu.Lock()
		c.live = nil
		c.mu.Unlock()
	}
	defer stopDuties()
	changes := c.m.node.LeaderChanges()
	for {
		select {
		case <-stop:
			return
		case leading := <-changes:
			stopDuties()
			if !leading {
				continue
			}
			// The quorum logged controller_change.
			c.m.logger.Debug("controller duties start", "node", c.m.cfg.NodeID)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() {
				defer close(done)
				c.duties(ctx)
			}()
			stopCurrent = func() { cancel(); <-done }
		}
	}
}

func (c *controller) duties(ctx context.Context) {
	live := c.liveness()
	if c.m.state.ClusterID() == "" {
		id := *c.m.knownClusterID.Load()
		if id == "" {
			id = randomID()
		}
		if _, err := c.m.propose(ctx, metadata.InitCluster{ClusterID: id}); err != nil {
			c.m.logger.Error("naming the cluster failed", "err", err)
		} else {
			c.m.logger.Info("cluster id set", "event", "cluster_id_set", "cluster_id", id)
		}
	}
	tick := c.m.cfg.SessionTimeout / 8
	if tick < 50*time.Millisecond {
		tick = 50 * time.Millisecond
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	last := time.Now()
	// The first rebalance waits a full interval: brokers that just
	// started need time to catch up into the ISR.
	due := &electionsDue{lastRebalance: last}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := time.Now()
		if now.Sub(last) > c.m.cfg.SessionTimeout/2 {
			// This process was paused (a stopped VM, SIGSTOP, a long
			// stall) and heard no heartbeats meanwhile: every broker
			// would look expired. Give them all a fresh session instead.
			c.m.logger.Warn("controller was paused; renewing every broker's session", "event", "controller_paused", "paused", now.Sub(last).Round(time.Millisecond))
			for _, b := range c.m.state.Brokers() {
				live.Heartbeat(b.ID, b.Incarnation, now.Add(c.newSessionGrace()-c.m.cfg.SessionTimeout))
			}
		}
		last = now
		for _, id := range live.Expired(now) {
			b, ok := c.m.state.Broker(id)
			if !ok || b.Fenced {
				continue
			}
			if inc := live.Incarnation(id); inc != "" && inc != b.Incarnation {
				continue // the expired session is an older process's
			}
			// Only the leader fences, in person: a deposed controller's
			// proposal would be forwarded to the new leader, which knows
			// better who is alive.
			if !c.m.node.IsLeader() || ctx.Err() != nil {
				break
			}
			if _, err := c.m.propose(ctx, metadata.FenceBroker{ID: id, Incarnation: b.Incarnation}); err != nil {
				c.m.logger.Warn("fencing broker failed", "node", id, "err", err)
				continue
			}
			c.m.logger.Warn("broker fenced: no heartbeat within broker.session.timeout.ms", "event", "broker_fenced",
				"node", id, "reason", "session_timeout", "session_timeout", c.m.cfg.SessionTimeout)
		}
		c.runElections(ctx, due, now)
	}
}

// handle serves brokers' calls on the active controller.
func (c *controller) handle(ctx context.Context, kind uint8, payload []byte) ([]byte, error) {
	var resp callResponse
	var err error
	switch kind {
	case callRegister:
		var req registerRequest
		if err := json.Unmarshal(payload, &req); err != nil {
			return nil, fmt.Errorf("register: %w", err)
		}
		resp, err = c.register(ctx, req)
	case callHeartbeat:
		var req heartbeatRequest
		if err := json.Unmarshal(payload, &req); err != nil {
			return nil, fmt.Errorf("heartbeat: %w", err)
		}
		resp, err = c.heartbeat(ctx, req)
	default:
		return nil, fmt.Errorf("unknown controller call %d", kind)
	}
	if err != nil {
		return nil, err
	}
	return json.Marshal(resp)
}

// register admits a broker unless another live process holds its id
// (Kafka's DUPLICATE_BROKER_REGISTRATION).
func (c *controller) register(ctx context.Context, req registerRequest) (callResponse, error) {
	live := c.liveness()
	now := time.Now()
	if inc, ok := live.Live(req.ID, now); ok && inc != "" && inc != req.Incarnation {
		if b, known := c.m.state.Broker(req.ID); known && !b.Fenced {
			return callResponse{
				Code:    metadata.CodeDuplicateBrokerRegistration,
				Message: fmt.Sprintf("node.id %d is registered by another live broker process (its session lasts until %v without heartbeats): is another broker running with node.id %d?", req.ID, c.m.cfg.SessionTimeout, req.ID),
			}, nil
		}
	}
	// The new process's session starts before its record is proposed, so
	// the expiry of the old one cannot fence it in between.
	live.Heartbeat(req.ID, req.Incarnation, now)
	res, err := c.m.propose(ctx, metadata.RegisterBroker{ID: req.ID, Incarnation: req.Incarnation, Listeners: req.Listeners})
	if err != nil && res.Code == metadata.CodeNone {
		return callResponse{}, err // the proposal itself failed: the caller retries
	}
	if res.Code == metadata.CodeNone {
		live.Heartbeat(req.ID, req.Incarnation, now)
		c.m.logger.Info("broker registered", "event", "broker_registered", "node", req.ID, "listeners", req.Listeners)
	}
	return callResponse{Code: res.Code, Message: res.Message}, nil
}

// heartbeat renews a broker's session, and unfences it if it was fenced.
func (c *controller) heartbeat(ctx context.Context, req heartbeatRequest) (callResponse, error) {
	b, ok := c.m.state.Broker(req.ID)
	if !ok || b.Incarnation != req.Incarnation {
		return callResponse{Reregister: true}, nil
	}
	c.liveness().Heartbeat(req.ID, req.Incarnation, time.Now())
	if req.ShuttingDown {
		if !b.Fenced {
			if _, err := c.m.propose(ctx, metadata.FenceBroker{ID: req.ID}); err != nil {
				return callResponse{}, err
			}
			c.m.logger.Info("broker fenced for controlled shutdown: its leaderships moved", "event", "broker_fenced",
				"node", req.ID, "reason", "controlled_shutdown")
		}
		return callResponse{Fenced: true}, nil
	}
	if b.Fenced {
		if _, err := c.m.propose(ctx, metadata.UnfenceBroker{ID: req.ID}); err != nil {
			return callResponse{}, err
		}
		c.m.logger.Info("broker unfenced: heartbeats again", "event", "broker_unfenced", "node", req.ID)
	}
	return callResponse{Fenced: b.Fenced}, nil
}
