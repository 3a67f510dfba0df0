package client

import "math/rand/v2"

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
// partition until its batch goes out, then move to another at random.
// Sticking fills batches (fewer, larger requests) instead of scattering
// every record over every partition, and moving on keeps the partitions
// even over time. Its owner serialises access.
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
