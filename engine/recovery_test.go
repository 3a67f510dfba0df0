package engine_test

import (
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/sluicelog/sluice/engine"
	"github.com/sluicelog/sluice/segment/batch"
)

func TestCleanRestartContinuesLog(t *testing.T) {
	dir := t.TempDir()
	e := openEngine(t, dir, engine.Options{})
	if err := e.CreateTopic("t", 2, map[string]string{"segment.bytes": "1500"}); err != nil {
		t.Fatal(err)
	}
	p, _ := e.Partition("t", 1)
	for i := 0; i < 40; i++ {
		if _, err := p.Append(buildBatch(t, batch.Snappy, fmt.Sprint(i), 4, int64(100+i))); err != nil {
			t.Fatal(err)
		}
	}
	want := readAll(t, p, 0)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, ".clean-shutdown")); err != nil {
		t.Fatalf("no clean-shutdown marker: %v", err)
	}
	var logs logBuffer
	e2 := openEngine(t, dir, engine.Options{Logger: logs.logger()})
	if _, err := os.Stat(filepath.Join(dir, ".clean-shutdown")); !os.IsNotExist(err) {
		t.Fatalf("marker must go once the engine is open: %v", err)
	}
	if logs.contains("recovered log") || logs.contains("event=recovery") {
		t.Fatalf("clean restart scanned the log:\n%s", logs.String())
	}
	if rec := e2.Recovery(); !rec.CleanShutdown || rec.Recovered != 0 || rec.Partitions != 2 {
		t.Fatalf("Recovery() after a clean restart: %+v", rec)
	}
	p2, _ := e2.Partition("t", 1)
	if p2.LogEndOffset() != 160 {
		t.Fatalf("log end after restart %d", p2.LogEndOffset())
	}
	if got := readAll(t, p2, 0); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatal("records changed across a clean restart")
	}
	res, err := p2.Append(buildBatch(t, batch.None, "after", 1, 1))
	if err != nil || res.BaseOffset != 160 {
		t.Fatalf("append after restart: %+v %v", res, err)
	}
	if off, _ := p2.ListOffset(139); off != 147 {
		t.Fatalf("time lookup after restart: %d", off)
	}
}

// TestCrashScansOnlyUnflushedTail checks that after a crash the segments
// below the recovery point are trusted and only the rest is validated.
func TestCrashScansOnlyUnflushedTail(t *testing.T) {
	dir := t.TempDir()
	e := openEngine(t, dir, engine.Options{})
	if err := e.CreateTopic("t", 1, map[string]string{"segment.bytes": "1000"}); err != nil {
		t.Fatal(err)
	}
	p, _ := e.Partition("t", 0)
	for i := 0; i < 30; i++ {
		if _, err := p.Append(buildBatch(t, batch.None, "a", 5, 1)); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Flush(); err != nil {
		t.Fatal(err)
	}
	flushedSegments := len(segmentFiles(t, dir, "t", 0))
	for i := 0; i < 12; i++ {
		if _, err := p.Append(buildBatch(t, batch.None, "b", 5, 1)); err != nil {
			t.Fatal(err)
		}
	}
	total := len(segmentFiles(t, dir, "t", 0))
	crashed := crashCopy(t, dir)
	var logs logBuffer
	e2 := openEngine(t, crashed, engine.Options{Logger: logs.logger()})
	// Rolls flush the old segment in the background, so the recovery point
	// may have moved past the explicit Flush, never behind it.
	m := regexp.MustCompile(`segments_scanned=(\d+) segments=(\d+)`).FindStringSubmatch(logs.String())
	if m == nil {
		t.Fatalf("no recovery line in logs:\n%s", logs.String())
	}
	scanned, _ := strconv.Atoi(m[1])
	if m[2] != strconv.Itoa(total) || scanned < 1 || scanned > total-flushedSegments+1 {
		t.Fatalf("scanned %s of %s segments; %d were flushed before the crash", m[1], m[2], flushedSegments)
	}
	p2, _ := e2.Partition("t", 0)
	if p2.LogEndOffset() != 210 || len(readAll(t, p2, 0)) != 210 {
		t.Fatalf("after crash: log end %d", p2.LogEndOffset())
	}
}

// TestCrashTornTail cuts the active segment at random byte positions, as a
// crash in the middle of a write would, and checks that every batch wholly
// before the cut survives and nothing after it is served.
func TestCrashTornTail(t *testing.T) {
	seed := int64(20261125)
	rng := rand.New(rand.NewSource(seed))
	dir := t.TempDir()
	e := openEngine(t, dir, engine.Options{})
	if err := e.CreateTopic("t", 1, nil); err != nil {
		t.Fatal(err)
	}
	p, _ := e.Partition("t", 0)
	var ends []int64  // file position after each batch
	var records []int // records up to and including each batch
	var pos int64
	for i := 0; i < 25; i++ {
		codec := []batch.Codec{batch.None, batch.LZ4, batch.Zstd, batch.Gzip}[i%4]
		n := 1 + rng.Intn(30)
		b := buildBatch(t, codec, fmt.Sprint(i), n, int64(i))
		if _, err := p.Append(b); err != nil {
			t.Fatal(err)
		}
		pos += int64(len(b))
		ends = append(ends, pos)
		if i > 0 {
			n += records[i-1]
		}
		records = append(records, n)
	}
	want := readAll(t, p, 0)
	base := crashCopy(t, dir)
	for trial := 0; trial < 20; trial++ {
		cut := rng.Int63n(pos + 1)
		crashed := crashCopy(t, base)
		logPath := filepath.Join(crashed, "t-0", "00000000000000000000.log")
		if err := os.Truncate(logPath, cut); err != nil {
			t.Fatal(err)
		}
		kept := 0
		for kept < len(ends) && ends[kept] <= cut {
			kept++
		}
		var logs logBuffer
		e2, err := engine.Open(crashed, engine.Options{Logger: logs.logger()})
		if err != nil {
			t.Fatalf("seed %d trial %d cut %d: open: %v", seed, trial, cut, err)
		}
		p2, _ := e2.Partition("t", 0)
		got := readAll(t, p2, 0)
		wantN := 0
		if kept > 0 {
			wantN = records[kept-1]
		}
		if fmt.Sprint(got) != fmt.Sprint(want[:wantN]) {
			t.Fatalf("seed %d trial %d cut %d: got %d records, want the first %d", seed, trial, cut, len(got), wantN)
		}
		fi, _ := os.Stat(logPath)
		wantSize := int64(0)
		if kept > 0 {
			wantSize = ends[kept-1]
		}
		if fi.Size() != wantSize {
			t.Fatalf("seed %d trial %d cut %d: file size %d after recovery, want %d", seed, trial, cut, fi.Size(), wantSize)
		}
		if cut != wantSize && !logs.contains("recovery truncated segment") {
			t.Fatalf("seed %d trial %d: no log line for the cut:\n%s", seed, trial, logs.String())
		}
		// What start-up reports (sluice_recovery_* on /metrics) is the cut.
		if rec := e2.Recovery(); rec.CleanShutdown || rec.Partitions != 1 || rec.Recovered != 1 || rec.TruncatedBytes != cut-wantSize {
			t.Fatalf("seed %d trial %d cut %d: Recovery() = %+v, want 1 partition recovered, %d bytes cut", seed, trial, cut, rec, cut-wantSize)
		}
		// The log takes appends where it now ends.
		res, err := p2.Append(buildBatch(t, batch.None, "new", 2, 1))
		if err != nil || res.BaseOffset != int64(wantN) {
			t.Fatalf("seed %d trial %d: append after recovery: %+v %v", seed, trial, res, err)
		}
		e2.Close()
	}
}

// TestCrashFlippedByte flips one byte inside a stored batch; recovery must
// detect it by CRC, cut there, and say so in the log.
func TestCrashFlippedByte(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	dir := t.TempDir()
	e := openEngine(t, dir, engine.Options{})
	if err := e.CreateTopic("t", 1, nil); err != nil {
		t.Fatal(err)
	}
	p, _ := e.Partition("t", 0)
	var starts []int64
	var pos int64
	for i := 0; i < 10; i++ {
		b := buildBatch(t, batch.LZ4, fmt.Sprint(i), 10, 1)
		if _, err := p.Append(b); err != nil {
			t.Fatal(err)
		}
		starts = append(starts, pos)
		pos += int64(len(b))
	}
	starts = append(starts, pos)
	want := readAll(t, p, 0)
	for trial := 0; trial < 10; trial++ {
		victim := rng.Intn(10)
		// A byte inside the CRC-covered part: attributes onwards.
		at := starts[victim] + 21 + rng.Int63n(starts[victim+1]-starts[victim]-21)
		crashed := crashCopy(t, dir)
		logPath := filepath.Join(crashed, "t-0", "00000000000000000000.log")
		data, _ := os.ReadFile(logPath)
		data[at] ^= byte(1 + rng.Intn(255))
		os.WriteFile(logPath, data, 0o644)
		var logs logBuffer
		e2, err := engine.Open(crashed, engine.Options{Logger: logs.logger()})
		if err != nil {
			t.Fatal(err)
		}
		p2, _ := e2.Partition("t", 0)
		got := readAll(t, p2, 0)
		if fmt.Sprint(got) != fmt.Sprint(want[:victim*10]) {
			t.Fatalf("trial %d: flipped byte at %d in batch %d: kept %d records", trial, at, victim, len(got))
		}
		if !logs.contains("recovery truncated segment") || !strings.Contains(logs.String(), "CRC") && !strings.Contains(logs.String(), "crc") {
			t.Fatalf("trial %d: want a log line naming the CRC failure:\n%s", trial, logs.String())
		}
		e2.Close()
	}
}
