// Command cleanbench measures Sluice's log compaction: the MB/s of log a
// cleaning of a 1 GiB partition with 10% unique keys gets through, beside
// a plain read of the same segments, and the produce throughput of a
// broker while its cleaner runs against while it does not; it prints them
// as a section of BENCHMARKS.md. See package
// github.com/sluicelog/sluice/bench/cleanbench.
//
//	go run ./bench/cmd/cleanbench
//	go run ./bench/cmd/cleanbench -quick
//	go run ./bench/cmd/cleanbench -bytes 4GiB -segment-bytes 1GiB -codec lz4 -rounds 5
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/sluicelog/sluice/bench/cleanbench"
	"github.com/sluicelog/sluice/bench/hostinfo"
	"github.com/sluicelog/sluice/bench/units"
	"github.com/sluicelog/sluice/segment/batch"
)

func main() {
	var (
		bytes        = flag.String("bytes", units.FormatSize(cleanbench.DefaultBytes), "size of the partition cleaned")
		unique       = flag.Float64("unique", cleanbench.DefaultUniqueFraction, "keys as a share of the records (each record's key drawn uniformly from them)")
		valueBytes   = flag.Int("value-bytes", cleanbench.DefaultValueBytes, fmt.Sprintf("record value size (keys are %d bytes)", cleanbench.KeyBytes))
		batchBytes   = flag.String("batch-bytes", units.FormatSize(cleanbench.DefaultBatchBytes), "uncompressed batch size, as a producer's batch.size")
		codec        = flag.String("codec", "none", "batch compression: none, gzip, snappy, lz4, zstd")
		segmentBytes = flag.String("segment-bytes", units.FormatSize(cleanbench.DefaultSegmentBytes), "the topic's segment.bytes")
		chunk        = flag.String("chunk", units.FormatSize(cleanbench.DefaultChunkBytes), "read size of the plain read (the cleaner's is 1 MiB)")
		rounds       = flag.Int("rounds", cleanbench.DefaultRounds, "rounds of plain read and cleaning, each on a fresh copy of the partition")
		prodRounds   = flag.Int("produce-rounds", cleanbench.DefaultProduceRounds, "rounds of produce with and without the cleaner on a broker, each on a freshly loaded topic; -1 for none")
		duration     = flag.Duration("duration", cleanbench.DefaultDuration, "the producer's measured window with the cleaner idle")
		lead         = flag.Duration("lead", cleanbench.DefaultLead, "how long the producer runs before its window opens")
		backoff      = flag.Duration("cleaner-backoff", cleanbench.DefaultCleanerBackoff, "the broker's log.cleaner.backoff.ms")
		quick        = flag.Bool("quick", false, "a small partition and short phases: checks that every part works; the figures are noise")
		sluiced      = flag.String("sluiced", "", "the sluiced binary (default: build ./cmd/sluiced)")
		props        = flag.String("config", "", "the broker's properties file (default cmd/sluiced/sluiced.properties)")
		dir          = flag.String("dir", "", "parent of the temporary directories (default $TMPDIR)")
		profile      = flag.Bool("profile", true, "profile each in-process cleaning and report the functions that took its CPU (go tool pprof -top)")
		cpuprofile   = flag.String("cpuprofile", "", "directory where the cleanings' CPU profiles are kept, clean-round-NN.pprof (implies -profile)")
		asJSON       = flag.Bool("json", false, "print the report as JSON instead of markdown")
		quiet        = flag.Bool("q", false, "no progress lines on stderr")
	)
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "cleanbench: unexpected arguments %q\n", flag.Args())
		os.Exit(2)
	}
	cfg := cleanbench.Config{Dir: *dir, UniqueFraction: *unique, ValueBytes: *valueBytes, Rounds: *rounds, ProduceRounds: *prodRounds,
		Duration: *duration, Lead: *lead, CleanerBackoff: *backoff, Sluiced: *sluiced, BrokerConfig: *props,
		Profile: *profile, ProfileDir: *cpuprofile,
		Command: hostinfo.CommandLine("./bench/cmd/cleanbench")}
	var err error
	size := func(name, v string) int64 {
		n, err := units.ParseSize(v)
		if err != nil {
			fmt.Fprintf(os.Stderr, "cleanbench: -%s: %v\n", name, err)
			os.Exit(2)
		}
		return n
	}
	cfg.Bytes, cfg.SegmentBytes = size("bytes", *bytes), size("segment-bytes", *segmentBytes)
	cfg.BatchBytes, cfg.ChunkBytes = int(size("batch-bytes", *batchBytes)), int(size("chunk", *chunk))
	if cfg.Codec, err = batch.ParseCodec(*codec); err != nil {
		fmt.Fprintf(os.Stderr, "cleanbench: -codec: %v\n", err)
		os.Exit(2)
	}
	if *quick {
		// -quick sets what the flags given explicitly do not.
		set := map[string]bool{}
		flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
		q := cleanbench.Quick
		for name, apply := range map[string]func(){
			"bytes":          func() { cfg.Bytes = q.Bytes },
			"segment-bytes":  func() { cfg.SegmentBytes = q.SegmentBytes },
			"rounds":         func() { cfg.Rounds = q.Rounds },
			"produce-rounds": func() { cfg.ProduceRounds = q.ProduceRounds },
			"duration":       func() { cfg.Duration = q.Duration },
			"lead":           func() { cfg.Lead = q.Lead },
		} {
			if !set[name] {
				apply()
			}
		}
	}
	if !*quiet {
		cfg.Logf = func(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := cleanbench.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "cleanbench: %v\n", err)
		os.Exit(1)
	}
	if *asJSON {
		err = rep.WriteJSON(os.Stdout)
	} else {
		err = rep.WriteMarkdown(os.Stdout)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "cleanbench: %v\n", err)
		os.Exit(1)
	}
	if len(rep.Problems) > 0 {
		fmt.Fprintf(os.Stderr, "cleanbench: %d check(s) failed\n", len(rep.Problems))
		os.Exit(1)
	}
}
