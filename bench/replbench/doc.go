// Package replbench measures Sluice's replication on a local cluster of
// three sluiced processes: produce throughput and latency with replication
// factor 3 and acks=all beside replication factor 1 and acks=1 in the same
// run, and the time a partition takes to accept writes again after its
// leader's process is killed with SIGKILL (failover).
//
// Run builds cmd/sluiced (or takes Config.Sluiced), starts three brokers,
// each also a controller, on free ports of 127.0.0.1 with fresh data
// directories under Config.Dir and failure-detection timeouts tuned for a
// local cluster (Config.Timeouts, Kafka's property names, printed in the
// report beside Kafka's defaults), and drives them through their Kafka
// listeners with franz-go's kgo client in this process:
//
//   - Throughput: a topic per configuration (Configurations: RF 1 acks=1,
//     the baseline; RF 1 acks=all; RF 3 acks=all with
//     min.insync.replicas=2, the target), Config.Partitions partitions
//     each. For each record size, Config.Rounds rounds run every
//     configuration for Config.Duration with one producer sending as fast
//     as it can, back to back, in reverse order every other round; the
//     ratio RF 3 / RF 1 is taken per round, and its median reported.
//     Then each configuration runs once paced at Config.RateMBs, for
//     latency at a moderate load. Latency is per record, from Produce to
//     the acknowledgement's callback, in an HDR histogram (perf.Recorder);
//     the brokers' "shrinking ISR" and "broker fenced" log lines during a
//     run are counted, since either changes what acks=all waits for.
//
//   - Failover: Config.FailoverRounds rounds kill a partition leader that
//     is not the active controller, then Config.ControllerRounds kill the
//     active controller as a leader. Each round's topic (one partition,
//     RF 3, min.insync.replicas=2) is assigned so that the broker to kill
//     leads it; a producer sends one record at a time with acks=all, the
//     kill lands between two sends, and the failover time runs from the
//     kill to the first acknowledged send. The killed broker is restarted
//     on its data directory and the round ends when it is back in the
//     ISR.
//
//   - Profiles (Config.ProfileMisses): at each record size whose ratio
//     missed TargetRatio, RF 3 acks=all runs again on a fresh cluster
//     whose brokers write CPU profiles (sluiced --cpuprofile); the report
//     gives the share of the brokers' CPU under the functions of the
//     replicated produce path (go tool pprof's cum%, the three profiles
//     merged) and pprof's top entries verbatim. Every run also records
//     the CPU time each broker, the client and the rest of the machine
//     took (/proc), and the report derives the brokers' CPU per
//     acknowledged record.
//
// Invariants: the harness signals only the processes it started (by their
// pids), and the kernel kills them if the harness dies (Pdeathsig on
// Linux); every broker is stopped with SIGTERM at the end, so CPU profiles
// (Config.ProfileDir, sluiced --cpuprofile) are complete.
//
// WriteMarkdown renders the report as a section of BENCHMARKS.md.
package replbench
