package segment_test

import (
	"strings"
	"testing"
)

// TestRecoverFrom: a segment flushed at a known offset and position, then
// appended to and damaged past it (as a crash leaves it), is recovered by
// validating only the bytes past that position: the cut lands at the
// damaged batch, everything before it reads back, the next offset and
// max timestamp are right, and appends carry on. A position that does not
// match the log falls back to the full recovery, with the same result.
func TestRecoverFrom(t *testing.T) {
	for _, badPos := range []bool{false, true} {
		dir := t.TempDir()
		opts := smallOpts()
		logs := &logBuffer{}
		opts.Logger = logs.logger()
		g := newGen(33)
		m := model{base: 50}
		s := create(t, dir, 50, opts)
		g.fill(t, s, &m, 30)
		if err := s.Flush(); err != nil {
			t.Fatal(err)
		}
		offset, pos := s.NextOffset(), s.Size()
		g.fill(t, s, &m, 15)
		closeSeg(t, s)
		size := fileSize(t, path(dir, 50, ".log"))
		damaged := m.batches[36]
		if err := overwrite(path(dir, 50, ".log"), damaged.pos+damaged.size()-1, []byte{^damaged.data[len(damaged.data)-1]}); err != nil {
			t.Fatal(err)
		}
		s = open(t, dir, 50, opts)
		if badPos {
			pos++
		}
		rec, err := s.RecoverFrom(offset, pos)
		if err != nil {
			t.Fatal(err)
		}
		wantScanned := size - pos
		if badPos {
			wantScanned = size
		}
		if rec.ScannedBytes != wantScanned || rec.ValidBytes != damaged.pos || rec.TruncatedBytes != size-damaged.pos {
			t.Fatalf("badPos %v: recovery %+v; want %d bytes scanned, cut at %d of %d", badPos, rec, wantScanned, damaged.pos, size)
		}
		m.keep(36)
		if s.NextOffset() != m.next() {
			t.Fatalf("next offset %d, want %d", s.NextOffset(), m.next())
		}
		if ts, _ := s.MaxTimestamp(); ts != m.maxTS() {
			t.Fatalf("max timestamp %d, want %d", ts, m.maxTS())
		}
		checkAll(t, s, &m, 900)
		g.fill(t, s, &m, 5)
		checkAll(t, s, &m, 900)
		closeSeg(t, s)
		s = open(t, dir, 50, opts)
		if err := s.Activate(); err != nil {
			t.Fatal(err)
		}
		checkAll(t, s, &m, 900)
		closeSeg(t, s)
		if !badPos && (strings.Contains(logs.String(), "rebuilding") || strings.Contains(logs.String(), "validating all")) {
			t.Fatalf("indexes rebuilt:\n%s", logs)
		}
	}
}
