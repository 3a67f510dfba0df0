// Package cleanbench measures Sluice's log compaction
// (cleanup.policy=compact): how many MB/s of log a cleaning gets through,
// beside a plain read of the same segments, and what a cleaning costs the
// producers of the broker it runs on.
//
// Run first writes one partition (Config.Bytes, 1 GiB) of a compacted
// topic with an engine in this process: records of a KeyBytes key and a
// Config.ValueBytes value, in batches filled to Config.BatchBytes as a
// producer fills batch.size, each key drawn uniformly from a key space of
// Config.UniqueFraction (10%) of the records, so that a cleaning keeps
// about that share, one record per key; segment.bytes is
// Config.SegmentBytes (128 MiB). Every sealed segment is cleanable; the
// active one never is.
//
// Then Config.Rounds rounds each copy that engine directory to a fresh
// one and, in alternating order, each after sync(2) and, as root, a drop
// of the page cache:
//
//   - plain read: the sealed segment files read in order with
//     os.File.Read in Config.ChunkBytes (1 MiB, the cleaner's read size);
//   - clean: Partition.Clean on the copy, which reads the section twice
//     (offset map, then copy) and writes what it keeps.
//
// The figure is MB/s of log cleaned (the sealed segments' bytes over
// CleanStats.Took) over the plain read's MB/s, per round and their median.
// (CleanStats.BytesRead counts both of the cleaner's passes: twice the
// log.) With Config.Profile each cleaning runs under a CPU profile, and
// the report lists the functions that took the most of it.
//
// Then, unless Config.ProduceRounds is -1, it builds cmd/sluiced (or takes
// Config.Sluiced), starts one broker with its cleaner on and a short
// log.cleaner.backoff.ms, and makes Config.ProduceRounds rounds against it
// through the native client: each loads the same records into a fresh
// compacted topic created with a day's min.compaction.lag.ms (so the
// cleaner leaves it alone), then runs a producer to a topic of its own
// twice, in alternating order: idle, its acknowledged MB/s over
// Config.Duration; and cleaning, where AlterConfigs sets the loaded
// topic's min.compaction.lag.ms=0, the background cleaner cleans it, and
// the producer's MB/s is taken over exactly the cleaning's interval, from
// the broker's "log cleaned" line. The figure is the ratio of the two.
//
// Checks: every cleaning covers all the sealed segments and keeps exactly
// one record per distinct key among them (counted by replaying the key
// sequence); the in-process cleaner reads the sealed bytes exactly twice;
// the broker exits 0 on SIGTERM. Failed checks are Report.Problems.
//
// Invariants: the harness signals only the broker process it started, by
// its pid; the kernel kills it if the harness dies (Pdeathsig on Linux).
// Everything written goes under a temporary directory in Config.Dir,
// removed at the end.
//
// WriteMarkdown renders the report as the "Log compaction" section of
// BENCHMARKS.md; bench/cmd/cleanbench is the command.
package cleanbench
