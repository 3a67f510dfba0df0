package cluster

import (
	"context"
	"fmt"
	"time"

	"github.com/sluicelog/sluice/engine"
	"github.com/sluicelog/sluice/net/replica"
	"github.com/sluicelog/sluice/net/request"
)

// The replica manager (net/replica) follows the image this member
// applies; the request layer reaches it through the member, which
// implements request.Replication.

func (m *Member) startReplicas() {
	if m.cfg.Engine == nil {
		return
	}
	m.repl = replica.New(replica.Config{
		NodeID:       m.cfg.NodeID,
		Engine:       m.cfg.Engine,
		State:        m.state,
		Propose:      m.propose,
		Listener:     m.cfg.InterBrokerListener,
		Registered:   m.registered.Load,
		LagMax:       m.cfg.ReplicaLagMax,
		FetchWait:    m.cfg.ReplicaFetchWait,
		FetchBackoff: m.cfg.ReplicaFetchBackoff,
		Logger:       m.cfg.Logger,
	})
	m.repl.Start()
	m.replStarted.Store(true)
}

// imageChanged tells the replica manager the image moved: the topics a
// record changed (none: nothing it follows moved), or everything when
// topics is nil.
func (m *Member) imageChanged(topics []string) {
	if !m.replStarted.Load() {
		return
	}
	if topics == nil {
		m.repl.ImageChanged()
	} else {
		m.repl.TopicsChanged(topics)
	}
}

// CheckInSync implements request.Replication from the leadership map,
// which follows the image in log order (the replica manager's view may
// trail it a moment): no lock, no allocation unless it refuses.
func (m *Member) CheckInSync(topic string, partition int32) error {
	l, ok := m.leadershipOf(topic, partition)
	if !ok || l.leader != m.cfg.NodeID || m.cfg.Engine == nil {
		return nil // the leader check refuses it
	}
	p, err := m.cfg.Engine.Partition(topic, partition)
	if err != nil {
		return nil
	}
	if want := p.MinInsyncReplicas(); int(l.isr) < want {
		return request.Refuse(request.ErrNotEnoughReplicas,
			fmt.Sprintf("%s-%d: %d in-sync replicas, min.insync.replicas is %d", topic, partition, l.isr, want))
	}
	return nil
}

// Appended implements request.Replication.
func (m *Member) Appended(p *engine.Partition) {
	if m.replStarted.Load() {
		m.repl.Appended(p)
	}
}

// AwaitReplicated implements request.Replication.
func (m *Member) AwaitReplicated(ctx context.Context, p *engine.Partition, end int64, epoch int32, timeout time.Duration) error {
	if !m.replStarted.Load() {
		return nil
	}
	return m.repl.AwaitReplicated(ctx, p, end, epoch, timeout)
}

// FollowerFetched implements request.Replication.
func (m *Member) FollowerFetched(p *engine.Partition, replica int32, offset, logStart int64) error {
	if !m.replStarted.Load() {
		return nil
	}
	return m.repl.FollowerFetched(p, replica, offset, logStart)
}

// AwaitLowWatermark implements request.Replication.
func (m *Member) AwaitLowWatermark(ctx context.Context, p *engine.Partition, offset int64, timeout time.Duration) (int64, error) {
	if !m.replStarted.Load() {
		return p.LogStartOffset(), nil
	}
	return m.repl.AwaitLowWatermark(ctx, p, offset, timeout)
}

// StorageFailed is the engine's OnStorageError: a local replica went
// offline, so leadership of it moves to another in-sync replica.
func (m *Member) StorageFailed(topic string, partition int32, err error) {
	if m.replStarted.Load() {
		m.repl.StorageFailed()
	}
}

// controlledShutdown asks the controller to move this broker's
// leaderships away (Kafka's controlled shutdown) and waits, bounded, until
// the image shows it leads nothing, so clients move before the listeners
// close and get only retriable errors.
func (m *Member) controlledShutdown(ctx context.Context) {
	m.shutdownOnce.Do(func() { m.moveLeadershipsAway(ctx) })
}

// SkipControlledShutdown makes Close (and ControlledShutdown) leave
// without asking for its leaderships to move: to the rest of the cluster
// the broker is then lost as if it had crashed, and its leaderships move
// only once the controller fences it. Tests use it to simulate a kill in
// one process.
func (m *Member) SkipControlledShutdown() { m.shutdownOnce.Do(func() {}) }

// ControlledShutdown moves this broker's leaderships away, as Close does
// first; the broker calls it before closing its listeners. It gives up at
// ctx's end or after ControlledShutdownTimeout.
func (m *Member) ControlledShutdown(ctx context.Context) { m.controlledShutdown(ctx) }

func (m *Member) moveLeadershipsAway(ctx context.Context) {
	if m.cfg.Engine == nil || !m.registered.Load() || m.cfg.NoControlledShutdown {
		return
	}
	m.shuttingDown.Store(true)
	ctx, cancel := context.WithTimeout(ctx, m.cfg.ControlledShutdownTimeout)
	defer cancel()
	start := time.Now()
	for first := true; ctx.Err() == nil; first = false {
		if m.leadsNothing() {
			if first {
				m.logger.Debug("controlled shutdown: no leadership to move")
				return
			}
			m.logger.Info("controlled shutdown: leaderships moved", "event", "controlled_shutdown", "node", m.cfg.NodeID,
				"took", time.Since(start).Round(time.Millisecond))
			return
		}
		cctx, ccancel := context.WithTimeout(ctx, time.Second)
		_, err := m.call(cctx, callHeartbeat, heartbeatRequest{ID: m.cfg.NodeID, Incarnation: m.incarnation, ShuttingDown: true})
		ccancel()
		if err != nil {
			m.logger.Debug("controlled shutdown request failed", "err", err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(50 * time.Millisecond):
		}
	}
	m.logger.Warn("controlled shutdown timed out: closing while still leading partitions", "event", "controlled_shutdown",
		"node", m.cfg.NodeID, "timeout", m.cfg.ControlledShutdownTimeout)
}

// leadsNothing reports whether this broker has nothing to hand over: it
// is fenced, or it leads no partition with another live ISR member that
// could take over.
func (m *Member) leadsNothing() bool {
	b, ok := m.state.Broker(m.cfg.NodeID)
	if !ok || b.Fenced {
		return true
	}
	im := m.state.Image()
	live := map[int32]bool{}
	for _, b := range im.Brokers {
		live[b.ID] = !b.Fenced
	}
	for _, t := range im.Topics {
		for _, p := range t.Partitions {
			if p.Leader != m.cfg.NodeID {
				continue
			}
			for _, r := range p.ISR {
				if r != m.cfg.NodeID && live[r] {
					return false
				}
			}
		}
	}
	return true
}
