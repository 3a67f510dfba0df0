package cluster

import (
	"errors"
	"maps"
	"slices"

	"github.com/sluicelog/sluice/engine"
	"github.com/sluicelog/sluice/engine/metadata"
)

// topicPartition keys the leadership map.
type topicPartition struct {
	topic     string
	partition int32
}

// leaderMap is each partition's leader and leader epoch as this node
// last saw the image; replaced whole (copy on write) so the produce and
// fetch paths read it without a lock or an allocation.
type leaderMap map[topicPartition]leadership

type leadership struct {
	leader, epoch int32
	// isr is the ISR's size, for acks=all's min.insync.replicas check.
	isr int32
}

// onChange follows a record the image applied: local storage and the
// leadership map. It runs on the quorum's apply goroutine, in log order.
func (m *Member) onChange(rec metadata.Record) {
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
	m.rebuildLeaders()
	m.imageChanged()
	m.notifyWatchers()
}

// onRestore follows a snapshot that replaced the whole image.
func (m *Member) onRestore() {
	m.reconcileAll()
	m.imageChanged()
	m.notifyWatchers()
}

// rebuildLeaders replaces the leadership map from the image. Rebuilds run
// one at a time, each reading the image afresh, so a later one never
// stores an older map.
func (m *Member) rebuildLeaders() {
	m.leadersMu.Lock()
	defer m.leadersMu.Unlock()
	im := m.state.Image()
	prev := *m.leaders.Load()
	lm := make(leaderMap, len(im.Topics)*4)
	self := m.cfg.NodeID
	for _, t := range im.Topics {
		for i, p := range t.Partitions {
			k := topicPartition{t.Name, int32(i)}
			now := leadership{p.Leader, p.LeaderEpoch, int32(len(p.ISR))}
			lm[k] = now
			if was, ok := prev[k]; (!ok || was.leader != now.leader || was.epoch != now.epoch) && (now.leader == self || was.leader == self) {
				m.stampEpoch(k, now)
			}
		}
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
