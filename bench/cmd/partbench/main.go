// Command partbench measures what each partition costs a sluiced as the
// partition count grows (see package
// github.com/sluicelog/sluice/bench/partbench) and prints a section of
// BENCHMARKS.md.
//
//	go run ./bench/cmd/partbench
//	go run ./bench/cmd/partbench -sizes 1000,5000,10000 -nofile 4096
//	go run ./bench/cmd/partbench -smoke
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/sluicelog/sluice/bench/hostinfo"
	"github.com/sluicelog/sluice/bench/partbench"
)

type repeated []string

func (r *repeated) String() string     { return strings.Join(*r, ",") }
func (r *repeated) Set(v string) error { *r = append(*r, v); return nil }

func main() {
	var overrides repeated
	var (
		sizes   = flag.String("sizes", "", "partition counts of the sweep, comma-separated (default 1000,5000,10000,25000,50000,100000; -smoke: 200,1000)")
		topic   = flag.Int("topic-partitions", 0, "partitions of each created topic (default 1000; -smoke: 100)")
		nofile  = flag.Int("nofile", 0, "the broker's descriptor limit, soft and hard (sh's ulimit -n); 0 keeps the machine's")
		idle    = flag.Duration("idle", 0, "how long the broker stays idle before the idle figures (default 75s; -smoke: 1s)")
		idleP   = flag.String("idle-property", "", "broker property (ms) for the idle close-down, set to -idle; default: the first sluiced --help-config name with segment and idle in it; none: set nothing")
		active  = flag.Int("active", 0, "partitions that take produce and fetch (default 10000)")
		rounds  = flag.Int("rounds", 0, "rounds of produce and fetch, one record per active partition each (default 20; -smoke: 3)")
		record  = flag.Int("record-size", 0, "record value size in bytes (default 100)")
		reserve = flag.Float64("reserve-gb", 10, "free space a point must leave on the data's file system, in GB")
		dir     = flag.String("dir", "", "parent of the temporary data directories (default $TMPDIR)")
		sluiced = flag.String("sluiced", "", "use this sluiced binary instead of building cmd/sluiced")
		smoke   = flag.Bool("smoke", false, "tiny sizes in seconds, to test the harness")
		quiet   = flag.Bool("q", false, "no progress lines on stderr")
	)
	flag.Var(&overrides, "override", "extra broker property key=value (may repeat)")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "partbench: unexpected arguments %q\n", flag.Args())
		os.Exit(2)
	}
	cfg := partbench.Config{Sluiced: *sluiced, Dir: *dir, TopicPartitions: *topic, NoFile: *nofile, Idle: *idle,
		IdleProperty: *idleP, Active: *active, Rounds: *rounds, RecordSize: *record, Reserve: int64(*reserve * 1e9),
		Overrides: overrides, Smoke: *smoke, Command: hostinfo.CommandLine("./bench/cmd/partbench")}
	if *smoke {
		cfg = partbench.SmokeConfig(cfg)
	}
	if *sizes != "" {
		cfg.Sizes = nil
		for f := range strings.SplitSeq(*sizes, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n <= 0 {
				fmt.Fprintf(os.Stderr, "partbench: -sizes: %q is not a partition count\n", f)
				os.Exit(2)
			}
			cfg.Sizes = append(cfg.Sizes, n)
		}
	}
	if !*quiet {
		cfg.Logf = func(format string, args ...any) { fmt.Fprintf(os.Stderr, "partbench: "+format+"\n", args...) }
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := partbench.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "partbench: %v\n", err)
		os.Exit(1)
	}
	if err := rep.WriteMarkdown(os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "partbench: %v\n", err)
		os.Exit(1)
	}
}
