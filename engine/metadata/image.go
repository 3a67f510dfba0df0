package metadata

import (
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
)

// NoLeader is Partition.Leader when the partition has no leader (offline).
const NoLeader int32 = -1

// FirstProducerID is where the producer-ID allocator starts. IDs below it
// are never handed out, which leaves room for IDs a single-node broker
// chose before it joined a cluster.
const FirstProducerID int64 = 1000

// Broker is one registered broker.
type Broker struct {
	ID int32 `json:"id"`
	// Incarnation is random per process start; a new one means a restart.
	Incarnation string `json:"incarnation"`
	// Listeners maps a listener name to "host:port"; nil when empty.
	Listeners map[string]string `json:"listeners"`
	Fenced    bool              `json:"fenced"`
	// RegisteredAt is the applied index of the broker's latest
	// RegisterBroker record: its registration epoch.
	RegisteredAt uint64 `json:"registered_at"`
}

// Partition is one partition's replicas and leadership.
type Partition struct {
	Replicas []int32 `json:"replicas"`
	// Leader is a broker ID, or NoLeader.
	Leader int32 `json:"leader"`
	// LeaderEpoch grows on every leader change.
	LeaderEpoch int32   `json:"leader_epoch"`
	ISR         []int32 `json:"isr"`
	// PartitionEpoch grows on every change to the partition.
	PartitionEpoch int32 `json:"partition_epoch"`
}

// Topic is one topic.
type Topic struct {
	Name string   `json:"name"`
	ID   [16]byte `json:"id"`
	// Configs holds the overrides only, by Kafka topic config name; nil
	// when empty.
	Configs    map[string]string `json:"configs"`
	Partitions []Partition       `json:"partitions"`
}

// Image is the whole metadata as of one applied index, as plain data: what
// a snapshot holds and what Dump prints. An Image from State.Image shares
// its topics with the State (they are never written again): read-only.
type Image struct {
	ClusterID string `json:"cluster_id"`
	// Brokers are sorted by ID.
	Brokers []Broker `json:"brokers"`
	// Topics are sorted by name.
	Topics         []Topic `json:"topics"`
	NextProducerID int64   `json:"next_producer_id"`
	// AppliedIndex counts the records applied, refused ones included.
	AppliedIndex uint64 `json:"applied_index"`
}

func (b Broker) clone() Broker {
	b.Listeners = cloneMap(b.Listeners)
	return b
}

func (p Partition) clone() Partition {
	p.Replicas = slices.Clone(p.Replicas)
	p.ISR = slices.Clone(p.ISR)
	return p
}

func (t Topic) clone() Topic {
	t.Configs = cloneMap(t.Configs)
	ps := make([]Partition, len(t.Partitions))
	for i, p := range t.Partitions {
		ps[i] = p.clone()
	}
	t.Partitions = ps
	return t
}

// cloneMap copies m, turning an empty map into nil so that images compare
// equal however they were built.
func cloneMap(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return maps.Clone(m)
}

// Check verifies the image's invariants (see the package comment). Restore
// refuses a snapshot that fails it.
func (im *Image) Check() error {
	brokers := make(map[int32]Broker, len(im.Brokers))
	for i, b := range im.Brokers {
		if b.ID < 0 {
			return fmt.Errorf("broker %d: negative id", b.ID)
		}
		if i > 0 && im.Brokers[i-1].ID >= b.ID {
			return fmt.Errorf("broker %d: brokers not sorted by id or duplicated", b.ID)
		}
		if b.RegisteredAt > im.AppliedIndex {
			return fmt.Errorf("broker %d: registered at %d, after the applied index %d", b.ID, b.RegisteredAt, im.AppliedIndex)
		}
		brokers[b.ID] = b
	}
	ids := make(map[[16]byte]string, len(im.Topics))
	for i, t := range im.Topics {
		if t.Name == "" {
			return fmt.Errorf("topic %d: empty name", i)
		}
		if i > 0 && im.Topics[i-1].Name >= t.Name {
			return fmt.Errorf("topic %q: topics not sorted by name or duplicated", t.Name)
		}
		if t.ID == ([16]byte{}) {
			return fmt.Errorf("topic %q: zero topic id", t.Name)
		}
		if other, dup := ids[t.ID]; dup {
			return fmt.Errorf("topic %q: id %x also held by topic %q", t.Name, t.ID, other)
		}
		ids[t.ID] = t.Name
		if len(t.Partitions) == 0 {
			return fmt.Errorf("topic %q: no partitions", t.Name)
		}
		for p, part := range t.Partitions {
			if err := part.check(brokers); err != nil {
				return fmt.Errorf("topic %q partition %d: %w", t.Name, p, err)
			}
		}
	}
	if im.NextProducerID < FirstProducerID {
		return fmt.Errorf("next producer id %d below the first %d", im.NextProducerID, FirstProducerID)
	}
	return nil
}

func (p Partition) check(brokers map[int32]Broker) error {
	if len(p.Replicas) == 0 {
		return fmt.Errorf("no replicas")
	}
	if err := distinct(p.Replicas); err != nil {
		return fmt.Errorf("replicas: %w", err)
	}
	for _, r := range p.Replicas {
		if r < 0 {
			return fmt.Errorf("replica %d: negative id", r)
		}
	}
	if len(p.ISR) == 0 {
		return fmt.Errorf("empty isr")
	}
	if err := distinct(p.ISR); err != nil {
		return fmt.Errorf("isr: %w", err)
	}
	for _, r := range p.ISR {
		if !slices.Contains(p.Replicas, r) {
			return fmt.Errorf("isr member %d is not a replica", r)
		}
	}
	if p.Leader != NoLeader {
		if !slices.Contains(p.ISR, p.Leader) {
			return fmt.Errorf("leader %d not in the isr %v", p.Leader, p.ISR)
		}
		b, ok := brokers[p.Leader]
		if !ok {
			return fmt.Errorf("leader %d not registered", p.Leader)
		}
		if b.Fenced {
			return fmt.Errorf("leader %d is fenced", p.Leader)
		}
	}
	if p.LeaderEpoch < 0 || p.PartitionEpoch < 0 {
		return fmt.Errorf("negative epoch (leader %d, partition %d)", p.LeaderEpoch, p.PartitionEpoch)
	}
	return nil
}

func distinct(ids []int32) error {
	if len(ids) <= 16 {
		// Replica lists are short: no map (Check runs per partition, a
		// million times on a large restore).
		for i, id := range ids {
			if slices.Contains(ids[:i], id) {
				return fmt.Errorf("broker %d listed twice in %v", id, ids)
			}
		}
		return nil
	}
	seen := make(map[int32]bool, len(ids))
	for _, id := range ids {
		if seen[id] {
			return fmt.Errorf("broker %d listed twice in %v", id, ids)
		}
		seen[id] = true
	}
	return nil
}

// String prints the whole image deterministically, one line per broker and
// per partition: for tests and debugging.
func (im *Image) String() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "cluster=%q applied=%d next-producer-id=%d\n", im.ClusterID, im.AppliedIndex, im.NextProducerID)
	for _, b := range im.Brokers {
		fmt.Fprintf(&sb, "broker %d incarnation=%s registered-at=%d", b.ID, b.Incarnation, b.RegisteredAt)
		if b.Fenced {
			sb.WriteString(" fenced")
		}
		if len(b.Listeners) > 0 {
			fmt.Fprintf(&sb, " listeners=%s", formatMap(b.Listeners))
		}
		sb.WriteByte('\n')
	}
	for _, t := range im.Topics {
		fmt.Fprintf(&sb, "topic %s id=%s", t.Name, hex.EncodeToString(t.ID[:]))
		if len(t.Configs) > 0 {
			fmt.Fprintf(&sb, " configs=%s", formatMap(t.Configs))
		}
		sb.WriteByte('\n')
		for i, p := range t.Partitions {
			fmt.Fprintf(&sb, "  %d replicas=%s leader=%d leader-epoch=%d isr=%s partition-epoch=%d\n",
				i, formatIDs(p.Replicas), p.Leader, p.LeaderEpoch, formatIDs(p.ISR), p.PartitionEpoch)
		}
	}
	return sb.String()
}

func formatMap(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + m[k]
	}
	return strings.Join(parts, ",")
}

func formatIDs(ids []int32) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = fmt.Sprint(id)
	}
	return "[" + strings.Join(parts, ",") + "]"
}
