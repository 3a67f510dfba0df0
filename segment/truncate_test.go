package segment_test

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/sluicelog/sluice/segment"
)

// truncateModel cuts m as TruncateTo(offset) should and returns the
// NextOffset it should report.
func truncateModel(m *model, offset int64) int64 {
	if offset <= m.base {
		m.keep(0)
	} else {
		m.keep(m.find(offset))
	}
	return m.next()
}

// cutPoints returns the offsets worth truncating a model at: below and at
// its base, inside and at the edges of a few batches, at and past its end.
func cutPoints(m *model) map[string]int64 {
	n := len(m.batches)
	mid := &m.batches[n/2]
	wide := mid
	for i := range m.batches {
		if b := &m.batches[i]; b.last > b.base+1 && i > 0 {
			wide = b
			break
		}
	}
	return map[string]int64{
		"below-base":     m.base - 1,
		"base":           m.base,
		"second-offset":  m.base + 1,
		"boundary":       mid.base,
		"inside":         wide.base + 1,
		"last-of-batch":  mid.last,
		"after-batch":    mid.last + 1,
		"last-offset":    m.next() - 1,
		"next-offset":    m.next(),
		"past-end":       m.next() + 1000,
		"far-past-end":   1 << 62,
		"first-boundary": m.batches[1].base,
	}
}

// TestTruncateTo cuts an active segment at each kind of point and checks
// reads, timestamps and the files, then appends more, seals, reopens and
// checks again (checkRecovered).
func TestTruncateTo(t *testing.T) {
	for _, sealed := range []bool{false, true} {
		ref := buildClosed(t, t.TempDir(), 100, 1, 40, smallOpts())
		for name, offset := range cutPoints(ref) {
			t.Run(fmt.Sprintf("sealed=%v/%s", sealed, name), func(t *testing.T) {
				dir := t.TempDir()
				opts := smallOpts()
				g := newGen(1)
				s := create(t, dir, 100, opts)
				m := &model{base: 100}
				g.fill(t, s, m, 40)
				if sealed {
					if err := s.Seal(); err != nil {
						t.Fatal(err)
					}
				}
				want := truncateModel(m, offset)
				got, err := s.TruncateTo(offset)
				if err != nil {
					t.Fatalf("TruncateTo(%d): %v", offset, err)
				}
				if got != want || s.NextOffset() != want {
					t.Fatalf("TruncateTo(%d) = %d, NextOffset %d; want %d", offset, got, s.NextOffset(), want)
				}
				if offset > m.base && want > offset {
					t.Fatalf("model: next %d past the cut %d", want, offset)
				}
				checkRecovered(t, dir, s, m, 7, opts)
				checkReopenAgree(t, dir, m, opts)
			})
		}
	}
}

// checkReopenAgree opens the closed segment twice, once with Activate and
// once with Recover, and checks that both find the model's end and that
// Recover had nothing to cut.
func checkReopenAgree(t *testing.T, dir string, m *model, opts segment.Options) {
	t.Helper()
	s := open(t, dir, m.base, opts)
	if err := s.Activate(); err != nil {
		t.Fatal(err)
	}
	if got := s.NextOffset(); got != m.next() {
		t.Fatalf("Open+Activate: NextOffset %d, want %d", got, m.next())
	}
	checkBatches(t, s, m, 1000)
	closeSeg(t, s)
	s = open(t, dir, m.base, opts)
	rec, err := s.Recover()
	if err != nil {
		t.Fatal(err)
	}
	if got := s.NextOffset(); got != m.next() || rec.TruncatedBytes != 0 || rec.Batches != len(m.batches) {
		t.Fatalf("Open+Recover: NextOffset %d, %+v; want %d and %d batches, nothing cut", got, rec, m.next(), len(m.batches))
	}
	checkTimestamps(t, s, m, m.tsSample(100))
	closeSeg(t, s)
}

// TestTruncateToLazy truncates a segment that was only opened (lazily), and
// one that was opened and read, so its indexes were mapped read-only.
func TestTruncateToLazy(t *testing.T) {
	for _, read := range []bool{false, true} {
		for seed := range uint64(8) {
			t.Run(fmt.Sprintf("read=%v/seed=%d", read, seed), func(t *testing.T) {
				dir := t.TempDir()
				opts := smallOpts()
				m := buildClosed(t, dir, 0, seed, 30, opts)
				s := open(t, dir, 0, opts)
				if read {
					checkBatches(t, s, m, 700)
				}
				g := newGen(seed + 50)
				offset := g.rng.Int64N(m.next() + 10)
				want := truncateModel(m, offset)
				if got, err := s.TruncateTo(offset); err != nil || got != want {
					t.Fatalf("TruncateTo(%d) = %d, %v; want %d", offset, got, err, want)
				}
				checkRecovered(t, dir, s, m, seed, opts)
				checkReopenAgree(t, dir, m, opts)
			})
		}
	}
}

// TestTruncateToRandom appends, truncates and appends again many times on
// one segment, checking it against the model after each step, then seals
// and reopens it.
func TestTruncateToRandom(t *testing.T) {
	for seed := range uint64(12) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			dir := t.TempDir()
			opts := smallOpts()
			if seed%3 == 0 {
				opts.IndexIntervalBytes = 1 // an entry for every batch
			}
			g := newGen(seed)
			s := create(t, dir, 7, opts)
			m := &model{base: 7}
			for round := range 15 {
				g.fill(t, s, m, g.rng.IntN(12))
				if g.rng.IntN(4) == 0 {
					if err := s.Seal(); err != nil {
						t.Fatal(err)
					}
				}
				offset := m.base + g.rng.Int64N(m.next()-m.base+3)
				want := truncateModel(m, offset)
				got, err := s.TruncateTo(offset)
				if err != nil || got != want {
					t.Fatalf("round %d: TruncateTo(%d) = %d, %v; want %d", round, offset, got, err, want)
				}
				checkAll(t, s, m, 900)
				checkTimestamps(t, s, m, m.tsSample(60))
				wantTS := m.maxTS()
				if ts, err := s.MaxTimestamp(); err != nil || ts != wantTS {
					t.Fatalf("round %d: MaxTimestamp %d, %v; want %d", round, ts, err, wantTS)
				}
			}
			g.fill(t, s, m, 3)
			if err := s.Seal(); err != nil {
				t.Fatal(err)
			}
			checkIndexFiles(t, dir, m, opts.IndexIntervalBytes)
			closeSeg(t, s)
			checkReopenAgree(t, dir, m, opts)
		})
	}
}

// TestTruncateToFiles checks the files right after a cut: the log ends at
// the cut and the indexes, once sealed, are what appending the kept batches
// alone would have made.
func TestTruncateToFiles(t *testing.T) {
	dir := t.TempDir()
	opts := smallOpts()
	s := create(t, dir, 0, opts)
	m := &model{}
	newGen(3).fill(t, s, m, 60)
	offset := m.batches[37].base + 1
	truncateModel(m, offset)
	if _, err := s.TruncateTo(offset); err != nil {
		t.Fatal(err)
	}
	if got := fileSize(t, path(dir, 0, ".log")); got != m.size() {
		t.Fatalf("log file %d bytes after TruncateTo, want %d", got, m.size())
	}
	if err := s.Seal(); err != nil {
		t.Fatal(err)
	}
	checkIndexFiles(t, dir, m, opts.IndexIntervalBytes)
	// Sealed again, it takes a second cut and appends after it.
	cut := m.batches[20].base
	truncateModel(m, cut)
	if got, err := s.TruncateTo(cut); err != nil || got != m.next() {
		t.Fatalf("second TruncateTo = %d, %v; want %d", got, err, m.next())
	}
	newGen(4).fill(t, s, m, 10)
	if err := s.Seal(); err != nil {
		t.Fatal(err)
	}
	checkIndexFiles(t, dir, m, opts.IndexIntervalBytes)
	checkBatches(t, s, m, 2000)
	closeSeg(t, s)
	if _, err := s.TruncateTo(0); !errors.Is(err, segment.ErrClosed) {
		t.Fatalf("TruncateTo after Close: %v, want ErrClosed", err)
	}
}

// TestTruncateToCrash replays a crash in the middle of TruncateTo: the log
// file was cut but the indexes still hold entries past the cut (either as
// trimmed files of a sealed segment or untrimmed ones of an active one).
// Both ways of opening must serve exactly the kept batches.
func TestTruncateToCrash(t *testing.T) {
	for seed := range uint64(10) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			dir := t.TempDir()
			opts := smallOpts()
			g := newGen(seed)
			s := create(t, dir, 0, opts)
			m := &model{}
			g.fill(t, s, m, 50)
			if seed%2 == 0 {
				if err := s.Seal(); err != nil {
					t.Fatal(err)
				}
			}
			// The crash image: index files as they were before the cut.
			idx := readFile(t, path(dir, 0, ".index"))
			tidx := readFile(t, path(dir, 0, ".timeindex"))
			truncateModel(m, g.rng.Int64N(m.next()))
			closeSeg(t, s)
			if err := os.Truncate(path(dir, 0, ".log"), m.size()); err != nil {
				t.Fatal(err)
			}
			for suffix, b := range map[string][]byte{".index": idx, ".timeindex": tidx} {
				if err := os.WriteFile(path(dir, 0, suffix), b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			s = open(t, dir, 0, opts)
			checkAll(t, s, m, 800) // lazily, before either
			if seed%3 == 0 {
				_, err := s.Recover()
				if err != nil {
					t.Fatal(err)
				}
			} else if err := s.Activate(); err != nil {
				t.Fatal(err)
			}
			checkRecovered(t, dir, s, m, seed, opts)
		})
	}
}

// TestTruncateToReaders cuts a sealed segment while readers hold Regions and
// keep reading below the cut, as fetchers of a follower may. Run with -race.
func TestTruncateToReaders(t *testing.T) {
	dir := t.TempDir()
	opts := smallOpts()
	s := create(t, dir, 0, opts)
	defer s.Close()
	m := &model{}
	g := newGen(11)
	g.fill(t, s, m, 200)
	if err := s.Seal(); err != nil {
		t.Fatal(err)
	}
	// Everything below keep survives every cut below.
	const keep = 60
	below := &model{batches: m.batches[:keep]}
	held, err := s.Read(0, 1<<30, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Release()

	var stop atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	for r := range 3 {
		wg.Go(func() {
			for i := 0; !stop.Load(); i++ {
				b := &below.batches[(i*7+r)%keep]
				rg, err := s.Read(b.base, 2000, below.size())
				if err != nil {
					errs <- err
					return
				}
				if rg.Pos != b.pos || rg.BaseOffset != b.base {
					errs <- fmt.Errorf("Read(%d) at %d base %d, want %d base %d", b.base, rg.Pos, rg.BaseOffset, b.pos, b.base)
					rg.Release()
					return
				}
				rg.Release()
				if _, _, err := s.OffsetForTimestamp(b.maxTS); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	for i := range 30 {
		cut := m.batches[keep+g.rng.IntN(len(m.batches)-keep)].base + int64(i%2)
		truncateModel(m, cut)
		if got, err := s.TruncateTo(cut); err != nil || got != m.next() {
			t.Fatalf("TruncateTo(%d) = %d, %v; want %d", cut, got, err, m.next())
		}
		g.fill(t, s, m, 1+g.rng.IntN(30))
		if i%3 == 0 {
			if err := s.Seal(); err != nil {
				t.Fatal(err)
			}
		}
	}
	stop.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// The region taken before any cut still reads the bytes below them.
	buf := make([]byte, below.size())
	if _, err := held.File.ReadAt(buf, held.Pos); err != nil {
		t.Fatal(err)
	}
	for i := range below.batches {
		b := &below.batches[i]
		if string(buf[b.pos:b.end()]) != string(b.data) {
			t.Fatalf("held region: batch %d changed", i)
		}
	}
	checkBatches(t, s, m, 3000)
}

// TestTruncateToTornTail: bytes past the last batch (a failed append's that
// could not be cut back, or a crash's) go with any TruncateTo, even one that
// keeps every batch, so that appends land right after the batches.
func TestTruncateToTornTail(t *testing.T) {
	for _, lazy := range []bool{false, true} {
		t.Run(fmt.Sprintf("lazy=%v", lazy), func(t *testing.T) {
			dir := t.TempDir()
			opts := smallOpts()
			lb := &logBuffer{}
			opts.Logger = lb.logger()
			s := create(t, dir, 0, opts)
			m := &model{}
			newGen(5).fill(t, s, m, 20)
			if lazy {
				closeSeg(t, s)
			}
			torn := newGen(6).batch(m.next()).data
			if err := overwrite(path(dir, 0, ".log"), m.size(), torn[:len(torn)/2]); err != nil {
				t.Fatal(err)
			}
			if lazy {
				s = open(t, dir, 0, opts)
			}
			if got, err := s.TruncateTo(m.next() + 5); err != nil || got != m.next() {
				t.Fatalf("TruncateTo past the end = %d, %v; want %d", got, err, m.next())
			}
			if got := fileSize(t, path(dir, 0, ".log")); got != m.size() {
				t.Fatalf("log file %d bytes, want %d: the torn tail stayed", got, m.size())
			}
			checkRecovered(t, dir, s, m, 5, opts)
		})
	}
}
