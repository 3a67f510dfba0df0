// Package latbench measures Sluice's latency and the cost of durability
// against the machine's own limits, in one run (issue 17's figures):
//
//   - durable produce: 1 KiB records in 64 KiB batches, acks=all, to a
//     flush.on.ack topic (every acknowledged record fdatasynced first),
//     from 1, 4 and 16 producers, against write+fdatasync of 64 KiB
//     chunks in the same file system;
//   - durable latency: acks=all at 1,000 records/s with and without
//     flush.on.ack, against one fdatasync of a 1 KiB append to an idle
//     disk;
//   - produce-to-ack and end-to-end latency at 100,000 records/s with the
//     latency settings (linger 0, acks=1, 100 B records);
//   - the produce peak of one producer (linger 5ms, 256 KiB batches) and
//     end-to-end latency at half of it.
//
// One sluiced runs for the whole run (bench/sluicedproc); the client is
// bench/perf in this process, what `sluice bench` runs. Every run has a
// topic of its own, deleted afterwards, so that the page cache does not
// fill with earlier runs' logs (reclaiming it would slow the writes that
// follow). Rounds repeat everything, each limit right before the runs it
// is compared with; the report gives every round and the medians.
//
// Invariant: a figure is never compared with a limit from another round.
package latbench
