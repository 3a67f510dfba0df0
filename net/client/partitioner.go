package client

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// Partitioner chooses the partition of each record a [Producer] sends:
// Kafka's partitioner.class, as an interface the caller may implement.
// ProducerConfig.Partitioner takes one; nil means [StickyKeyPartitioner],
// Kafka's default. The partitioner decides: Record.Partition is read only
// by [ManualPartitioner] (or by a partitioner of the caller's that chooses
// to), so the zero Record goes where the partitioner says, not to
// partition 0. (This is franz-go's model; Kafka's Java producer instead
// lets a partition set on the ProducerRecord override any partitioner.)
//
// Kafka's partitioner.class values, and what to configure instead:
//
//	(unset), ...producer.internals.DefaultPartitioner  StickyKeyPartitioner()
//	...producer.UniformStickyPartitioner,
//	  or partitioner.ignore.keys=true                  UniformStickyPartitioner()
//	...producer.RoundRobinPartitioner                  RoundRobinPartitioner()
//	(Kafka before 2.4: murmur2, round robin if no key)  KeyPartitioner()
//	a partition on each ProducerRecord                 ManualPartitioner()
//	a class of your own                                a type with a Partition
//	                                                   method, or a PartitionerFunc
//
// [PartitionerByName] maps these names (and short ones) to partitioners.
//
// The producer calls a topic's partitioner with its lock held, one record
// at a time, so state kept per topic (see [TopicPartitioner]) needs no
// locking; Partition must be quick and must not call the producer.
type Partitioner interface {
	// Partition returns r's partition, in [0, numPartitions);
	// numPartitions is the topic's partition count as last looked up,
	// always positive. Send refuses the record, with an error wrapping
	// protocol.ErrUnknownTopicOrPartition, if the result is out of range.
	Partition(r *Record, numPartitions int32) int32
}

// TopicPartitioner is a [Partitioner] that keeps state per topic, as the
// sticky and round-robin ones do: a producer calls ForTopic once for each
// topic it sends to and uses the partitioner returned for that topic's
// records. A Partitioner without ForTopic serves every topic, and every
// producer whose config holds it, concurrently.
type TopicPartitioner interface {
	Partitioner
	ForTopic(topic string) Partitioner
}

// BatchAwarePartitioner is a [Partitioner] told when the producer closes
// one of its topic's batches (the batch filled up, or was taken to be
// sent), the moment a sticky partitioner moves on. BatchClosed runs under
// the same lock as Partition.
type BatchAwarePartitioner interface {
	Partitioner
	BatchClosed(partition, numPartitions int32)
}

// PartitionerFunc is a stateless [Partitioner] made of a function, called
// for the records of every topic.
type PartitionerFunc func(r *Record, numPartitions int32) int32

// Partition calls f.
func (f PartitionerFunc) Partition(r *Record, numPartitions int32) int32 { return f(r, numPartitions) }

// StickyKeyPartitioner is the default partitioner, Kafka's since 2.4
// (KIP-480): a record with a non-nil key (an empty key is a key) goes to
// [KeyPartition], so that a key always lands on the same partition, as
// with Kafka's clients; records without a key stick to one partition until
// its batch closes, then move to another at random. Sticking fills batches
// (fewer, larger requests) instead of scattering every record over every
// partition, and moving on keeps the partitions even over time.
func StickyKeyPartitioner() Partitioner { return &stickyKey{sticky: sticky{current: -1}} }

// UniformStickyPartitioner is sticky for every record, keyed or not: Kafka's
// UniformStickyPartitioner, or partitioner.ignore.keys=true. Keys do not
// choose partitions, so a key's records are spread over all of them.
func UniformStickyPartitioner() Partitioner {
	return &stickyKey{sticky: sticky{current: -1}, ignoreKeys: true}
}

// RoundRobinPartitioner sends each record to the next partition in turn,
// keyed or not, starting from a random one (Kafka's
// RoundRobinPartitioner). It spreads records evenly at the price of
// batches: n partitions get n batches as small as one record each.
func RoundRobinPartitioner() Partitioner { return &roundRobin{next: -1} }

// KeyPartitioner sends a record with a non-nil key to [KeyPartition], like
// StickyKeyPartitioner, and records without a key round robin, as Kafka's
// default partitioner did before 2.4.
func KeyPartitioner() Partitioner { return &keyRoundRobin{roundRobin{next: -1}} }

// ManualPartitioner honours Record.Partition: every record must name its
// partition. A partition past the topic's known count makes the producer
// look the topic up again once (partitions may have been added) before
// Send refuses the record; a negative one is refused at once.
func ManualPartitioner() Partitioner { return manual{} }

// PartitionerByName returns the partitioner a name stands for: a short
// name ("sticky-key" or "default", "uniform-sticky", "round-robin", "key"
// or "murmur2", "manual") or a Kafka partitioner.class value (see
// [Partitioner]).
func PartitionerByName(name string) (Partitioner, error) {
	const pkg = "org.apache.kafka.clients.producer."
	switch strings.TrimSpace(name) {
	case "sticky-key", "default", "", pkg + "internals.DefaultPartitioner":
		return StickyKeyPartitioner(), nil
	case "uniform-sticky", pkg + "UniformStickyPartitioner":
		return UniformStickyPartitioner(), nil
	case "round-robin", pkg + "RoundRobinPartitioner":
		return RoundRobinPartitioner(), nil
	case "key", "murmur2":
		return KeyPartitioner(), nil
	case "manual":
		return ManualPartitioner(), nil
	}
	return nil, fmt.Errorf("client: unknown partitioner %q: want sticky-key (default), uniform-sticky, round-robin, key (murmur2) or manual, or one of Kafka's partitioner.class names", name)
}

// stickyKey is StickyKeyPartitioner and UniformStickyPartitioner.
type stickyKey struct {
	sticky
	ignoreKeys bool
}

func (s *stickyKey) ForTopic(string) Partitioner {
	return &stickyKey{sticky: sticky{current: -1}, ignoreKeys: s.ignoreKeys}
}

func (s *stickyKey) Partition(r *Record, numPartitions int32) int32 {
	if r.Key != nil && !s.ignoreKeys {
		return KeyPartition(r.Key, numPartitions)
	}
	return s.pick(numPartitions)
}

func (s *stickyKey) BatchClosed(partition, numPartitions int32) {
	s.batchDone(partition, numPartitions)
}

// roundRobin is RoundRobinPartitioner: next is the next partition, -1
// before the first record.
type roundRobin struct{ next int32 }

func (*roundRobin) ForTopic(string) Partitioner { return &roundRobin{next: -1} }

func (rr *roundRobin) Partition(_ *Record, numPartitions int32) int32 {
	if rr.next < 0 {
		// A random start, so that many short-lived producers do not all
		// begin on partition 0.
		rr.next = rand.Int32N(numPartitions)
	}
	p := rr.next % numPartitions
	rr.next = (p + 1) % numPartitions
	return p
}

// keyRoundRobin is KeyPartitioner.
type keyRoundRobin struct{ rr roundRobin }

func (*keyRoundRobin) ForTopic(string) Partitioner { return &keyRoundRobin{roundRobin{next: -1}} }

func (k *keyRoundRobin) Partition(r *Record, numPartitions int32) int32 {
	if r.Key != nil {
		return KeyPartition(r.Key, numPartitions)
	}
	return k.rr.Partition(r, numPartitions)
}

// manual is ManualPartitioner. The producer recognises it, to look a topic
// up again for a partition beyond its known count.
type manual struct{}

func (manual) Partition(r *Record, _ int32) int32 { return r.Partition }

// Murmur2 is the 32-bit MurmurHash2 variant Kafka's Java client uses to
// place keyed records (seed 0x9747b28c, the input read as little-endian
// 4-byte words), returning the same signed value as Java's
// Utils.murmur2. Sluice uses it so that a key lands on the same partition
// whether a Sluice or a Kafka client produced it.
func Murmur2(data []byte) int32 {
	const (
		seed = 0x9747b28c
		m    = 0x5bd1e995
		r    = 24
	)
	n := len(data)
	h := uint32(seed) ^ uint32(n)
	i := 0
	for ; i+4 <= n; i += 4 {
		k := uint32(data[i]) | uint32(data[i+1])<<8 | uint32(data[i+2])<<16 | uint32(data[i+3])<<24
		k *= m
		k ^= k >> r
		k *= m
		h *= m
		h ^= k
	}
	// The tail of 1-3 bytes, folded in highest first as Java's switch
	// with fall-through does.
	switch n - i {
	case 3:
		h ^= uint32(data[i+2]) << 16
		fallthrough
	case 2:
		h ^= uint32(data[i+1]) << 8
		fallthrough
	case 1:
		h ^= uint32(data[i])
		h *= m
	}
	h ^= h >> 13
	h *= m
	h ^= h >> 15
	return int32(h)
}

// KeyPartition is the partition Kafka's default partitioner picks for a
// key among numPartitions: the murmur2 hash with its sign bit cleared,
// modulo the count. numPartitions must be positive.
func KeyPartition(key []byte, numPartitions int32) int32 {
	return (Murmur2(key) & 0x7fffffff) % numPartitions
}

// sticky is the partition choice for records without a key: stay on one
// partition until its batch closes, then move to another at random. Its
// owner serialises access.
type sticky struct {
	current int32 // -1: choose afresh on the next record
}

// pick returns the partition for the next unkeyed record.
func (s *sticky) pick(numPartitions int32) int32 {
	if s.current < 0 || s.current >= numPartitions {
		s.current = rand.Int32N(numPartitions)
	}
	return s.current
}

// batchDone is called when a batch of partition p is closed: if p is the
// sticky choice, the next record moves on, to a different partition when
// there is one.
func (s *sticky) batchDone(p, numPartitions int32) {
	if s.current != p {
		return
	}
	if numPartitions <= 1 {
		s.current = -1
		return
	}
	next := rand.Int32N(numPartitions - 1)
	if next >= p {
		next++
	}
	s.current = next
}

// isManual reports whether p is ManualPartitioner's.
func isManual(p Partitioner) bool {
	_, ok := p.(manual)
	return ok
}
