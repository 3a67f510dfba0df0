// Command metabench measures Sluice's metadata operations (topics created
// and deleted per second, partition leaders moved per second) on a
// single-node broker and a three-broker cluster, in this process, against
// the synced log writes per second of the same disk, and prints the
// results as a section of BENCHMARKS.md. See package
// github.com/sluicelog/sluice/bench/metabench.
//
//	go run ./bench/cmd/metabench
//	go run ./bench/cmd/metabench -topics 500 -concurrency 16 -json
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/sluicelog/sluice/bench/hostinfo"
	"github.com/sluicelog/sluice/bench/metabench"
)

func main() {
	var (
		topics      = flag.Int("topics", metabench.DefaultTopics, "topics each create phase makes and each delete phase deletes")
		concurrency = flag.Int("concurrency", metabench.DefaultConcurrency, "workers of the concurrent phases, and partitions of the leader-move topic")
		moves       = flag.Int("moves", metabench.DefaultMoves, "leader moves per move phase")
		syncs       = flag.Int("syncs", metabench.DefaultSyncs, "synced writes per measurement of the limit")
		dir         = flag.String("dir", "", "parent of the temporary data directories (default $TMPDIR)")
		asJSON      = flag.Bool("json", false, "print the report as JSON instead of markdown")
		quiet       = flag.Bool("q", false, "no progress lines on stderr")
	)
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "metabench: unexpected arguments %q\n", flag.Args())
		os.Exit(2)
	}
	cfg := metabench.Config{Topics: *topics, Concurrency: *concurrency, Moves: *moves, Syncs: *syncs, Dir: *dir, Command: hostinfo.CommandLine("./bench/cmd/metabench")}
	if !*quiet {
		cfg.Logf = func(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := metabench.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "metabench: %v\n", err)
		os.Exit(1)
	}
	if *asJSON {
		err = rep.WriteJSON(os.Stdout)
	} else {
		err = rep.WriteMarkdown(os.Stdout)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "metabench: %v\n", err)
		os.Exit(1)
	}
}
