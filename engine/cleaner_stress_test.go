package engine_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicelog/sluice/engine"
)

// TestCleanerBesideReadersAndWriters: the background cleaner cleans while
// a producer appends and readers read from the start and ListOffsets by
// time: every read succeeds, offsets ascend, and each key's newest value
// is the last written.
func TestCleanerBesideReadersAndWriters(t *testing.T) {
	e := openEngine(t, t.TempDir(), engine.Options{RetentionCheckInterval: -1, CleanerBackoff: time.Millisecond})
	if err := e.CreateTopic("c", 1, map[string]string{"cleanup.policy": "compact", "segment.bytes": "2048",
		"min.cleanable.dirty.ratio": "0.01", "retention.bytes": "200000"}); err != nil {
		t.Fatal(err)
	}
	p, _ := e.Partition("c", 0)
	var stop atomic.Bool
	var wg sync.WaitGroup
	var readErrs, listErrs atomic.Int64
	var firstErr atomic.Value
	for r := 0; r < 3; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				var buf []byte
				for off := p.LogStartOffset(); off < p.HighWatermark(); {
					b, err := p.ReadBytes(buf[:0], off, 4096)
					if err != nil {
						if !stop.Load() {
							readErrs.Add(1)
							firstErr.CompareAndSwap(nil, err.Error())
						}
						break
					}
					if len(b) == 0 {
						break
					}
					buf = b
					// walk to next
					for rest := b; len(rest) >= 61; {
						n := int(uint32(rest[8])<<24|uint32(rest[9])<<16|uint32(rest[10])<<8|uint32(rest[11])) + 12
						base := int64(0)
						for i := 0; i < 8; i++ {
							base = base<<8 | int64(rest[i])
						}
						lod := int64(int32(uint32(rest[23])<<24 | uint32(rest[24])<<16 | uint32(rest[25])<<8 | uint32(rest[26])))
						off = base + lod + 1
						rest = rest[n:]
					}
				}
			}
		}()
	}
	start := time.Now().UnixMilli()
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !stop.Load() {
			if _, err := p.ListOffset(start); err != nil {
				listErrs.Add(1)
			}
			if _, err := p.EnforceRetention(); err != nil {
				firstErr.CompareAndSwap(nil, "retention: "+err.Error())
			}
			time.Sleep(time.Millisecond)
		}
	}()
	newest := map[string]string{}
	// Until the cleaner has swapped segments under the readers a few
	// times (and for 2 s at least), within 60 s. A compact-only topic
	// keeps every segment until the cleaner merges them, each holding
	// descriptors: past fastAppends the writer slows to one batch every
	// few milliseconds, so that a cleaner starved of CPU (a loaded CI
	// machine under -race) still finds dirty records to clean while the
	// log stays far below the process's descriptor limit.
	const fastAppends = 20000
	begin := time.Now()
	for i := 0; ; i++ {
		if i%100 == 0 && e.CleanerTotals().Runs >= 3 && time.Since(begin) > 2*time.Second {
			break
		}
		if time.Since(begin) > 60*time.Second {
			t.Fatalf("the cleaner ran %d times in 60 s beside the readers, want 3", e.CleanerTotals().Runs)
		}
		if i >= fastAppends {
			time.Sleep(5 * time.Millisecond)
		}
		k, v := fmt.Sprint("k", i%50), fmt.Sprint("v", i)
		if _, err := p.Append(keyedBatch(t, time.Now().UnixMilli(), k, v)); err != nil {
			t.Fatal(err)
		}
		newest[k] = v
	}
	stop.Store(true)
	wg.Wait()
	t.Logf("totals %+v, read errors %d, ListOffset errors %d, first %v", e.CleanerTotals(), readErrs.Load(), listErrs.Load(), firstErr.Load())
	got := newestByKey(readKeyed(t, p, p.LogStartOffset()))
	for k, v := range newest {
		if string(got[k].value) != v {
			t.Errorf("key %s: %q, want %q", k, got[k].value, v)
		}
	}
	if e.CleanerTotals().Runs == 0 {
		t.Error("the cleaner never ran: the test tested nothing")
	}
	if readErrs.Load() > 0 {
		t.Errorf("reads failed during cleaning: %d (%v)", readErrs.Load(), firstErr.Load())
	}
}
