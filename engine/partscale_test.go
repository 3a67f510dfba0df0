package engine_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/sluicelog/sluice/engine"
	"github.com/sluicelog/sluice/segment/batch"
)

// TestPartitionScaleTimings measures what issue 19's start-up targets
// count: the create rate of N partitions (topics of 1,000), then Open
// after a clean shutdown and after a simulated crash (the clean-shutdown
// marker removed), with a record in every tenth partition so that some
// are materialized. It runs only when SLUICE_PARTSCALE=N is set (it is a
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
	written := 0
	for i := 0; i*per < n; i++ {
		for id := int32(0); id < per; id += 10 {
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
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	timeOpen := func(what string) *engine.Engine {
		start := time.Now()
		e, err := engine.Open(dir, opts)
		if err != nil {
			t.Fatal(err)
		}
		files, maps := e.OpenSegments()
		t.Logf("%s open of %d partitions: %v (segment files open %d, mappings %d, recovered %d)",
			what, n, time.Since(start), files, maps, e.Recovery().Recovered)
		return e
	}
	e = timeOpen("clean")
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, ".clean-shutdown")); err != nil {
		t.Fatal(err)
	}
	e = timeOpen("crash")
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("create of %d partitions: %v (%.0f partitions/s); %d written", n, createTook, float64(n)/createTook.Seconds(), written)
}
