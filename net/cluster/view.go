package cluster

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"

	"github.com/sluicelog/sluice/engine"
	"github.com/sluicelog/sluice/engine/metadata"
	"github.com/sluicelog/sluice/net/quorum"
	"github.com/sluicelog/sluice/net/request"
)

// Member answers the request layer from the image and makes cluster-wide
// changes through the quorum.
var (
	_ request.Cluster    = (*Member)(nil)
	_ request.Advertiser = (*Member)(nil)
	_ request.Registry   = (*Member)(nil)
)

// Refusals on the produce and fetch paths are made once: LeaderCheck
// allocates nothing, whatever it answers.
var (
	errUnknownPartition = fmt.Errorf("%w: not in the cluster's metadata", engine.ErrUnknownTopic)
	errNotLeader        = request.Refuse(request.ErrNotLeader, "this broker does not lead the partition: refresh metadata")
	errNoLeader         = request.Refuse(request.ErrLeaderNotAvailable, "the partition has no live leader")
)

// Advertise records this broker's address on a listener, for its
// registration.
func (m *Member) Advertise(listener, host string, port int32) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.listeners == nil {
		m.listeners = map[string]string{}
	}
	m.listeners[listener] = net.JoinHostPort(host, strconv.Itoa(int(port)))
}

func (m *Member) ClusterID() string { return m.state.ClusterID() }

// ControllerID is the quorum's leader: the active controller.
func (m *Member) ControllerID() int32 {
	if id, _, ok := m.node.Leader(); ok {
		return id
	}
	return -1
}

// Brokers are the unfenced brokers with an address on listener.
func (m *Member) Brokers(listener string) []request.Broker {
	var out []request.Broker
	for _, b := range m.state.Brokers() {
		if b.Fenced {
			continue
		}
		if rb, ok := brokerAddr(b, listener); ok {
			out = append(out, rb)
		}
	}
	return out
}

func brokerAddr(b metadata.Broker, listener string) (request.Broker, bool) {
	addr, ok := b.Listeners[listener]
	if !ok {
		return request.Broker{}, false
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return request.Broker{}, false
	}
	p, err := strconv.ParseInt(port, 10, 32)
	if err != nil {
		return request.Broker{}, false
	}
	return request.Broker{ID: b.ID, Host: host, Port: int32(p)}, true
}

func (m *Member) Topics() []string { return m.state.Topics() }

func (m *Member) Topic(name string) (request.Topic, error) {
	t, ok := m.state.Topic(name)
	if !ok {
		return request.Topic{Name: name}, fmt.Errorf("topic %s: %w", name, engine.ErrUnknownTopic)
	}
	return m.placement(t), nil
}

func (m *Member) TopicByID(id [16]byte) (request.Topic, error) {
	t, ok := m.state.TopicByID(id)
	if !ok {
		return request.Topic{ID: id}, fmt.Errorf("%w: %x", request.ErrUnknownTopicID, id)
	}
	return m.placement(t), nil
}

// placement turns an image topic into the request layer's; replicas on
// fenced or unknown brokers are offline.
func (m *Member) placement(t metadata.Topic) request.Topic {
	fenced := map[int32]bool{}
	known := map[int32]bool{}
	for _, b := range m.state.Brokers() {
		known[b.ID] = true
		fenced[b.ID] = b.Fenced
	}
	out := request.Topic{Name: t.Name, ID: t.ID, Partitions: make([]request.Partition, len(t.Partitions))}
	for i, p := range t.Partitions {
		rp := request.Partition{ID: int32(i), Leader: p.Leader, LeaderEpoch: p.LeaderEpoch, Replicas: p.Replicas, ISR: p.ISR, Offline: []int32{}}
		for _, r := range p.Replicas {
			if !known[r] || fenced[r] {
				rp.Offline = append(rp.Offline, r)
			}
		}
		out.Partitions[i] = rp
	}
	return out
}

// LeaderCheck reads the leadership map: no lock, no allocation.
func (m *Member) LeaderCheck(topic string, partition int32) error {
	_, err := m.leadership(topic, partition)
	return err
}

// LeaderEpoch reads the leadership map too: no lock, no allocation.
func (m *Member) LeaderEpoch(topic string, partition int32) (int32, error) {
	return m.leadership(topic, partition)
}

func (m *Member) leadership(topic string, partition int32) (int32, error) {
	l, ok := m.leadershipOf(topic, partition)
	switch {
	case !ok:
		return -1, errUnknownPartition
	case l.leader == m.cfg.NodeID:
		if !m.registered.Load() {
			// A restarted process replays the image of the one before
			// it, which may have led: it leads nothing until it has
			// registered and the controller moved that leadership on.
			return -1, errNotLeader
		}
		return l.epoch, nil
	case l.leader < 0:
		return -1, errNoLeader
	default:
		return -1, errNotLeader
	}
}

// assign places new partitions on the live brokers, Kafka's way. This
// node's image may trail the quorum by a few records (a broker that just
// registered): when it has too few live brokers for rf, it catches up
// with a read barrier and tries once more before refusing.
func (m *Member) assign(ctx context.Context, partitions, rf, firstID int) ([][]int32, error) {
	live := m.state.LiveBrokerIDs()
	a, err := metadata.Assign(live, partitions, rf, randomStart(len(live)), firstID)
	if err != nil && rf > len(live) {
		if m.node.WaitReady(ctx) == nil {
			live = m.state.LiveBrokerIDs()
			a, err = metadata.Assign(live, partitions, rf, randomStart(len(live)), firstID)
		}
	}
	return a, translate(err)
}

func (m *Member) CreateTopic(ctx context.Context, t request.NewTopic) (request.Topic, error) {
	fail := func(err error) (request.Topic, error) { return request.Topic{Name: t.Name}, err }
	if err := engine.ValidateTopicName(t.Name); err != nil {
		return fail(err)
	}
	if err := engine.ValidateConfigs(t.Configs); err != nil {
		return fail(err)
	}
	if _, ok := m.state.Topic(t.Name); ok {
		return fail(fmt.Errorf("topic %s: %w", t.Name, engine.ErrTopicExists))
	}
	assignment := t.Assignment
	if len(assignment) == 0 {
		partitions, rf := t.Partitions, int(t.ReplicationFactor)
		if partitions == -1 {
			partitions = m.cfg.NumPartitions
		}
		if rf == -1 {
			rf = int(m.cfg.DefaultReplicationFactor)
		}
		if partitions < 1 || partitions > engine.DefaultMaxPartitions {
			return fail(fmt.Errorf("%w: %d (1 to %d)", engine.ErrInvalidPartitions, partitions, engine.DefaultMaxPartitions))
		}
		if rf < 1 {
			return fail(request.Refuse(request.ErrInvalidReplicationFactor, fmt.Sprintf("replication factor %d: it must be at least 1", rf)))
		}
		var err error
		assignment, err = m.assign(ctx, int(partitions), rf, 0)
		if err != nil {
			return fail(err)
		}
	} else if len(assignment) > engine.DefaultMaxPartitions {
		return fail(fmt.Errorf("%w: %d (1 to %d)", engine.ErrInvalidPartitions, len(assignment), engine.DefaultMaxPartitions))
	} else if err := m.checkAssignment(ctx, assignment); err != nil {
		return fail(err)
	}
	rec := metadata.CreateTopic{Name: t.Name, Assignment: assignment, Configs: t.Configs}
	if t.ValidateOnly {
		return m.preview(rec), nil
	}
	for rec.ID == [16]byte{} {
		rec.ID = randomTopicID()
	}
	if _, err := m.propose(ctx, rec); err != nil {
		return fail(translate(err))
	}
	return m.Topic(t.Name)
}

// preview is the placement a validate-only creation would make.
func (m *Member) preview(rec metadata.CreateTopic) request.Topic {
	t := metadata.Topic{Name: rec.Name, Configs: rec.Configs}
	for _, replicas := range rec.Assignment {
		t.Partitions = append(t.Partitions, metadata.Partition{Replicas: replicas, Leader: replicas[0], ISR: replicas[:1]})
	}
	return m.placement(t)
}

// checkAssignment refuses a manual placement on brokers the cluster does
// not know, before proposing it (the state machine checks again). A broker
// this node's image does not know yet may have just registered: it
// catches up with the quorum once before refusing.
func (m *Member) checkAssignment(ctx context.Context, assignment [][]int32) error {
	caughtUp := false
	for i, replicas := range assignment {
		if len(replicas) == 0 {
			return request.Refuse(request.ErrInvalidReplicaAssignment, fmt.Sprintf("partition %d has no replicas", i))
		}
		for _, r := range replicas {
			if _, ok := m.state.Broker(r); ok {
				continue
			}
			if !caughtUp {
				caughtUp = true
				if m.node.WaitReady(ctx) == nil {
					if _, ok := m.state.Broker(r); ok {
						continue
					}
				}
			}
			return request.Refuse(request.ErrInvalidReplicaAssignment, fmt.Sprintf("partition %d: broker %d is not registered", i, r))
		}
	}
	return nil
}

// topic reads a topic from the image. A topic this node does not know may
// have just been created through another broker: it catches up with the
// quorum once before answering that there is none.
func (m *Member) topic(ctx context.Context, name string) (metadata.Topic, error) {
	if t, ok := m.state.Topic(name); ok {
		return t, nil
	}
	if m.node.WaitReady(ctx) == nil {
		if t, ok := m.state.Topic(name); ok {
			return t, nil
		}
	}
	return metadata.Topic{}, fmt.Errorf("topic %s: %w", name, engine.ErrUnknownTopic)
}

func (m *Member) DeleteTopic(ctx context.Context, name string) error {
	if err := internalTopic(name); err != nil {
		return err
	}
	if _, err := m.topic(ctx, name); err != nil {
		return err
	}
	_, err := m.propose(ctx, metadata.DeleteTopic{Name: name})
	return translate(err)
}

func (m *Member) CreatePartitions(ctx context.Context, name string, total int32, assignment [][]int32, validateOnly bool) error {
	if err := internalTopic(name); err != nil {
		return err
	}
	t, err := m.topic(ctx, name)
	if err != nil {
		return err
	}
	have := int32(len(t.Partitions))
	if total <= have || total > engine.DefaultMaxPartitions {
		return fmt.Errorf("%w: topic %s has %d partitions, asked for %d", engine.ErrInvalidPartitions, name, have, total)
	}
	if len(assignment) > 0 {
		if int32(len(assignment)) != total-have {
			return request.Refuse(request.ErrInvalidReplicaAssignment, fmt.Sprintf("%d assignments for %d new partitions", len(assignment), total-have))
		}
		if err := m.checkAssignment(ctx, assignment); err != nil {
			return err
		}
	} else {
		assignment, err = m.assign(ctx, int(total-have), len(t.Partitions[0].Replicas), int(have))
		if err != nil {
			return err
		}
	}
	if validateOnly {
		return nil
	}
	_, err = m.propose(ctx, metadata.CreatePartitions{Topic: name, Assignment: assignment, From: have})
	return translate(err)
}

func (m *Member) AlterTopicConfig(ctx context.Context, name string, set map[string]string, remove []string, validateOnly bool) error {
	t, err := m.topic(ctx, name)
	if err != nil {
		return err
	}
	names := engine.ConfigNames()
	merged := map[string]string{}
	for k, v := range t.Configs {
		merged[k] = v
	}
	for _, k := range remove {
		if !slices.Contains(names, k) {
			return fmt.Errorf("topic %s: %w: unknown config %q", name, engine.ErrInvalidConfig, k)
		}
		delete(merged, k)
	}
	for k, v := range set {
		merged[k] = v
	}
	if err := engine.ValidateConfigs(merged); err != nil {
		return fmt.Errorf("topic %s: %w", name, err)
	}
	if validateOnly {
		return nil
	}
	// Removing what is not set is a no-op, and the state machine refuses
	// a key both set and removed: send it only what changes.
	var drop []string
	for _, k := range remove {
		if _, isSet := set[k]; !isSet {
			if _, had := t.Configs[k]; had {
				drop = append(drop, k)
			}
		}
	}
	_, err = m.propose(ctx, metadata.AlterTopicConfig{Topic: name, Set: set, Remove: drop})
	return translate(err)
}

// InitProducerID hands out ids from a block the quorum gave this broker,
// so that ids are unique across the cluster; a known id gets its next
// epoch (a new id once the epoch would overflow).
func (m *Member) InitProducerID(ctx context.Context, producerID int64, epoch int16) (int64, int16, error) {
	if producerID >= 0 && epoch >= 0 && epoch < math.MaxInt16 {
		return producerID, epoch + 1, nil
	}
	m.pidMu.Lock()
	defer m.pidMu.Unlock()
	if m.pidNext == 0 || m.pidNext > m.pidLast {
		res, err := m.propose(ctx, metadata.AllocateProducerIDs{BrokerID: m.cfg.NodeID, Count: ProducerIDBlockSize})
		if err != nil {
			return -1, -1, translate(err)
		}
		m.pidNext, m.pidLast = res.FirstProducerID, res.FirstProducerID+ProducerIDBlockSize-1
	}
	id := m.pidNext
	m.pidNext++
	return id, 0, nil
}

// translate turns the state machine's refusals into the engine's sentinel
// errors where the request layer branches on them (a lost create race is
// not an error to auto-creation); the rest keep their Kafka code.
func translate(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, quorum.ErrNoLeader), errors.Is(err, quorum.ErrClosed):
		// No active controller (yet, or any more): retriable, as Kafka's
		// NOT_CONTROLLER is.
		return request.Refuse(request.ErrNotController, err.Error())
	case errors.Is(err, quorum.ErrOutcomeUnknown) && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled):
		// The controller was reached but did not answer in time.
		return fmt.Errorf("%w (%w)", err, context.DeadlineExceeded)
	}
	var me *metadata.Error
	if !errors.As(err, &me) {
		return err
	}
	switch me.Code {
	case metadata.CodeTopicAlreadyExists:
		return fmt.Errorf("%w: %s", engine.ErrTopicExists, me.Message)
	case metadata.CodeUnknownTopicOrPartition:
		return fmt.Errorf("%w: %s", engine.ErrUnknownTopic, me.Message)
	case metadata.CodeInvalidPartitions:
		return fmt.Errorf("%w: %s", engine.ErrInvalidPartitions, me.Message)
	}
	return err
}

func randomStart(n int) int {
	if n <= 0 {
		return 0
	}
	return rand.IntN(n)
}

func randomTopicID() [16]byte {
	var id [16]byte
	for i := 0; i < 16; i += 8 {
		v := rand.Uint64()
		for j := 0; j < 8; j++ {
			id[i+j] = byte(v >> (8 * j))
		}
	}
	return id
}

// AllBrokers lists every registered broker, fenced ones too, for
// DescribeCluster.
func (m *Member) AllBrokers(listener string) []request.BrokerState {
	var out []request.BrokerState
	for _, b := range m.state.Brokers() {
		rb, ok := brokerAddr(b, listener)
		if !ok {
			rb = request.Broker{ID: b.ID, Port: -1}
		}
		out = append(out, request.BrokerState{Broker: rb, Fenced: b.Fenced})
	}
	return out
}
