package cleanbench

import (
	"bytes"
	"context"
	"flag"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluicelog/sluice/bench/units"
	"github.com/sluicelog/sluice/segment/batch"
)

var brokerTest = flag.Bool("cleanbench.broker", false, "also run TestRunTinyBroker, which builds sluiced and starts it (about 15 s)")

func TestAppendKey(t *testing.T) {
	for _, c := range []struct {
		k    int64
		want string
	}{{0, "k00000000000"}, {42, "k00000000042"}, {12345678901, "k12345678901"}} {
		got := string(appendKey([]byte("x"), c.k))
		if got != "x"+c.want || len(got)-1 != KeyBytes {
			t.Errorf("appendKey(%d) = %q, want %q", c.k, got[1:], c.want)
		}
	}
}

func TestDistinctKeys(t *testing.T) {
	const seed, space, n = 7, 1000, 10_000
	ks := newKeyStream(seed, space)
	seen := map[int64]bool{}
	for range n {
		k := ks.next()
		if k < 0 || k >= space {
			t.Fatalf("key %d outside [0, %d)", k, space)
		}
		seen[k] = true
	}
	if got := distinctKeys(seed, space, n); got != int64(len(seen)) {
		t.Errorf("distinctKeys = %d, a map of the same draws has %d", got, len(seen))
	}
	if got := distinctKeys(seed, space, 0); got != 0 {
		t.Errorf("distinctKeys of no draws = %d", got)
	}
	// Ten draws per key leave about e^-10 of the keys undrawn.
	want := expectedDistinct(space, n)
	if math.Abs(want-space*(1-math.Exp(-10))) > 0.01 || math.Abs(float64(len(seen))-want) > 3 {
		t.Errorf("expectedDistinct = %.3f; drawn %d", want, len(seen))
	}
	if got := keySpace(8_802_862, 0.1); got != 880_286 {
		t.Errorf("keySpace = %d", got)
	}
	if got := keySpace(3, 0.1); got != 1 {
		t.Errorf("keySpace of 3 records = %d, want at least 1", got)
	}
}

func TestPlan(t *testing.T) {
	cfg := Config{Bytes: 1 << 20}
	if err := cfg.setDefaults(); err == nil {
		t.Fatal("1 MiB in 128 MiB segments: want an error (nothing cleanable)")
	}
	cfg = Config{Bytes: 1 << 20, SegmentBytes: 256 << 10}
	if err := cfg.setDefaults(); err != nil {
		t.Fatal(err)
	}
	w := newWorkload(cfg)
	// A batch is filled until the next record might not fit.
	b := batch.NewBuilder(batch.None)
	var i int64
	w.fill(b, 0, &i, func() int64 { return i }, nil)
	out, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	if len(out) > cfg.BatchBytes || len(out)+recordBound(cfg.ValueBytes) <= cfg.BatchBytes {
		t.Errorf("a batch of %d records is %d bytes: not filled to %d", b.Records(), len(out), cfg.BatchBytes)
	}
	batches := (cfg.Bytes + int64(len(out)) - 1) / int64(len(out))
	if w.planned != batches*int64(b.Records()) || w.space != keySpace(w.planned, 0.1) {
		t.Errorf("planned %d records, %d keys; want %d batches of %d", w.planned, w.space, batches, b.Records())
	}
}

func TestSeries(t *testing.T) {
	s := series{{0, 0}, {time.Second, 100}, {2 * time.Second, 100}, {4 * time.Second, 500}}
	for _, c := range []struct {
		t    time.Duration
		want float64
	}{{-time.Second, 0}, {0, 0}, {500 * time.Millisecond, 50}, {time.Second, 100}, {1500 * time.Millisecond, 100},
		{3 * time.Second, 300}, {4 * time.Second, 500}, {10 * time.Second, 500}} {
		if got := s.at(c.t); got != c.want {
			t.Errorf("at(%v) = %v, want %v", c.t, got, c.want)
		}
	}
	if got := s.rate(500*time.Millisecond, 3*time.Second); got != 100 {
		t.Errorf("rate = %v, want 250/2.5 s", got)
	}
	if got := s.rate(time.Second, time.Second); got != 0 {
		t.Errorf("rate over nothing = %v", got)
	}
	if got := (series{}).at(time.Second); got != 0 {
		t.Errorf("empty series at 1s = %v", got)
	}
}

func TestParseCleaned(t *testing.T) {
	line := `time=2026-12-06T11:35:50.123Z level=INFO msg="log cleaned" topic=cleanbench-r1 partition=0 event=log_cleaned ` +
		`first_dirty=0 end=8802192 dirty_ratio=1 segments=8 bytes_read=2147340720 bytes_written=109166057 records_kept=880252 ` +
		`records_removed=7921940 took=14.4s`
	c, ok := parseCleaned(line, "cleanbench-r1")
	if !ok {
		t.Fatal("not parsed")
	}
	want := BrokerClean{End: 8802192, Groups: 8, BytesRead: 2147340720, BytesWritten: 109166057, RecordsKept: 880252,
		RecordsRemoved: 7921940, Seconds: 14.4, LogMBps: 1073.67036 / 14.4}
	if math.Abs(c.LogMBps-want.LogMBps) > 1e-9 {
		t.Errorf("LogMBps %v, want %v", c.LogMBps, want.LogMBps)
	}
	c.LogMBps = want.LogMBps
	if c != want {
		t.Errorf("parsed %+v\nwant   %+v", c, want)
	}
	for _, other := range []string{
		strings.Replace(line, "cleanbench-r1", "cleanbench-r2", 1),
		strings.Replace(line, "partition=0", "partition=1", 1),
		strings.Replace(line, `msg="log cleaned"`, `msg="retention deleted segments"`, 1),
		strings.Replace(line, "took=14.4s", "took=soon", 1),
	} {
		if _, ok := parseCleaned(other, "cleanbench-r1"); ok {
			t.Errorf("parsed %q", other)
		}
	}
	a := logAttrs(`msg="a \"quoted\" one" k=v  empty= bare tail=x`)
	if a["msg"] != `a "quoted" one` || a["k"] != "v" || a["empty"] != "" || a["tail"] != "x" || len(a) != 4 {
		t.Errorf("logAttrs = %q", a)
	}
}

func TestOrdersAndSpreads(t *testing.T) {
	if !slices.Equal(cleanOrder(1), []string{SidePlain, SideClean}) || !slices.Equal(cleanOrder(2), []string{SideClean, SidePlain}) {
		t.Errorf("cleanOrder: %v, %v", cleanOrder(1), cleanOrder(2))
	}
	if !slices.Equal(produceOrder(3), []string{Idle, Cleaning}) || !slices.Equal(produceOrder(4), []string{Cleaning, Idle}) {
		t.Errorf("produceOrder: %v, %v", produceOrder(3), produceOrder(4))
	}
	if s := units.SpreadOf([]float64{3, 1, 2, 10}); s != (units.Spread{Median: 2.5, Min: 1, Max: 10}) {
		t.Errorf("spreadOf = %+v", s)
	}
	if s := units.SpreadOf(nil); s != (units.Spread{}) || units.Ratio(1, 0) != 0 || mbps(1e6, 0) != 0 || mbps(3e6, 2) != 1.5 {
		t.Errorf("zero cases: %+v %v %v", s, units.Ratio(1, 0), mbps(1e6, 0))
	}
}

func TestTrimTop(t *testing.T) {
	out := "File: cleanbench\nBuild ID: x\nType: cpu\nTime: now\nDuration: 9s, Total samples = 8s (88%)\n" +
		"Showing nodes accounting for 8s, 100% of 8s total\n      flat  flat%\n"
	got, err := trimTop(out)
	if err != nil || !strings.HasPrefix(got, "Duration: 9s") || strings.Contains(got, "Build ID") || strings.HasSuffix(got, "\n") {
		t.Errorf("trimTop = %q, %v", got, err)
	}
	if _, err := trimTop("go: no such tool\n"); err == nil {
		t.Error("trimTop of no table: no error")
	}
}

func TestWriteMarkdown(t *testing.T) {
	rep := &Report{Command: "cleanbench test", Config: Config{ValueBytes: 100, BatchBytes: 16 << 10, SegmentBytes: 128 << 20, ChunkBytes: 1 << 20,
		Duration: 10 * time.Second, Lead: time.Second},
		Partition:    Written{Records: 1000, KeySpace: 100, Segments: 3, CleanableSegments: 2, CleanableBytes: 200e6, CleanableRecords: 900},
		DistinctKeys: 99,
		Cleans: []CleanRound{
			{Index: 1, Order: cleanOrder(1), Plain: ReadResult{MBps: 1000}, Clean: CleanResult{LogMBps: 100, RecordsKept: 99}, Ratio: 0.1},
			{Index: 2, Order: cleanOrder(2), Plain: ReadResult{MBps: 2000}, Clean: CleanResult{LogMBps: 300}, Ratio: 0.15},
		},
		Broker: &BrokerPart{Build: "sluiced", Command: "sluiced --config x", BigTopicConfigs: map[string]string{"b": "2", "a": "1"},
			Rounds: []ProduceRound{{Index: 1, Order: produceOrder(1), Ratio: 0.9, Phases: []ProducePhase{
				{Mode: Idle, MBps: 200}, {Mode: Cleaning, MBps: 180, Clean: &BrokerClean{LogMBps: 50}}}}}},
		Problems: []string{"round 1: kept\ntoo few"},
	}
	var b bytes.Buffer
	if err := rep.WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## Log compaction", "`cleanbench test`",
		"**Cleaning: 200.0 MB/s of log cleaned, against 1500.0 MB/s for a plain read of the same segments: clean/plain = 0.125**",
		"with/without = 0.900**", "| 2 | clean, plain read | 2000.0 (0.00) | **300.0** |", "`a=1, b=2`",
		"| 1 | idle, cleaning | 0.0 | 200.0 (0.0, 0.00) | **180.0** (0.0, 0.00) | **0.900** | 50.0, 0 / 0, 0.00 s |",
		"**1 check(s) failed:**", "- round 1: kept too few"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("markdown lacks %q:\n%s", want, b.String())
		}
	}
	b.Reset()
	if err := rep.WriteJSON(&b); err != nil || !strings.Contains(b.String(), `"produce_ratio"`) {
		t.Errorf("JSON: %v\n%s", err, b.String())
	}
}

// tinyRun runs the harness at a tiny size with the page cache left alone.
func tinyRun(t *testing.T, produceRounds int) *Report {
	t.Helper()
	old := settleCache
	settleCache = func() bool { return false }
	defer func() { settleCache = old }()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	rep, err := Run(ctx, Config{Dir: t.TempDir(), Bytes: 2 << 20, SegmentBytes: 512 << 10, Rounds: 2, ProduceRounds: produceRounds,
		Duration: 300 * time.Millisecond, Lead: 100 * time.Millisecond, Profile: true, Command: "cleanbench test", Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Problems) > 0 {
		t.Fatalf("problems: %q", rep.Problems)
	}
	if len(rep.Cleans) != 2 || rep.Partition.CleanableSegments < 3 || rep.DistinctKeys <= 0 || rep.Profile == nil {
		t.Fatalf("%d rounds, partition %+v, %d keys, profile %v", len(rep.Cleans), rep.Partition, rep.DistinctKeys, rep.Profile)
	}
	for _, r := range rep.Cleans {
		if r.Plain.MBps <= 0 || r.Clean.LogMBps <= 0 || r.Clean.Groups != rep.Partition.CleanableSegments {
			t.Errorf("round %+v", r)
		}
	}
	return rep
}

// TestRunTiny runs the in-process part at a tiny size: it checks the
// counts and the checks, not the timings.
func TestRunTiny(t *testing.T) {
	if testing.Short() {
		t.Skip("writes and cleans a partition twice")
	}
	tinyRun(t, -1)
}

// TestRunTinyBroker runs the whole harness at a tiny size, the broker
// too (with -cleanbench.broker).
func TestRunTinyBroker(t *testing.T) {
	if !*brokerTest || testing.Short() {
		t.Skip("builds sluiced and starts it: go test -run TestRunTinyBroker -cleanbench.broker")
	}
	rep := tinyRun(t, 2)
	if rep.Broker == nil || len(rep.Broker.Rounds) != 2 || rep.Broker.ExitCode != 0 {
		t.Fatalf("broker %+v", rep.Broker)
	}
	for _, r := range rep.Broker.Rounds {
		cl := r.phase(Cleaning)
		if cl.Clean == nil || cl.MBps <= 0 || r.phase(Idle).MBps <= 0 || r.Load.Records != rep.Partition.Records {
			t.Errorf("round %+v", r)
		}
	}
}
