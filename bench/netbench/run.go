package netbench

import (
	"context"
	"errors"
	"fmt"
	"github.com/sluicelog/sluice/bench/hostinfo"
	"github.com/sluicelog/sluice/bench/units"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/sluicelog/sluice/net/client"
)

// Report is the outcome of Run. Its JSON form is the -json output.
type Report struct {
	Machine Machine `json:"machine"`
	// LoadBefore and LoadAfter are /proc/loadavg around the run: other
	// work on the machine shows up there.
	LoadBefore string `json:"load_before"`
	LoadAfter  string `json:"load_after"`
	// Command is the command line as given; FullCommand spells out every
	// setting, defaults included.
	Command     string   `json:"command"`
	FullCommand string   `json:"full_command"`
	Workload    Workload `json:"workload"`
	Broker      Broker   `json:"broker"`
	Dir         string   `json:"dir"` // where the temporary directories were

	Produce      ProduceResult `json:"produce"`
	ProduceLimit LimitResult   `json:"produce_limit"`
	Consume      ConsumeResult `json:"consume"`
	// Recycled is the consumer again, giving each poll's records back
	// with Recycle once checked, so fetches copy into reused memory.
	Recycled ConsumeResult `json:"consume_recycled"`
	// Borrowed is the consumer again with BorrowRecords: records point
	// into the fetch buffer instead of being copied out of it.
	Borrowed ConsumeResult `json:"consume_borrowed"`
	// Batches is the consumer once more with PollBatches: whole batches,
	// CRC-checked, records not decoded.
	Batches ConsumeResult `json:"consume_batches"`
	// BatchesNoCRC is PollBatches with check.crcs=false (SkipCRCCheck):
	// batches' framing checked, their CRCs not computed.
	BatchesNoCRC ConsumeResult `json:"consume_batches_no_crc"`
	RawFetch     ConsumeResult `json:"raw_fetch"`
	ConsumeLimit LimitResult   `json:"consume_limit"`
	// SendfileLimit is the consume limit with the source sending a
	// segment file's bytes with sendfile(2), as the broker does.
	SendfileLimit LimitResult `json:"sendfile_limit"`
	// CopyLimit is the consume limit with the source reading the same
	// segment file with pread into one buffer and writing it: a plain
	// file server without sendfile.
	CopyLimit LimitResult `json:"copy_limit"`
	// SendfileCeiling is the median of the rounds' sendfile limit over
	// loopback limit: about the most a consumer served by sendfile can
	// reach against the loopback limit on this machine (one run can pass
	// it by the runs' noise: single raw fetch runs did, by up to a tenth). CopyCeiling is the same
	// for CopyLimit. The Runs fields list the rounds' ratios.
	SendfileCeiling     float64   `json:"sendfile_ceiling"`
	SendfileCeilingRuns []float64 `json:"sendfile_ceiling_runs"`
	CopyCeiling         float64   `json:"copy_ceiling"`
	CopyCeilingRuns     []float64 `json:"copy_ceiling_runs"`
	// Latency is produce latency at LatencyFraction of the peak rate.
	Latency LatencyResult `json:"produce_latency"`

	// Ratios of wire MB/s to the loopback limit of the same bytes; the
	// consume ratios are medians of the rounds' ratios, which RatioRuns
	// lists by consumer name.
	ProduceRatio       float64              `json:"produce_ratio"`
	ConsumeRatio       float64              `json:"consume_ratio"`
	RecycledRatio      float64              `json:"consume_recycled_ratio"`
	BorrowedRatio      float64              `json:"consume_borrowed_ratio"`
	BatchesRatio       float64              `json:"consume_batches_ratio"`
	BatchesNoCRCRatio  float64              `json:"consume_batches_no_crc_ratio"`
	RawFetchRatio      float64              `json:"raw_fetch_ratio"`
	TargetConsumeRatio float64              `json:"target_consume_ratio"`
	RatioRuns          map[string][]float64 `json:"consume_ratio_runs"`
	// SendfileRatios are the consumers' medians of the rounds' ratios to
	// SendfileLimit, by consumer name.
	SendfileRatios map[string]float64 `json:"sendfile_ratios"`

	// PerfFiles are the broker's perf recordings, by phase.
	PerfFiles map[string]string `json:"perf_files,omitempty"`
	// Problems lists failed sanity checks; empty for a good run.
	Problems []string `json:"problems"`
	// Notes flags phases during which other work on the machine used more
	// than a tenth of its CPU: their figures are disturbed.
	Notes []string `json:"notes,omitempty"`
}

// Workload is the run's settings.
type Workload struct {
	Topic          string `json:"topic"`
	Partitions     int    `json:"partitions"`
	Records        int64  `json:"records"`
	RecordSize     int    `json:"record_size"`
	Acks           string `json:"acks"`
	Linger         string `json:"linger"`
	BatchSize      int    `json:"batch_size"`
	Compression    string `json:"compression"`
	MaxRequestSize int    `json:"max_request_size"`
	FetchBytes     int32  `json:"fetch_bytes"`
	ReceiveBuffer  int    `json:"receive_buffer_bytes"`
	SendBuffer     int    `json:"send_buffer_bytes"`
	// DistinctValues is the size of the prebuilt ring of random values.
	DistinctValues int               `json:"distinct_values"`
	TopicConfigs   map[string]string `json:"topic_configs,omitempty"`
}

// Broker describes the broker process.
type Broker struct {
	Build        string   `json:"build,omitempty"` // the go build command, if Run built it
	BuildSeconds float64  `json:"build_seconds,omitempty"`
	Command      string   `json:"command"`
	PID          int      `json:"pid"`
	Listen       string   `json:"listen"`
	ExitCode     int      `json:"exit_code"` // after SIGTERM; -1 if it did not exit
	StopSeconds  float64  `json:"stop_seconds"`
	Warnings     []string `json:"warnings,omitempty"` // WARN and ERROR lines it logged
}

// TargetMet reports whether the consumer, in any of its modes, reached
// TargetConsumeRatio.
func (rep *Report) TargetMet() bool {
	return max(rep.ConsumeRatio, rep.BorrowedRatio, rep.BatchesRatio, rep.BatchesNoCRCRatio) >= rep.TargetConsumeRatio
}

// runner holds one run's state.
type runner struct {
	cfg       Config
	helperExe string
	dataDir   string
	peer      netip.AddrPort
	cl        *client.Client
	work      *workload
	broker    *brokerProc
}

const topicName = "netbench"

// Run builds and starts the broker, runs the phases described in the
// package documentation, stops the broker and removes its files. It
// returns an error when a phase could not run; a run that completed with
// failed checks returns the report with Problems filled.
func Run(ctx context.Context, cfg Config) (rep *Report, err error) {
	cfg.setDefaults()
	if !cfg.Compression.Valid() {
		return nil, fmt.Errorf("compression %v is not a codec", cfg.Compression)
	}
	if cfg.Acks != client.AcksLeader && cfg.Acks != client.AcksAll && cfg.Acks != client.AcksNone {
		return nil, fmt.Errorf("acks %d: want client.AcksLeader, AcksAll or AcksNone", cfg.Acks)
	}
	r := &runner{cfg: cfg}
	rep = &Report{
		Machine:            DescribeMachine(),
		LoadBefore:         hostinfo.LoadAverage(),
		Command:            cfg.Command,
		FullCommand:        fullCommand(&cfg),
		TargetConsumeRatio: TargetConsumeRatio,
		Problems:           []string{},
		Workload: Workload{
			Topic: topicName, Partitions: 1, Records: cfg.Records, RecordSize: cfg.RecordSize,
			Acks: AcksString(cfg.Acks), Linger: cfg.Linger.String(), BatchSize: cfg.BatchSize,
			Compression: cfg.Compression.String(), MaxRequestSize: cfg.maxRequestSize(),
			FetchBytes: cfg.FetchBytes, ReceiveBuffer: cfg.ReceiveBuffer, SendBuffer: cfg.SendBuffer, TopicConfigs: cfg.topicConfigs(),
		},
	}
	if rep.Command == "" {
		rep.Command = quoteArgs(os.Args)
	}
	logf := cfg.Logf

	r.helperExe = cfg.HelperExe
	if r.helperExe == "" {
		if r.helperExe, err = os.Executable(); err != nil {
			return nil, err
		}
	}
	modDir := cfg.ModuleDir
	if modDir == "" && (cfg.Sluiced == "" || cfg.BrokerConfig == "") {
		if modDir, err = moduleDir(ctx); err != nil {
			return nil, err
		}
	}

	// The temporary directory: the broker binary and its data.
	parent := cfg.Dir
	need := cfg.Records*int64(cfg.RecordSize+32)*5/4 + 256<<20
	if parent == "" {
		parent = os.TempDir()
		if free := freeBytes(parent); free >= 0 && free < need && modDir != "" {
			logf("netbench: %s has %s free, the run needs about %s: using the work tree", parent, units.FormatSize(free), units.FormatSize(need))
			parent = filepath.Join(modDir, "bench", "netbench")
		}
	}
	tmp, err := os.MkdirTemp(parent, ".netbench-run-")
	if err != nil {
		return nil, err
	}
	rep.Dir = tmp
	defer func() {
		if rerr := os.RemoveAll(tmp); rerr != nil && err == nil {
			err = fmt.Errorf("removing %s: %w", tmp, rerr)
		}
	}()
	if free := freeBytes(tmp); free >= 0 && free < need {
		return nil, fmt.Errorf("%s has %s free; the run needs about %s (set -dir)", tmp, units.FormatSize(free), units.FormatSize(need))
	}

	bin := cfg.Sluiced
	if bin == "" {
		logf("netbench: building sluiced")
		t0 := time.Now()
		var cmdline string
		if bin, cmdline, err = buildSluiced(ctx, modDir, tmp); err != nil {
			return nil, err
		}
		rep.Broker.Build, rep.Broker.BuildSeconds = cmdline, time.Since(t0).Seconds()
	}
	brokerConfig := cfg.BrokerConfig
	if brokerConfig == "" {
		brokerConfig = filepath.Join(modDir, "cmd", "sluiced", "sluiced.properties")
	}
	r.dataDir = filepath.Join(tmp, "data")
	var overrides []string
	if cfg.SendBuffer > 0 {
		overrides = append(overrides, fmt.Sprintf("socket.send.buffer.bytes=%d", cfg.SendBuffer))
	}
	b, err := startBroker(ctx, bin, r.dataDir, brokerConfig, overrides...)
	if err != nil {
		return nil, err
	}
	r.broker = b
	defer func() { // error paths; a clean run has stopped it already
		if !b.exited() {
			b.stop(10 * time.Second)
		}
	}()
	rep.Broker.Command, rep.Broker.PID, rep.Broker.Listen = quoteArgs(b.argv), b.pid(), b.addr
	if r.peer, err = netip.ParseAddrPort(b.addr); err != nil {
		return nil, fmt.Errorf("broker address %q: %w", b.addr, err)
	}
	logf("netbench: broker pid %d listening on %s", b.pid(), b.addr)

	if r.cl, err = client.New(ctx, client.Config{BootstrapServers: []string{b.addr}}); err != nil {
		return nil, err
	}
	defer r.cl.Close()
	if err := r.cl.CreateTopic(ctx, topicName, 1, 1, cfg.topicConfigs()); err != nil {
		return nil, err
	}
	r.work = newWorkload(topicName, cfg.Records, cfg.RecordSize)
	rep.Workload.DistinctValues = r.work.n

	if cfg.CPUProfile != nil {
		if err := pprof.StartCPUProfile(cfg.CPUProfile); err != nil {
			return nil, err
		}
		defer pprof.StopCPUProfile()
	}
	phase := func(name string, f func(ctx context.Context) error) error {
		var stopPerf func()
		if _, recorded := rep.PerfFiles[name]; cfg.BrokerPerf != "" && strings.HasPrefix(name, "sluice-") && !recorded {
			// The first round's; later rounds would overwrite it.
			file := cfg.BrokerPerf + "." + strings.TrimPrefix(name, "sluice-") + ".data"
			sp, perr := startPerf(b.pid(), file)
			if perr != nil {
				return perr
			}
			stopPerf = sp
			if rep.PerfFiles == nil {
				rep.PerfFiles = map[string]string{}
			}
			rep.PerfFiles[name] = file
		}
		var ferr error
		pprof.Do(ctx, pprof.Labels("phase", name), func(ctx context.Context) { ferr = f(ctx) })
		if stopPerf != nil {
			stopPerf()
		}
		if ferr != nil {
			return fmt.Errorf("%s: %w", name, ferr)
		}
		if b.exited() {
			return fmt.Errorf("%s: the broker exited (%v):\n%s", name, b.waitErr, strings.Join(b.stderr.get(), "\n"))
		}
		return nil
	}

	logf("netbench: producing %d records of %d B (acks=%s, linger=%v, batch.size=%d, compression=%v)",
		cfg.Records, cfg.RecordSize, AcksString(cfg.Acks), cfg.Linger, cfg.BatchSize, cfg.Compression)
	if err := phase("sluice-produce", func(ctx context.Context) (err error) {
		rep.Produce, err = r.produce(ctx)
		return err
	}); err != nil {
		return nil, err
	}
	logf("netbench: produced in %.3fs: %.0f records/s, %.1f MB/s payload, %.1f MB/s wire",
		rep.Produce.Seconds, rep.Produce.RecordsPerSec, rep.Produce.PayloadMBps, rep.Produce.WireMBps)

	logf("netbench: produce limit: %d bytes to a sink process", rep.Produce.WireBytes)
	if err := phase("limit-produce", func(ctx context.Context) (err error) {
		rep.ProduceLimit, err = medianLimit(cfg.Runs, func() (LimitResult, error) {
			return r.produceLimit(ctx, rep.Produce.WireBytes, int(rep.Produce.AvgRequestBytes+0.5))
		})
		return err
	}); err != nil {
		return nil, err
	}
	logf("netbench: produce limit %.1f MB/s", rep.ProduceLimit.MBps)

	if err := r.consumeRounds(rep, phase); err != nil {
		return nil, err
	}

	rate := LatencyFraction * rep.Produce.RecordsPerSec
	logf("netbench: produce latency at %.0f records/s for %v", rate, cfg.LatencyDuration)
	if err := phase("sluice-latency", func(ctx context.Context) (err error) {
		rep.Latency, err = r.produceLatency(ctx, rate, cfg.LatencyDuration)
		return err
	}); err != nil {
		return nil, err
	}
	logf("netbench: latency p50 %.0f us, p99 %.0f us, p99.9 %.0f us", rep.Latency.P50Us, rep.Latency.P99Us, rep.Latency.P999Us)
	if cfg.CPUProfile != nil {
		pprof.StopCPUProfile()
	}

	r.cl.Close()
	code, took, serr := b.stop(60 * time.Second)
	rep.Broker.ExitCode, rep.Broker.StopSeconds = code, took.Seconds()
	rep.Broker.Warnings = b.warnings()
	if serr != nil {
		rep.Problems = append(rep.Problems, "broker stop: "+serr.Error())
	}
	logf("netbench: broker stopped with SIGTERM: exit %d in %.3fs", code, took.Seconds())

	if rep.ProduceLimit.MBps > 0 {
		rep.ProduceRatio = rep.Produce.WireMBps / rep.ProduceLimit.MBps
	}
	rep.check()
	rep.noteNoise()
	if err := os.RemoveAll(tmp); err != nil {
		rep.Problems = append(rep.Problems, fmt.Sprintf("removing %s: %v", tmp, err))
	}
	rep.LoadAfter = hostinfo.LoadAverage()
	return rep, nil
}

// check fills Problems.
func (rep *Report) check() {
	bad := func(format string, args ...any) { rep.Problems = append(rep.Problems, fmt.Sprintf(format, args...)) }
	p, n := &rep.Produce, rep.Workload.Records
	if p.Acked != n || p.Failed != 0 {
		bad("produce: %d of %d records acknowledged, %d failed (first error: %s)", p.Acked, n, p.Failed, p.FirstError)
	}
	if p.ComputedWireBytes != p.WireBytes {
		bad("produce: the connection carried %d bytes, the stored log plus framing is %d (a request sent twice?)", p.WireBytes, p.ComputedWireBytes)
	}
	if lt := &rep.Latency; lt.Failed != 0 || lt.Records == 0 {
		bad("latency: %d records sent, %d failed (first error: %s)", lt.Records, lt.Failed, lt.FirstError)
	}
	for _, c := range []*ConsumeResult{&rep.Consume, &rep.Borrowed, &rep.Batches, &rep.BatchesNoCRC, &rep.RawFetch} {
		if c.Records != n {
			bad("%s: read %d records, produced %d", c.Name, c.Records, n)
		}
		if c.Mismatches != 0 {
			bad("%s: %d records with an unexpected offset or value", c.Name, c.Mismatches)
		}
	}
	if rep.RawFetch.RecordBytes != p.StoredBytes {
		bad("raw fetch: %d record bytes, the log holds %d", rep.RawFetch.RecordBytes, p.StoredBytes)
	}
	for _, l := range []struct {
		name string
		r    *LimitResult
	}{{"produce limit", &rep.ProduceLimit}, {"consume limit", &rep.ConsumeLimit}, {"sendfile limit", &rep.SendfileLimit}, {"copy limit", &rep.CopyLimit}} {
		if l.r.ConfirmedBytes != l.r.Bytes {
			bad("%s: %d bytes sent, %d confirmed", l.name, l.r.Bytes, l.r.ConfirmedBytes)
		}
	}
	if rep.Broker.ExitCode != 0 {
		bad("broker: exit code %d after SIGTERM, want 0", rep.Broker.ExitCode)
	}
}

// noteNoise fills Notes.
func (rep *Report) noteNoise() {
	cores := float64(max(rep.Machine.Cores, 1))
	for _, ph := range []struct {
		name string
		cpu  CPUUse
		secs float64
	}{
		{"produce", rep.Produce.CPU, rep.Produce.Seconds},
		{"produce limit", rep.ProduceLimit.CPU, rep.ProduceLimit.Seconds},
		{"consume", rep.Consume.CPU, rep.Consume.Seconds},
		{"raw fetch", rep.RawFetch.CPU, rep.RawFetch.Seconds},
		{"consume limit", rep.ConsumeLimit.CPU, rep.ConsumeLimit.Seconds},
	} {
		// At least 5 ticks: /proc counts in 10 ms steps.
		if avail := ph.secs * cores; avail > 0 && ph.cpu.Others > 0.1*avail && ph.cpu.Others >= 0.05 {
			rep.Notes = append(rep.Notes, fmt.Sprintf("%s: other processes and kernel threads used %.2f of %.2f core-s (%.0f%%): that figure is disturbed",
				ph.name, ph.cpu.Others, avail, 100*ph.cpu.Others/avail))
		}
	}
	// Falling behind the asked rate is a fact about the machine at that
	// moment (a busy neighbour, a slow phase), not a wrong result: the
	// latencies still describe what was sent, at the rate reached.
	if lt := &rep.Latency; lt.Records > 0 && lt.Rate < 0.9*lt.TargetRate {
		rep.Notes = append(rep.Notes, fmt.Sprintf("latency: the producer kept up only %.0f of the %.0f records/s asked, so the percentiles are for the lower rate",
			lt.Rate, lt.TargetRate))
	}
}

// fullCommand spells out every flag of bench/cmd/netbench for cfg.
func fullCommand(cfg *Config) string {
	argv := []string{"go", "run", "./bench/cmd/netbench",
		"-records", fmt.Sprint(cfg.Records),
		"-record-size", fmt.Sprint(cfg.RecordSize),
		"-acks", AcksString(cfg.Acks),
		"-linger", cfg.Linger.String(),
		"-batch-size", units.FormatSize(int64(cfg.BatchSize)),
		"-compression", cfg.Compression.String(),
		"-fetch-bytes", units.FormatSize(int64(cfg.FetchBytes)),
		"-receive-buffer", units.FormatSize(int64(cfg.ReceiveBuffer)),
		"-send-buffer", units.FormatSize(int64(cfg.SendBuffer)),
		"-latency-duration", cfg.LatencyDuration.String(),
		"-runs", fmt.Sprint(cfg.Runs),
	}
	return quoteArgs(argv)
}

// startPerf records pid with perf until the returned function is called.
func startPerf(pid int, file string) (func(), error) {
	path, err := exec.LookPath("perf")
	if err != nil {
		return nil, errors.New("-broker-perf: perf is not installed")
	}
	cmd := exec.Command(path, "record", "-q", "-g", "-F", "999", "-p", fmt.Sprint(pid), "-o", file)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	time.Sleep(500 * time.Millisecond) // let it attach
	return func() {
		cmd.Process.Signal(syscall.SIGINT)
		cmd.Wait()
	}, nil
}
