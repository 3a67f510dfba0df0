package replbench

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestRunTiny runs the whole harness at a tiny size: three sluiced
// processes, a fraction of a second of two throughput configurations, and
// two failovers (a leader, then the active controller). It checks counts and the report's shape, not timings.
func TestRunTiny(t *testing.T) {
	if testing.Short() {
		t.Skip("builds sluiced and starts three brokers")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	rep, err := Run(ctx, Config{Dir: t.TempDir(), Sizes: []int{100}, Configs: []string{"rf1-acks1", "rf3-acksall"},
		Rounds: 1, Duration: 300 * time.Millisecond, RateMBs: 1, RateDuration: 300 * time.Millisecond,
		FailoverRounds: 1, ControllerRounds: 1, Command: "replbench test", Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	// Two configurations, max then rate.
	if got := len(rep.Produce); got != 4 {
		t.Fatalf("%d produce runs, want 4: %+v", got, rep.Produce)
	}
	for _, r := range rep.Produce {
		if r.Records <= 0 || r.RecordsPerSec <= 0 || r.P50 <= 0 || r.P99 < r.P50 || r.Errors != 0 || len(r.CPU.Brokers) != Size {
			t.Errorf("run %+v", r)
		}
	}
	if rs := rep.Ratios(); len(rs) != 1 || rs[0].Median <= 0 {
		t.Errorf("ratios %+v", rs)
	}
	if len(rep.Failover) != 2 || rep.Failover[0].Controller || !rep.Failover[1].Controller {
		t.Fatalf("%d failover rounds: %+v", len(rep.Failover), rep.Failover)
	}
	for _, f := range rep.Failover {
		if f.AckMs <= 0 || f.MetadataMs <= 0 || f.NewLeader == f.Killed || f.NewLeader < 1 || f.RejoinMs <= 0 {
			t.Errorf("failover %+v", f)
		}
		if f.Controller && f.ControllerMs <= 0 {
			t.Errorf("controller failover without a new controller: %+v", f)
		}
	}
	var md strings.Builder
	if err := rep.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"`replbench test`", "broker.session.timeout.ms=1000", "RF 3 acks=all / RF 1 acks=1 =", "Failover, leader only: min"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("markdown lacks %q:\n%s", want, md.String())
		}
	}
}

// TestSummaries checks the ratio and failover summaries on a report made
// by hand.
func TestSummaries(t *testing.T) {
	rep := &Report{Config: Config{Sizes: []int{100}, Rounds: 3}}
	for round, pair := range [][2]float64{{1000, 500}, {1000, 300}, {800, 400}} {
		rep.Produce = append(rep.Produce,
			ProduceRun{Config: "rf1-acks1", Size: 100, Mode: ModeMax, Round: round + 1, RecordsPerSec: pair[0]},
			ProduceRun{Config: "rf1-acksall", Size: 100, Mode: ModeMax, Round: round + 1, RecordsPerSec: 1},
			ProduceRun{Config: "rf3-acksall", Size: 100, Mode: ModeMax, Round: round + 1, RecordsPerSec: pair[1]},
			ProduceRun{Config: "rf3-acksall", Size: 100, Mode: ModeRate, Round: 1, RecordsPerSec: 7})
	}
	rs := rep.Ratios()
	if len(rs) != 1 {
		t.Fatalf("ratios %+v", rs)
	}
	if r := rs[0]; r.Rounds != 3 || r.Median != 0.5 || r.Worst != 0.3 || r.BaselinePS != 1000 || r.TargPS != 400 {
		t.Errorf("ratio %+v", r)
	}
	rep.Failover = []FailoverRound{{AckMs: 900}, {AckMs: 1200}, {AckMs: 1000}, {Controller: true, AckMs: 2300}}
	fs := rep.FailoverSummary()
	if len(fs) != 2 || fs[0] != (FailoverStats{Rounds: 3, Min: 900, Median: 1000, Max: 1200}) ||
		fs[1] != (FailoverStats{Controller: true, Rounds: 1, Min: 2300, Median: 2300, Max: 2300}) {
		t.Errorf("failover summary %+v", fs)
	}
}

// TestKeepTop checks that the pprof lines naming the binary and the
// moment are dropped and the rest kept verbatim.
func TestKeepTop(t *testing.T) {
	in := "File: sluiced\nBuild ID: abc\nType: cpu\nTime: 2026-12-06 07:45:16 UTC\nDuration: 1s, Total samples = 2s\n      flat  flat%\n"
	if got, want := keepTop(in), "Type: cpu\nDuration: 1s, Total samples = 2s\n      flat  flat%"; got != want {
		t.Errorf("keepTop = %q, want %q", got, want)
	}
}
