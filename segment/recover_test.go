package segment_test

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/sluicelog/sluice/segment"
	"github.com/sluicelog/sluice/segment/batch"
)

// buildClosed writes a segment of n random batches and closes it.
func buildClosed(t testing.TB, dir string, base int64, seed uint64, n int, opts segment.Options) *model {
	t.Helper()
	g := newGen(seed)
	s := create(t, dir, base, opts)
	m := &model{base: base}
	g.fill(t, s, m, n)
	closeSeg(t, s)
	return m
}

// checkRecovered checks a recovered segment against the model of what
// should have survived, then appends to it and reads everything back.
func checkRecovered(t testing.TB, dir string, s *segment.Segment, m *model, seed uint64, opts segment.Options) {
	t.Helper()
	if got := s.NextOffset(); got != m.next() {
		t.Fatalf("NextOffset %d, want %d", got, m.next())
	}
	if got := fileSize(t, path(dir, m.base, ".log")); got != m.size() {
		t.Fatalf("log file %d bytes after Recover, want %d", got, m.size())
	}
	wantTS := m.maxTS()
	if got, err := s.MaxTimestamp(); err != nil || (wantTS >= 0 && got != wantTS) {
		t.Fatalf("MaxTimestamp %d, %v; want %d", got, err, wantTS)
	}
	checkAll(t, s, m, 1200)
	checkTimestamps(t, s, m, m.tsSample(150))

	g := newGen(seed + 1000)
	g.fill(t, s, m, 5)
	checkBatches(t, s, m, 1200)
	closeSeg(t, s)
	checkIndexFiles(t, dir, m, opts.IndexIntervalBytes)
	s = open(t, dir, m.base, opts)
	defer s.Close()
	checkBatches(t, s, m, 1200)
	checkTimestamps(t, s, m, m.tsSample(150))
}

func TestRecoverClean(t *testing.T) {
	dir := t.TempDir()
	opts := smallOpts()
	lb := &logBuffer{}
	opts.Logger = lb.logger()
	m := buildClosed(t, dir, 10, 1, 50, opts)
	s := open(t, dir, 10, opts)
	rec, err := s.Recover()
	if err != nil {
		t.Fatal(err)
	}
	want := segment.Recovery{Batches: 50, ValidBytes: m.size(), ScannedBytes: m.size()}
	if rec != want {
		t.Fatalf("Recover = %+v, want %+v", rec, want)
	}
	if strings.Contains(lb.String(), "level=WARN") {
		t.Fatalf("clean recovery logged a warning:\n%s", lb)
	}
	checkRecovered(t, dir, s, m, 1, opts)

	// An empty segment recovers to nothing.
	dir = t.TempDir()
	s = create(t, dir, 0, opts)
	closeSeg(t, s)
	s = open(t, dir, 0, opts)
	if rec, err := s.Recover(); err != nil || rec != (segment.Recovery{}) {
		t.Fatalf("Recover of an empty segment: %+v, %v", rec, err)
	}
	checkRecovered(t, dir, s, &model{}, 2, opts)
}

// TestRecoverTorn cuts the log at random byte positions, as a crash in the
// middle of a write leaves it.
func TestRecoverTorn(t *testing.T) {
	for seed := range uint64(60) {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			dir := t.TempDir()
			opts := smallOpts()
			lb := &logBuffer{}
			opts.Logger = lb.logger()
			g := newGen(seed)
			n := 1 + g.rng.IntN(40)
			m := buildClosed(t, dir, 0, seed, n, opts)
			cut := g.rng.Int64N(m.size() + 1)
			if seed%5 == 0 {
				cut = m.batches[g.rng.IntN(n)].pos // on a boundary
			}
			if err := os.Truncate(path(dir, 0, ".log"), cut); err != nil {
				t.Fatal(err)
			}
			keep := 0
			for keep < n && m.batches[keep].end() <= cut {
				keep++
			}
			m.keep(keep)

			s := open(t, dir, 0, opts)
			if seed%3 == 0 {
				// Read lazily first, as a fetch racing startup could: the
				// torn tail must not be served.
				checkAll(t, s, m, 1200)
			}
			rec, err := s.Recover()
			if err != nil {
				t.Fatal(err)
			}
			if rec.Batches != keep || rec.ValidBytes != m.size() || rec.TruncatedBytes != cut-m.size() {
				t.Fatalf("Recover = %+v; want %d batches, %d valid bytes, %d cut", rec, keep, m.size(), cut-m.size())
			}
			if rec.TruncatedBytes > 0 {
				if !errors.Is(rec.Reason, batch.ErrTruncated) {
					t.Fatalf("Reason %v, want ErrTruncated", rec.Reason)
				}
				if !strings.Contains(lb.String(), "recovery truncated segment") {
					t.Fatalf("no warning logged for the cut:\n%s", lb)
				}
			} else if rec.Reason != nil {
				t.Fatalf("Reason %v with nothing cut", rec.Reason)
			}
			checkRecovered(t, dir, s, m, seed, opts)
		})
	}
}

// TestRecoverCorrupt flips one byte of a stored batch where recovery must
// notice: under the CRC, in the CRC itself, the length or the magic.
func TestRecoverCorrupt(t *testing.T) {
	for seed := range uint64(60) {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			dir := t.TempDir()
			opts := smallOpts()
			lb := &logBuffer{}
			opts.Logger = lb.logger()
			g := newGen(seed)
			n := 1 + g.rng.IntN(40)
			m := buildClosed(t, dir, 0, seed, n, opts)
			k := g.rng.IntN(n)
			b := &m.batches[k]
			var at int64
			switch g.rng.IntN(4) {
			case 0:
				at = batch.LengthOffset + g.rng.Int64N(4)
			case 1:
				at = 16 // magic
			case 2:
				at = 17 + g.rng.Int64N(4) // crc
			default:
				at = 21 + g.rng.Int64N(b.size()-21)
			}
			data := readFile(t, path(dir, 0, ".log"))
			data[b.pos+at] ^= byte(1 + g.rng.IntN(255))
			if err := os.WriteFile(path(dir, 0, ".log"), data, 0o644); err != nil {
				t.Fatal(err)
			}
			size := m.size()
			m.keep(k)

			s := open(t, dir, 0, opts)
			rec, err := s.Recover()
			if err != nil {
				t.Fatal(err)
			}
			if rec.Batches != k || rec.ValidBytes != m.size() || rec.TruncatedBytes != size-m.size() {
				t.Fatalf("flip at byte %d of batch %d: Recover = %+v; want %d batches, %d valid bytes, %d cut",
					at, k, rec, k, m.size(), size-m.size())
			}
			if !errors.Is(rec.Reason, batch.ErrInvalid) {
				t.Fatalf("Reason %v, want a batch.ErrInvalid", rec.Reason)
			}
			log := lb.String()
			if !strings.Contains(log, "level=WARN") || !strings.Contains(log, "recovery truncated segment") ||
				!strings.Contains(log, fmt.Sprintf("kept_batches=%d", k)) || !strings.Contains(log, fmt.Sprintf("kept_bytes=%d", m.size())) {
				t.Fatalf("warning missing or incomplete:\n%s", log)
			}
			checkRecovered(t, dir, s, m, seed, opts)
		})
	}
}

// TestRecoverOffsetOrder stores a batch whose base offset goes back: it is
// not CRC-covered, so only the offset check can catch it.
func TestRecoverOffsetOrder(t *testing.T) {
	dir := t.TempDir()
	opts := smallOpts()
	m := buildClosed(t, dir, 0, 3, 10, opts)
	data := readFile(t, path(dir, 0, ".log"))
	batch.SetBaseOffset(data[m.batches[6].pos:], m.batches[5].base)
	if err := os.WriteFile(path(dir, 0, ".log"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	m.keep(6)
	s := open(t, dir, 0, opts)
	rec, err := s.Recover()
	if err != nil {
		t.Fatal(err)
	}
	if rec.Batches != 6 || !errors.Is(rec.Reason, segment.ErrOffsetOrder) {
		t.Fatalf("Recover = %+v, want 6 batches and ErrOffsetOrder", rec)
	}
	checkRecovered(t, dir, s, m, 3, opts)
}

// TestRecoverStaleIndex truncates the log of a closed segment at a batch
// boundary, leaving indexes that point past its new end, as a crash can
// when the indexes reached the disk and the log's tail did not.
func TestRecoverStaleIndex(t *testing.T) {
	for seed := range uint64(10) {
		for _, how := range []string{"lazy", "activate", "recover"} {
			t.Run(fmt.Sprintf("%s/seed=%d", how, seed), func(t *testing.T) {
				dir := t.TempDir()
				opts := smallOpts()
				m := buildClosed(t, dir, 0, seed, 60, opts)
				g := newGen(seed + 7)
				keep := g.rng.IntN(len(m.batches))
				m.keep(keep)
				if err := os.Truncate(path(dir, 0, ".log"), m.size()); err != nil {
					t.Fatal(err)
				}
				s := open(t, dir, 0, opts)
				switch how {
				case "lazy":
					checkAll(t, s, m, 1200)
					checkTimestamps(t, s, m, m.tsTargets())
					if got, err := s.MaxTimestamp(); err != nil || got != m.maxTS() {
						t.Fatalf("MaxTimestamp after reads %d, %v; want %d", got, err, m.maxTS())
					}
					closeSeg(t, s)
					checkIndexFiles(t, dir, m, opts.IndexIntervalBytes)
					return
				case "activate":
					if err := s.Activate(); err != nil {
						t.Fatal(err)
					}
				case "recover":
					rec, err := s.Recover()
					if err != nil {
						t.Fatal(err)
					}
					if rec.TruncatedBytes != 0 || rec.Batches != keep {
						t.Fatalf("Recover = %+v", rec)
					}
				}
				checkRecovered(t, dir, s, m, seed, opts)
			})
		}
	}
}

// TestActivateTorn activates a segment said to be clean whose tail is torn:
// Activate must notice and recover.
func TestActivateTorn(t *testing.T) {
	dir := t.TempDir()
	opts := smallOpts()
	lb := &logBuffer{}
	opts.Logger = lb.logger()
	m := buildClosed(t, dir, 0, 9, 30, opts)
	cut := m.batches[20].pos + 30
	if err := os.Truncate(path(dir, 0, ".log"), cut); err != nil {
		t.Fatal(err)
	}
	m.keep(20)
	s := open(t, dir, 0, opts)
	if err := s.Activate(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(lb.String(), "recovery truncated segment") {
		t.Fatalf("no recovery logged:\n%s", lb)
	}
	checkRecovered(t, dir, s, m, 9, opts)
}

// TestRecoverTwice: a second Recover finds nothing to cut.
func TestRecoverTwice(t *testing.T) {
	dir := t.TempDir()
	opts := smallOpts()
	m := buildClosed(t, dir, 0, 4, 20, opts)
	if err := os.Truncate(path(dir, 0, ".log"), m.size()-5); err != nil {
		t.Fatal(err)
	}
	m.keep(19)
	s := open(t, dir, 0, opts)
	if _, err := s.Recover(); err != nil {
		t.Fatal(err)
	}
	rec, err := s.Recover()
	if err != nil || rec.TruncatedBytes != 0 || rec.Batches != 19 {
		t.Fatalf("second Recover = %+v, %v", rec, err)
	}
	checkRecovered(t, dir, s, m, 4, opts)
}
