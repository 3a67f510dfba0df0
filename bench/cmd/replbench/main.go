// Command replbench measures Sluice's replication on a local cluster of
// three sluiced processes: produce throughput and latency with RF 3 and
// acks=all beside RF 1 and acks=1 in the same run, and the failover time
// after kill -9 of a partition leader; it prints the results as a section
// of BENCHMARKS.md. See package github.com/sluicelog/sluice/bench/replbench.
//
//	go run ./bench/cmd/replbench
//	go run ./bench/cmd/replbench -sizes 1024 -configs rf3-acksall -failover-rounds 0 -cpuprofile /tmp/prof
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
	"github.com/sluicelog/sluice/bench/replbench"
)

func main() {
	d := replbench.DefaultTimeouts()
	var (
		sluiced          = flag.String("sluiced", "", "the sluiced binary (default: build ./cmd/sluiced)")
		dir              = flag.String("dir", "", "parent of the temporary data directories (default $TMPDIR)")
		partitions       = flag.Int("partitions", replbench.DefaultPartitions, "partitions of each throughput topic")
		sizes            = flag.String("sizes", "100,1024", "record sizes in bytes, comma-separated")
		configs          = flag.String("configs", "", "throughput configurations to run, comma-separated (default all: rf1-acks1, rf1-acksall, rf3-acksall)")
		duration         = flag.Duration("duration", replbench.DefaultDuration, "length of each max-throughput run")
		rounds           = flag.Int("rounds", replbench.DefaultRounds, "max-throughput rounds of each configuration and size")
		rate             = flag.Float64("rate", replbench.DefaultRateMBs, "payload MB/s of the fixed-rate latency runs")
		rateDuration     = flag.Duration("rate-duration", replbench.DefaultRateDuration, "length of each fixed-rate run")
		failoverRounds   = flag.Int("failover-rounds", replbench.DefaultFailoverRounds, "failovers of a leader that is not the active controller")
		controllerRounds = flag.Int("controller-rounds", replbench.DefaultControllerRounds, "failovers of a leader that is the active controller")
		session          = flag.Duration("session-timeout", d.SessionTimeout, "broker.session.timeout.ms")
		heartbeat        = flag.Duration("heartbeat-interval", d.HeartbeatInterval, "broker.heartbeat.interval.ms")
		lag              = flag.Duration("replica-lag", d.ReplicaLagMax, "replica.lag.time.max.ms")
		fetchBackoff     = flag.Duration("replica-fetch-backoff", d.ReplicaFetchBackoff, "replica.fetch.backoff.ms")
		quorumFetch      = flag.Duration("quorum-fetch-timeout", d.QuorumFetchTimeout, "controller.quorum.fetch.timeout.ms")
		quorumElection   = flag.Duration("quorum-election-timeout", d.QuorumElectionTimeout, "controller.quorum.election.timeout.ms")
		linger           = flag.Duration("linger", replbench.DefaultLinger, "producer linger")
		batch            = flag.Int("batch-bytes", replbench.DefaultBatchBytes, "producer batch size limit")
		buffer           = flag.Int("buffer-bytes", replbench.DefaultBufferBytes, "producer buffer limit (buffer.memory)")
		retryBackoff     = flag.Duration("retry-backoff", replbench.DefaultRetryBackoff, "failover producer's retry backoff (constant)")
		metadataMinAge   = flag.Duration("metadata-min-age", replbench.DefaultMetadataMinAge, "failover producer's shortest time between metadata refreshes")
		cpuprofile       = flag.String("cpuprofile", "", "directory where each broker writes a CPU profile of its whole run (kept)")
		profileMisses    = flag.Bool("profile-misses", true, "profile RF 3 acks=all on a fresh cluster at each record size whose ratio misses the target, and report where the brokers' CPU went")
		asJSON           = flag.Bool("json", false, "print the report as JSON instead of markdown")
		quiet            = flag.Bool("q", false, "no progress lines on stderr")
	)
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "replbench: unexpected arguments %q\n", flag.Args())
		os.Exit(2)
	}
	var sz []int
	for _, s := range strings.Split(*sizes, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil {
			fmt.Fprintf(os.Stderr, "replbench: -sizes: %q is not a byte count\n", s)
			os.Exit(2)
		}
		sz = append(sz, n)
	}
	var cs []string
	for _, s := range strings.Split(*configs, ",") {
		if s = strings.TrimSpace(s); s != "" {
			cs = append(cs, s)
		}
	}
	cfg := replbench.Config{
		Sluiced: *sluiced, Dir: *dir, Partitions: *partitions, Sizes: sz, Configs: cs,
		Duration: *duration, Rounds: *rounds, RateMBs: *rate, RateDuration: *rateDuration,
		FailoverRounds: *failoverRounds, ControllerRounds: *controllerRounds,
		Timeouts: replbench.Timeouts{SessionTimeout: *session, HeartbeatInterval: *heartbeat, ReplicaLagMax: *lag, ReplicaFetchBackoff: *fetchBackoff,
			QuorumFetchTimeout: *quorumFetch, QuorumElectionTimeout: *quorumElection},
		Linger: *linger, BatchBytes: *batch, BufferBytes: *buffer, RetryBackoff: *retryBackoff, MetadataMinAge: *metadataMinAge,
		ProfileDir: *cpuprofile, ProfileMisses: *profileMisses,
		Command: hostinfo.CommandLine("./bench/cmd/replbench"),
	}
	if !*quiet {
		cfg.Logf = func(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := replbench.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "replbench: %v\n", err)
		os.Exit(1)
	}
	if *asJSON {
		err = rep.WriteJSON(os.Stdout)
	} else {
		err = rep.WriteMarkdown(os.Stdout)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "replbench: %v\n", err)
		os.Exit(1)
	}
}
