package engine_test

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/sluicelog/sluice/engine"
	"github.com/sluicelog/sluice/segment/batch"
)

// TestPartitionScaleTimings measures what issue 19's start-up targets
// count: the create rate of N partitions (topics of 1,000), then Open
// after a clean shutdown and after a crash (a copy of the data directory
// taken while the engine ran), with a record in every tenth partition, all
// parked, and another in every hundredth after that (unflushed at the
// crash), and the heap each partition costs once opened. It runs only when SLUICE_PARTSCALE=N is set (it is a
// measurement, minutes long at 100k), and logs the figures.
func TestPartitionScaleTimings(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("SLUICE_PARTSCALE"))
	if n <= 0 {
		t.Skip("set SLUICE_PARTSCALE=N to measure N partitions")
	}
	dir := t.TempDir()
	if d := os.Getenv("SLUICE_PARTSCALE_DIR"); d != "" {
		dir = filepath.Join(d, "partscale")
		os.RemoveAll(dir)
		t.Cleanup(func() { os.RemoveAll(dir) })
	}
	opts := engine.Options{MaxPartitions: 1000}
	e, err := engine.Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	const per = 1000
	start := time.Now()
	for i := 0; i*per < n; i++ {
		if err := e.CreateTopic(fmt.Sprintf("t%d", i), per, nil); err != nil {
			t.Fatal(err)
		}
	}
	createTook := time.Since(start)
	rec := buildBatch(t, batch.None, "v", 1, 1000)
	appendEvery := func(step int32) int {
		written := 0
		for i := 0; i*per < n; i++ {
			for id := int32(0); id < per; id += step {
				p, err := e.Partition(fmt.Sprintf("t%d", i), id)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := p.Append(rec); err != nil {
					t.Fatal(err)
				}
				written++
			}
		}
		return written
	}
	// Every tenth partition holds data, and was parked since (flushed);
	// every hundredth was appended to again after (dirty at the crash).
	written := appendEvery(10)
	e.ParkIdle(0)
	dirty := appendEvery(100)
	crashed := crashCopy(t, dir)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	timeOpen := func(what, dir string) {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		start := time.Now()
		e, err := engine.Open(dir, opts)
		if err != nil {
			t.Fatal(err)
		}
		took := time.Since(start)
		runtime.GC()
		runtime.ReadMemStats(&after)
		files, maps := e.OpenSegments()
		r := e.Recovery()
		t.Logf("%s open of %d partitions: %v (heap %d B/partition; segment files open %d, mappings %d; recovered %d, segments scanned %d, resumed %d)",
			what, n, took, int64(after.HeapInuse-before.HeapInuse)/int64(n), files, maps, r.Recovered, r.SegmentsScanned, r.Resumed)
		start = time.Now()
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: close took %v", what, time.Since(start))
	}
	timeOpen("clean", dir)
	timeOpen("crash", crashed)
	t.Logf("create of %d partitions: %v (%.0f partitions/s); %d materialized, %d dirty at the crash", n, createTook, float64(n)/createTook.Seconds(), written, dirty)
}
