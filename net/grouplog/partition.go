package grouplog

import "unicode/utf16"

// Topic is the internal topic that holds every group's committed offsets
// and membership (Kafka's name).
const Topic = "__consumer_offsets"

// Defaults of the topic, as the cluster creates it.
const (
	// DefaultPartitions is offsets.topic.num.partitions: Kafka's 50. A
	// group lives in one partition, and the partitions spread the groups'
	// leaders (so their coordinators) over the brokers; fifty cost a
	// cluster about half a second, once, when the first group finds its
	// coordinator (see the package doc).
	DefaultPartitions = 50
	// DefaultReplicationFactor is offsets.topic.replication.factor's
	// upper bound when it is not set: min(3, live brokers) at creation.
	DefaultReplicationFactor = 3
)

// Configs are the topic's config overrides, Kafka's for it: compacted
// (cleanup.policy=compact), so that the log keeps each group's newest
// metadata and each offset's newest commit, tombstones drop deleted ones
// after delete.retention.ms, and a coordinator taking a partition over
// replays what is current rather than every commit ever made; never
// cleaned by age or size (retention.ms=-1, retention.bytes=-1), since a
// record the log drops is an offset lost. 100 MiB segments are Kafka's
// offsets.topic.segment.bytes.
func Configs() map[string]string {
	return map[string]string{
		"cleanup.policy":  "compact",
		"retention.ms":    "-1",
		"retention.bytes": "-1",
		"segment.bytes":   "104857600",
	}
}

// PartitionFor is the partition of the offsets topic, of n, that holds
// group: Kafka's rule, abs(groupId.hashCode()) % n, with Java's String
// hashCode over the id's UTF-16 code units and Kafka's abs (the sign bit
// cleared), so that a group lands on the partition Kafka would pick.
func PartitionFor(group string, n int) int32 {
	if n <= 0 {
		return 0
	}
	var h int32
	for _, r := range group {
		if r >= 0x10000 {
			hi, lo := utf16.EncodeRune(r)
			h = 31*h + hi
			h = 31*h + lo
			continue
		}
		h = 31*h + r
	}
	return (h & 0x7fffffff) % int32(n)
}
