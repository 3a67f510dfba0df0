// Package metadata is the cluster's metadata image and the pure state
// machine that builds it, in the shape of Kafka's KRaft metadata image:
// records in, image out.
//
// Every broker applies the same raft log to its own State, so Apply must
// be a function of the current image and the record bytes alone: no IO, no
// clock, no randomness. Whatever varies (a broker's incarnation, a topic ID,
// the start index of a placement) is chosen by the proposer and travels in
// the record. An entry that cannot be decoded, or a record that is refused,
// leaves the image unchanged and yields a Result carrying a Kafka error code;
// a bad entry never panics and never wedges a replaying node.
//
// # Records
//
// A record is encoded as one type byte, one version byte and a JSON body
// with explicit field names (see codec.go). JSON marshals map keys sorted,
// so encoding is deterministic; the field names are the persisted format,
// not the Go names.
//
// # What fences what
//
//   - A broker's registration epoch (Broker.RegisteredAt) is the applied
//     index of its latest RegisterBroker record; a restart under a new
//     incarnation gets a new epoch and first loses the leaderships of its
//     previous life, as if fenced, so a zombie of the old process holds no
//     partition.
//   - FenceBroker moves leadership off the broker (to another unfenced ISR
//     member, else to -1) and drops it from every ISR in which it is not the
//     last member: the last member stays so that it can return as leader
//     without an unclean election.
//   - A partition's LeaderEpoch grows on every leader change; a
//     PartitionChange must name the epoch its proposer saw, so a stale leader
//     or controller cannot overwrite a newer decision (FENCED_LEADER_EPOCH).
//     PartitionEpoch grows on every change to the partition at all.
//   - Producer IDs come from NextProducerID, which only grows and is part of
//     the snapshot, so no ID is handed out twice, even across restore.
//
// # Invariants (checked by Check and on Restore)
//
// Broker and topic keys match their values; topic IDs are non-zero and
// unique; every topic has at least one partition; replica lists are
// non-empty and duplicate-free; an ISR is a non-empty, duplicate-free subset
// of the replicas; a leader is -1 or an ISR member that is registered and
// unfenced.
//
// State is safe for concurrent readers while Apply runs. Topics are copy
// on write (see State): Image, Topic and TopicByID share published topics,
// which are never written again, so readers treat them as read-only and a
// record costs the topics it touches; Broker and Partition return copies.
// OnChange names the topics each record changed. Snapshots are binary
// (snapshot.go), with JSON snapshots of the first format still restored. Liveness (heartbeat tracking) and Assign (replica placement) are
// pure helpers for the active controller and sit beside the state machine,
// outside the replicated image.
package metadata
