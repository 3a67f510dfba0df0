// Package metricsbench measures what Sluice's per-request metrics cost the
// hot paths: produce and consume throughput of a broker with
// metrics.listeners set (metrics on) against the same broker without it
// (metrics off, the default), in one run.
//
// Run builds cmd/sluiced once (or takes Config.Sluiced) and makes
// Config.Rounds rounds. Each round starts two fresh broker processes side
// by side on 127.0.0.1:0, each with a fresh data directory and
// cmd/sluiced/sluiced.properties: one as it is (off), one with
// --override metrics.listeners=http://127.0.0.1:0 (on). This process
// drives them through their native listeners with net/client, phase by
// phase:
//
//   - produce: Config.Records records of Config.RecordSize random bytes
//     (prebuilt) to a topic of one partition, one producer with acks=1 and
//     the native producer's defaults otherwise (linger 5 ms, batch.size
//     16 KiB), timed from the first Send until Flush returns with every
//     record acknowledged;
//   - consume: one consumer reads that topic back from the beginning,
//     Config.ConsumePasses times over (page cache, sendfile on the broker;
//     1 MiB fetches, BorrowRecords, every record's offset checked), timed
//     to the last record;
//   - the same again on topics of Config.Partitions partitions with one
//     producer, then one consumer, per partition, all at once
//     (Config.PartitionRecords records in all), so that requests of
//     several connections meet in the shared instruments.
//
// Every phase runs four times in a row (four slots), each time on a topic
// of its own, against the brokers in SlotOrder: off, on, on, off in odd
// rounds, on, off, off, on in even ones. The runs compared are seconds
// apart, and a drift of the machine that is linear over the four slots
// cancels from the round's ratio (the on slots' mean over the off
// slots'). On a shared machine whose load comes and goes in bursts of
// seconds, that pairing is what makes a few per cent measurable at all:
// with a fresh broker per mode and run, one after the other, two runs of
// the same broker differed by up to 50% here.
//
// The broker with metrics on is scraped (GET /metrics) every
// Config.ScrapeInterval (1 s, as a Prometheus would) while it works, from
// the start of each of its slots, so the cost of rendering the page is
// inside its timed phases and none of it inside the other broker's; the
// scrapes only read the page, so their client side costs this process
// next to nothing. After a round it is scraped once more and the page is
// parsed: sluice_topic_records_in_total of every topic it served must
// equal the records produced (the proof that metrics were on and
// counting), sluice_topic_records_out_total the records consumed. The
// broker with metrics off must not have logged an operations listener.
// Before each round the previous data directories are removed, then
// sync(2) and, as root, drop_caches, as bench/replbench does.
//
// The report gives every run, each mode's median MB/s, the ratio of the
// medians on/off (the figure the target is about: at least TargetRatio),
// the rounds' ratios as its spread, a control (each mode against itself
// within a round: what two runs of one broker differ by), and the
// broker's CPU per record in each mode (from /proc), which shows what the
// metrics cost where the throughput's noise hides it. With Config.Profile
// every broker writes a CPU profile (sluiced --cpuprofile), and the report
// gives the share of each mode's samples that passed through the code
// serving metrics (go tool pprof -focus): the cost itself, beside the
// throughput it may or may not show in; Config.ProfileDir keeps the
// profiles.
//
// Invariants: the harness signals only the broker processes it started,
// by their pids; the kernel kills them if the harness dies (Pdeathsig on
// Linux); every broker is stopped with SIGTERM and must exit 0.
//
// WriteMarkdown renders the report as the "Metrics overhead" section of
// BENCHMARKS.md; bench/cmd/metricsbench is the command.
package metricsbench
