package latbench

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sluicelog/sluice/bench/hostinfo"
	"github.com/sluicelog/sluice/bench/perf"
	"github.com/sluicelog/sluice/bench/sluicedproc"
	"github.com/sluicelog/sluice/net/client"
)

// Config is one latbench run.
type Config struct {
	// Sluiced is the broker binary; empty builds cmd/sluiced of the
	// module this runs in.
	Sluiced string
	// Dir is the parent of the temporary directories (the broker's data
	// and the limits' files, on the same file system); default $TMPDIR.
	Dir string
	// Rounds repeats every measurement (3); the report gives medians.
	Rounds int
	// Quick shrinks every volume and duration to test the harness; its
	// figures mean nothing.
	Quick bool
	// Command is the command line to print as the one that produced the
	// report.
	Command string
	// Logf, when set, gets a progress line per run.
	Logf func(format string, args ...any)
}

// The workloads' fixed parameters (see the package comment).
const (
	durableRecord = 1024
	durableBatch  = 64 << 10
	smallRecord   = 100
	peakBatch     = 256 << 10
	targetRate    = 100_000
	lowRate       = 1_000
)

// Producers are the durable curve's producer counts.
var Producers = []int{1, 4, 16}

// Round is one round's measurements, every one on the same broker within
// a minute or so of the others.
type Round struct {
	// ChunkLimit is write+fdatasync of durableBatch chunks, MB/s.
	ChunkLimit float64
	// SyncP50 and SyncP99 are one fdatasync of a durableRecord append to
	// an idle disk, ms.
	SyncP50, SyncP99 float64
	// Durable is produce with flush.on.ack, one per Producers entry.
	Durable []*perf.Result
	// DurableLow and PlainLow are acks=all at lowRate, with and without
	// flush.on.ack.
	DurableLow, PlainLow *perf.Result
	// E2E and Produce are at targetRate with the latency settings.
	E2E, Produce *perf.Result
	// Peak is produce as fast as it goes; E2EHalf is e2e at half of it.
	Peak, E2EHalf *perf.Result
}

// Report is a latbench run's outcome.
type Report struct {
	Command       string
	BrokerCommand string
	Build         string
	Machine       perf.Machine
	Started       time.Time
	Seconds       float64
	LoadBefore    string
	LoadAfter     string
	Rounds        []Round
	Quick         bool
}

// Run measures cfg.Rounds rounds on one broker.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if cfg.Rounds <= 0 {
		cfg.Rounds = 3
	}
	logf := cfg.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	dir, err := os.MkdirTemp(cfg.Dir, "latbench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	rep := &Report{Command: cfg.Command, Machine: perf.ReadMachine(), Started: time.Now().UTC(),
		LoadBefore: hostinfo.LoadAverage(), Quick: cfg.Quick}
	modDir, err := sluicedproc.ModuleDir(ctx)
	if err != nil {
		return nil, err
	}
	bin := cfg.Sluiced
	rep.Build = "sluiced " + bin
	if bin == "" {
		if bin, rep.Build, err = sluicedproc.Build(ctx, modDir, dir); err != nil {
			return nil, err
		}
	}
	data := filepath.Join(dir, "data")
	props := filepath.Join(modDir, "cmd", "sluiced", "sluiced.properties")
	b, err := sluicedproc.Start(ctx, sluicedproc.Options{Bin: bin, DataDir: data, Config: props})
	if err != nil {
		return nil, err
	}
	defer b.Stop(30 * time.Second)
	rep.BrokerCommand = strings.NewReplacer(bin, "sluiced", data, "$tmp/data", props, "cmd/sluiced/sluiced.properties").Replace(strings.Join(b.Argv, " "))
	adm, err := client.New(ctx, client.Config{BootstrapServers: []string{b.Addr}})
	if err != nil {
		return nil, err
	}
	defer adm.Close()
	r := runner{ctx: ctx, addr: b.Addr, adm: adm, quick: cfg.Quick, logf: logf}
	for i := range cfg.Rounds {
		r.round = i + 1
		round, err := r.measure(dir)
		if err != nil {
			return nil, fmt.Errorf("round %d: %w\nbroker log:\n%s", i+1, err, b.Tail())
		}
		rep.Rounds = append(rep.Rounds, round)
	}
	rep.LoadAfter = hostinfo.LoadAverage()
	rep.Seconds = time.Since(rep.Started).Seconds()
	return rep, nil
}

type runner struct {
	ctx   context.Context
	addr  string
	adm   *client.Client
	quick bool
	round int
	seq   int
	logf  func(string, ...any)
}

// measure runs one round: the limits first, then the broker's runs.
func (r *runner) measure(dir string) (Round, error) {
	var rd Round
	var err error
	total := 64 << 20
	syncs := 2000
	if r.quick {
		total, syncs = 2<<20, 50
	}
	if rd.ChunkLimit, err = chunkLimit(dir, durableBatch, total); err != nil {
		return rd, err
	}
	if rd.SyncP50, rd.SyncP99, err = syncLatency(dir, durableRecord, syncs, time.Millisecond); err != nil {
		return rd, err
	}
	r.logf("round %d: write+fdatasync of %d KiB chunks %.1f MB/s, one fdatasync p50 %.3f ms", r.round, durableBatch>>10, rd.ChunkLimit, rd.SyncP50)

	durableRecords := int64(256 << 20 / durableRecord)
	lowFor, rateFor := 5*time.Second, 8*time.Second
	peakRecords := int64(10_000_000)
	if r.quick {
		durableRecords, lowFor, rateFor, peakRecords = 4096, 300*time.Millisecond, 500*time.Millisecond, 200_000
	}
	flush := map[string]string{"flush.on.ack": "true"}
	for _, n := range Producers {
		res, err := r.run(perf.Config{Workload: perf.Produce, TopicConfigs: flush, Acks: "all", RecordSize: durableRecord,
			BatchSize: durableBatch, Producers: n, NumRecords: durableRecords})
		if err != nil {
			return rd, err
		}
		rd.Durable = append(rd.Durable, res)
	}
	low := perf.Config{Workload: perf.Produce, Acks: "all", RecordSize: durableRecord, Linger: -1, Throughput: lowRate, Duration: lowFor}
	if rd.PlainLow, err = r.run(low); err != nil {
		return rd, err
	}
	low.TopicConfigs = flush
	if rd.DurableLow, err = r.run(low); err != nil {
		return rd, err
	}
	if rd.Produce, err = r.run(perf.Config{Workload: perf.Produce, Acks: "1", RecordSize: smallRecord, Linger: -1,
		Throughput: targetRate, Duration: rateFor}); err != nil {
		return rd, err
	}
	if rd.E2E, err = r.run(perf.Config{Workload: perf.E2E, Acks: "1", RecordSize: smallRecord, Linger: -1,
		Throughput: targetRate, Duration: rateFor}); err != nil {
		return rd, err
	}
	if rd.Peak, err = r.run(perf.Config{Workload: perf.Produce, Acks: "1", RecordSize: smallRecord, Linger: 5 * time.Millisecond,
		BatchSize: peakBatch, NumRecords: peakRecords}); err != nil {
		return rd, err
	}
	if rd.E2EHalf, err = r.run(perf.Config{Workload: perf.E2E, Acks: "1", RecordSize: smallRecord, Linger: 5 * time.Millisecond,
		BatchSize: peakBatch, Throughput: rd.Peak.RecordsPerSec / 2, Duration: rateFor}); err != nil {
		return rd, err
	}
	return rd, nil
}

// run runs one benchmark on a topic of its own, deleted afterwards so that
// the page cache does not fill with earlier runs' logs.
func (r *runner) run(cfg perf.Config) (*perf.Result, error) {
	r.seq++
	cfg.Topic = fmt.Sprintf("latbench-%d-%d", r.round, r.seq)
	cfg.Bootstrap = []string{r.addr}
	cfg.Partitions = 1
	res, err := perf.Run(r.ctx, cfg, io.Discard)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", res.Config.CommandLine(), err)
	}
	res.Command = res.Config.CommandLine()
	if err := r.adm.DeleteTopic(r.ctx, cfg.Topic); err != nil {
		return nil, fmt.Errorf("deleting %s: %w", cfg.Topic, err)
	}
	r.logf("round %d: %s: %.0f records/s, %.1f MB/s, p50 %.3f p99 %.3f p99.9 %.3f ms", r.round, res.Command,
		res.RecordsPerSec, res.MBPerSec, res.Latency.P50, res.Latency.P99, res.Latency.P999)
	return res, nil
}
