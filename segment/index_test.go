package segment_test

import (
	"encoding/binary"
	"fmt"
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
		for seed := range uint64(3) {
			t.Run(fmt.Sprintf("interval=%d/seed=%d", interval, seed), func(t *testing.T) {
				dir := t.TempDir()
				opts := segment.Options{IndexIntervalBytes: interval, MaxIndexBytes: 256 << 10}
				g := newGen(seed)
				g.maxRecords = 8
				s := create(t, dir, 7, opts)
				defer s.Close()
				m := &model{base: 7}
				g.fill(t, s, m, 500)
				checkAll(t, s, m, 3000)
				checkTimestamps(t, s, m, m.tsTargets())

				if err := s.Seal(); err != nil {
					t.Fatal(err)
				}
				checkIndexFiles(t, dir, m, interval)
				// Reads keep working on the trimmed indexes.
				checkAll(t, s, m, 10000)
				checkTimestamps(t, s, m, m.tsTargets()[:50])
			})
		}
	}
}

// TestIndexFull fills a tiny offset index: Append must say ErrFull before
// any index entry is lost, and the segment stays readable.
func TestIndexFull(t *testing.T) {
	dir := t.TempDir()
	// withDefaults raises MaxIndexBytes to four time entries: 48 bytes,
	// six offset entries.
	opts := segment.Options{IndexIntervalBytes: 1, MaxIndexBytes: 1}
	s := create(t, dir, 0, opts)
	defer s.Close()
	g := newGen(2)
	m := &model{}
	var err error
	for i := 0; i < 100; i++ {
		b := g.batch(m.next())
		if err = s.Append(b.data); err != nil {
			break
		}
		b.pos = m.size()
		m.batches = append(m.batches, b)
	}
	if err != segment.ErrFull {
		t.Fatalf("Append into a full index: %v, want ErrFull", err)
	}
	if len(m.batches) < 4 {
		t.Fatalf("index full after %d batches", len(m.batches))
	}
	checkAll(t, s, m, 2000)
	checkTimestamps(t, s, m, m.tsTargets())
	if err := s.Seal(); err != nil {
		t.Fatal(err)
	}
	checkIndexFiles(t, dir, m, 1)
}
