// Command enginebench compares Sluice's engine append throughput with plain
// sequential file writes of the same bytes on the same disk, in one run.
// See package github.com/sluicelog/sluice/bench/enginebench.
//
//	go run ./bench/cmd/enginebench                    # 2 GiB, uncompressed
//	go run ./bench/cmd/enginebench -bytes 512MiB -codec lz4
//	go run ./bench/cmd/enginebench -durable           # flush.on.ack, 1/4/16 producers
//	go run ./bench/cmd/enginebench -rounds 3          # alternate order, medians
//	go run ./bench/cmd/enginebench -config segment.bytes=268435456 -stalls 100ms
//	go run ./bench/cmd/enginebench -json -cpuprofile engine.pprof
package main

import (
	"flag"
	"fmt"
	"github.com/sluicelog/sluice/bench/units"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sluicelog/sluice/bench/enginebench"
	"github.com/sluicelog/sluice/segment/batch"
)

func main() {
	var (
		bytes      = flag.String("bytes", "", "volume to write per run, e.g. 2GiB, 512MiB (default 2GiB, 256MiB with -durable)")
		record     = flag.String("record", "1KiB", "record value size")
		batchSize  = flag.String("batch", "64KiB", "uncompressed batch size")
		ringSize   = flag.String("ring", "", "prebuilt batches cycled through (default 64MiB, 4MiB per producer with -durable)")
		codec      = flag.String("codec", "none", "batch compression: none, gzip, snappy, lz4, zstd")
		durable    = flag.Bool("durable", false, "flush.on.ack=true with concurrent producers vs write+fdatasync per batch")
		producers  = flag.String("producers", "1,4,16", "producer counts for -durable")
		dir        = flag.String("dir", "", "directory for the temporary data (default $TMPDIR or /tmp)")
		asJSON     = flag.Bool("json", false, "print the report as JSON")
		cpuprofile = flag.String("cpuprofile", "", "write a CPU profile of the first round's engine runs to this file")
		configs    = flag.String("config", "", "engine topic config overrides, e.g. segment.bytes=4294967295,index.interval.bytes=4096")
		stalls     = flag.Duration("stalls", 0, "print the engine's goroutine stacks to stderr when an append takes longer than this (e.g. 100ms)")
		rounds     = flag.Int("rounds", 1, "repeat plain and engine runs, alternating which goes first; medians are reported")
		quiet      = flag.Bool("q", false, "no progress lines on stderr")
	)
	flag.Parse()
	if err := run(*bytes, *record, *batchSize, *ringSize, *codec, *producers, *dir, *cpuprofile, *configs, *stalls, *rounds, *durable, *asJSON, *quiet); err != nil {
		fmt.Fprintln(os.Stderr, "enginebench:", err)
		os.Exit(1)
	}
}

func run(bytes, record, batchSize, ringSize, codec, producers, dir, cpuprofile, configs string, stalls time.Duration, rounds int, durable, asJSON, quiet bool) error {
	c := enginebench.Config{Dir: dir, Durable: durable, Rounds: rounds, StallThreshold: stalls, StallWriter: os.Stderr}
	var err error
	for _, s := range []struct {
		flag, v string
		dst     *int64
	}{{"bytes", bytes, &c.Bytes}, {"ring", ringSize, &c.RingBytes}} {
		if s.v != "" {
			if *s.dst, err = units.ParseSize(s.v); err != nil {
				return fmt.Errorf("-%s: %w", s.flag, err)
			}
		}
	}
	n, err := units.ParseSize(record)
	if err != nil {
		return fmt.Errorf("-record: %w", err)
	}
	c.RecordBytes = int(n)
	if n, err = units.ParseSize(batchSize); err != nil {
		return fmt.Errorf("-batch: %w", err)
	}
	c.BatchBytes = int(n)
	if c.Codec, err = batch.ParseCodec(codec); err != nil {
		return fmt.Errorf("-codec: %w", err)
	}
	for _, f := range strings.Split(producers, ",") {
		p, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return fmt.Errorf("-producers: %q: %w", f, err)
		}
		c.Producers = append(c.Producers, p)
	}
	for _, kv := range strings.Split(configs, ",") {
		if kv = strings.TrimSpace(kv); kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return fmt.Errorf("-config: %q is not name=value", kv)
		}
		if c.TopicConfigs == nil {
			c.TopicConfigs = map[string]string{}
		}
		c.TopicConfigs[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	if cpuprofile != "" {
		f, err := os.Create(cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		c.CPUProfile = f
	}
	if !quiet {
		c.Logf = func(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }
	}
	// Run cleans up after itself, but not when interrupted: give it a
	// directory of our own and remove that on SIGINT or SIGTERM, so an
	// aborted run does not leave gigabytes behind.
	parent := c.Dir
	if parent == "" {
		parent = os.TempDir()
	}
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	if c.Dir, err = os.MkdirTemp(parent, "enginebench-run-"); err != nil {
		return err
	}
	defer os.RemoveAll(c.Dir)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := <-sigs
		os.RemoveAll(c.Dir)
		fmt.Fprintf(os.Stderr, "enginebench: %v: removed %s\n", s, c.Dir)
		os.Exit(130)
	}()
	rep, err := enginebench.Run(c)
	if err != nil {
		return err
	}
	if asJSON {
		return rep.WriteJSON(os.Stdout)
	}
	return rep.WriteText(os.Stdout)
}
