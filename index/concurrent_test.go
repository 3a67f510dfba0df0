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

// TestTruncateWithReaders runs lookups while the writer cuts the indexes
// back and appends again, as a follower truncating its log does while
// fetchers read below the cut. Entries keep the shape of
// TestConcurrentReaders, so every answer is either "none" or a whole entry
// at most the target; a dropped entry may be seen zeroed, never torn. Run it
// with -race: the invariant checks then compare every lookup with a full
// binary search.
func TestTruncateWithReaders(t *testing.T) {
	const (
		base    = 1 << 30
		n       = 4000
		readers = 3
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
			rng := rand.New(rand.NewPCG(uint64(r), 1))
			for !stop.Load() {
				target := base - 5 + rng.Int64N(3*n+20)
				e := ox.Lookup(target)
				if e.Offset > target && e != (index.OffsetEntry{Offset: base}) {
					errs <- "Lookup returned an entry past the target"
					return
				}
				if k := (e.Offset - base) / 3; e.Position != 0 && ((e.Offset-base)%3 != 0 || e.Position != 100*k+1) {
					errs <- "Lookup returned a torn entry"
					return
				}
				ts := int64(rng.IntN(2*n + 2))
				te := tx.Lookup(ts)
				if te.Timestamp > ts || (te.Timestamp > 0 && te.Offset != base+te.Timestamp/2) {
					errs <- "time Lookup returned a torn or late entry"
					return
				}
			}
		}()
	}

	rng := rand.New(rand.NewPCG(9, 9))
	have := int64(0)
	for range 300 {
		for i := have; i < n; i++ {
			if err := ox.Append(base+3*i, 100*i+1); err != nil {
				t.Fatal(err)
			}
			if err := tx.Append(2*i+2, base+i+1); err != nil {
				t.Fatal(err)
			}
		}
		// Cut at offset base+3k: entries 0..k-1 stay in the offset index,
		// and time entries whose offset base+i+1 is below it.
		k := rng.Int64N(n)
		ox.TruncateTo(base + 3*k)
		tx.TruncateTo(base + 3*k)
		if got := int64(ox.Entries()); got != k {
			t.Fatalf("TruncateTo kept %d offset entries, want %d", got, k)
		}
		have = min(k, int64(tx.Entries()))
		// Re-append from where both indexes agree.
		ox.TruncateTo(base + 3*have)
		tx.TruncateTo(base + have + 1)
	}
	stop.Store(true)
	wg.Wait()
	close(errs)
	for msg := range errs {
		t.Error(msg)
	}
}
