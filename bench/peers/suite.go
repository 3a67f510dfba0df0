package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/sluicelog/sluice/bench/hostinfo"
	"github.com/sluicelog/sluice/bench/perf"
)

// The systems.
const (
	sysSluice = "sluice"
	// sysSluiceKgo is Sluice's Kafka listener driven by kgo: the same
	// client as kfake's, so the two compare the brokers alone.
	sysSluiceKgo = "sluice-kgo"
	sysKfake     = "kfake"
	sysNATS      = "nats-jetstream"
)

// scenario is one row of the report: the same job for each system.
type scenario struct {
	ID          string   `json:"id"`
	Title       string   `json:"title"`
	RecordSize  int      `json:"record_size"`
	Records     int64    `json:"records"`
	Partitions  int32    `json:"partitions"`
	Acks        string   `json:"acks"`
	Compression string   `json:"compression"`
	Durable     bool     `json:"durable"`
	Consume     bool     `json:"consume"`
	Systems     []string `json:"systems"`
	// Rate, for the latency scenario, is the fixed records/s of an e2e run
	// of Seconds; it is set from the peak of the first scenario.
	Rate    float64 `json:"rate,omitempty"`
	Seconds float64 `json:"seconds,omitempty"`
}

// Producer settings shared by every system and scenario.
const (
	suiteLinger = 5 * time.Millisecond
	suiteBatch  = 256 << 10
	suiteFetch  = 1 << 20
)

// allSystems lists every system, Sluice first.
func allSystems() []string { return []string{sysSluice, sysSluiceKgo, sysKfake, sysNATS} }

// withoutNATS is every system but NATS JetStream (which has no lz4 or
// zstd).
func withoutNATS() []string { return []string{sysSluice, sysSluiceKgo, sysKfake} }

// scenarios is the standard suite; scale divides the record counts (for
// a smoke run).
func scenarios(scale int64) []scenario {
	s := []scenario{
		{ID: "100B", Title: "100 B, 1 partition, acks=1", RecordSize: 100, Records: 1_000_000, Partitions: 1, Acks: "1", Compression: "none", Consume: true, Systems: allSystems()},
		{ID: "1KiB", Title: "1 KiB, 1 partition, acks=1", RecordSize: 1024, Records: 200_000, Partitions: 1, Acks: "1", Compression: "none", Consume: true, Systems: allSystems()},
		{ID: "100B-4p", Title: "100 B, 4 partitions, acks=1", RecordSize: 100, Records: 500_000, Partitions: 4, Acks: "1", Compression: "none", Consume: true, Systems: allSystems()},
		{ID: "100B-16p", Title: "100 B, 16 partitions, acks=1", RecordSize: 100, Records: 500_000, Partitions: 16, Acks: "1", Compression: "none", Consume: true, Systems: allSystems()},
		{ID: "100B-acks-all", Title: "100 B, 1 partition, acks=all (idempotent)", RecordSize: 100, Records: 500_000, Partitions: 1, Acks: "all", Compression: "none", Systems: allSystems()},
		{ID: "1KiB-lz4", Title: "1 KiB, 1 partition, acks=1, lz4", RecordSize: 1024, Records: 100_000, Partitions: 1, Acks: "1", Compression: "lz4", Consume: true, Systems: withoutNATS()},
		{ID: "1KiB-zstd", Title: "1 KiB, 1 partition, acks=1, zstd", RecordSize: 1024, Records: 50_000, Partitions: 1, Acks: "1", Compression: "zstd", Consume: true, Systems: withoutNATS()},
		{ID: "1KiB-durable", Title: "1 KiB, 1 partition, acks=all, fdatasync before ack", RecordSize: 1024, Records: 30_000, Partitions: 1, Acks: "all", Compression: "none", Durable: true, Systems: allSystems()},
	}
	for i := range s {
		s[i].Records = max(s[i].Records/scale, 1000)
	}
	return s
}

// latencyScenario is e2e at a fixed rate for a fixed time.
func latencyScenario(id, title string, rate float64, seconds float64) scenario {
	return scenario{ID: id, Title: title, RecordSize: 100, Partitions: 1, Acks: "1", Compression: "none",
		Systems: []string{sysSluice, sysKfake, sysNATS}, Rate: rate, Seconds: seconds}
}

// config is the perf.Config of a scenario's workload.
func (sc *scenario) config(workload string) perf.Config {
	cfg := perf.Config{
		Workload:    workload,
		Topic:       "bench-" + sc.ID,
		RecordSize:  sc.RecordSize,
		NumRecords:  sc.Records,
		Partitions:  sc.Partitions,
		Acks:        sc.Acks,
		Compression: sc.Compression,
		Linger:      suiteLinger,
		BatchSize:   suiteBatch,
		FetchBytes:  suiteFetch,
		Throughput:  sc.Rate,
	}
	if sc.Seconds > 0 {
		cfg.NumRecords, cfg.Duration = 0, time.Duration(sc.Seconds*float64(time.Second))
	}
	if sc.Durable {
		cfg.TopicConfigs = map[string]string{"flush.on.ack": "true"}
	}
	return cfg
}

// Run is one measurement: a system doing a workload in a scenario.
type Run struct {
	Scenario string       `json:"scenario"`
	System   string       `json:"system"`
	Workload string       `json:"workload"`
	Result   *perf.Result `json:"result,omitempty"`
	Err      string       `json:"error,omitempty"`
}

// Suite is everything one run of the suite measured; it is saved as
// results.json and the report is made from it alone.
type Suite struct {
	Command    string       `json:"command"`
	Build      string       `json:"build"`
	Machine    perf.Machine `json:"machine"`
	DataDir    string       `json:"data_dir"`
	Started    time.Time    `json:"started"`
	Finished   time.Time    `json:"finished"`
	Seconds    float64      `json:"seconds"`
	LoadBefore string       `json:"load_before"`
	LoadAfter  string       `json:"load_after"`
	Scenarios  []scenario   `json:"scenarios"`
	Limits     []Limit      `json:"limits"`
	Runs       []Run        `json:"runs"`
	Profiles   []Profile    `json:"profiles,omitempty"`
}

// find returns the result of a system's workload in a scenario, or nil.
func (s *Suite) find(scenario, system, workload string) *Run {
	for i := range s.Runs {
		r := &s.Runs[i]
		if r.Scenario == scenario && r.System == system && r.Workload == workload {
			return r
		}
	}
	return nil
}

// limit returns the named limit's MB/s, 0 if it was not measured.
func (s *Suite) limit(name string) float64 {
	for _, l := range s.Limits {
		if l.Name == name {
			return l.MBps
		}
	}
	return 0
}

// runner holds what the scenarios share.
type runner struct {
	sluiced  string
	dataDir  string
	progress io.Writer // progress lines
	log      io.Writer // one line per run, and the summaries
	suite    *Suite
}

// runScenario starts each system in turn on a fresh data directory and
// runs the scenario's workloads on it.
func (r *runner) runScenario(ctx context.Context, sc scenario) error {
	for _, sys := range sc.Systems {
		if err := r.runSystem(ctx, sc, sys); err != nil {
			return err
		}
	}
	return nil
}

// runSystem runs one system through a scenario. A peer's failure is
// recorded in the suite; Sluice's is returned.
func (r *runner) runSystem(ctx context.Context, sc scenario, sys string) (err error) {
	dir, err := os.MkdirTemp(r.dataDir, "peers-"+sys+"-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	var srv *child
	var p peer
	switch sys {
	case sysSluice:
		srv, err = startSluiced(ctx, r.sluiced, filepath.Join(dir, "data"), "")
	case sysSluiceKgo:
		srv, err = startSluiced(ctx, r.sluiced, filepath.Join(dir, "data"), "", "--kafka-listen", "127.0.0.1:0")
		if err == nil {
			var addr string
			if addr, err = kafkaAddr(srv); err == nil {
				p = kafkaPeer{sysSluiceKgo, addr}
			}
		}
	case sysKfake:
		srv, err = startServer(ctx, "kfake", filepath.Join(dir, "data"), sc.Durable)
		if err == nil {
			p = kafkaPeer{sysKfake, srv.addr}
		}
	case sysNATS:
		srv, err = startServer(ctx, "nats", filepath.Join(dir, "data"), sc.Durable)
		if err == nil {
			p = natsPeer{"nats://" + trimScheme(srv.addr)}
		}
	}
	if err != nil {
		return fmt.Errorf("scenario %s: %w", sc.ID, err)
	}
	defer func() {
		if serr := srv.stop(); serr != nil && err == nil && sys == sysSluice {
			err = serr
		}
	}()
	workloads := []string{perf.Produce}
	if sc.Consume {
		workloads = append(workloads, perf.Consume)
	}
	if sc.Rate > 0 {
		workloads = []string{perf.E2E}
	}
	for _, w := range workloads {
		cfg := sc.config(w)
		fmt.Fprintf(r.progress, "# %s %s %s\n", sc.ID, sys, w)
		var res *perf.Result
		var rerr error
		if p == nil {
			res, rerr = sluiceRun(ctx, srv.addr, cfg, r.progress)
		} else {
			res, rerr = runPeer(ctx, p, cfg, r.progress)
		}
		run := Run{Scenario: sc.ID, System: sys, Workload: w, Result: res}
		if rerr != nil {
			run.Err = rerr.Error()
		}
		r.suite.Runs = append(r.suite.Runs, run)
		r.report(run)
		if rerr != nil {
			if sys == sysSluice {
				return rerr
			}
			break // a peer that failed to produce has nothing to consume
		}
	}
	return nil
}

// report prints a run's summary to the log.
func (r *runner) report(run Run) {
	fmt.Fprintf(r.log, "== %s / %s / %s\n", run.Scenario, run.System, run.Workload)
	if run.Result != nil {
		if run.Result.Command != "" {
			fmt.Fprintf(r.log, "$ %s\n", run.Result.Command)
		}
		run.Result.WriteText(r.log)
	}
	if run.Err != "" {
		fmt.Fprintf(r.log, "FAILED: %s\n", run.Err)
	}
}

// trimScheme drops a URL scheme from a server's address.
func trimScheme(addr string) string {
	if i := len("nats://"); len(addr) > i && addr[:i] == "nats://" {
		return addr[i:]
	}
	return addr
}

// newSuite starts the record of a run.
func newSuite(command, dataDir string) *Suite {
	return &Suite{
		Command:    command,
		Machine:    perf.ReadMachine(),
		DataDir:    dataDir,
		Started:    time.Now().UTC(),
		LoadBefore: hostinfo.LoadAverage(),
	}
}
