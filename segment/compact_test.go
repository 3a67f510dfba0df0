package segment_test

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/sluicelog/sluice/segment"
	"github.com/sluicelog/sluice/segment/batch"
)

// How cleanedModel treats each batch a producer wrote, in turn.
var cleanings = []string{"gone", "odd", "all", "empty", "gone", "gone", "lastgone", "odd", "one", "empty", "all"}

// cleanedModel builds n batches as producers would, then thins them the
// way a log cleaner does, with batch.Filterer: some keep every record,
// some lose their odd offsets, their last record or all but one, some
// stay as empty batches and some disappear, leaving gaps between batches
// (the very first too, so the segment starts with a gap). The last batch
// is empty, as an idempotent producer's last batch is after a cleaning.
func cleanedModel(t testing.TB, base int64, seed uint64, n int) *model {
	t.Helper()
	g := newGen(seed)
	m := &model{base: base}
	var f batch.Filterer
	next := base
	for i := range n {
		how := cleanings[i%len(cleanings)]
		if i == n-1 {
			how = "empty"
		}
		b := g.batch(next)
		next = b.last + 1
		keep := func(r *batch.Record) bool {
			switch how {
			case "odd":
				return r.Offset%2 == 0
			case "lastgone":
				return r.Offset != b.last
			case "one":
				return r.Offset == b.base+(b.last-b.base)/2
			case "all":
				return true
			}
			return false
		}
		data, kept, err := f.Filter(nil, b.data, keep, batch.FilterOptions{KeepEmpty: how == "empty"})
		if err != nil {
			t.Fatalf("Filter: %v", err)
		}
		if len(data) == 0 {
			continue // the whole batch went
		}
		c := stored{base: b.base, last: b.last, pos: m.size(), data: data, maxTS: b.maxTS, offsets: []int64{}}
		for j, ts := range b.ts {
			if o := b.base + int64(j); keep(&batch.Record{Offset: o}) {
				c.ts = append(c.ts, ts)
				c.offsets = append(c.offsets, o)
			}
		}
		if len(c.offsets) != kept {
			t.Fatalf("batch %d (%s): Filter kept %d records, the model %d", i, how, kept, len(c.offsets))
		}
		m.batches = append(m.batches, c)
	}
	return m
}

// writeModel appends the model's batches to a new segment, a few per
// Append call, and closes it.
func writeModel(t testing.TB, dir string, m *model, opts segment.Options) {
	t.Helper()
	s := create(t, dir, m.base, opts)
	for i := 0; i < len(m.batches); {
		var buf []byte
		for k := 0; k < 3 && i < len(m.batches); k, i = k+1, i+1 {
			buf = append(buf, m.batches[i].data...)
		}
		if err := s.Append(buf); err != nil {
			t.Fatalf("Append before batch %d: %v", i, err)
		}
	}
	closeSeg(t, s)
}

// TestRecoverCompacted writes a segment of cleaned batches (gaps inside
// batches and between them, empty batches, all codecs) and recovers it:
// nothing is cut, and every offset, those in gaps included, reads from the
// batch that holds it or, in a gap, the next batch that holds a later one.
func TestRecoverCompacted(t *testing.T) {
	for seed := range uint64(4) {
		for _, how := range []string{"recover", "activate", "lazy", "rebuild"} {
			t.Run(fmt.Sprintf("%s/seed=%d", how, seed), func(t *testing.T) {
				dir := t.TempDir()
				opts := smallOpts()
				lb := &logBuffer{}
				opts.Logger = lb.logger()
				m := cleanedModel(t, 100, seed, 60)
				writeModel(t, dir, m, opts)
				if how == "rebuild" {
					for _, suffix := range []string{".index", ".timeindex"} {
						if err := os.Remove(path(dir, m.base, suffix)); err != nil {
							t.Fatal(err)
						}
					}
				}
				s := open(t, dir, m.base, opts)
				switch how {
				case "recover", "rebuild":
					rec, err := s.Recover()
					if err != nil {
						t.Fatal(err)
					}
					if want := (segment.Recovery{Batches: len(m.batches), ValidBytes: m.size(), ScannedBytes: m.size()}); rec != want {
						t.Fatalf("Recover = %+v, want %+v", rec, want)
					}
				case "activate":
					if err := s.Activate(); err != nil {
						t.Fatal(err)
					}
				case "lazy":
					checkAll(t, s, m, 1200)
					checkTimestamps(t, s, m, m.tsTargets())
					checkGaps(t, s, m)
					if got := s.Size(); got != m.size() {
						t.Fatalf("lazy Size %d, want %d", got, m.size())
					}
					closeSeg(t, s)
					checkIndexFiles(t, dir, m, opts.IndexIntervalBytes)
					return
				}
				if strings.Contains(lb.String(), "level=WARN") && how != "rebuild" {
					t.Fatalf("a clean compacted segment logged a warning:\n%s", lb)
				}
				checkGaps(t, s, m)
				checkRecovered(t, dir, s, m, seed, opts)
			})
		}
	}
}

// checkGaps reads every offset that no record holds, between batches and
// inside them, and checks where the read lands: on the batch whose range
// holds the offset (a gap inside a batch, or an empty batch), or on the
// next batch, one holding later offsets, for a gap between batches.
func checkGaps(t testing.TB, s *segment.Segment, m *model) {
	t.Helper()
	between, inside, empty := 0, 0, 0
	prev := m.base
	for i := range m.batches {
		b := &m.batches[i]
		for o := prev; o < b.base; o++ {
			between++
			r, err := s.Read(o, 1, -1)
			if err != nil {
				t.Fatalf("Read(%d) in the gap before offset %d: %v", o, b.base, err)
			}
			if r.BaseOffset != b.base || r.Pos != b.pos || r.BaseOffset <= o {
				t.Fatalf("Read(%d) in the gap before batch %d (offset %d at %d): region at %d base %d", o, i, b.base, b.pos, r.Pos, r.BaseOffset)
			}
			r.Release()
		}
		held := map[int64]bool{}
		for j := range b.ts {
			held[b.offset(j)] = true
		}
		if len(b.ts) == 0 {
			empty++
		}
		for o := b.base; o <= b.last; o++ {
			if held[o] {
				continue
			}
			inside++
			r, err := s.Read(o, 1, -1)
			if err != nil || r.BaseOffset != b.base || r.Pos != b.pos {
				t.Fatalf("Read(%d) in a gap of batch %d (offset %d at %d): region at %d base %d, %v", o, i, b.base, b.pos, r.Pos, r.BaseOffset, err)
			}
			r.Release()
		}
		prev = b.last + 1
	}
	if between == 0 || inside == 0 || empty == 0 {
		t.Fatalf("the model has %d offsets between batches, %d inside, %d empty batches: it tests too little", between, inside, empty)
	}
}
