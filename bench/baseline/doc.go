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
// with the loopback limits measured beside them.
//
// The runs alternate, baseline first and last: B C B C ... B, with
// Config.Rounds current runs. A round is one current run and the baseline
// runs just before and after it; its ratio is the current figure over the
// mean of those two, which cancels the drift of a shared machine as far as
// it is linear over a few seconds. The control, the baseline run after
// over the one before, measures the noise of that comparison: a ratio
// within the control's range is no measurable difference. The report gives
// medians and ranges of both.
//
// WriteMarkdown renders the report as a section of BENCHMARKS.md; the
// command bench/cmd/baselinebench is a flag front end to Run, and must call
// netbench.HelperMain first, since netbench re-executes it for its limits.
package baseline
