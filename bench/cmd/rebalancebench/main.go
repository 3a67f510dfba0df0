// Command rebalancebench measures how long a consumer-group rebalance stops
// consumption on the partitions that do not move, when a fourth member
// joins a stable group of three, under the cooperative protocol and the
// eager one, and prints both figures, their ratio, the command and the
// machine. See package github.com/sluicelog/sluice/bench/rebalance.
//
//	go run ./bench/cmd/rebalancebench
//	go run ./bench/cmd/rebalancebench -runs 5 -heartbeat 1s
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"time"

	"github.com/sluicelog/sluice/bench/hostinfo"
	"github.com/sluicelog/sluice/bench/rebalance"
)

func main() {
	var (
		runs       = flag.Int("runs", 3, "measurements per protocol; the median is reported")
		partitions = flag.Int("partitions", 12, "partitions of the topic")
		heartbeat  = flag.Duration("heartbeat", 3*time.Second, "heartbeat.interval.ms of the members (Kafka's default: 3s)")
		session    = flag.Duration("session", 10*time.Second, "session.timeout.ms of the members")
		interval   = flag.Duration("produce-interval", 5*time.Millisecond, "pause between rounds of one record per partition")
		fetchWait  = flag.Duration("fetch-wait", 50*time.Millisecond, "fetch.max.wait.ms of the members")
		warmup     = flag.Duration("warmup", 2*time.Second, "consumption by the group of 3 before the 4th member joins")
		settle     = flag.Duration("settle", time.Second, "measurement after the 4th member has its partitions")
		dir        = flag.String("dir", "", "parent of the temporary data directories (default $TMPDIR)")
	)
	flag.Parse()
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt)
	defer cancel()

	cmdline := strings.Join(os.Args, " ")
	if strings.Contains(os.Args[0], "go-build") {
		cmdline = strings.Join(append([]string{"go run ./bench/cmd/rebalancebench"}, os.Args[1:]...), " ")
	}
	fmt.Printf("command: %s\n", cmdline)
	model, _ := hostinfo.ProcField("/proc/cpuinfo", "model name")
	mem, _ := hostinfo.ProcField("/proc/meminfo", "MemTotal")
	fmt.Printf("machine: %s, %d CPUs (GOMAXPROCS %d), %s memory, load average %s, %s %s/%s\n",
		model, runtime.NumCPU(), runtime.GOMAXPROCS(0), mem, hostinfo.LoadAverage(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	fmt.Printf("setup: broker in-process, %d partitions, one record per partition every %v, 3 members + 1 joining, heartbeat %v, session %v, fetch wait %v\n\n",
		*partitions, *interval, *heartbeat, *session, *fetchWait)

	medians := map[bool]time.Duration{}
	for _, coop := range []bool{true, false} {
		name := "eager (sticky)"
		if coop {
			name = "cooperative (cooperative-sticky)"
		}
		var stalls, moved, rebal []time.Duration
		for i := 0; i < *runs; i++ {
			res, err := rebalance.Run(ctx, rebalance.Config{
				Partitions: int32(*partitions), Cooperative: coop, HeartbeatInterval: *heartbeat, SessionTimeout: *session,
				ProduceInterval: *interval, FetchWait: *fetchWait, Warmup: *warmup, Settle: *settle, Dir: *dir,
			})
			if err != nil {
				fmt.Fprintf(os.Stderr, "rebalancebench: %s run %d: %v\n", name, i+1, err)
				os.Exit(1)
			}
			fmt.Printf("%-34s run %d: longest stall on %2d unaffected partitions %8v | on %d moved partitions %8v | 4th member got partitions after %v\n",
				name, i+1, res.Unaffected, res.MaxStallUnaffected.Round(time.Millisecond), res.Move,
				res.MaxStallMoved.Round(time.Millisecond), res.Rebalance.Round(time.Millisecond))
			stalls = append(stalls, res.MaxStallUnaffected)
			moved = append(moved, res.MaxStallMoved)
			rebal = append(rebal, res.Rebalance)
		}
		medians[coop] = rebalance.Median(stalls)
		fmt.Printf("%-34s median: unaffected partitions stall %v, moved partitions %v, rebalance %v\n\n", name,
			medians[coop].Round(time.Millisecond), rebalance.Median(moved).Round(time.Millisecond), rebalance.Median(rebal).Round(time.Millisecond))
	}
	ratio := "n/a"
	if medians[true] > 0 {
		ratio = fmt.Sprintf("%.1fx", float64(medians[false])/float64(medians[true]))
	}
	fmt.Printf("longest consumption gap on partitions that do not move: cooperative %v, eager %v (eager/cooperative %s)\n",
		medians[true].Round(time.Millisecond), medians[false].Round(time.Millisecond), ratio)
}
