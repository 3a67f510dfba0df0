package segment_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/sluicelog/sluice/segment"
)

// TestCreateLazy: an unborn segment makes no directory or file until its
// first Append; reads, lookups, flushes, truncation and closing it touch
// nothing; the Append creates the directory and files and the segment then
// behaves as one Create made, across a close and reactivation.
func TestCreateLazy(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "p-0")
	h := segment.NewHandles(0)
	opts := smallOpts()
	opts.Handles = h
	s := segment.CreateLazy(dir, 100, opts)
	if !s.Unborn() || !s.Parked() || s.NextOffset() != 100 || s.Size() != 0 {
		t.Fatalf("unborn segment: unborn %v parked %v next %d size %d", s.Unborn(), s.Parked(), s.NextOffset(), s.Size())
	}
	if r, err := s.Read(100, 1<<20, -1); err != nil || r.Len != 0 {
		t.Fatalf("read of unborn segment: %+v, %v", r, err)
	}
	if _, found, err := s.OffsetForTimestamp(0); err != nil || found {
		t.Fatalf("OffsetForTimestamp of unborn segment: %v, %v", found, err)
	}
	if ts, err := s.MaxTimestamp(); err != nil || ts != -1 {
		t.Fatalf("MaxTimestamp of unborn segment: %d, %v", ts, err)
	}
	if err := s.Flush(); err != nil {
		t.Fatalf("flush of unborn segment: %v", err)
	}
	if err := s.Activate(); err != nil {
		t.Fatalf("activate of unborn segment: %v", err)
	}
	if next, err := s.TruncateTo(100); err != nil || next != 100 {
		t.Fatalf("truncate of unborn segment: %d, %v", next, err)
	}
	if ok, err := s.Park(); ok || err != nil {
		t.Fatalf("park of unborn segment: %v, %v", ok, err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("unborn segment's directory exists: %v", err)
	}
	if h.Files() != 0 || h.Maps() != 0 {
		t.Fatalf("unborn segment holds %d files, %d mappings", h.Files(), h.Maps())
	}

	g := newGen(5)
	m := model{base: 100}
	g.fill(t, s, &m, 30)
	if s.Unborn() || s.Parked() || h.Files() != 1 || fdsUnder(t, dir) != 1 {
		t.Fatalf("after append: unborn %v parked %v files %d fds %d", s.Unborn(), s.Parked(), h.Files(), fdsUnder(t, dir))
	}
	checkAll(t, s, &m, 1000)
	closeSeg(t, s)
	s = open(t, dir, 100, opts)
	defer s.Close()
	if err := s.Activate(); err != nil {
		t.Fatal(err)
	}
	if s.NextOffset() != m.next() {
		t.Fatalf("reopened next offset %d, want %d", s.NextOffset(), m.next())
	}
	checkAll(t, s, &m, 1000)
}

// TestCreateLazyClosedUnborn: an unborn segment closed or deleted without
// an append leaves nothing on disk.
func TestCreateLazyClosedUnborn(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "p-0")
	s := segment.CreateLazy(dir, 0, smallOpts())
	if err := s.Seal(); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("directory exists after close: %v", err)
	}
}

// TestResume: a segment opened lazily and resumed from the State it had
// when closed opens nothing, answers reads and appends as an activated one
// would (same next offset, max timestamp and index density: a later
// activation finds its indexes consistent), and refuses a state whose size
// is not the log's.
func TestResume(t *testing.T) {
	dir := t.TempDir()
	h := segment.NewHandles(0)
	opts := smallOpts()
	opts.Handles = h
	logs := &logBuffer{}
	opts.Logger = logs.logger()
	g := newGen(9)
	m := model{base: 0}
	s := create(t, dir, 0, opts)
	g.fill(t, s, &m, 25)
	st := s.State()
	closeSeg(t, s)

	s = open(t, dir, 0, opts)
	bad := st
	bad.Size--
	if s.Resume(bad) {
		t.Fatal("Resume took a state of the wrong size")
	}
	if !s.Resume(st) {
		t.Fatal("Resume refused the state the segment closed with")
	}
	if h.Files() != 0 || h.Maps() != 0 || fdsUnder(t, dir) != 0 {
		t.Fatalf("resumed segment holds %d files, %d mappings", h.Files(), h.Maps())
	}
	if s.NextOffset() != m.next() || !s.Parked() {
		t.Fatalf("resumed: next %d (want %d), parked %v", s.NextOffset(), m.next(), s.Parked())
	}
	if ts, _ := s.MaxTimestamp(); ts != m.maxTS() {
		t.Fatalf("resumed max timestamp %d, want %d", ts, m.maxTS())
	}
	g.fill(t, s, &m, 25)
	checkAll(t, s, &m, 700)
	closeSeg(t, s)

	s = open(t, dir, 0, opts)
	defer s.Close()
	if err := s.Activate(); err != nil {
		t.Fatal(err)
	}
	if s.NextOffset() != m.next() {
		t.Fatalf("next offset %d after reactivation, want %d", s.NextOffset(), m.next())
	}
	checkAll(t, s, &m, 700)
	if got := logs.String(); got != "" {
		t.Fatalf("resumed segment's indexes were rebuilt or recovered: %s", got)
	}
}
