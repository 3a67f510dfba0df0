// Command metricsbench measures what Sluice's per-request metrics cost the
// hot paths: produce and consume throughput of a sluiced process with
// metrics.listeners set and /metrics scraped every second, against the
// same broker with metrics off, side by side, every phase run off, on, on,
// off across the two, and prints the on/off ratios as a section of
// BENCHMARKS.md. See package github.com/sluicelog/sluice/bench/metricsbench.
//
//	go run ./bench/cmd/metricsbench
//	go run ./bench/cmd/metricsbench -quick
//	go run ./bench/cmd/metricsbench -rounds 9 -records 4000000 -cpuprofile /tmp/prof
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/sluicelog/sluice/bench/hostinfo"
	"github.com/sluicelog/sluice/bench/metricsbench"
)

func main() {
	var (
		rounds      = flag.Int("rounds", metricsbench.DefaultRounds, "rounds, each a fresh pair of brokers (metrics off, on) and every phase run off, on, on, off (even rounds: on, off, off, on)")
		records     = flag.Int64("records", metricsbench.DefaultRecords, "records the one-partition phases produce and consume")
		recordSize  = flag.Int("record-size", metricsbench.DefaultRecordSize, "record value size in bytes")
		partitions  = flag.Int("partitions", metricsbench.DefaultPartitions, "partitions (and producers, and consumers) of the second workload; -1 for none")
		partRecords = flag.Int64("partition-records", metricsbench.DefaultPartitionRecords, "records of the second workload, in all")
		passes      = flag.Int("consume-passes", metricsbench.DefaultConsumePasses, "times each consume phase reads its records from the beginning")
		interval    = flag.Duration("scrape-interval", metricsbench.DefaultScrapeInterval, "how often /metrics is scraped with metrics on")
		quick       = flag.Bool("quick", false, fmt.Sprintf("small rounds (-rounds %d -records %d -partition-records %d): checks that both modes work; the figures are noise",
			metricsbench.Quick.Rounds, metricsbench.Quick.Records, metricsbench.Quick.PartitionRecords))
		sluiced    = flag.String("sluiced", "", "the sluiced binary (default: build ./cmd/sluiced)")
		props      = flag.String("config", "", "the brokers' properties file (default cmd/sluiced/sluiced.properties)")
		dir        = flag.String("dir", "", "parent of the temporary data directories (default $TMPDIR)")
		profile    = flag.Bool("profile", true, "profile every broker (sluiced --cpuprofile) and report the share of its CPU that went to metrics")
		cpuprofile = flag.String("cpuprofile", "", "directory where every broker writes its CPU profile, kept (implies -profile)")
		asJSON     = flag.Bool("json", false, "print the report as JSON instead of markdown")
		quiet      = flag.Bool("q", false, "no progress lines on stderr")
	)
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "metricsbench: unexpected arguments %q\n", flag.Args())
		os.Exit(2)
	}
	cfg := metricsbench.Config{Rounds: *rounds, Records: *records, RecordSize: *recordSize, Partitions: *partitions,
		PartitionRecords: *partRecords, ConsumePasses: *passes, ScrapeInterval: *interval, Sluiced: *sluiced, BrokerConfig: *props, Dir: *dir,
		Profile: *profile, ProfileDir: *cpuprofile, Command: hostinfo.CommandLine("./bench/cmd/metricsbench")}
	if *quick {
		// -quick sets what the flags given explicitly do not.
		set := map[string]bool{}
		flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
		if !set["rounds"] {
			cfg.Rounds = metricsbench.Quick.Rounds
		}
		if !set["records"] {
			cfg.Records = metricsbench.Quick.Records
		}
		if !set["partition-records"] {
			cfg.PartitionRecords = metricsbench.Quick.PartitionRecords
		}
	}
	if !*quiet {
		cfg.Logf = func(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := metricsbench.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "metricsbench: %v\n", err)
		os.Exit(1)
	}
	if *asJSON {
		err = rep.WriteJSON(os.Stdout)
	} else {
		err = rep.WriteMarkdown(os.Stdout)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "metricsbench: %v\n", err)
		os.Exit(1)
	}
	if len(rep.Problems) > 0 {
		os.Exit(1)
	}
}
