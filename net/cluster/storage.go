package cluster

import (
	"errors"
	"maps"
	"slices"
	"sync/atomic"

	"github.com/sluicelog/sluice/engine"
	"github.com/sluicelog/sluice/engine/metadata"
)

// topicPartition names a partition.
type topicPartition struct {
	topic     string
	partition int32
}

// leaderMap is each partition's leader and leader epoch, by topic, as
// this node last saw the image, so the produce and fetch paths read it
// without a lock or an allocation. It is copy on write at two levels: the
// map is replaced whole when topics come or go (or on a full rebuild), a
// topic's slice is replaced when its partitions change; neither is
// written once stored. A record thus costs the partitions of the topics it
// changed, not the image's.
type leaderMap map[string]*topicLeaders

// topicLeaders holds one topic's leaderships, partition i at index i.
type topicLeaders struct {
	parts atomic.Pointer[[]leadership]
}

type leadership struct {
	leader, epoch int32
	// isr is the ISR's size, for acks=all's min.insync.replicas check.
	isr int32
}

// leadershipOf reads one partition's leadership from the map.
func (m *Member) leadershipOf(topic string, partition int32) (leadership, bool) {
	tl := (*m.leaders.Load())[topic]
	if tl == nil {
		return leadership{}, false
	}
	ps := *tl.parts.Load()
	if partition < 0 || int(partition) >= len(ps) {
		return leadership{}, false
	}
	return ps[partition], true
}

// onChange follows a record the image applied: local storage and the
// leadership map of the topics it changed. It runs on the quorum's apply
// goroutine, in log order.
func (m *Member) onChange(rec metadata.Record, topics []string) {
	switch r := rec.(type) {
	case metadata.CreateTopic:
		m.reconcileTopic(r.Name)
	case metadata.DeleteTopic:
		m.reconcileTopic(r.Name)
	case metadata.CreatePartitions:
		m.reconcileTopic(r.Topic)
	case metadata.AlterTopicConfig:
		m.reconcileTopic(r.Topic)
	}
	m.updateLeaders(topics)
	if topics == nil {
		topics = []string{} // a record that changed no topic: nothing to follow
	}
	m.imageChanged(topics)
	m.notifyWatchers()
}

// onRestore follows a snapshot that replaced the whole image.
func (m *Member) onRestore() {
	m.reconcileAll()
	m.imageChanged(nil)
	m.notifyWatchers()
}

// topicLeadership is one topic's leaderships from the image, stamping the
// local replicas whose leadership changed since prev (see stampEpoch).
func (m *Member) topicLeadership(t metadata.Topic, prev []leadership) []leadership {
	self := m.cfg.NodeID
	now := make([]leadership, len(t.Partitions))
	for i, p := range t.Partitions {
		l := leadership{p.Leader, p.LeaderEpoch, int32(len(p.ISR))}
		now[i] = l
		known := i < len(prev)
		var was leadership
		if known {
			was = prev[i]
		}
		if (!known || was.leader != l.leader || was.epoch != l.epoch) && (l.leader == self || was.leader == self) {
			m.stampEpoch(topicPartition{t.Name, int32(i)}, l)
		}
	}
	return now
}

// updateLeaders brings the leadership map in line with the image for the
// named topics. Updates and rebuilds run one at a time (leadersMu), each
// reading the image under it, so a later one never stores older data.
func (m *Member) updateLeaders(topics []string) {
	if len(topics) == 0 {
		return
	}
	m.leadersMu.Lock()
	defer m.leadersMu.Unlock()
	cur := *m.leaders.Load()
	var next leaderMap // a copy, made once topics come or go
	for _, name := range topics {
		tl := cur[name]
		t, ok := m.state.Topic(name)
		switch {
		case !ok && tl == nil:
		case !ok:
			if next == nil {
				next = maps.Clone(cur)
			}
			delete(next, name)
		case tl != nil:
			now := m.topicLeadership(t, *tl.parts.Load())
			tl.parts.Store(&now)
		default:
			if next == nil {
				next = maps.Clone(cur)
			}
			now := m.topicLeadership(t, nil)
			tl = &topicLeaders{}
			tl.parts.Store(&now)
			next[name] = tl
		}
	}
	if next != nil {
		m.leaders.Store(&next)
	}
}

// rebuildLeaders replaces the whole leadership map from the image: at a
// restore or once Join caught up.
func (m *Member) rebuildLeaders() {
	m.leadersMu.Lock()
	defer m.leadersMu.Unlock()
	im := m.state.Image()
	prev := *m.leaders.Load()
	lm := make(leaderMap, len(im.Topics))
	for _, t := range im.Topics {
		var was []leadership
		if tl := prev[t.Name]; tl != nil {
			was = *tl.parts.Load()
		}
		now := m.topicLeadership(t, was)
		tl := &topicLeaders{}
		tl.parts.Store(&now)
		lm[t.Name] = tl
	}
	m.leaders.Store(&lm)
}

// stampEpoch tells a local replica the leader epoch its appends carry
// before the request layer may send it any (the leadership map is stored
// after): the epoch it leads at, or -1 when it no longer leads. Doing it
// here, in log order, means no batch is ever written as leader under a
// stale epoch, which would make the epoch history lie to followers.
func (m *Member) stampEpoch(k topicPartition, l leadership) {
	if m.cfg.Engine == nil {
		return
	}
	p, err := m.cfg.Engine.Partition(k.topic, k.partition)
	if err != nil {
		return
	}
	if l.leader == m.cfg.NodeID {
		p.SetLeaderEpoch(l.epoch)
	} else {
		p.SetLeaderEpoch(-1)
	}
}

// reconcileAll brings every local topic in line with the image: topics the
// image lacks are deleted, those it has are created or corrected.
func (m *Member) reconcileAll() {
	if m.cfg.Engine != nil {
		names := map[string]bool{}
		for _, n := range m.state.Topics() {
			names[n] = true
		}
		for _, n := range m.cfg.Engine.Topics() {
			names[n] = true
		}
		for n := range names {
			m.reconcileTopic(n)
		}
	}
	m.rebuildLeaders()
}

// reconcileTopic makes the engine's copy of one topic match the image:
// same id, at least as many partitions, the same config overrides.
// Storage errors are logged: the image stays the truth, and the next
// change or restart tries again.
//
// Until Join has caught up with the quorum (storageLive), nothing is done:
// raft replays the log from the last snapshot at every start, and the
// images along the way are older than the storage on disk. Reconciling
// with them would delete a topic deleted and created again since, only
// for the replay to create it again empty.
func (m *Member) reconcileTopic(name string) {
	eng := m.cfg.Engine
	if eng == nil || !m.storageLive.Load() {
		return
	}
	m.storageMu.Lock()
	defer m.storageMu.Unlock()
	want, inImage := m.state.Topic(name)
	have, err := eng.DescribeTopic(name)
	exists := err == nil
	if err != nil && !errors.Is(err, engine.ErrUnknownTopic) {
		m.logger.Error("local topic unreadable", "topic", name, "err", err)
		return
	}
	if exists && (!inImage || have.ID != want.ID) {
		if err := eng.DeleteTopic(name); err != nil && !errors.Is(err, engine.ErrUnknownTopic) {
			m.logger.Error("deleting local topic failed", "topic", name, "err", err)
			return
		}
		m.logger.Info("local topic deleted", "event", "topic_deleted", "topic", name)
		exists = false
	}
	if !inImage {
		return
	}
	n := int32(len(want.Partitions))
	// This broker stores its replicas alone; every broker keeps the
	// topic itself (its id and configs) for describing it.
	hosted := []int32{}
	for i, p := range want.Partitions {
		if slices.Contains(p.Replicas, m.cfg.NodeID) {
			hosted = append(hosted, int32(i))
		}
	}
	if !exists {
		if err := eng.CreateTopicHosting(name, want.ID, n, want.Configs, hosted); err != nil {
			m.logger.Error("creating local topic failed", "topic", name, "err", err)
		}
		return
	}
	if now, err := eng.Hosted(name); err != nil || have.PartitionCount < n || !slices.Equal(now, hosted) {
		if err := eng.SetHosted(name, n, hosted); err != nil {
			m.logger.Error("changing local replicas failed", "topic", name, "err", err)
		}
	}
	cfg, err := eng.TopicOverrides(name)
	if err != nil {
		m.logger.Error("local topic configs unreadable", "topic", name, "err", err)
		return
	}
	if maps.Equal(cfg, want.Configs) || len(cfg) == 0 && len(want.Configs) == 0 {
		return
	}
	var remove []string
	for k := range cfg {
		if _, ok := want.Configs[k]; !ok {
			remove = append(remove, k)
		}
	}
	if err := eng.AlterTopicConfig(name, want.Configs, remove); err != nil {
		m.logger.Error("altering local topic configs failed", "topic", name, "err", err)
	}
}
