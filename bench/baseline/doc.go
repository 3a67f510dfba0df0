// Package baseline compares today's single-node broker with an earlier
// build of Sluice, in one run: the same produce and consume load, run
// against each build's sluiced in interleaved rounds, reported as
// current/baseline ratios.
//
// Run extracts the baseline commit (Config.Rev, by default 5795bbb, the
// last commit before the cluster work) with `git archive` into a temporary
// directory and builds its cmd/sluiced there, and builds the working tree's
// cmd/sluiced beside it (Config.BaselineSluiced and Config.CurrentSluiced
// skip either build). Each broker runs as its own process with its own
// tree's cmd/sluiced/sluiced.properties, single-node (no process.roles),
// with a fresh data directory for every run.
//
// The load is bench/netbench's, with this process as the client: one
// native producer sends Config.Records records of 100 B to one partition
// (acks=1, linger 5 ms, batches up to 256 KiB), then the native consumer
// reads the whole partition back from the page cache (1 MiB fetches) in
// every consumer mode netbench has, each once per run (netbench -runs 1),
// with the loopback limits measured beside them. A round runs both builds
// one after the other, the order alternating from round to round so that
// neither always runs on a warmer machine; a round's ratio is current over
// baseline within that round, and the report gives the median of the
// rounds' ratios with their range.
//
// WriteMarkdown renders the report as a section of BENCHMARKS.md; the
// command bench/cmd/baselinebench is a flag front end to Run, and must call
// netbench.HelperMain first, since netbench re-executes it for its limits.
package baseline
