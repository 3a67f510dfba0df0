package latbench

import (
	"strings"
	"testing"
	"time"

	"github.com/sluicelog/sluice/bench/perf"
)

func TestLimitsMeasureTheDisk(t *testing.T) {
	dir := t.TempDir()
	mbs, err := chunkLimit(dir, 64<<10, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if mbs <= 0 {
		t.Fatalf("chunk limit %v MB/s", mbs)
	}
	p50, p99, err := syncLatency(dir, 1024, 20, 0)
	if err != nil {
		t.Fatal(err)
	}
	if p50 <= 0 || p99 < p50 {
		t.Fatalf("sync latency p50 %v p99 %v", p50, p99)
	}
	if _, err := chunkLimit(dir+"/missing", 1024, 1024); err == nil {
		t.Fatal("a chunk limit in a missing directory succeeded")
	}
}

func TestCommandShowsWhatRan(t *testing.T) {
	cfg := perf.Config{Workload: perf.E2E, Topic: "T", Acks: "1", RecordSize: 100, Linger: -1, BatchSize: 16384,
		Partitions: 1, Compression: "none", Throughput: 100000, Duration: 8 * time.Second, FetchBytes: 1 << 20,
		TopicConfigs: map[string]string{"flush.on.ack": "true", "segment.bytes": "1048576"}}
	got := cfg.CommandLine()
	want := "sluice bench e2e --bootstrap-server=ADDR --topic=T --record-size=100 --duration=8s --partitions=1 --acks=1 " +
		"--compression=none --linger=0 --batch-size=16384 --throughput=100000 " +
		"--topic-config=flush.on.ack=true --topic-config=segment.bytes=1048576 --fetch-bytes=1048576"
	if got != want {
		t.Fatalf("command\n got %s\nwant %s", got, want)
	}
}

func result(mbs, p50, p99, p999 float64) *perf.Result {
	return &perf.Result{MBPerSec: mbs, RecordsPerSec: mbs * 1e4, Latency: perf.Latency{P50: p50, P99: p99, P999: p999, Max: p999},
		Command: "sluice bench produce"}
}

// The verdicts follow the medians: one round far off does not decide.
func TestReportVerdictsUseMedians(t *testing.T) {
	round := func(durable float64, e2eP99 float64) Round {
		return Round{ChunkLimit: 200, SyncP50: 0.2, SyncP99: 0.4,
			Durable:    []*perf.Result{result(durable, 1, 2, 3), result(durable, 1, 2, 3), result(durable, 1, 2, 3)},
			PlainLow:   result(1, 0.2, 0.3, 0.4),
			DurableLow: result(1, 0.45, 0.6, 0.7),
			Produce:    result(10, 0.1, 0.4, 0.9),
			E2E:        result(10, 0.3, e2eP99, 1.5),
			Peak:       result(300, 50, 60, 70),
			E2EHalf:    result(150, 1, 2.5, 4)}
	}
	rep := &Report{Command: "latbench", Rounds: []Round{round(180, 0.8), round(20, 9), round(170, 0.9)}}
	var b strings.Builder
	if err := rep.WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"Target: at least 0.8 of the limit with 1, 4 and 16 producers: **met**",
		"what durability adds, **met** (1.25x)",
		"the whole send-to-ack, which also holds the loopback round trip that acks=1 pays, **not met** (2.25x)",
		"Targets: e2e p99 under 1 ms **met**, p99.9 under 2 ms **met**; produce-to-ack p99 under 0.5 ms **met**",
		"Target: p99 under 3 ms: **met**",
		"| 2 | 200.0 | 20.0 | 0.10 |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}
