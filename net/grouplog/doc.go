// Package grouplog keeps a cluster's consumer groups - committed offsets
// and memberships - in the replicated internal topic __consumer_offsets,
// so that they outlive the broker that coordinates them. It is the
// cluster's group.Store (engine/group): the coordinator's state machine is
// the single node's; only where its state is kept changes.
//
// # The design, and why
//
// Kafka's. A group's coordinator is the leader of partition
// abs(javaHashCode(group)) % N of __consumer_offsets (PartitionFor); its
// writes are records appended to that partition through the leader's own
// append path, replicated by the partition's followers like any topic's
// records, and acknowledged with acks=all semantics (the append, then
// request.Replication.AwaitReplicated within offsets.commit.timeout.ms).
// The engine's pebble store stays the view that reads are served from
// (engine/groupview.go): a broker fills it from the log when it becomes a
// partition's leader and applies each record once it is committed.
//
// Why a topic rather than another place:
//   - Placement, failover and fencing come for free: the partition's
//     leader is elected from its in-sync replicas by the controller, with
//     leader epochs, exactly as for user topics, so the coordinator moves
//     when leadership moves, to a broker that holds every acknowledged
//     commit. A second replication scheme for groups would need all of
//     that again.
//   - Not the metadata quorum (raft): commits are frequent (every consumer,
//     every few seconds) and per group; putting them through one raft log
//     would make the controller the bottleneck of every consumer, which is
//     why KRaft keeps them out too.
//   - Kafka's clients and tools know the topic and its partition rule, so
//     FindCoordinator answers what a Kafka cluster of N partitions would.
//   - Pebble stays what it is good at: a durable, indexed view for reads
//     (OffsetFetch, ListGroups, expiry) that a single node uses unchanged.
//
// # Invariants
//
//   - Only a leader writes, and only through its partition's log; the view
//     of a partition's groups is written by one goroutine, in log order
//     (load, then apply), so it never disagrees with the log's order.
//   - A commit's response waits until the partition's in-sync replicas
//     hold the record and the view shows it: whoever leads next has it.
//   - The view holds only committed records, except right after a load,
//     which replays up to the new leader's log end (Kafka's rule: that log
//     is what its followers will converge on).
//   - A broker serves a group only while it leads the group's partition at
//     the epoch it loaded; while loading, COORDINATOR_LOAD_IN_PROGRESS;
//     elsewhere, NOT_COORDINATOR. On losing the partition it drops the
//     groups from the coordinator (their members hear NOT_COORDINATOR and
//     move) and from the view; every load starts by wiping the view's
//     groups of the partition, so a view left by an earlier leadership or a
//     crash is never trusted.
//   - Memberships (KindGroup) are appended without waiting for replicas:
//     the coordinator writes them under its lock, and one lost with its
//     leader costs the group a rebalance, never an offset. Offset commits
//     and deletions wait.
//
// # Records
//
// One uncompressed record batch per write; records.go has the byte
// layouts. Keys start with a kind (offset, group), values with a version;
// a tombstone (null value) deletes. An offset record carries the topic's
// id, so a commit of a topic deleted since (or deleted and created again)
// is dropped when replayed.
//
// # Costs and limits
//
// The topic is created by the cluster when the first FindCoordinator asks
// (net/cluster), with offsets.topic.num.partitions (Kafka's 50: about half
// a second in a three-broker test cluster) and offsets.topic.replication.
// factor (min(3, live brokers) unless set), retention.ms=-1: nothing is
// ever deleted from it until log compaction exists, so a load replays the
// partition's whole history. A broker restarted while leading a partition
// reloads it in full.
//
// # Logs
//
// A load or unload of a partition that holds groups is one info line,
// offsets_partition_loaded or offsets_partition_unloaded (topic,
// partition, leader_epoch, records or groups): this broker became or
// stopped being those groups' coordinator. Most partitions hold no group,
// and theirs are debug. A load or an apply that keeps failing is one
// error, its retries debug.
package grouplog
