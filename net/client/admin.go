package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sort"
	"strconv"
	"time"

	"github.com/sluicelog/sluice/net/protocol"
)

// TopicInfo describes a topic and its partitions.
type TopicInfo struct {
	Name       string
	ID         [16]byte
	Partitions []PartitionInfo // in partition order
}

// PartitionInfo describes one partition: where it lives and which offsets
// it holds, [LogStartOffset, HighWatermark).
type PartitionInfo struct {
	Partition      int32
	Leader         int32
	Replicas       []int32
	ISR            []int32
	LogStartOffset int64
	HighWatermark  int64
}

// ConfigEntry is one topic config and its effective value.
type ConfigEntry struct {
	Name  string
	Value string // empty for a sensitive config
	// IsDefault: no override is set; the value is the broker's default.
	IsDefault bool
	ReadOnly  bool
	// Source is Kafka's name for where the value comes from:
	// DYNAMIC_TOPIC_CONFIG, STATIC_BROKER_CONFIG, DEFAULT_CONFIG or UNKNOWN.
	Source string
	// Doc is the broker's one-line description of the config, if any.
	Doc string
}

// CreateTopic creates a topic. partitions and replicationFactor may be -1
// for the broker's num.partitions and default.replication.factor; configs
// are topic-level overrides in Kafka's names (retention.ms, ...). An
// existing topic fails with an error wrapping
// protocol.ErrTopicAlreadyExists.
func (cl *Client) CreateTopic(ctx context.Context, name string, partitions int32, replicationFactor int16, configs map[string]string) error {
	t := protocol.CreateTopicsRequestTopic{Name: name, NumPartitions: partitions, ReplicationFactor: replicationFactor}
	for _, k := range sortedKeys(configs) {
		t.Configs = append(t.Configs, protocol.CreateTopicsRequestConfig{Name: k, Value: new(configs[k])})
	}
	req := &protocol.CreateTopicsRequest{Topics: []protocol.CreateTopicsRequestTopic{t}, TimeoutMs: cl.timeoutMs()}
	var resp protocol.CreateTopicsResponse
	// Not idempotent: a repeat after a lost answer would report the topic
	// as existing. call retries it only if it never reached the broker.
	if err := cl.call(ctx, cl.controllerAddr(), req, &resp, false); err != nil {
		return err
	}
	cl.meta.forget(name)
	if err := brokerErr(protocol.CreateTopics, resp.ErrorCode, name, -1, nil); err != nil {
		return err
	}
	for _, r := range resp.Topics {
		if r.Name == name {
			return brokerErr(protocol.CreateTopics, r.ErrorCode, name, -1, r.ErrorMessage)
		}
	}
	return fmt.Errorf("create topic %s: the broker's answer did not mention it", name)
}

// DeleteTopic deletes a topic and its data. A missing topic fails with an
// error wrapping protocol.ErrUnknownTopicOrPartition.
func (cl *Client) DeleteTopic(ctx context.Context, name string) error {
	req := &protocol.DeleteTopicsRequest{Names: []string{name}, TimeoutMs: cl.timeoutMs()}
	var resp protocol.DeleteTopicsResponse
	if err := cl.call(ctx, cl.controllerAddr(), req, &resp, false); err != nil {
		return err
	}
	cl.meta.forget(name)
	if err := brokerErr(protocol.DeleteTopics, resp.ErrorCode, name, -1, nil); err != nil {
		return err
	}
	for _, r := range resp.Topics {
		if r.Name == name {
			return brokerErr(protocol.DeleteTopics, r.ErrorCode, name, -1, r.ErrorMessage)
		}
	}
	return fmt.Errorf("delete topic %s: the broker's answer did not mention it", name)
}

// CreatePartitions raises a topic's partition count to total (Kafka's
// kafka-topics --alter --partitions). Partitions are only added; a total
// not above the current count fails with protocol.ErrInvalidPartitions.
// Consumer groups subscribed to the topic rebalance when their leader
// notices (GroupConfig.MetadataMaxAge).
func (cl *Client) CreatePartitions(ctx context.Context, topic string, total int32) error {
	req := &protocol.CreatePartitionsRequest{Topics: []protocol.CreatePartitionsRequestTopic{{Name: topic, Count: total}}, TimeoutMs: cl.timeoutMs()}
	var resp protocol.CreatePartitionsResponse
	if err := cl.call(ctx, cl.controllerAddr(), req, &resp, false); err != nil {
		return err
	}
	cl.meta.forget(topic) // producers see the new partitions at once
	if err := brokerErr(protocol.CreatePartitions, resp.ErrorCode, topic, -1, nil); err != nil {
		return err
	}
	for _, r := range resp.Topics {
		if r.Name == topic {
			return brokerErr(protocol.CreatePartitions, r.ErrorCode, topic, -1, r.ErrorMessage)
		}
	}
	return fmt.Errorf("create partitions of %s: the broker's answer did not mention it", topic)
}

// ListTopics returns the names of all topics, sorted.
func (cl *Client) ListTopics(ctx context.Context) ([]string, error) {
	resp, err := cl.refreshMetadata(ctx, nil, false)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(resp.Topics))
	for _, t := range resp.Topics {
		names = append(names, t.Name)
	}
	sort.Strings(names)
	return names, nil
}

// DescribeTopic returns a topic's partitions with their leaders, replicas,
// in-sync replicas, log start offsets and high watermarks. The metadata is
// fetched fresh, not taken from the cache.
//
// In a cluster a new topic reaches each broker a moment after it is
// created: a retriable refusal (UNKNOWN_TOPIC_OR_PARTITION from a leader
// that has not applied it yet, NOT_LEADER_OR_FOLLOWER after a move) makes
// it look again, with backoff, until RequestTimeout or ctx ends.
func (cl *Client) DescribeTopic(ctx context.Context, name string) (TopicInfo, error) {
	deadline := time.Now().Add(cl.cfg.RequestTimeout)
	backoff := 20 * time.Millisecond
	for {
		info, err := cl.describeTopic(ctx, name)
		var be *BrokerError
		if err == nil || !errors.As(err, &be) || be.API != protocol.ListOffsets || !retriable(err) || time.Now().Add(backoff).After(deadline) {
			return info, err
		}
		select {
		case <-ctx.Done():
			return info, err
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Second)
	}
}

func (cl *Client) describeTopic(ctx context.Context, name string) (TopicInfo, error) {
	resp, err := cl.refreshMetadata(ctx, []string{name}, false)
	if err != nil {
		return TopicInfo{}, err
	}
	var mt *protocol.MetadataResponseTopic
	for i := range resp.Topics {
		if resp.Topics[i].Name == name {
			mt = &resp.Topics[i]
		}
	}
	if mt == nil {
		return TopicInfo{}, &BrokerError{API: protocol.Metadata, Code: protocol.ErrUnknownTopicOrPartition, Topic: name, Partition: -1}
	}
	if err := brokerErr(protocol.Metadata, mt.ErrorCode, name, -1, nil); err != nil {
		return TopicInfo{}, err
	}
	info := TopicInfo{Name: name, ID: mt.TopicID}
	ids := make([]int32, 0, len(mt.Partitions))
	for _, p := range mt.Partitions {
		info.Partitions = append(info.Partitions, PartitionInfo{
			Partition: p.Partition, Leader: p.Leader, Replicas: p.Replicas, ISR: p.ISR,
			LogStartOffset: -1, HighWatermark: -1,
		})
		// A partition without a leader (its leader's broker is down) has
		// nobody to tell its offsets: it is described offline, not failed.
		if p.Leader >= 0 {
			ids = append(ids, p.Partition)
		}
	}
	sort.Slice(info.Partitions, func(i, j int) bool { return info.Partitions[i].Partition < info.Partitions[j].Partition })
	start, err := cl.listOffsets(ctx, name, ids, protocol.EarliestTimestamp)
	if err != nil {
		return TopicInfo{}, err
	}
	end, err := cl.listOffsets(ctx, name, ids, protocol.LatestTimestamp)
	if err != nil {
		return TopicInfo{}, err
	}
	for i := range info.Partitions {
		p := &info.Partitions[i]
		if p.Leader >= 0 {
			p.LogStartOffset, p.HighWatermark = start[p.Partition], end[p.Partition]
		}
	}
	return info, nil
}

// ClusterInfo describes the cluster: its id, its active controller and
// every registered broker, fenced ones included.
type ClusterInfo struct {
	ClusterID string
	// ControllerID is the active controller's node id, -1 while none is
	// known.
	ControllerID int32
	Brokers      []BrokerInfo
}

// BrokerInfo is one registered broker.
type BrokerInfo struct {
	NodeID int32
	// Addr is its native (SLUICE) listener, host:port; empty if it has
	// none.
	Addr string
	// Fenced: it missed its heartbeats for broker.session.timeout.ms, so
	// it leads nothing and clients are not sent to it.
	Fenced bool
}

// DescribeCluster asks a broker for the cluster's brokers and controller
// (Kafka's DescribeCluster).
func (cl *Client) DescribeCluster(ctx context.Context) (ClusterInfo, error) {
	var resp protocol.DescribeClusterResponse
	if err := cl.call(ctx, "", &protocol.DescribeClusterRequest{}, &resp, true); err != nil {
		return ClusterInfo{}, err
	}
	if err := brokerErr(protocol.DescribeCluster, resp.ErrorCode, "", -1, nil); err != nil {
		return ClusterInfo{}, err
	}
	info := ClusterInfo{ClusterID: resp.ClusterID, ControllerID: resp.ControllerID}
	for _, b := range resp.Brokers {
		bi := BrokerInfo{NodeID: b.NodeID, Fenced: b.Fenced}
		if b.Host != "" {
			bi.Addr = net.JoinHostPort(b.Host, strconv.Itoa(int(b.Port)))
		}
		info.Brokers = append(info.Brokers, bi)
	}
	return info, nil
}

// DescribeConfigs returns every config of a topic with its effective
// value, sorted by name.
func (cl *Client) DescribeConfigs(ctx context.Context, topic string) ([]ConfigEntry, error) {
	rcs, err := cl.DescribeTopicConfigs(ctx, topic)
	if err != nil {
		return nil, err
	}
	out := make([]ConfigEntry, len(rcs))
	for i, rc := range rcs {
		out[i] = rc.ConfigEntry
	}
	return out, nil
}

func sourceName(s protocol.ConfigSource) string {
	switch s {
	case protocol.ConfigSourceDynamicTopic:
		return "DYNAMIC_TOPIC_CONFIG"
	case protocol.ConfigSourceStaticBroker:
		return "STATIC_BROKER_CONFIG"
	case protocol.ConfigSourceDefault:
		return "DEFAULT_CONFIG"
	}
	return "UNKNOWN"
}

// AlterConfigs changes a topic's configs incrementally: each config in set
// gets its value, each in remove goes back to the default, and the others
// keep theirs. The changes apply all together or not at all.
func (cl *Client) AlterConfigs(ctx context.Context, topic string, set map[string]string, remove []string) error {
	res := protocol.AlterConfigsRequestResource{ResourceType: protocol.ResourceTopic, ResourceName: topic}
	for _, k := range sortedKeys(set) {
		res.Configs = append(res.Configs, protocol.AlterConfigsRequestConfig{Name: k, Op: protocol.AlterConfigSet, Value: new(set[k])})
	}
	for _, k := range remove {
		res.Configs = append(res.Configs, protocol.AlterConfigsRequestConfig{Name: k, Op: protocol.AlterConfigDelete})
	}
	req := &protocol.AlterConfigsRequest{Resources: []protocol.AlterConfigsRequestResource{res}}
	var resp protocol.AlterConfigsResponse
	// Setting a value or removing an override twice ends the same way.
	if err := cl.call(ctx, cl.controllerAddr(), req, &resp, true); err != nil {
		return err
	}
	if err := brokerErr(protocol.AlterConfigs, resp.ErrorCode, topic, -1, nil); err != nil {
		return err
	}
	for _, r := range resp.Results {
		if r.ResourceName == topic {
			return brokerErr(protocol.AlterConfigs, r.ErrorCode, topic, -1, r.ErrorMessage)
		}
	}
	return fmt.Errorf("alter configs %s: the broker's answer did not mention it", topic)
}

// ListOffset finds an offset in a partition: timestamp -2
// (protocol.EarliestTimestamp) gives the log start offset, -1
// (protocol.LatestTimestamp) the high watermark (the offset the next
// record will get), and a time in milliseconds since the epoch the first
// offset whose record is at least that recent, or -1 if none is.
func (cl *Client) ListOffset(ctx context.Context, topic string, partition int32, timestamp int64) (int64, error) {
	offs, err := cl.listOffsets(ctx, topic, []int32{partition}, timestamp)
	if err != nil {
		return 0, err
	}
	return offs[partition], nil
}

// listOffsets runs ListOffsets for some partitions of a topic, one request
// per leader.
func (cl *Client) listOffsets(ctx context.Context, topic string, partitions []int32, timestamp int64) (map[int32]int64, error) {
	if len(partitions) == 0 {
		return map[int32]int64{}, nil
	}
	byLeader := map[string][]protocol.ListOffsetsRequestPartition{}
	for _, p := range partitions {
		addr := cl.leaderAddr(topic, p)
		byLeader[addr] = append(byLeader[addr], protocol.ListOffsetsRequestPartition{Partition: p, Timestamp: timestamp})
	}
	out := make(map[int32]int64, len(partitions))
	for addr, parts := range byLeader {
		req := &protocol.ListOffsetsRequest{Topics: []protocol.ListOffsetsRequestTopic{{Name: topic, Partitions: parts}}}
		var resp protocol.ListOffsetsResponse
		if err := cl.call(ctx, addr, req, &resp, true); err != nil {
			return nil, err
		}
		if err := brokerErr(protocol.ListOffsets, resp.ErrorCode, topic, -1, nil); err != nil {
			return nil, err
		}
		for _, t := range resp.Topics {
			for _, p := range t.Partitions {
				if err := brokerErr(protocol.ListOffsets, p.ErrorCode, topic, p.Partition, nil); err != nil {
					if needsMetadata(p.ErrorCode) {
						cl.meta.forget(topic)
					}
					return nil, err
				}
				out[p.Partition] = p.Offset
			}
		}
	}
	for _, p := range partitions {
		if _, ok := out[p]; !ok {
			return nil, fmt.Errorf("list offsets %s-%d: the broker's answer did not mention it", topic, p)
		}
	}
	return out, nil
}

// Partitions returns a topic's partition count (from the metadata cache
// when it is fresh).
func (cl *Client) Partitions(ctx context.Context, topic string) (int32, error) {
	t, err := cl.topic(ctx, topic, false)
	if err != nil {
		return 0, err
	}
	return int32(len(t.partitions)), nil
}

func (cl *Client) timeoutMs() int32 {
	return int32(min(cl.cfg.RequestTimeout.Milliseconds(), 1<<31-1))
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
