package client

import (
	"context"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/sluicelog/sluice/net/protocol"
)

// metadataMaxAge is how long cached topic metadata is trusted without an
// error to say it is wrong (Kafka's metadata.max.age.ms): partitions
// added to a topic show up within it.
const metadataMaxAge = 5 * time.Minute

// metadata caches what the brokers said about the cluster and topics.
type metadata struct {
	mu         sync.Mutex
	brokers    map[int32]string
	controller int32
	topics     map[string]*topicMeta
}

// topicMeta is one topic's partitions as last seen.
type topicMeta struct {
	name       string
	err        error // the topic's error, a *BrokerError
	partitions []protocol.MetadataResponsePartition
	at         time.Time
}

func (m *metadata) init() {
	m.brokers = map[int32]string{}
	m.topics = map[string]*topicMeta{}
	m.controller = -1
}

func (m *metadata) brokerAddrs() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	ids := make([]int32, 0, len(m.brokers))
	for id := range m.brokers {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = m.brokers[id]
	}
	return out
}

// update records a Metadata answer.
func (m *metadata) update(resp *protocol.MetadataResponse, now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(resp.Brokers) > 0 {
		m.brokers = make(map[int32]string, len(resp.Brokers))
		for _, b := range resp.Brokers {
			m.brokers[b.NodeID] = b.Host + ":" + strconv.Itoa(int(b.Port))
		}
	}
	m.controller = resp.ControllerID
	for _, t := range resp.Topics {
		tm := &topicMeta{name: t.Name, at: now, err: brokerErr(protocol.Metadata, t.ErrorCode, t.Name, -1, nil)}
		if tm.err == nil {
			tm.partitions = append([]protocol.MetadataResponsePartition(nil), t.Partitions...)
			sort.Slice(tm.partitions, func(i, j int) bool { return tm.partitions[i].Partition < tm.partitions[j].Partition })
		}
		m.topics[t.Name] = tm
	}
}

// addr returns the address of a broker by node id, or "".
func (m *metadata) addr(node int32) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.brokers[node]
}

// leader returns the address of the partition's leader from the cache, or
// "" when the cache does not know it.
func (m *metadata) leader(topic string, partition int32) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	t := m.topics[topic]
	if t == nil || t.err != nil || partition < 0 || int(partition) >= len(t.partitions) {
		return ""
	}
	p := t.partitions[partition]
	if p.Partition != partition || p.Leader < 0 {
		return ""
	}
	return m.brokers[p.Leader]
}

func (m *metadata) cached(topic string) *topicMeta {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.topics[topic]
}

// forget drops a topic so the next lookup asks a broker.
func (m *metadata) forget(topic string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.topics, topic)
}

// refreshMetadata asks a broker about topics (nil: all of them) and
// updates the cache. autoCreate lets the broker create missing topics when
// its auto.create.topics.enable is on, as a Kafka producer does.
func (cl *Client) refreshMetadata(ctx context.Context, topics []string, autoCreate bool) (*protocol.MetadataResponse, error) {
	req := &protocol.MetadataRequest{Topics: topics, AllowAutoTopicCreation: autoCreate}
	if topics == nil {
		req.AllowAutoTopicCreation = false
	}
	var resp protocol.MetadataResponse
	// Metadata creates topics only as a side effect the broker allows for
	// exactly this use, and a second request finds them made: idempotent.
	if err := cl.call(ctx, "", req, &resp, true); err != nil {
		return nil, err
	}
	if err := brokerErr(protocol.Metadata, resp.ErrorCode, "", -1, nil); err != nil {
		return nil, err
	}
	cl.meta.update(&resp, time.Now())
	return &resp, nil
}

// topic returns the topic's metadata, from the cache when it is younger
// than metadataMaxAge and asking a broker otherwise. The topic's own error
// (unknown topic, ...) is returned as an error.
func (cl *Client) topic(ctx context.Context, name string, autoCreate bool) (*topicMeta, error) {
	if t := cl.meta.cached(name); t != nil && t.err == nil && time.Since(t.at) < metadataMaxAge {
		return t, nil
	}
	if _, err := cl.refreshMetadata(ctx, []string{name}, autoCreate); err != nil {
		return nil, err
	}
	t := cl.meta.cached(name)
	if t == nil {
		return nil, &BrokerError{API: protocol.Metadata, Code: protocol.ErrUnknownTopicOrPartition, Topic: name, Partition: -1,
			Message: "the broker's answer did not include the topic"}
	}
	if t.err != nil {
		return nil, t.err
	}
	return t, nil
}

// leaderAddr returns where to send requests for a partition: its leader if
// the metadata names one, any broker ("") otherwise.
func (cl *Client) leaderAddr(topic string, partition int32) string {
	return cl.meta.leader(topic, partition)
}

// controllerAddr is where topic changes go: the controller if known.
func (cl *Client) controllerAddr() string {
	cl.meta.mu.Lock()
	defer cl.meta.mu.Unlock()
	return cl.meta.brokers[cl.meta.controller]
}
