// Package netbench measures Sluice's produce and consume throughput over
// loopback against the loopback limit of the same machine, in one run.
//
// The producer and the broker run in separate processes, as they do in
// production: Run builds cmd/sluiced into a temporary directory, starts it
// on 127.0.0.1:0 with a fresh data directory, creates a topic with one
// partition, and then, with this process as the client, times:
//
//   - produce: Config.Records records of Config.RecordSize random bytes
//     (prebuilt, so generating them is not timed) sent to partition 0 by the
//     native producer (net/client) with the configured acks, linger, batch
//     size and compression, from the first Send until Flush returns with
//     every record acknowledged. The wire bytes are the kernel's count for
//     the producer's connection (TCP_INFO bytes_acked), cross-checked
//     against the stored log plus the framing of one request per batch.
//   - produce limit: a sink process (this binary re-executed with the
//     hidden -sink flag) accepts one connection and reads and discards;
//     this process writes it exactly the producer's wire bytes in chunks of
//     the producer's average request size, then half-closes and waits for
//     the sink to confirm the count. Ratio producer/limit is wire MB/s over
//     wire MB/s, the same bytes both times.
//   - consume: the native consumer reads the whole partition from the
//     beginning (page cache, sendfile on the broker) and checks every
//     record's offset and value; MB/s of record values and of wire bytes.
//   - raw fetch: the same reads driven with net/protocol Fetch frames into a
//     reused buffer, walking batch headers only (no record decoding, no
//     CRC): the broker's sendfile path alone, without the client's decoding.
//   - consume limit: a source process (hidden -source flag) writes the
//     consumer's wire bytes on one connection as fast as it can, and this
//     process reads them with the consumer's read sizes (a 64 KiB bufio
//     reader under full-frame reads). Ratio consumer/limit, target
//     TargetConsumeRatio (0.8).
//   - sendfile limit and copy limit: the same reads from a source that
//     sends the partition's segment file, by sendfile(2) as the broker
//     does, or by pread into one buffer and write (a file server without
//     sendfile). Their ratios to the loopback limit of the same round are
//     the ceilings: over loopback the plain source's bytes stay warm in
//     the CPU's caches while sendfile's reader copies cold page-cache
//     pages, so a consumer served by sendfile gets about as far as the
//     sendfile ceiling against the loopback limit, and no further than
//     the runs' noise.
//
// Each limit is measured Config.Runs times (5) and the median run is the
// limit: one run moves the same bytes in a fifth of a second, and on a
// shared machine a single such run is noisy. The consume side runs in
// rounds: each round reads the partition once in every mode and then
// measures the consume limit, so each ratio compares runs made seconds
// apart; the report gives every run, the median run of each mode, and the
// median of the rounds' ratios.
//
// Throughput is in MB/s of 10^6 bytes. The report holds the machine's facts
// (CPU, cores, kernel, Go version, load average before and after), every
// command line, every figure and the ratios, and for each phase the CPU
// time of this process, of the broker or helper, of softirq work and of
// everything else on the machine (from /proc); a phase during which other
// work took more than a tenth of the machine gets a note, since its figure
// is disturbed, and so does a latency phase that fell short of the rate it
// asked for (a busy machine is not a wrong result). Sanity checks (every count equal, every consumed record's
// offset and value as produced, the connection's bytes equal to the stored
// log plus request framing, the helpers' byte counts, the broker's exit
// code 0 after SIGTERM) fill Report.Problems. Temporary directories are
// removed.
//
// The limits run in processes of their own so that, as with the broker,
// two processes share the machine's cores; on a 2-core machine that is the
// point: the loopback limit is what two busy processes can move, not what
// the NIC could.
//
// Config.CPUProfile profiles this process (the client side) over the timed
// phases, with pprof labels phase=sluice-produce, sluice-consume,
// sluice-rawfetch, limit-produce and limit-consume (GC background workers
// carry none); Config.BrokerPerf records the broker with perf(1) during the
// Sluice phases:
//
//	go tool pprof -top -tagfocus phase=sluice-consume client.pprof
//	perf report -i PREFIX.consume.data --no-children --sort sym
//
// The command bench/cmd/netbench is a thin flag front end to Run; a binary
// that calls Run must call HelperMain first (see there).
package netbench
