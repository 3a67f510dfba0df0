// Package replica keeps one broker's partition replicas in step with their
// leaders, as Kafka's ReplicaManager does.
//
// As a partition's leader it tracks each follower's log end (the offset
// of its latest fetch) and when it last caught up; it moves the high
// watermark to the smallest log end in the ISR; it shrinks the ISR of
// followers that lag longer than replica.lag.time.max.ms and grows it back
// when they catch up; and it answers acks=all once the high watermark
// passes the records. As a follower it fetches from the leader over the
// leader's Kafka-protocol listener (Fetch with its replica id), appends
// the batches byte for byte (engine.Partition.AppendReplica) and takes the
// high watermark the leader reports. When it starts following a leader
// epoch it first asks the leader where its own latest epoch ends
// (OffsetForLeaderEpoch) and truncates any tail the leader does not have.
//
// Invariants:
//   - The ISR changes only through the metadata quorum: the leader proposes
//     a PartitionChange carrying the leader epoch and partition epoch it
//     saw, so a leader that lost its leadership (paused, cut off) or a
//     stale view cannot overwrite the controller's decision. Changes that
//     wait together go as one PartitionChanges entry (isr.go).
//   - The high watermark never passes an ISR member's log end. A stale
//     leader's ISR, as it knows it, holds every member the quorum's ISR
//     holds (the quorum only removes members after the leader saw them),
//     so a write it acknowledges with acks=all is on every replica the
//     controller may elect.
//   - A follower never serves clients: the request layer's leader check
//     refuses it, and it reads no further than its leader's high
//     watermark allows (it takes the leader's).
//   - Role changes come from the metadata image only, applied in one
//     goroutine, topic by topic as records change them (sync.go); the
//     produce and fetch paths read the current roles from a copy-on-write
//     map without locks or allocation.
//
// Its notable events (events.go) are one log line each with an event
// attribute: leader_change and isr_change as the image moves this broker's
// roles and the ISRs it leads, summarised when many partitions change at
// once; replica_fetch_failing and replica_fetch_recovered for a follower's
// fetches from one leader; log_truncation when a follower cuts a tail its
// new leader does not have.
package replica
