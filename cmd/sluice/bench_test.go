package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/sluicelog/sluice/net/broker"
)

// benchResult is the part of `sluice bench --json` the test reads.
type benchResult struct {
	System   string `json:"system"`
	Workload string `json:"workload"`
	Command  string `json:"command"`
	Records  int64  `json:"records"`
	Latency  struct {
		Count int64   `json:"count"`
		P50   float64 `json:"p50_ms"`
		P99   float64 `json:"p99_ms"`
		P999  float64 `json:"p99_9_ms"`
		Max   float64 `json:"max_ms"`
	} `json:"latency"`
	Machine struct {
		Cores int `json:"cores"`
	} `json:"machine"`
}

func runBench(t *testing.T, bin string, args ...string) benchResult {
	t.Helper()
	out, errOut, code := cli(t, bin, "", args...)
	if code != 0 {
		t.Fatalf("sluice %s: exit %d\n%s\n%s", strings.Join(args, " "), code, out, errOut)
	}
	var r benchResult
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("sluice %s: --json output: %v\n%s", strings.Join(args, " "), err, out)
	}
	l := r.Latency
	if l.Count == 0 || l.P50 <= 0 || l.P50 > l.P99 || l.P99 > l.P999 || l.P999 > l.Max || r.Machine.Cores == 0 {
		t.Errorf("sluice %s: result %+v", strings.Join(args, " "), r)
	}
	return r
}

func TestCLIBench(t *testing.T) {
	if testing.Short() {
		t.Skip("builds binaries")
	}
	bin, _ := binaries(t)
	b := broker.StartTest(t, nil)
	bs := "--bootstrap-server=" + b.Addr().String()

	r := runBench(t, bin, "bench", "produce", bs, "--num-records=5000", "--record-size=50", "--partitions=2", "--acks=1", "--linger=1ms", "--json")
	if r.Records != 5000 || r.Workload != "produce" || !strings.Contains(r.Command, "--num-records=5000") {
		t.Errorf("produce: %+v", r)
	}
	if r = runBench(t, bin, "bench", "consume", bs, "--json"); r.Records != 5000 {
		t.Errorf("consume: %+v", r)
	}
	if r = runBench(t, bin, "bench", "e2e", bs, "--topic=e2e", "--num-records=2000", "--compression=zstd", "--json"); r.Records != 2000 {
		t.Errorf("e2e: %+v", r)
	}
	if r = runBench(t, bin, "bench", "engine", "--data-dir="+t.TempDir(), "--num-records=10000", "--batch-size=4KiB", "--json"); r.Records != 10000 || r.System != "sluice-engine" {
		t.Errorf("engine: %+v", r)
	}

	// The text summary and the progress lines.
	out, errOut, code := cli(t, bin, "", "bench", "produce", bs, "--num-records=1000", "--interval=1ms")
	if code != 0 || !strings.Contains(out, "p99.9") || !strings.Contains(out, "records/s") {
		t.Errorf("text summary: exit %d\n%s\n%s", code, out, errOut)
	}
	// Every explicit --linger is what runs, 0 (none) included, and the
	// config line says so.
	for flag, want := range map[string]string{"--linger=0": "linger 0s,", "--linger=3ms": "linger 3ms,", "": "linger 5ms,"} {
		args := []string{"bench", "e2e", bs, "--topic=linger", "--num-records=200"}
		if flag != "" {
			args = append(args, flag)
		}
		out, errOut, code := cli(t, bin, "", args...)
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("bench e2e %s: exit %d, config line without %q:\n%s\n%s", flag, code, want, out, errOut)
		}
	}
	if _, errOut, code := cli(t, bin, "", "bench", "produce", bs, "--acks=2"); code == 0 || !strings.Contains(errOut, "acks") {
		t.Errorf("bad --acks: exit %d, %s", code, errOut)
	}
}
