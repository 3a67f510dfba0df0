package replica

import (
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/sluicelog/sluice/engine/metadata"
)

// The manager follows the image topic by topic: the cluster member names
// the topics each record changed (TopicsChanged), and a sync visits those
// only, so a record costs the partitions it touched, not every local
// replica. ImageChanged asks for a full sync (at start, registration, a
// storage failure, a restored snapshot, and every half
// replica.lag.time.max.ms as a safety net). Syncs run on one goroutine
// (run) and coalesce: changes that arrive during one are all taken by the
// next.

// topicRoles is one topic's local replicas, partition i at index i (nil
// where this node holds no replica, or it is not ready), and the ones it
// follows by leader. Replaced whole by a sync, never written once stored.
type topicRoles struct {
	parts  []*partState
	follow map[int32][]*partState
}

// pendingSync is what changed since the last sync.
type pendingSync struct {
	mu     sync.Mutex
	all    bool
	topics map[string]bool
}

// ImageChanged asks for a full sync of the roles with the image, soon. It
// never blocks (it runs on the quorum's apply goroutine).
func (m *Manager) ImageChanged() {
	m.pending.mu.Lock()
	m.pending.all = true
	m.pending.mu.Unlock()
	m.wake()
}

// TopicsChanged asks for a sync of the named topics' roles, soon; it never
// blocks.
func (m *Manager) TopicsChanged(topics []string) {
	if len(topics) == 0 {
		return
	}
	m.pending.mu.Lock()
	if !m.pending.all {
		if m.pending.topics == nil {
			m.pending.topics = map[string]bool{}
		}
		for _, t := range topics {
			m.pending.topics[t] = true
		}
	}
	m.pending.mu.Unlock()
	m.wake()
}

func (m *Manager) wake() {
	select {
	case m.signal <- struct{}{}:
	default:
	}
}

// takePending is what the next sync covers: all, or the topics named.
func (m *Manager) takePending() (all bool, topics []string) {
	m.pending.mu.Lock()
	defer m.pending.mu.Unlock()
	all = m.pending.all
	if !all {
		topics = slices.Sorted(maps.Keys(m.pending.topics))
	}
	m.pending.all, m.pending.topics = false, nil
	return all, topics
}

func (m *Manager) run() {
	defer m.stopFetchers()
	for {
		select {
		case <-m.ctx.Done():
			return
		case <-m.signal:
		}
		all, topics := m.takePending()
		if all || len(topics) > 0 {
			m.sync(all, topics)
		}
	}
}

func (m *Manager) lookup(topic string, partition int32) *partState {
	tr := (*m.parts.Load())[topic]
	if tr == nil || partition < 0 || int(partition) >= len(tr.parts) {
		return nil
	}
	return tr.parts[partition]
}

// allParts is every local replica's role.
func (m *Manager) allParts() []*partState {
	var out []*partState
	for _, tr := range *m.parts.Load() {
		for _, ps := range tr.parts {
			if ps != nil {
				out = append(out, ps)
			}
		}
	}
	return out
}

// sync brings the roles of every topic (all), or of the named ones, in
// line with the image.
func (m *Manager) sync(all bool, names []string) {
	old := *m.parts.Load()
	var next map[string]*topicRoles
	now := time.Now()
	var roles []roleChange
	var isrs []isrChange
	leaders := map[int32]bool{} // whose followed partitions may have changed
	visit := func(name string, t metadata.Topic, exists bool) {
		prev := old[name]
		if prev != nil {
			for id := range prev.follow {
				leaders[id] = true
			}
		}
		if !exists {
			delete(next, name)
			return
		}
		tr := m.syncTopic(t, prev, now, &roles, &isrs)
		for id := range tr.follow {
			leaders[id] = true
		}
		next[name] = tr
	}
	if all {
		im := m.cfg.State.Image()
		next = make(map[string]*topicRoles, len(im.Topics))
		for _, t := range im.Topics {
			visit(t.Name, t, true)
		}
		// Topics gone since: the leaders they followed lose them.
		for name, tr := range old {
			if _, ok := next[name]; !ok {
				for id := range tr.follow {
					leaders[id] = true
				}
			}
		}
	} else {
		next = maps.Clone(old)
		for _, name := range names {
			t, ok := m.cfg.State.Topic(name)
			visit(name, t, ok)
		}
	}
	m.parts.Store(&next)
	for id := range leaders {
		var list []*partState
		for _, tr := range next {
			list = append(list, tr.follow[id]...)
		}
		if len(list) == 0 {
			delete(m.follow, id)
		} else {
			m.follow[id] = list
		}
	}
	if all {
		leaders = nil // every fetcher's list again
	}
	m.assignFetchers(m.follow, leaders)
	m.logRoles(roles)
	m.logISRs(isrs)
}

// syncTopic is one topic's roles from the image, prev its roles as the
// last sync left them (nil for none).
func (m *Manager) syncTopic(t metadata.Topic, prev *topicRoles, now time.Time, roles *[]roleChange, isrs *[]isrChange) *topicRoles {
	self := m.cfg.NodeID
	tr := &topicRoles{parts: make([]*partState, len(t.Partitions))}
	for i, mp := range t.Partitions {
		if !slices.Contains(mp.Replicas, self) {
			continue
		}
		k := key{t.Name, int32(i)}
		p, err := m.cfg.Engine.Partition(t.Name, int32(i))
		if err != nil {
			continue // not created locally yet; a later sync retries
		}
		var was *partState
		if prev != nil && i < len(prev.parts) {
			was = prev.parts[i]
		}
		same := was != nil && was.p == p && was.epoch == mp.LeaderEpoch && was.leaderID == mp.Leader
		var ps *partState
		switch {
		case mp.Leader == metadata.NoLeader:
			p.SetLeaderEpoch(-1)
			if was != nil {
				*roles = append(*roles, roleChange{key: k, leader: metadata.NoLeader, epoch: mp.LeaderEpoch, mp: mp})
			}
			continue
		case mp.Leader == self && m.cfg.Registered != nil && !m.cfg.Registered():
			continue // not yet: see Config.Registered
		case same:
			ps = was
		default:
			ps = &partState{key: k, p: p, leader: mp.Leader == self, epoch: mp.LeaderEpoch, leaderID: mp.Leader}
			if ps.leader {
				m.becomeLeader(ps, mp, now)
			} else {
				p.SetLeaderEpoch(-1)
			}
			*roles = append(*roles, roleChange{key: k, leader: mp.Leader, epoch: mp.LeaderEpoch, mp: mp, ps: ps})
		}
		ps.mu.Lock()
		if same && ps.leader && !sameMembers(ps.isr, mp.ISR) {
			reason := isrController
			if ps.isrWant != nil && sameMembers(ps.isrWant, mp.ISR) {
				reason = ps.isrReason
			}
			*isrs = append(*isrs, isrChange{key: k, epoch: mp.LeaderEpoch, old: ps.isr, mp: mp, reason: reason})
		}
		if ps.proposed != nil && mp.PartitionEpoch != ps.proposedAtEpoch {
			ps.proposed = nil // the image has moved past the proposal
		}
		if mp.PartitionEpoch != ps.partitionEpoch {
			ps.isrWant, ps.isrReason = nil, ""
		}
		ps.replicas, ps.isr, ps.partitionEpoch = mp.Replicas, mp.ISR, mp.PartitionEpoch
		ps.isrLen.Store(int32(len(mp.ISR)))
		if ps.leader {
			for _, r := range mp.Replicas {
				if r != self && ps.followers[r] == nil {
					ps.followers[r] = &followerState{leo: -1, logStart: -1, lastCaughtUp: now, lastFetchLeaderEnd: -1}
				}
			}
		}
		ps.mu.Unlock()
		tr.parts[i] = ps
		if ps.leader && p.Offline() {
			m.resign(ps)
		} else if ps.leader {
			m.advance(ps)
		} else if !p.Offline() {
			if tr.follow == nil {
				tr.follow = map[int32][]*partState{}
			}
			tr.follow[mp.Leader] = append(tr.follow[mp.Leader], ps)
		}
	}
	return tr
}
