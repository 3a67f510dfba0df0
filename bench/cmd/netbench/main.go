// Command netbench measures Sluice's produce and consume throughput over
// loopback, with the broker in a separate process, against the loopback
// limit measured in the same run. See package
// github.com/sluicelog/sluice/bench/netbench.
//
//	go run ./bench/cmd/netbench                          # 5,000,000 x 100 B, acks=1
//	go run ./bench/cmd/netbench -records 1000000 -batch-size 1MiB
//	go run ./bench/cmd/netbench -compression lz4 -json
//	go run ./bench/cmd/netbench -cpuprofile client.pprof  # client side, labelled by phase
//	go run ./bench/cmd/netbench -broker-perf /tmp/sluiced # perf record of the broker per phase
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/sluicelog/sluice/bench/hostinfo"
	"github.com/sluicelog/sluice/bench/units"

	"github.com/sluicelog/sluice/bench/netbench"
	"github.com/sluicelog/sluice/segment/batch"
)

func main() {
	// The loopback limits re-execute this binary as their sink and source.
	if code, ok := netbench.HelperMain(os.Args[1:]); ok {
		os.Exit(code)
	}
	var (
		records     = flag.Int64("records", netbench.DefaultRecords, "records to produce and consume")
		recordSize  = flag.Int("record-size", netbench.DefaultRecordSize, "record value size in bytes")
		acks        = flag.String("acks", "1", "producer acks: 0, 1 or all")
		linger      = flag.Duration("linger", netbench.DefaultLinger, "producer linger.ms")
		batchSize   = flag.String("batch-size", units.FormatSize(netbench.DefaultBatchSize), "producer batch.size")
		compression = flag.String("compression", "none", "producer compression: none, gzip, snappy, lz4, zstd")
		fetchBytes  = flag.String("fetch-bytes", units.FormatSize(netbench.DefaultFetchBytes), "consumer max.partition.fetch.bytes (also the raw fetches')")
		sendBuffer  = flag.String("send-buffer", "0", "broker socket.send.buffer.bytes (SO_SNDBUF), also of the consume limits' sources; 0 for the OS's default")
		recvBuffer  = flag.String("receive-buffer", "0", "consumer receive.buffer.bytes (SO_RCVBUF), also of the raw fetches' and the consume limits' readers; 0 for the OS's default")
		runs        = flag.Int("runs", 5, "measure each limit and each consumer mode this many times (consume phases interleaved round by round) and report medians")
		latencyDur  = flag.Duration("latency-duration", netbench.DefaultLatencyDuration, "how long to measure produce latency at half the peak rate")
		dir         = flag.String("dir", "", "parent of the temporary directories (default $TMPDIR, or the work tree if that is too small)")
		sluiced     = flag.String("sluiced", "", "use this sluiced binary instead of building cmd/sluiced")
		asJSON      = flag.Bool("json", false, "print the report as JSON")
		cpuprofile  = flag.String("cpuprofile", "", "write a CPU profile of this process (the client side) to this file, labelled phase=...")
		brokerPerf  = flag.String("broker-perf", "", "record the broker with perf during each Sluice phase into PREFIX.<phase>.data")
		quiet       = flag.Bool("q", false, "no progress lines on stderr")
	)
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "netbench: unexpected arguments %q\n", flag.Args())
		os.Exit(2)
	}
	cfg := netbench.Config{Records: *records, RecordSize: *recordSize, Linger: *linger, Runs: *runs, LatencyDuration: *latencyDur, Dir: *dir, Sluiced: *sluiced,
		BrokerPerf: *brokerPerf, Command: hostinfo.CommandLine("./bench/cmd/netbench")}
	var err error
	if cfg.Acks, err = netbench.ParseAcks(*acks); err != nil {
		fail(2, "-acks: %v", err)
	}
	n, err := units.ParseSize(*batchSize)
	if err != nil || n <= 0 || n > 1<<30 {
		fail(2, "-batch-size %q: want a size up to 1GiB", *batchSize)
	}
	cfg.BatchSize = int(n)
	if n, err = units.ParseSize(*fetchBytes); err != nil || n <= 0 || n >= 1<<31 {
		fail(2, "-fetch-bytes %q: want a size below 2GiB", *fetchBytes)
	}
	cfg.FetchBytes = int32(n)
	if n, err = units.ParseSize(*recvBuffer); err != nil || n < 0 || n >= 1<<31 {
		fail(2, "-receive-buffer %q: want a size below 2GiB, or 0", *recvBuffer)
	}
	cfg.ReceiveBuffer = int(n)
	if n, err = units.ParseSize(*sendBuffer); err != nil || n < 0 || n >= 1<<31 {
		fail(2, "-send-buffer %q: want a size below 2GiB, or 0", *sendBuffer)
	}
	cfg.SendBuffer = int(n)
	if cfg.Compression, err = batch.ParseCodec(*compression); err != nil {
		fail(2, "-compression: %v", err)
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fail(1, "%v", err)
		}
		defer f.Close()
		cfg.CPUProfile = f
	}
	if !*quiet {
		cfg.Logf = func(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }
	}
	// SIGINT or SIGTERM end the run; Run then stops the broker and removes
	// its temporary directory.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := netbench.Run(ctx, cfg)
	if err != nil {
		fail(1, "%v", err)
	}
	if *asJSON {
		err = rep.WriteJSON(os.Stdout)
	} else {
		err = rep.WriteText(os.Stdout)
	}
	if err != nil {
		fail(1, "%v", err)
	}
	if len(rep.Problems) > 0 {
		os.Exit(1)
	}
}

func fail(code int, format string, args ...any) {
	fmt.Fprintf(os.Stderr, "netbench: "+format+"\n", args...)
	os.Exit(code)
}
