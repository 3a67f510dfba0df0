// Command latbench measures latency and durable produce against the
// machine's limits (see package github.com/sluicelog/sluice/bench/latbench)
// and prints a section of BENCHMARKS.md.
//
//	go run ./bench/cmd/latbench
//	go run ./bench/cmd/latbench -rounds 5 -dir /mnt/fast
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/sluicelog/sluice/bench/hostinfo"
	"github.com/sluicelog/sluice/bench/latbench"
)

func main() {
	var (
		rounds  = flag.Int("rounds", 3, "rounds of every measurement; the report gives medians")
		dir     = flag.String("dir", "", "parent of the temporary directories: the broker's data and the disk limits' files (default $TMPDIR)")
		sluiced = flag.String("sluiced", "", "use this sluiced binary instead of building cmd/sluiced")
		quick   = flag.Bool("quick", false, "tiny volumes, to test the harness (the figures mean nothing)")
		quiet   = flag.Bool("q", false, "no progress lines on stderr")
	)
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "latbench: unexpected arguments %q\n", flag.Args())
		os.Exit(2)
	}
	cfg := latbench.Config{Sluiced: *sluiced, Dir: *dir, Rounds: *rounds, Quick: *quick,
		Command: hostinfo.CommandLine("./bench/cmd/latbench")}
	if !*quiet {
		cfg.Logf = func(format string, args ...any) { fmt.Fprintf(os.Stderr, "latbench: "+format+"\n", args...) }
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := latbench.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "latbench: %v\n", err)
		os.Exit(1)
	}
	if err := rep.WriteMarkdown(os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "latbench: %v\n", err)
		os.Exit(1)
	}
}
