package partbench

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSmoke runs the harness's smoke sweep, at smaller sizes still (a
// clean shutdown costs about 13 ms a partition today), against a sluiced
// built from the module: every figure of every point must be there, the
// produced records must all come back, and the report must show them.
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("builds sluiced and creates 200 partitions")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	sizes := []int{40, 160}
	rep, err := Run(ctx, SmokeConfig(Config{Dir: t.TempDir(), Sizes: sizes, TopicPartitions: 20, Command: "partbench test", Logf: t.Logf}))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Stopped != "" || len(rep.Points) != len(sizes) {
		t.Fatalf("stopped %q after %d points", rep.Stopped, len(rep.Points))
	}
	for _, pt := range rep.Points {
		if pt.Failed() {
			t.Fatalf("N=%d: %s", pt.N, pt.Failure())
		}
		if pt.Created != pt.N || pt.CreateRate() <= 0 || pt.DiskUsed <= 0 || pt.DiskFree <= 0 {
			t.Errorf("N=%d: created %d at %.0f/s, du %d, free %d", pt.N, pt.Created, pt.CreateRate(), pt.DiskUsed, pt.DiskFree)
		}
		for name, s := range map[string]Snap{"empty": pt.Base, "create": pt.AfterCreate, "idle": pt.AfterIdle, "active": pt.Active} {
			if !s.Taken || s.FDs <= 0 || s.Maps <= 0 || s.RSS <= 0 {
				t.Errorf("N=%d %s: %+v", pt.N, name, s)
			}
		}
		// Every partition written to has a directory of its own at least.
		if pt.ActiveEntries < pt.ActivePartitions || pt.DiskActive <= 0 {
			t.Errorf("N=%d: %d entries, %d bytes under the data directory with %d partitions active", pt.N, pt.ActiveEntries, pt.DiskActive, pt.ActivePartitions)
		}
		if pt.MetaOne.Partitions != 20 || pt.MetaAll.Partitions != pt.N || pt.MetaAll.MedianUs <= 0 {
			t.Errorf("N=%d: Metadata one %+v, all %+v", pt.N, pt.MetaOne, pt.MetaAll)
		}
		want := 3 * pt.ActivePartitions // SmokeConfig's rounds
		for name, f := range map[string]Flow{"produce across": pt.ProduceMany, "produce one": pt.ProduceOne,
			"fetch across": pt.FetchMany, "fetch one": pt.FetchOne, "write(2) across": pt.Files.WriteAcross, "write(2) to one": pt.Files.WriteOne,
			"pread(2) across": pt.Files.ReadAcross, "pread(2) from one": pt.Files.ReadOne} {
			if f.Batches != want || f.Bytes <= 0 || f.MBps() <= 0 {
				t.Errorf("N=%d %s: %+v, want %d batches", pt.N, name, f, want)
			}
		}
		if f := pt.Files; f.WriteAcross.Bytes != pt.ProduceMany.Bytes || f.WriteOne.Bytes != pt.ProduceMany.Bytes || f.ReadAcross.Bytes != pt.ProduceMany.Bytes || f.ReadOne.Bytes != pt.ProduceMany.Bytes {
			t.Errorf("N=%d: the file limits moved %d, %d, %d and %d bytes, the produce %d", pt.N, f.WriteAcross.Bytes, f.WriteOne.Bytes, f.ReadAcross.Bytes, f.ReadOne.Bytes, pt.ProduceMany.Bytes)
		}
		if pt.ProduceMany.Bytes != pt.FetchOne.Bytes {
			t.Errorf("N=%d: produced %d bytes, fetched %d from one partition", pt.N, pt.ProduceMany.Bytes, pt.FetchOne.Bytes)
		}
		for name, r := range map[string]Restart{"clean": pt.Clean, "kill -9": pt.Killed} {
			if !r.Done || r.Started <= 0 || r.Serves < r.Started || r.EngineTook < 0 {
				t.Errorf("N=%d %s restart: %+v", pt.N, name, r)
			}
		}
	}
	var b strings.Builder
	if err := rep.WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"**Smoke run", "| 160 | 160 |", "### Start-up", "### Targets (issue 19)", "On the point N=160"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	// The harness removed its data.
	if left, _ := filepath.Glob(filepath.Join(rep.DataDir, "partbench-*")); len(left) > 0 {
		t.Errorf("left behind: %v", left)
	}
}

// A sweep whose first point would not leave the reserve free stops before
// it starts a broker, and says why.
func TestSweepStopsBeforeTheDiskFills(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "sluiced")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	rep, err := Run(context.Background(), Config{Sluiced: bin, Dir: t.TempDir(), Sizes: []int{1000}, Reserve: 1 << 60, IdleProperty: "none"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Points) != 0 || !strings.Contains(rep.Stopped, "before N=1000") || !strings.Contains(rep.Stopped, "kept free") {
		t.Fatalf("points %d, stopped %q", len(rep.Points), rep.Stopped)
	}
	var b strings.Builder
	if err := rep.WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	if out := b.String(); !strings.Contains(out, "The sweep stopped before N=1000") || !strings.Contains(out, "no target can be judged") {
		t.Errorf("report:\n%s", out)
	}
}

// A broker that will not start ends the point with its output, not the
// run: the failure is a finding.
func TestBrokerThatFailsIsAFinding(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "sluiced")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\necho 'cannot open: too many open files' >&2\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	rep, err := Run(context.Background(), Config{Sluiced: bin, Dir: t.TempDir(), Sizes: []int{10, 20}, IdleProperty: "none"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Points) != 1 || !rep.Points[0].Failed() || !strings.Contains(rep.Stopped, "too many open files") {
		t.Fatalf("points %d, stopped %q", len(rep.Points), rep.Stopped)
	}
	var b strings.Builder
	if err := rep.WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	if out := b.String(); !strings.Contains(out, "The sweep stopped at N=10, after the figures above") || !strings.Contains(out, "too many open files") {
		t.Errorf("report:\n%s", out)
	}
}

// A refused create is reported with what the point measured before it,
// and the verdicts come from the points measured to the end.
func TestReportOfARefusedCreate(t *testing.T) {
	snap := func(fds int) Snap { return Snap{Taken: true, FDs: fds, Maps: 2 * fds, RSS: 30 << 20} }
	done := &Point{N: 1000, Topics: 1, Created: 1000, CreateSeconds: 0.5, Base: snap(20), AfterCreate: snap(1020), AfterIdle: snap(1020), Active: snap(1022),
		DiskUsed: 137 << 20, ActivePartitions: 1000,
		ProduceMany: Flow{Requests: 20, Batches: 20000, Bytes: 4e6, Seconds: 1}, ProduceOne: Flow{Requests: 20, Batches: 20000, Bytes: 4e6, Seconds: 0.5},
		FetchMany: Flow{Requests: 20, Batches: 20000, Bytes: 4e6, Seconds: 3}, FetchOne: Flow{Requests: 20, Batches: 20000, Bytes: 4e6, Seconds: 1},
		Clean: Restart{Done: true, Started: 0.3, Serves: 0.4, EngineTook: 0.2}, Killed: Restart{Done: true, Started: 2, Serves: 2.5, EngineTook: 1.9, Recovered: 1001}}
	done.AfterIdle.RSS += 3 << 20
	refused := &Point{N: 5000, Topics: 5, Created: 3000, CreateSeconds: 2, CreateErr: "topic partbench-00003 (1000 partitions): POLICY_VIOLATION: resource limit",
		Base: snap(20), AfterCreate: snap(3020)}
	rep := &Report{Command: "partbench", Config: Config{TopicPartitions: 1000, Active: 10000}, Points: []*Point{done, refused},
		Stopped: "at N=5000: " + refused.Failure()}
	var b strings.Builder
	if err := rep.WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"| 5000 | 3000 (refused) | 2.00 | 1500 | 3020 / - / - |",
		"| 1000 | 1000 | 0.50 | 2000 | 1020 / 1020 / 1022 |",
		"| 137.0 / 0.0 | 140 |",
		"The sweep stopped at N=5000, after the figures above",
		"creating topics failed after 3000 of 5000 partitions: topic partbench-00003",
		"On the point N=1000, the largest point measured to the end",
		"memory per idle partition under 4096 B: 3146 B, **met**",
		"produce 2.00x **met**, fetch 3.00x **not met**",
		"under 20 s after kill -9: 2.50 s, **met**",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}

func TestEngineLogLine(t *testing.T) {
	l := &engineLog{took: -1, recovered: -1}
	l.line(`time=2026-12-06T18:00:00Z level=INFO msg="engine opened" event=engine_opened dir=/d clean_shutdown=false topics=3 partitions=3000 partitions_recovered=1000 truncated_bytes=0 segments_deleted=0 took=1.25s`, time.Now())
	if !l.seen || l.took != 1.25 || l.recovered != 1000 {
		t.Fatalf("%+v", l)
	}
	l.line(`msg="broker started" took=9s`, time.Now())
	if l.took != 1.25 {
		t.Fatalf("another line changed took: %+v", l)
	}
}

func TestIdlePropertyName(t *testing.T) {
	for name, want := range map[string]bool{"log.segment.idle.ms": true, "segment.idle.close.ms": true, "log.idle.segment.ms": true,
		"connections.max.idle.ms": false, "log.segment.bytes": false, "log.segment.idle": false} {
		if got := idleNameRe.MatchString(name); got != want {
			t.Errorf("%s: %v", name, got)
		}
	}
}

// A create the broker refuses ends the point with the broker's answer and
// what was measured before it, stops the sweep, and leaves nothing behind.
func TestRefusedCreateIsAFinding(t *testing.T) {
	if testing.Short() {
		t.Skip("builds sluiced and starts it")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cfg := SmokeConfig(Config{Dir: t.TempDir(), Sizes: []int{20, 40}, TopicPartitions: 20, Logf: t.Logf,
		Overrides: []string{"max.partitions.per.topic=10"}})
	rep, err := Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Points) != 1 || !strings.HasPrefix(rep.Stopped, "at N=20: creating topics failed after 0 of 20 partitions") {
		t.Fatalf("%d points, stopped %q", len(rep.Points), rep.Stopped)
	}
	pt := rep.Points[0]
	if !strings.Contains(pt.CreateErr, "partbench-00000") || !pt.Base.Taken || !pt.AfterCreate.Taken || pt.AfterIdle.Taken {
		t.Fatalf("point %+v", pt)
	}
	if left, _ := filepath.Glob(filepath.Join(rep.DataDir, "partbench-*")); len(left) > 0 {
		t.Errorf("left behind: %v", left)
	}
}
