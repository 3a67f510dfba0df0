package enginebench_test

import (
	"bytes"
	"encoding/json"
	"github.com/sluicelog/sluice/bench/units"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicelog/sluice/bench/enginebench"
	"github.com/sluicelog/sluice/segment/batch"
)

// checkReport checks what every report must satisfy: both sides wrote the
// same bytes, which the plain file and the engine log hold, and every
// figure is positive.
func checkReport(t *testing.T, rep *enginebench.Report, rounds, engineRuns int) {
	t.Helper()
	if rep.Bytes < rep.RequestedBytes || rep.Batches < 1 || rep.Records < rep.Batches {
		t.Errorf("workload: %d bytes (asked %d), %d batches, %d records", rep.Bytes, rep.RequestedBytes, rep.Batches, rep.Records)
	}
	plain := rep.Plain()
	if len(plain) != rounds {
		t.Fatalf("%d plain runs, want %d: %+v", len(plain), rounds, rep.Runs)
	}
	runs := rep.Engine()
	if len(runs) != rounds*engineRuns {
		t.Fatalf("%d engine runs, want %d", len(runs), rounds*engineRuns)
	}
	if len(rep.Summary) != 1+engineRuns {
		t.Errorf("summary has %d lines, want %d", len(rep.Summary), 1+engineRuns)
	}
	for _, s := range rep.Summary {
		if s.SyncMBps <= 0 || (s.Kind == "engine") != (s.RatioSync > 0 && s.MinRatioSync > 0 && s.MinRatioSync <= s.RatioSync) {
			t.Errorf("summary line %+v", s)
		}
	}
	for _, r := range append(plain, runs...) {
		if r.Bytes != rep.Bytes || r.StoredBytes != rep.Bytes || r.Records != rep.Records || r.Batches != rep.Batches {
			t.Errorf("%s: wrote %d bytes (stored %d), %d records, %d batches; report says %d, %d, %d",
				r.Name, r.Bytes, r.StoredBytes, r.Records, r.Batches, rep.Bytes, rep.Records, rep.Batches)
		}
		if r.SyncSeconds <= 0 || r.WriteSeconds <= 0 || r.WriteSeconds > r.SyncSeconds || r.SyncMBps <= 0 || r.RecordsPerSec <= 0 {
			t.Errorf("%s: implausible timings %+v", r.Name, r)
		}
	}
	for _, r := range runs {
		if r.RatioSync <= 0 || r.RatioWrite <= 0 {
			t.Errorf("%s: ratios %v, %v", r.Name, r.RatioSync, r.RatioWrite)
		}
	}
	m := rep.Machine
	if m.Cores < 1 || m.GoVersion == "" || m.CPU == "" || m.Kernel == "" || m.FileSystem == "" || m.Date == "" {
		t.Errorf("machine facts missing: %+v", m)
	}
	if b := rep.Builder; b.Batches < 1 || b.MBps <= 0 || b.RecordsPerSec <= 0 {
		t.Errorf("builder: %+v", b)
	}

	var text bytes.Buffer
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"machine:", "plain write", "engine append", "segments", "target:"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, text.String())
		}
	}
	var js bytes.Buffer
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back enginebench.Report
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if back.Bytes != rep.Bytes || len(back.Runs) != len(rep.Runs) || back.Runs[len(back.Runs)-1].RatioSync != runs[len(runs)-1].RatioSync {
		t.Errorf("JSON round trip lost data:\n%s", js.String())
	}
	t.Logf("\n%s", text.String())
}

func TestRunTiny(t *testing.T) {
	rep, err := enginebench.Run(enginebench.Config{
		Dir:       t.TempDir(),
		Bytes:     4 << 20,
		RingBytes: 1 << 20,
	})
	if err != nil {
		t.Fatal(err)
	}
	checkReport(t, rep, 1, 1)
	// Whole batches: no more than one batch past the volume asked for.
	if rep.Bytes-int64(rep.AvgBatchBytes) >= rep.RequestedBytes || rep.AvgBatchBytes > 64<<10 || rep.AvgBatchBytes < 60<<10 {
		t.Errorf("%d batches of avg %.0f bytes for %d asked", rep.Batches, rep.AvgBatchBytes, rep.RequestedBytes)
	}
}

func TestRunTinyCompressed(t *testing.T) {
	rep, err := enginebench.Run(enginebench.Config{
		Dir:         t.TempDir(),
		Bytes:       2 << 20,
		RingBytes:   512 << 10,
		RecordBytes: 100,
		BatchBytes:  16 << 10,
		Codec:       batch.Zstd,
	})
	if err != nil {
		t.Fatal(err)
	}
	checkReport(t, rep, 1, 1)
	if rep.Builder.Bytes >= rep.Builder.UncompressedBytes {
		t.Errorf("zstd did not compress: %+v", rep.Builder)
	}
}

func TestRunTinyDurable(t *testing.T) {
	rep, err := enginebench.Run(enginebench.Config{
		Dir:       t.TempDir(),
		Bytes:     1 << 20,
		RingBytes: 256 << 10,
		Durable:   true,
		Producers: []int{1, 3},
	})
	if err != nil {
		t.Fatal(err)
	}
	checkReport(t, rep, 1, 2)
}

func TestRunRounds(t *testing.T) {
	rep, err := enginebench.Run(enginebench.Config{
		Dir:       t.TempDir(),
		Bytes:     2 << 20,
		RingBytes: 512 << 10,
		Rounds:    3,
	})
	if err != nil {
		t.Fatal(err)
	}
	checkReport(t, rep, 3, 1)
	for i, r := range rep.Runs {
		if want := i/2 + 1; r.Round != want {
			t.Errorf("run %d (%s) is in round %d, want %d", i, r.Name, r.Round, want)
		}
	}
}

// syncBuffer is a bytes.Buffer that the stall watch may write while the
// test does not yet read.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func TestStallDump(t *testing.T) {
	var out syncBuffer
	rep, err := enginebench.Run(enginebench.Config{
		Dir:            t.TempDir(),
		Bytes:          1 << 20,
		RingBytes:      256 << 10,
		Durable:        true, // every append waits for fdatasync: some are caught in flight
		Producers:      []int{2},
		StallThreshold: time.Microsecond,
		StallWriter:    &out,
	})
	if err != nil {
		t.Fatal(err)
	}
	checkReport(t, rep, 1, 1)
	out.mu.Lock()
	defer out.mu.Unlock()
	got := out.b.String()
	if got == "" {
		t.Skip("no append was caught in flight") // timing: not a failure
	}
	if !strings.HasPrefix(got, "stall: producer ") || !strings.Contains(got, "engine.(*Partition).Append") {
		t.Errorf("stall dump:\n%s", got)
	}
	if n := strings.Count(got, "stall: "); n > 5 {
		t.Errorf("%d stall dumps, want at most 5", n)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []enginebench.Config{
		{Dir: t.TempDir(), RecordBytes: 1 << 20, BatchBytes: 64 << 10},
		{Dir: t.TempDir(), Codec: batch.Codec(7)},
		{Dir: t.TempDir(), Durable: true, Producers: []int{0}},
		{Dir: t.TempDir(), Bytes: -1},
		{Dir: t.TempDir(), Rounds: -1},
	} {
		if _, err := enginebench.Run(c); err == nil {
			t.Errorf("Run(%+v) succeeded", c)
		}
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{
		"2GiB": 2 << 30, "512MiB": 512 << 20, "64KiB": 64 << 10, "64k": 64 << 10, "1G": 1 << 30,
		"10MB": 10e6, "4096": 4096, "1.5GiB": 3 << 29, " 8 MiB ": 8 << 20, "100B": 100,
	} {
		got, err := units.ParseSize(in)
		if err != nil || got != want {
			t.Errorf("units.ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "GiB", "-1", "x", "1.2.3MiB", "99999999999TiB"} {
		if got, err := units.ParseSize(in); err == nil {
			t.Errorf("units.ParseSize(%q) = %d, want an error", in, got)
		}
	}
	for n, want := range map[int64]string{2 << 30: "2 GiB", 65203: "63.67 KiB", 100: "100 B", 3 << 29: "1536 MiB", 3 << 30 / 7 * 2: "877.71 MiB"} {
		if got := units.FormatSize(n); got != want {
			t.Errorf("units.FormatSize(%d) = %q, want %q", n, got, want)
		}
	}
}
