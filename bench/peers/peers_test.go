package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluicelog/sluice/bench/perf"
	"github.com/sluicelog/sluice/net/broker"
)

// checkRun checks a peer run's counts and percentile order.
func checkRun(t *testing.T, res *perf.Result, err error, records int64) {
	t.Helper()
	if err != nil {
		t.Fatalf("%v", err)
	}
	l := res.Latency
	if res.Records != records || l.Count == 0 || l.P50 <= 0 || l.P50 > l.P99 || l.P99 > l.P999 || l.P999 > l.Max {
		t.Errorf("%s %s: %d records (want %d), latency %+v", res.System, res.Workload, res.Records, records, l)
	}
}

// testPeer produces, consumes and runs e2e against a peer in-process.
func testPeer(t *testing.T, p peer) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cfg := perf.Config{Topic: "t", RecordSize: 64, NumRecords: 3000, Partitions: 3, Acks: "1", Linger: time.Millisecond, BatchSize: 16 << 10}
	cfg.Workload = perf.Produce
	res, err := runPeer(ctx, p, cfg, nil)
	checkRun(t, res, err, 3000)
	cfg.Workload = perf.Consume
	res, err = runPeer(ctx, p, cfg, nil)
	checkRun(t, res, err, 3000)
	cfg.Workload, cfg.Topic, cfg.NumRecords, cfg.Duration, cfg.Throughput = perf.E2E, "e2e", 0, 300*time.Millisecond, 5000
	res, err = runPeer(ctx, p, cfg, nil)
	if err != nil || res.Records == 0 || res.Latency.Count != res.Records {
		t.Errorf("e2e: %v, %+v", err, res)
	}
}

func TestKfake(t *testing.T) {
	addr, stop, err := serveKfake(t.TempDir(), false)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	testPeer(t, kafkaPeer{sysKfake, addr})
}

func TestSluiceKgo(t *testing.T) {
	b := broker.StartTest(t, func(c *broker.Config) { c.KafkaListen = "127.0.0.1:0" })
	testPeer(t, kafkaPeer{sysSluiceKgo, b.KafkaAddr().String()})
}

func TestNATS(t *testing.T) {
	url, stop, err := serveNATS(t.TempDir(), false)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	testPeer(t, natsPeer{url})
}

func TestRouterAndQuota(t *testing.T) {
	cfg := &perf.Config{RecordSize: 100, BatchSize: 1120, Partitions: 3, Producers: 3, NumRecords: 10}
	r := newRouter(cfg, 1)
	if r.next(0, nil) != 1 || r.next(9, nil) != 1 || r.next(10, nil) != 2 {
		t.Error("unkeyed records should move on every 10 records (1120 / 112)")
	}
	if p := r.next(11, []byte("k")); p < 0 || p >= 3 {
		t.Errorf("keyed partition %d", p)
	}
	if quotaOf(cfg, 0) != 4 || quotaOf(cfg, 2) != 3 {
		t.Error("quota split")
	}
}

func TestTopFlat(t *testing.T) {
	top := `Showing nodes accounting for 70ms, 100% of 70ms total
      flat  flat%   sum%        cum   cum%
      50ms 71.43% 71.43%       50ms 71.43%  runtime.memmove
      20ms 28.57%   100%       20ms 28.57%  main.(*x).y (inline)
         0     0%   100%       70ms   100%  main.main`
	if got := topFlat(top, 4); got != "`runtime.memmove` 71.43%, `main.(*x).y (inline)` 28.57%" {
		t.Errorf("topFlat = %s", got)
	}
	if got := topFlat("nothing", 3); got != "no samples" {
		t.Errorf("topFlat of nothing = %s", got)
	}
}

// TestReport renders a made-up suite: Sluice behind kfake in one scenario
// must be marked, and the charts must be written.
func TestReport(t *testing.T) {
	res := func(sys string, mbps float64) *perf.Result {
		return &perf.Result{System: sys, MBPerSec: mbps, RecordsPerSec: mbps * 1e4, Latency: perf.Latency{P50: 1, P99: 2, Max: 3}}
	}
	s := &Suite{Command: "test", Scenarios: scenarios(1000)}
	s.Scenarios = append(s.Scenarios, latencyScenario("latency", "lat", 1000, 1))
	s.Limits = []Limit{{Name: "tcp loopback", MBps: 1000}, {Name: "sendfile", MBps: 1000}}
	for _, sc := range s.Scenarios {
		for i, sys := range sc.Systems {
			w := perf.Produce
			if sc.Rate > 0 {
				w = perf.E2E
			}
			mb := 100.0 / float64(i+1)
			if sc.ID == "1KiB-zstd" && sys == sysKfake {
				mb = 200
			}
			s.Runs = append(s.Runs, Run{Scenario: sc.ID, System: sys, Workload: w, Result: res(sys, mb)})
		}
	}
	var md bytes.Buffer
	if err := writeMarkdown(&md, s); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "**0.50 behind**") || !strings.Contains(md.String(), "**0.100 far**") {
		t.Errorf("markdown does not mark Sluice behind kfake or far from the limit:\n%s", md.String())
	}
	if b := s.behind(); len(b) == 0 || b[0].scenario != "1KiB-zstd" {
		t.Errorf("behind() = %+v", b)
	}
	dir := t.TempDir()
	if err := writeCharts(dir, s, false); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{chartBySize, chartByPartitions, chartLatency} {
		if b, err := os.ReadFile(filepath.Join(dir, f)); err != nil || !bytes.Contains(b, []byte("<svg")) {
			t.Errorf("%s: %v", f, err)
		}
	}
}
