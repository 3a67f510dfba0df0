package segment_test

import (
	"encoding/binary"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/sluicelog/sluice/index"
	"github.com/sluicelog/sluice/segment"
)

// wantOffsetEntries is where the offset index should have entries: a batch
// gets one when more than interval bytes of log passed since the last one.
func (m *model) wantOffsetEntries(interval int) []int {
	var out []int
	since := 0
	for i := range m.batches {
		if since > interval {
			out = append(out, i)
			since = 0
		}
		since += int(m.batches[i].size())
	}
	return out
}

// checkIndexFiles reads the index files of a closed or sealed segment and
// checks them against the model: trimmed to whole entries, one offset entry
// every interval bytes pointing at the start of its batch, and time entries
// that say when the segment's largest timestamp grew, ending at its maximum.
func checkIndexFiles(t testing.TB, dir string, m *model, interval int) {
	t.Helper()
	oi := readFile(t, path(dir, m.base, ".index"))
	if len(oi)%index.OffsetEntrySize != 0 {
		t.Fatalf("offset index of %d bytes: not whole entries", len(oi))
	}
	want := m.wantOffsetEntries(interval)
	if got := len(oi) / index.OffsetEntrySize; got != len(want) {
		t.Fatalf("offset index has %d entries (%d bytes), want %d", got, len(oi), len(want))
	}
	for i, bi := range want {
		rel := int64(binary.BigEndian.Uint32(oi[i*8:]))
		pos := int64(binary.BigEndian.Uint32(oi[i*8+4:]))
		b := &m.batches[bi]
		if m.base+rel != b.base || pos != b.pos {
			t.Fatalf("offset index entry %d: (%d, %d), want batch %d at (%d, %d)", i, m.base+rel, pos, bi, b.base, b.pos)
		}
	}

	ti := readFile(t, path(dir, m.base, ".timeindex"))
	if len(ti)%index.TimeEntrySize != 0 {
		t.Fatalf("time index of %d bytes: not whole entries", len(ti))
	}
	n := len(ti) / index.TimeEntrySize
	if m.maxTS() >= 0 && n == 0 && len(m.batches) > 0 {
		t.Fatal("time index is empty")
	}
	if n > len(want)+1 {
		t.Fatalf("time index has %d entries for %d offset entries", n, len(want))
	}
	prevTS, prevOff := int64(-1), m.base
	for i := range n {
		ts := int64(binary.BigEndian.Uint64(ti[i*12:]))
		off := m.base + int64(binary.BigEndian.Uint32(ti[i*12+8:]))
		if ts <= prevTS || off < prevOff {
			t.Fatalf("time index entry %d (%d, %d) after (%d, %d)", i, ts, off, prevTS, prevOff)
		}
		bi := m.find(off)
		if bi == len(m.batches) || m.batches[bi].maxTS != ts {
			t.Fatalf("time index entry %d (%d, %d) names no batch with that max timestamp", i, ts, off)
		}
		for j := range bi {
			if m.batches[j].maxTS >= ts {
				t.Fatalf("time index entry %d (%d, %d): batch %d before it already reached %d", i, ts, off, j, m.batches[j].maxTS)
			}
		}
		prevTS, prevOff = ts, off
	}
	if n > 0 && prevTS != m.maxTS() {
		t.Fatalf("time index ends at %d, segment max is %d", prevTS, m.maxTS())
	}
}

// TestIndexInterval appends many batches with a small index interval and
// checks reads, timestamp lookups and the index files after Seal.
func TestIndexInterval(t *testing.T) {
	for _, interval := range []int{1, 256, 4096, 1 << 20} {
		seeds := uint64(1)
		if interval == 256 {
			seeds = 3
		}
		for seed := range seeds {
			t.Run(fmt.Sprintf("interval=%d/seed=%d", interval, seed), func(t *testing.T) {
				dir := t.TempDir()
				lb := &logBuffer{}
				opts := segment.Options{IndexIntervalBytes: interval, MaxIndexBytes: 256 << 10, Logger: lb.logger()}
				g := newGen(seed)
				g.maxRecords = 8
				s := create(t, dir, 7, opts)
				defer s.Close()
				m := &model{base: 7}
				g.fill(t, s, m, 500)
				if seed == 0 {
					checkAll(t, s, m, 3000)
				} else {
					checkBatches(t, s, m, 3000)
				}
				checkTimestamps(t, s, m, m.tsTargets())

				if err := s.Seal(); err != nil {
					t.Fatal(err)
				}
				checkIndexFiles(t, dir, m, interval)
				// Reads keep working on the trimmed indexes.
				checkBatches(t, s, m, 10000)
				checkTimestamps(t, s, m, m.tsTargets()[:50])

				// And after a reopen, which must trust them.
				closeSeg(t, s)
				s = open(t, dir, 7, opts)
				defer s.Close()
				checkBatches(t, s, m, 3000)
				checkTimestamps(t, s, m, m.tsTargets()[:50])
				if log := lb.String(); log != "" {
					t.Fatalf("clean segment logged:\n%s", log)
				}
			})
		}
	}
}

// TestIndexFull fills a tiny offset index: Append must say ErrFull once the
// index has no room, and the segment stays readable, before and after a
// reopen, without being taken for damaged.
func TestIndexFull(t *testing.T) {
	for _, multi := range []bool{false, true} {
		t.Run(fmt.Sprintf("multi=%v", multi), func(t *testing.T) {
			dir := t.TempDir()
			lb := &logBuffer{}
			// withDefaults raises MaxIndexBytes to four time entries: 48
			// bytes, six offset entries.
			opts := segment.Options{IndexIntervalBytes: 1, MaxIndexBytes: 1, Logger: lb.logger()}
			s := create(t, dir, 0, opts)
			g := newGen(2)
			m := &model{}
			var err error
			for i := 0; i < 100; i++ {
				// With multi, the batches after the fifth come five to a
				// call, so one call crosses the last free slot and the
				// batches past it go unindexed.
				k := 1
				if multi && i >= 6 {
					k = 5
				}
				var buf []byte
				var bs []stored
				next, pos := m.next(), m.size()
				for range k {
					b := g.batch(next)
					b.pos = pos
					next, pos = b.last+1, b.end()
					bs = append(bs, b)
					buf = append(buf, b.data...)
				}
				if err = s.Append(buf); err != nil {
					break
				}
				m.batches = append(m.batches, bs...)
			}
			if err != segment.ErrFull {
				t.Fatalf("Append into a full index: %v, want ErrFull", err)
			}
			if len(m.batches) < 6 {
				t.Fatalf("index full after %d batches", len(m.batches))
			}
			checkAll(t, s, m, 2000)
			checkTimestamps(t, s, m, m.tsTargets())
			if err := s.Seal(); err != nil {
				t.Fatal(err)
			}
			if !multi {
				checkIndexFiles(t, dir, m, 1)
			}
			closeSeg(t, s)
			s = open(t, dir, 0, opts)
			defer s.Close()
			checkAll(t, s, m, 2000)
			checkTimestamps(t, s, m, m.tsTargets())
			if strings.Contains(lb.String(), "rebuilding") {
				t.Fatalf("a full index was rebuilt on open:\n%s", lb)
			}
		})
	}
}

// TestCrashImage opens a copy of a segment's files taken while it was being
// written, as a crash leaves them: indexes untrimmed, with zeros after the
// last entry and no final time entry. They must be trusted as they are.
func TestCrashImage(t *testing.T) {
	for seed := range uint64(4) {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			dir, crash := t.TempDir(), t.TempDir()
			lb := &logBuffer{}
			opts := smallOpts()
			opts.Logger = lb.logger()
			s := create(t, dir, 0, opts)
			defer s.Close()
			m := &model{}
			g := newGen(seed)
			g.fill(t, s, m, 50)
			for _, suffix := range []string{".log", ".index", ".timeindex"} {
				if err := os.WriteFile(path(crash, 0, suffix), readFile(t, path(dir, 0, suffix)), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if got := fileSize(t, path(crash, 0, ".index")); got != int64(opts.MaxIndexBytes) {
				t.Fatalf("crash image index of %d bytes, want it untrimmed", got)
			}
			c := open(t, crash, 0, opts)
			checkAll(t, c, m, 2000)
			checkTimestamps(t, c, m, m.tsTargets())
			if log := lb.String(); log != "" {
				t.Fatalf("crash image indexes not trusted:\n%s", log)
			}
			if seed%2 == 0 {
				if err := c.Activate(); err != nil {
					t.Fatal(err)
				}
			} else {
				if rec, err := c.Recover(); err != nil || rec.TruncatedBytes != 0 {
					t.Fatalf("Recover = %+v, %v", rec, err)
				}
			}
			if c.NextOffset() != m.next() {
				t.Fatalf("NextOffset %d, want %d", c.NextOffset(), m.next())
			}
			g.fill(t, c, m, 20)
			checkBatches(t, c, m, 2000)
			closeSeg(t, c)
			checkIndexFiles(t, crash, m, opts.IndexIntervalBytes)
		})
	}
}
