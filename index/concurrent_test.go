package index_test

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/sluicelog/sluice/index"
)

// TestConcurrentReaders runs lookups while one writer appends, syncs and
// finally trims, as fetchers do against the active segment. Entry i is
// (base+3i, 100i+1), so a reader can tell the right answer from the counts
// it saw before and after its lookup. Run it with -race.
func TestConcurrentReaders(t *testing.T) {
	const (
		base    = 1 << 30
		n       = 20000
		readers = 4
	)
	ox, _ := newOffset(t, base, n*index.OffsetEntrySize)
	tx, _ := newTime(t, base, n*index.TimeEntrySize)

	var stop atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan string, readers)
	for r := range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(r), 0))
			for !stop.Load() {
				n1 := ox.Entries()
				target := base - 5 + rng.Int64N(int64(3*n1+20))
				e := ox.Lookup(target)
				n2 := ox.Entries()
				if msg := checkConcurrentOffset(e, target, n1, n2); msg != "" {
					errs <- msg
					return
				}
				if last, ok := ox.Last(); ok && last.Position != (last.Offset-base)/3*100+1 {
					errs <- "Last returned a torn entry"
					return
				}

				m1 := tx.Entries()
				te := tx.Lookup(int64(rng.IntN(2*m1 + 2)))
				if te.Timestamp >= 0 && te.Offset != base+te.Timestamp/2 {
					errs <- "time Lookup returned a torn entry"
					return
				}
			}
		}()
	}

	for i := range int64(n) {
		if err := ox.Append(base+3*i, 100*i+1); err != nil {
			t.Fatal(err)
		}
		if err := tx.Append(2*i+2, base+i+1); err != nil {
			t.Fatal(err)
		}
		if i%5000 == 0 {
			if err := ox.Sync(); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Trim does not need the readers stopped.
	if err := ox.Trim(); err != nil {
		t.Fatal(err)
	}
	if err := tx.Trim(); err != nil {
		t.Fatal(err)
	}
	stop.Store(true)
	wg.Wait()
	close(errs)
	for msg := range errs {
		t.Error(msg)
	}
}

// checkConcurrentOffset checks a Lookup answer against the entries that
// existed when it started (n1) and ended (n2).
func checkConcurrentOffset(e index.OffsetEntry, target int64, n1, n2 int) string {
	const base = 1 << 30
	none := index.OffsetEntry{Offset: base}
	if target < base || n2 == 0 {
		if e != none {
			return "Lookup before the first entry returned an entry"
		}
		return ""
	}
	if e == none && n1 == 0 {
		return "" // the lookup may have run before the first Append
	}
	k := (e.Offset - base) / 3
	if (e.Offset-base)%3 != 0 || e.Position != 100*k+1 {
		return "Lookup returned a torn entry"
	}
	ideal := (target - base) / 3
	if k > ideal || k < min(ideal, int64(n1)-1) || k > int64(n2)-1 {
		return "Lookup returned the wrong entry"
	}
	return ""
}
