package engine_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/sluicelog/sluice/engine"
	"github.com/sluicelog/sluice/segment/batch"
)

// appendN appends n batches of 3 records to partition id of topic t.
func appendN(t *testing.T, e *engine.Engine, topic string, id int32, n int) {
	t.Helper()
	p, err := e.Partition(topic, id)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		if _, err := p.Append(buildBatch(t, batch.None, fmt.Sprintf("p%d-%d", id, i), 3, int64(1000+i))); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCleanRestartOpensNothing: after a clean shutdown, Open opens no
// segment file and maps no index, scans no segment, and makes no directory
// for partitions never appended to; the partitions then serve reads,
// timestamps and appends as before, across another restart.
func TestCleanRestartOpensNothing(t *testing.T) {
	dir := t.TempDir()
	e := openEngine(t, dir, engine.Options{})
	if err := e.CreateTopic("t", 50, map[string]string{"segment.bytes": "2000"}); err != nil {
		t.Fatal(err)
	}
	for id := int32(0); id < 30; id++ {
		appendN(t, e, "t", id, 5+int(id))
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	e = openEngine(t, dir, engine.Options{})
	if files, maps := e.OpenSegments(); files != 0 || maps != 0 {
		t.Fatalf("clean open holds %d segment files and %d mappings", files, maps)
	}
	if n := openFilesUnder(t, filepath.Join(dir, "t-0")); n != 0 {
		t.Fatalf("clean open holds %d descriptors in t-0", n)
	}
	r := e.Recovery()
	if !r.CleanShutdown || r.SegmentsScanned != 0 || r.Resumed != 30 || r.Recovered != 0 {
		t.Fatalf("clean open: %+v, want 30 resumed and nothing scanned", r)
	}
	if d := partitionDirs(t, dir, "t"); len(d) != 30 {
		t.Fatalf("%d partition directories, want the 30 appended to", len(d))
	}
	for id := int32(0); id < 50; id++ {
		p, _ := e.Partition("t", id)
		want := 0
		if id < 30 {
			want = 3 * (5 + int(id))
		}
		if got := readAll(t, p, 0); len(got) != want || p.HighWatermark() != int64(want) {
			t.Fatalf("partition %d: %d records, high watermark %d, want %d", id, len(got), p.HighWatermark(), want)
		}
		if id < 30 {
			if off, err := p.ListOffset(1000 + 4); err != nil || off != 8 { // batch 2 holds 1002..1004
				t.Fatalf("partition %d: offset for timestamp 1004: %d, %v", id, off, err)
			}
		}
	}
	appendN(t, e, "t", 3, 2)
	appendN(t, e, "t", 40, 2)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	e = openEngine(t, dir, engine.Options{})
	for id, want := range map[int32]int{3: 3 * 10, 40: 6, 41: 0} {
		p, _ := e.Partition("t", id)
		if got := readAll(t, p, 0); len(got) != want {
			t.Fatalf("partition %d after a second restart: %d records, want %d", id, len(got), want)
		}
	}
	if r := e.Recovery(); r.SegmentsScanned != 0 || r.Resumed != 31 {
		t.Fatalf("second clean open: %+v", r)
	}
}

// TestCrashResumesParkedPartitions: after a kill -9, partitions whose
// active segment was parked (flushed first, its state stored with the
// recovery point) are resumed without scanning anything; only those
// appended to since are scanned, and only from where they were parked.
// Every record survives either way.
func TestCrashResumesParkedPartitions(t *testing.T) {
	dir := t.TempDir()
	e := openEngine(t, dir, engine.Options{ActiveSegmentIdleTimeout: -1})
	if err := e.CreateTopic("t", 20, nil); err != nil {
		t.Fatal(err)
	}
	for id := int32(0); id < 20; id++ {
		appendN(t, e, "t", id, 4)
	}
	if n := e.ParkIdle(0); n != 20 {
		t.Fatalf("parked %d active segments, want 20", n)
	}
	logSize := func(dir string, id int32) int64 {
		fi, err := os.Stat(filepath.Join(dir, fmt.Sprintf("t-%d", id), "00000000000000000000.log"))
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	var parkedBytes int64
	for id := int32(0); id < 5; id++ {
		parkedBytes += logSize(dir, id)
		appendN(t, e, "t", id, 2)
	}
	crashed := crashCopy(t, dir)
	var tail int64
	for id := int32(0); id < 5; id++ {
		tail += logSize(crashed, id)
	}
	tail -= parkedBytes
	var logs logBuffer
	e2 := openEngine(t, crashed, engine.Options{Logger: logs.logger()})
	r := e2.Recovery()
	if r.CleanShutdown || r.Resumed != 15 || r.Recovered != 5 || r.SegmentsScanned != 5 {
		t.Fatalf("crash open: %+v, want 15 resumed, 5 recovered with one segment scanned each\n%s", r, logs.String())
	}
	if r.BytesScanned != tail {
		t.Fatalf("recovery validated %d bytes; only the %d appended since parking needed it", r.BytesScanned, tail)
	}
	for id := int32(0); id < 20; id++ {
		p, _ := e2.Partition("t", id)
		want := 12
		if id < 5 {
			want = 18
		}
		if got := readAll(t, p, 0); len(got) != want {
			t.Fatalf("partition %d after the crash: %d records, want %d", id, len(got), want)
		}
	}
	appendN(t, e2, "t", 10, 1)
	p, _ := e2.Partition("t", 10)
	if got := readAll(t, p, 0); len(got) != 15 || got[14].offset != 14 {
		t.Fatalf("append to a resumed partition: %d records", len(got))
	}
}

// TestCrashScansFromFlushPosition: a flush stores the recovery point with
// its position, so after a crash only the bytes appended since the flush
// are validated, not the whole active segment.
func TestCrashScansFromFlushPosition(t *testing.T) {
	dir := t.TempDir()
	e := openEngine(t, dir, engine.Options{ActiveSegmentIdleTimeout: -1})
	if err := e.CreateTopic("t", 1, nil); err != nil {
		t.Fatal(err)
	}
	appendN(t, e, "t", 0, 10)
	p, _ := e.Partition("t", 0)
	if err := p.Flush(); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join("t-0", "00000000000000000000.log")
	flushed, err := os.Stat(filepath.Join(dir, logPath))
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, e, "t", 0, 3)
	crashed := crashCopy(t, dir)
	all, err := os.Stat(filepath.Join(crashed, logPath))
	if err != nil {
		t.Fatal(err)
	}
	e2 := openEngine(t, crashed, engine.Options{})
	r := e2.Recovery()
	if r.Recovered != 1 || r.BytesScanned != all.Size()-flushed.Size() || r.BytesScanned == 0 {
		t.Fatalf("crash open: %+v; want the %d bytes after the flush scanned (log of %d)", r, all.Size()-flushed.Size(), all.Size())
	}
	p2, _ := e2.Partition("t", 0)
	if got := readAll(t, p2, 0); len(got) != 39 {
		t.Fatalf("%d records after the crash, want 39", len(got))
	}
	appendN(t, e2, "t", 0, 1)
	if got := readAll(t, p2, 0); len(got) != 42 || got[41].offset != 41 {
		t.Fatalf("append after recovery: %d records", len(got))
	}
}
