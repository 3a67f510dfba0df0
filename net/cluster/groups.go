package cluster

import (
	"context"
	"errors"
	"fmt"

	"github.com/sluicelog/sluice/engine"
	"github.com/sluicelog/sluice/net/grouplog"
	"github.com/sluicelog/sluice/net/request"
	"github.com/sluicelog/sluice/net/schemareg"
)

// A consumer group's coordinator is the leader of the group's partition
// of the internal topic __consumer_offsets (net/grouplog has the design),
// which the cluster creates when a FindCoordinator first needs it.

// Coordinator is the leader of the group's partition of the offsets
// topic, with its address on listener. While the topic does not exist it
// has it created and answers COORDINATOR_NOT_AVAILABLE, as Kafka does:
// clients ask again.
func (m *Member) Coordinator(group, listener string) (request.Broker, error) {
	none := request.Broker{ID: -1, Port: -1}
	t, ok := m.state.Topic(grouplog.Topic)
	if !ok {
		m.createOffsetsTopicSoon()
		return none, request.Refuse(request.ErrCoordinatorNotAvailable,
			fmt.Sprintf("the %s topic is being created", grouplog.Topic))
	}
	part := grouplog.PartitionFor(group, len(t.Partitions))
	id := m.leaderOf(grouplog.Topic, part)
	b, ok := m.state.Broker(id)
	if id < 0 || !ok || b.Fenced {
		return none, request.Refuse(request.ErrCoordinatorNotAvailable,
			fmt.Sprintf("group %s's partition %s-%d has no live leader", group, grouplog.Topic, part))
	}
	rb, ok := brokerAddr(b, listener)
	if !ok {
		return none, request.Refuse(request.ErrCoordinatorNotAvailable,
			fmt.Sprintf("group %s's coordinator, broker %d, has no %q listener", group, id, listener))
	}
	return rb, nil
}

// CoordinatorID is the node id of the broker that coordinates a group as
// this broker sees it: the leader of the group's partition of the offsets
// topic; -1 while the topic does not exist or the partition has no
// leader.
func (m *Member) CoordinatorID(group string) int32 {
	t, ok := m.state.Topic(grouplog.Topic)
	if !ok {
		return -1
	}
	return m.leaderOf(grouplog.Topic, grouplog.PartitionFor(group, len(t.Partitions)))
}

// leaderOf reads a partition's leader from the leadership map, which the
// produce path and the group store's ownership check read too (the image
// has a new topic a moment before the map does); -1 when it has none.
func (m *Member) leaderOf(topic string, partition int32) int32 {
	if l, ok := m.leadershipOf(topic, partition); ok {
		return l.leader
	}
	return -1
}

// createOffsetsTopicSoon creates the offsets topic in the background, one
// attempt at a time.
func (m *Member) createOffsetsTopicSoon() {
	if m.ctx.Err() != nil || !m.creatingOffsets.CompareAndSwap(false, true) {
		return
	}
	m.bg.Add(1)
	go func() {
		defer m.bg.Done()
		defer m.creatingOffsets.Store(false)
		ctx, cancel := context.WithTimeout(m.ctx, ProposeTimeout)
		defer cancel()
		if err := m.CreateOffsetsTopic(ctx); err != nil && m.ctx.Err() == nil {
			m.logger.Warn("creating the offsets topic failed; the next FindCoordinator tries again", "topic", grouplog.Topic, "err", err)
		}
	}()
}

// CreateOffsetsTopic creates the offsets topic unless it exists:
// offsets.topic.num.partitions partitions, offsets.topic.replication.factor
// replicas (unset: min(3, live brokers)), never cleaned (grouplog.Configs).
// A replication factor set above the live brokers is refused until enough
// are up, as Kafka does.
func (m *Member) CreateOffsetsTopic(ctx context.Context) error {
	if _, ok := m.state.Topic(grouplog.Topic); ok {
		return nil
	}
	rf := m.cfg.OffsetsTopicReplicationFactor
	if rf <= 0 {
		rf = int16(min(grouplog.DefaultReplicationFactor, max(1, len(m.state.LiveBrokerIDs()))))
	}
	t, err := m.CreateTopic(ctx, request.NewTopic{Name: grouplog.Topic, Partitions: m.cfg.OffsetsTopicPartitions,
		ReplicationFactor: rf, Configs: grouplog.Configs()})
	switch {
	case errors.Is(err, engine.ErrTopicExists):
		return nil
	case err != nil:
		return err
	}
	m.logger.Info("offsets topic created", "event", "offsets_topic_created", "topic", grouplog.Topic, "partitions", len(t.Partitions), "replication_factor", rf)
	return nil
}

// CreateSchemasTopic creates the schema registry's topic unless it exists:
// one partition, min(3, live brokers) replicas counted on a current image
// (after a read barrier, so that a broker that just registered counts),
// with the configs configs gives for that replication factor.
func (m *Member) CreateSchemasTopic(ctx context.Context, configs func(rf int) map[string]string) error {
	if _, ok := m.state.Topic(schemareg.Topic); ok {
		return nil
	}
	if err := m.node.WaitReady(ctx); err != nil {
		return err
	}
	rf := min(3, max(1, len(m.state.LiveBrokerIDs())))
	_, err := m.CreateTopic(ctx, request.NewTopic{Name: schemareg.Topic, Partitions: 1, ReplicationFactor: int16(rf), Configs: configs(rf)})
	if err != nil && !errors.Is(err, engine.ErrTopicExists) {
		return err
	}
	return nil
}

// errInternalTopic refuses admin changes that would break the offsets
// topic: deleting it loses every group's offsets, and more partitions
// move groups to partitions that do not hold them.
var errInternalTopic = fmt.Errorf("%w: %s is internal: it holds the consumer groups", engine.ErrInvalidTopic, grouplog.Topic)

// errSchemasTopic refuses the same for the schema registry's topic:
// deleting it loses every schema, and the registry, starting its ids
// again at 1, would give old ids to new schemas while records still carry
// the old ones; a second partition would hold nothing the registry reads.
var errSchemasTopic = fmt.Errorf("%w: %s is internal: it holds the schema registry", engine.ErrInvalidTopic, schemareg.Topic)

// internalTopic refuses deleting or repartitioning an internal topic.
func internalTopic(name string) error {
	switch name {
	case grouplog.Topic:
		return errInternalTopic
	case schemareg.Topic:
		return errSchemasTopic
	}
	return nil
}

// WatchImage has fn called after every change the image applies (on the
// quorum's apply goroutine: fn must not block). The group store follows
// leaderships of the offsets topic with it.
func (m *Member) WatchImage(fn func()) {
	m.watchMu.Lock()
	defer m.watchMu.Unlock()
	m.watchers = append(m.watchers, fn)
}

func (m *Member) notifyWatchers() {
	m.watchMu.Lock()
	ws := m.watchers
	m.watchMu.Unlock()
	for _, fn := range ws {
		fn()
	}
}
