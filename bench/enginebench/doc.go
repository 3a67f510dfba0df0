// Package enginebench measures how close Sluice's storage engine comes to
// the machine's physical limit for writing a log.
//
// A run prebuilds a ring of Kafka v2 batches (1 KiB records in 64 KiB
// batches by default, timed separately as the builder's throughput), then,
// in the same process and the same directory:
//
//   - plain: writes a fixed volume of those batch bytes to one file with
//     sequential os.File.Write calls, one per batch, then fdatasync;
//   - engine: appends the same batches, in the same order, to one partition
//     of a fresh engine (engine.Open in a temporary data directory,
//     default topic configs), then Partition.Flush.
//
// Each figure is reported twice: up to the last write or append (page cache
// speed) and including the final fdatasync (disk speed). The ratio
// engine/plain of the second is the one the target is about: the engine
// should reach at least TargetRatio of plain.
//
// In durable mode the topic has flush.on.ack=true, so each append returns
// only after fdatasync, and 1, 4 and 16 producers append concurrently (group
// commit lets them share syncs); the plain figure is one writer calling
// fdatasync after every batch write.
//
// Both runs write exactly the same number of bytes, which the report checks
// against the engine's log size and the plain file's size. Before each timed
// run the harness calls sync(2) so that no earlier dirty data is written back
// inside it. Throughput is in MB/s of 10^6 bytes, as go test reports it, and
// every run also reports the p50, p99 and largest latency of one write or
// append call.
//
// On a shared or noisy machine, Config.Rounds repeats the pair, alternating
// which side goes first, and the report adds medians and the worst round.
// Config.TopicConfigs overrides the engine's topic configs (for instance
// segment.bytes, to see what a roll costs), Config.CPUProfile profiles the
// engine runs, and Config.StallThreshold prints the stacks of Sluice's
// goroutines when an append takes longer than that: off-CPU waits, which a
// CPU profile does not show.
//
// The command bench/cmd/enginebench is a thin flag front end to Run.
package enginebench
