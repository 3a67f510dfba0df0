package netbench

import (
	"bytes"
	"context"
	"encoding/json"
	"github.com/sluicelog/sluice/bench/units"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestMain lets the test binary serve as the -sink and -source helpers,
// which Run starts by re-executing its own binary.
func TestMain(m *testing.M) {
	if code, ok := HelperMain(os.Args[1:]); ok {
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// TestRunTiny runs the whole harness at a tiny size: it builds and starts
// sluiced, produces, consumes, measures both limits and stops the broker.
func TestRunTiny(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs sluiced")
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const n = 20000
	// Socket buffers set, as make bench's tuned run sets them: the broker
	// and every consume-side helper take them.
	rep, err := Run(ctx, Config{Records: n, Dir: dir, Runs: 2, LatencyDuration: 300 * time.Millisecond, Logf: t.Logf, Command: "netbench test",
		ReceiveBuffer: 1 << 20, SendBuffer: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	// Free ports only: the properties file's fixed ones may be taken.
	if !strings.Contains(rep.Broker.Command, "--listen 127.0.0.1:0 --kafka-listen 127.0.0.1:0") {
		t.Errorf("broker command %q: want both listeners on free ports", rep.Broker.Command)
	}
	if !strings.Contains(rep.Broker.Command, "--override socket.send.buffer.bytes=1048576") ||
		!strings.Contains(rep.ConsumeLimit.Command, "-send-buffer 1048576") || !strings.Contains(rep.SendfileLimit.Command, "-send-buffer 1048576") ||
		rep.Workload.ReceiveBuffer != 1<<20 || !strings.Contains(rep.FullCommand, "-receive-buffer '1 MiB' -send-buffer '1 MiB'") {
		t.Errorf("socket buffers not passed on: broker %q, limits %q and %q, workload %+v, full command %q",
			rep.Broker.Command, rep.ConsumeLimit.Command, rep.SendfileLimit.Command, rep.Workload, rep.FullCommand)
	}
	var text bytes.Buffer
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	t.Logf("report:\n%s", text.String())
	if len(rep.Problems) != 0 {
		t.Errorf("problems: %q", rep.Problems)
	}

	p := rep.Produce
	if p.Records != n || p.Acked != n || p.Failed != 0 {
		t.Errorf("produce: records %d acked %d failed %d, want %d acked", p.Records, p.Acked, p.Failed, n)
	}
	if p.PayloadBytes != n*DefaultRecordSize {
		t.Errorf("payload bytes %d, want %d", p.PayloadBytes, n*DefaultRecordSize)
	}
	if p.Batches <= 0 || p.StoredBytes < p.PayloadBytes || p.WireBytes <= p.StoredBytes {
		t.Errorf("produce: %d batches, %d stored bytes, %d wire bytes for %d payload bytes", p.Batches, p.StoredBytes, p.WireBytes, p.PayloadBytes)
	}
	if tcpCountersSupported && (p.WireBytesFrom != "tcp_info" || p.WireBytes != p.ComputedWireBytes) {
		t.Errorf("produce wire bytes %d from %s, computed %d", p.WireBytes, p.WireBytesFrom, p.ComputedWireBytes)
	}
	for _, c := range []ConsumeResult{rep.Consume, rep.Recycled, rep.Borrowed, rep.Batches, rep.BatchesNoCRC, rep.RawFetch} {
		if c.Records != n || c.Mismatches != 0 || c.PayloadBytes != p.PayloadBytes {
			t.Errorf("%s: %d records, %d mismatches, %d payload bytes; want %d records", c.Name, c.Records, c.Mismatches, c.PayloadBytes, n)
		}
		if c.WireBytes <= p.StoredBytes || c.Seconds <= 0 || c.WireMBps <= 0 {
			t.Errorf("%s: %d wire bytes (log %d), %.3fs, %.1f MB/s", c.Name, c.WireBytes, p.StoredBytes, c.Seconds, c.WireMBps)
		}
	}
	if lt := rep.Latency; lt.Records <= 0 || lt.Failed != 0 || !(lt.TargetRate > 0) ||
		!(0 < lt.P50Us && lt.P50Us <= lt.P99Us && lt.P99Us <= lt.P999Us && lt.P999Us <= lt.MaxUs) {
		t.Errorf("latency: %+v", lt)
	}
	if rep.RawFetch.RecordBytes != p.StoredBytes {
		t.Errorf("raw fetch record bytes %d, stored %d", rep.RawFetch.RecordBytes, p.StoredBytes)
	}
	// The consumer asks for the same records as the raw fetches; its
	// pipelined continuation fetches may add a few empty answers (tens of
	// bytes each) at the end of the log, never records twice.
	if extra := rep.Consume.WireBytes - rep.RawFetch.WireBytes; tcpCountersSupported && (extra < 0 || extra > 1024) {
		t.Errorf("consumer read %d wire bytes, raw fetch %d: the same fetches should be about the same bytes", rep.Consume.WireBytes, rep.RawFetch.WireBytes)
	}
	if l := rep.ProduceLimit; l.Bytes != p.WireBytes || l.ConfirmedBytes != l.Bytes || len(l.RunsMBps) != 2 {
		t.Errorf("produce limit: %d bytes, %d confirmed, runs %v; want %d", l.Bytes, l.ConfirmedBytes, l.RunsMBps, p.WireBytes)
	}
	// The limit moves the first round's consumer bytes; the median round
	// may differ by the empty answers above.
	if l := rep.ConsumeLimit; l.ConfirmedBytes != l.Bytes || len(l.RunsMBps) != 2 || (tcpCountersSupported && abs(l.Bytes-rep.Consume.WireBytes) > 1024) {
		t.Errorf("consume limit: %d bytes, %d confirmed, runs %v; want about %d bytes in 2 runs", l.Bytes, l.ConfirmedBytes, l.RunsMBps, rep.Consume.WireBytes)
	}
	if l := rep.SendfileLimit; l.ConfirmedBytes != rep.ConsumeLimit.Bytes || l.Bytes != l.ConfirmedBytes || len(l.RunsMBps) != 2 || !strings.Contains(l.Command, "-file") {
		t.Errorf("sendfile limit: %d bytes, %d confirmed, runs %v, command %q; want the consume limit's %d bytes", l.Bytes, l.ConfirmedBytes, l.RunsMBps, l.Command, rep.ConsumeLimit.Bytes)
	}
	if l := rep.CopyLimit; l.ConfirmedBytes != rep.ConsumeLimit.Bytes || l.Bytes != l.ConfirmedBytes || len(l.RunsMBps) != 2 || !strings.Contains(l.Command, "-copy") {
		t.Errorf("copy limit: %d bytes, %d confirmed, runs %v, command %q; want the consume limit's %d bytes", l.Bytes, l.ConfirmedBytes, l.RunsMBps, l.Command, rep.ConsumeLimit.Bytes)
	}
	for name, c := range map[string]struct {
		median float64
		runs   []float64
	}{"sendfile": {rep.SendfileCeiling, rep.SendfileCeilingRuns}, "copy": {rep.CopyCeiling, rep.CopyCeilingRuns}} {
		if !(c.median > 0) || len(c.runs) != 2 || !slices.Contains(c.runs, c.median) {
			t.Errorf("%s ceiling %v, rounds %v; want a positive median of 2 rounds", name, c.median, c.runs)
		}
	}
	for _, c := range []ConsumeResult{rep.Consume, rep.Borrowed, rep.Batches, rep.BatchesNoCRC, rep.RawFetch} {
		if !(rep.SendfileRatios[c.Name] > 0) {
			t.Errorf("%s: sendfile ratio %v", c.Name, rep.SendfileRatios[c.Name])
		}
		if len(c.RunsMBps) != 2 || !slices.Contains(c.RunsMBps, c.WireMBps) || len(rep.RatioRuns[c.Name]) != 2 {
			t.Errorf("%s: runs %v (median %v), ratio runs %v; want 2 runs each", c.Name, c.RunsMBps, c.WireMBps, rep.RatioRuns[c.Name])
		}
	}
	for name, r := range map[string]float64{"produce": rep.ProduceRatio, "consume": rep.ConsumeRatio, "consume recycled": rep.RecycledRatio, "consume borrowed": rep.BorrowedRatio, "consume batches": rep.BatchesRatio, "consume batches without CRC": rep.BatchesNoCRCRatio, "raw fetch": rep.RawFetchRatio} {
		if !(r > 0) {
			t.Errorf("%s ratio %v, want > 0", name, r)
		}
	}
	if rep.Broker.ExitCode != 0 || rep.Broker.PID <= 0 || !strings.HasPrefix(rep.Broker.Listen, "127.0.0.1:") {
		t.Errorf("broker: %+v", rep.Broker)
	}
	if rep.Machine.Cores <= 0 || rep.Machine.GoVersion == "" || rep.LoadBefore == "" || rep.LoadAfter == "" {
		t.Errorf("machine facts: %+v, load %q / %q", rep.Machine, rep.LoadBefore, rep.LoadAfter)
	}
	for _, want := range []string{"ratio producer/limit", "ratio consumer/limit", "SIGTERM -> exit code 0", "netbench test", "-sink", "-source"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text report lacks %q", want)
		}
	}

	// Everything Run made is gone.
	if ents, err := os.ReadDir(dir); err != nil || len(ents) != 0 {
		t.Errorf("left behind in %s: %v (%v)", dir, ents, err)
	}

	var js bytes.Buffer
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if back.Produce.Acked != n || back.ConsumeRatio != rep.ConsumeRatio {
		t.Errorf("JSON round trip: %+v", back.Produce)
	}
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

func TestHelperModes(t *testing.T) {
	if _, ok := HelperMain([]string{"-records", "5"}); ok {
		t.Error("HelperMain claimed ordinary flags")
	}
	if _, ok := HelperMain(nil); ok {
		t.Error("HelperMain claimed no arguments")
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"256KiB": 256 << 10, "1MiB": 1 << 20, "1.5MiB": 3 << 19, "10MB": 10e6, "4096": 4096, "64k": 64 << 10} {
		if got, err := units.ParseSize(in); err != nil || got != want {
			t.Errorf("units.ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
		if in != "1.5MiB" && in != "10MB" && in != "64k" {
			if back, _ := units.ParseSize(units.FormatSize(want)); back != want {
				t.Errorf("units.FormatSize(%d) = %q does not parse back", want, units.FormatSize(want))
			}
		}
	}
	for _, bad := range []string{"", "MiB", "-1", "x"} {
		if _, err := units.ParseSize(bad); err == nil {
			t.Errorf("units.ParseSize(%q) succeeded", bad)
		}
	}
}

func TestParseAcks(t *testing.T) {
	for _, s := range []string{"0", "1", "all", "-1"} {
		a, err := ParseAcks(s)
		if err != nil {
			t.Fatal(err)
		}
		if back, _ := ParseAcks(AcksString(a)); back != a {
			t.Errorf("acks %q does not round-trip", s)
		}
	}
	if _, err := ParseAcks("2"); err == nil {
		t.Error("acks 2 accepted")
	}
}
