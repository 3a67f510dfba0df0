// Command peers is Sluice's side-by-side benchmark suite: it measures
// Sluice, two peers doing the same job, and the physical limits of the
// machine, in one run, and writes a Markdown section and SVG charts for
// BENCHMARKS.md.
//
//	cd bench/peers && go run . -out /tmp/peers      (bench/benchmarks.sh runs it)
//
// It lives in a Go module of its own so that the broker's module does not
// depend on the peers (nats-server, franz-go's kfake) or on gonum/plot.
//
// # What runs where
//
// Every broker runs in a process of its own, started fresh (with a fresh
// temporary data directory) for each scenario: sluiced built from
// ../../cmd/sluiced, once driven by Sluice's own client and once through
// its Kafka listener by franz-go's kgo (the same client as kfake's, so
// that ratio compares the brokers alone); franz-go's kfake cluster with
// disk persistence (kfake.DataDir) and NATS JetStream with file storage,
// both in this binary re-executed with the hidden -serve flag. The clients run in this
// process: Sluice's through bench/perf (the code behind `sluice bench`),
// kfake's through franz-go's kgo, NATS's through nats.go's jetstream
// package (async publish, pull consume). Producers route records the same
// way for every system: to a partition (a stream, for NATS, which has no
// partitions) that changes every batch's worth of records.
//
// # Limits
//
// Measured in the same run, median of three: sequential writes of the
// same payload volume to a file in the data directory (buffered, timed to
// the last write; with one fdatasync at the end; with an fdatasync after
// every batch, for the durable scenario), a page-cache file sent to a
// socket with sendfile(2), and a plain TCP blast over loopback, both to a
// sink process that reads and discards.
//
// # Honesty
//
// The report names the machine, the date, the command, every setting, and
// the load average around each run; ratios measured in the same run are
// the headline. Where Sluice is behind a peer or far from a limit, the
// table says so, and the suite profiles Sluice (the broker with sluiced's
// --cpuprofile, the client with runtime/pprof) in a second run of that
// scenario and prints `go tool pprof -top` under the table.
//
// Linux only: sendfile and process handling use Linux system calls.
package main
