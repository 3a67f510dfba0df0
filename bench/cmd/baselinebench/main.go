// Command baselinebench runs the same produce and consume load against
// today's single-node sluiced and against the one built from an earlier
// commit (5795bbb, before the cluster work, by default), in alternating
// runs (B C B ... C B), and prints the current/baseline ratios as a section of
// BENCHMARKS.md. See package github.com/sluicelog/sluice/bench/baseline.
//
//	go run ./bench/cmd/baselinebench
//	go run ./bench/cmd/baselinebench -rev v0.3.0 -rounds 5 -records 5000000
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/sluicelog/sluice/bench/baseline"
	"github.com/sluicelog/sluice/bench/hostinfo"
	"github.com/sluicelog/sluice/bench/netbench"
)

func main() {
	// netbench's loopback limits re-execute this binary as their helpers.
	if code, ok := netbench.HelperMain(os.Args[1:]); ok {
		os.Exit(code)
	}
	var (
		rev     = flag.String("rev", baseline.DefaultRev, "git revision of the baseline")
		rounds  = flag.Int("rounds", baseline.DefaultRounds, "runs of the current build, each between two runs of the baseline (B C B ... C B)")
		records = flag.Int64("records", baseline.DefaultRecords, "records of 100 B each run produces and consumes")
		baseBin = flag.String("baseline-sluiced", "", "use this sluiced as the baseline instead of building -rev")
		curBin  = flag.String("current-sluiced", "", "use this sluiced as the current build instead of building the working tree")
		dir     = flag.String("dir", "", "parent of the temporary directories (default $TMPDIR)")
		asJSON  = flag.Bool("json", false, "print the report as JSON instead of markdown")
		quiet   = flag.Bool("q", false, "no progress lines on stderr")
	)
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "baselinebench: unexpected arguments %q\n", flag.Args())
		os.Exit(2)
	}
	cfg := baseline.Config{Rev: *rev, Rounds: *rounds, Records: *records, BaselineSluiced: *baseBin, CurrentSluiced: *curBin, Dir: *dir, Command: hostinfo.CommandLine("./bench/cmd/baselinebench")}
	if !*quiet {
		cfg.Logf = func(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := baseline.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "baselinebench: %v\n", err)
		os.Exit(1)
	}
	if *asJSON {
		err = rep.WriteJSON(os.Stdout)
	} else {
		err = rep.WriteMarkdown(os.Stdout)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "baselinebench: %v\n", err)
		os.Exit(1)
	}
	if len(rep.Problems) > 0 {
		os.Exit(1)
	}
}
