// Package metabench measures Sluice's metadata operations: topics created
// and deleted per second through the native client, and partition leaders
// moved per second through the metadata quorum, on a single-node broker and
// on a three-broker cluster, both in this process, against the cost of the
// synced log write every quorum commit needs, measured in the same run on
// the same disk.
//
// Run starts, each in its own temporary directory under Config.Dir:
//
//   - a single-node broker (no quorum: process.roles empty), and
//   - a cluster of three brokers, each also a controller, as
//     broker.StartTestCluster starts them (node ids 1..3, every listener on
//     127.0.0.1 with a free port).
//
// and times, for each target:
//
//   - create: Config.Topics topics of one partition created one after the
//     other by one client (sequential), then Config.Topics more by
//     Config.Concurrency workers, each with its own client (concurrent); on
//     the cluster once with replication factor 1 and once with 3.
//   - delete: every topic the creates made, sequential then concurrent.
//   - leader moves (cluster only): a topic with Config.Concurrency
//     partitions of replication factor 3 whose ISR is first widened to all
//     replicas; then PartitionChange records, each naming the next replica
//     as leader at the current leader epoch, are proposed on the active
//     controller's quorum node (quorum.Node.Propose, which returns once the
//     entry is committed and applied there): Config.Moves moves on one
//     partition in sequence, then Config.Moves moves spread over
//     Config.Concurrency goroutines, each on its own partition. Every move
//     must succeed; the leader epochs the image ends at are checked.
//
// Each operation's latency goes into an HDR histogram (1 us to 1 min, 3
// significant figures); the report gives operations per second (count over
// the wall time of the phase) and p50, p99 and max latency.
//
// The limit: a raft commit needs at least one synced write of the log entry
// on a majority of the voters (here all three share one disk). The harness
// measures, in a fresh directory beside the brokers', the quorum's own log
// store (quorum.OpenStore: pebble, one StoreLogs of one ~100-byte entry
// committed with pebble.Sync per call) and a plain write+fdatasync of 128
// bytes to a file, Config.Syncs calls each, before each target's first
// phase and after every phase. A phase's limit is the mean of the
// measurements just before and just after it (the disk is shared, and its
// rate moves within a minute), and its ratio is its operations per second
// over that. hashicorp/raft's leader syncs an entry to its own log before
// it sends it to the followers, so a sequential operation on the cluster
// pays at least two synced writes one after the other and its ratio stays
// below 0.5; concurrent ones can pass that, and 1, since raft batches the
// entries that arrive while a write is in flight into one synced write.
//
// WriteMarkdown renders the report as a section of BENCHMARKS.md.
package metabench
