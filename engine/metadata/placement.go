package metadata

import (
	"slices"
)

// Assign places the replicas of new partitions on brokers, rack-unaware, as
// Kafka's AdminUtils does, so that leaders and followers spread evenly:
//
//   - the first replica (the preferred leader) of partition p is
//     brokers[(startIndex+p) % n], so consecutive partitions take
//     consecutive leaders;
//   - follower j of a partition sits at a distance 1 + (shift+j) % (n-1)
//     after the first replica, where shift starts at startIndex and grows
//     by one each time p wraps past a multiple of n, so that the same
//     leader does not always get the same followers.
//
// brokers are the candidate (unfenced) broker IDs; Assign sorts a copy, so
// the result depends only on the set. startPartitionID is the ID of the
// first new partition (the topic's current partition count when growing
// it). The caller picks startIndex at random, once; Assign itself is
// deterministic. Errors are *Error with INVALID_PARTITIONS,
// INVALID_REPLICATION_FACTOR or INVALID_REQUEST.
func Assign(brokers []int32, partitions, replicationFactor, startIndex, startPartitionID int) ([][]int32, error) {
	n := len(brokers)
	switch {
	case partitions <= 0:
		return nil, errorf(CodeInvalidPartitions, "number of partitions %d must be at least 1", partitions)
	case replicationFactor <= 0:
		return nil, errorf(CodeInvalidReplicationFactor, "replication factor %d must be at least 1", replicationFactor)
	case replicationFactor > n:
		return nil, errorf(CodeInvalidReplicationFactor, "replication factor %d is larger than the %d available brokers", replicationFactor, n)
	case startIndex < 0:
		return nil, errorf(CodeInvalidRequest, "start index %d is negative", startIndex)
	case startPartitionID < 0:
		return nil, errorf(CodeInvalidRequest, "start partition %d is negative", startPartitionID)
	}
	sorted := slices.Clone(brokers)
	slices.Sort(sorted)
	if len(slices.Compact(slices.Clone(sorted))) != n {
		return nil, errorf(CodeInvalidRequest, "broker list %v has duplicates", brokers)
	}
	out := make([][]int32, partitions)
	shift := startIndex
	for i := range partitions {
		p := startPartitionID + i
		if p > 0 && p%n == 0 {
			shift++
		}
		first := (startIndex + p) % n
		replicas := make([]int32, 0, replicationFactor)
		replicas = append(replicas, sorted[first])
		for j := range replicationFactor - 1 {
			replicas = append(replicas, sorted[(first+1+(shift+j)%(n-1))%n])
		}
		out[i] = replicas
	}
	return out, nil
}
