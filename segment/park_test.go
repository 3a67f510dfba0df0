package segment_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/sluicelog/sluice/index"
	"github.com/sluicelog/sluice/segment"
	"github.com/sluicelog/sluice/segment/fsys"
)

// fdsUnder counts this process's descriptors open on files under dir.
func fdsUnder(t testing.TB, dir string) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	n := 0
	for _, e := range ents {
		if target, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name())); err == nil && strings.HasPrefix(target, dir+"/") {
			n++
		}
	}
	return n
}

// mapsUnder counts this process's memory mappings of files under dir.
func mapsUnder(t testing.TB, dir string) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Skipf("no /proc/self/maps: %v", err)
	}
	return strings.Count(string(b), dir+"/")
}

// TestParkReadAppend: a parked active segment holds no descriptor, no
// mapping and only its entries' disk; a read reopens it, and appends carry
// on in it without rolling (its indexes reopen at full size, not
// trimmed); its data and max timestamp survive a close and reactivation.
func TestParkReadAppend(t *testing.T) {
	dir := t.TempDir()
	h := segment.NewHandles(0)
	opts := smallOpts()
	opts.Handles = h
	g := newGen(21)
	m := model{base: 100}
	s := create(t, dir, 100, opts)
	g.fill(t, s, &m, 40)
	if fdsUnder(t, dir) != 1 || mapsUnder(t, dir) != 2 || h.Files() != 1 || h.Maps() != 2 {
		t.Fatalf("active segment: %d fds, %d maps (counted %d, %d), want 1 and 2",
			fdsUnder(t, dir), mapsUnder(t, dir), h.Files(), h.Maps())
	}
	entries := func() int64 {
		return fileSize(t, path(dir, 100, ".index")) / index.OffsetEntrySize
	}

	for round := range 3 {
		ok, err := s.Park()
		if err != nil || !ok {
			t.Fatalf("round %d: Park = %v, %v", round, ok, err)
		}
		if !s.Parked() || s.HasOpenFiles() {
			t.Fatalf("round %d: parked %v, open files %v", round, s.Parked(), s.HasOpenFiles())
		}
		if n, k := fdsUnder(t, dir), mapsUnder(t, dir); n != 0 || k != 0 || h.Files() != 0 || h.Maps() != 0 {
			t.Fatalf("round %d: parked segment holds %d fds, %d maps (counted %d, %d)", round, n, k, h.Files(), h.Maps())
		}
		if ok, err := s.Park(); ok || err != nil {
			t.Fatalf("round %d: second Park = %v, %v", round, ok, err)
		}
		// Trimmed to its entries: no preallocated chunk left behind.
		if got, want := fileSize(t, path(dir, 100, ".timeindex"))%index.TimeEntrySize, int64(0); got != want {
			t.Fatalf("round %d: time index not whole entries", round)
		}
		before := entries()
		if round%2 == 0 {
			checkAll(t, s, &m, 4096) // a read reopens it
			checkTimestamps(t, s, &m, m.tsSample(50))
		}
		g.fill(t, s, &m, 40) // an append reopens it, or finds it open
		if s.Parked() || !s.HasOpenFiles() {
			t.Fatalf("round %d: after append parked %v, open %v", round, s.Parked(), s.HasOpenFiles())
		}
		if err := s.Flush(); err != nil {
			t.Fatal(err)
		}
		if entries() <= before {
			t.Fatalf("round %d: index did not grow after appends to a parked segment (%d entries)", round, before)
		}
		checkAll(t, s, &m, 4096)
	}
	if ok, err := s.Park(); !ok || err != nil {
		t.Fatalf("final Park = %v, %v", ok, err)
	}
	closeSeg(t, s)

	s = open(t, dir, 100, opts)
	if err := s.Activate(); err != nil {
		t.Fatal(err)
	}
	if s.NextOffset() != m.next() {
		t.Fatalf("NextOffset after reactivation %d, want %d", s.NextOffset(), m.next())
	}
	if ts, _ := s.MaxTimestamp(); ts != m.maxTS() {
		t.Fatalf("MaxTimestamp after reactivation %d, want %d", ts, m.maxTS())
	}
	checkAll(t, s, &m, 4096)
	closeSeg(t, s)
	if h.Files() != 0 || h.Maps() != 0 {
		t.Fatalf("after close: counted %d files, %d maps", h.Files(), h.Maps())
	}
}

// TestParkKeepsRegionFile: a Region's file goes to sendfile outside any
// lock, so Park refuses while one is held; a parked segment read through a
// Region hands out a file that stays open until Release.
func TestParkKeepsRegionFile(t *testing.T) {
	dir := t.TempDir()
	g := newGen(22)
	var m model
	s := create(t, dir, 0, smallOpts())
	defer closeSeg(t, s)
	g.fill(t, s, &m, 20)
	r, err := s.Read(0, 1<<20, -1)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := s.Park(); ok || err != nil {
		t.Fatalf("Park under a live region = %v, %v", ok, err)
	}
	if _, err := r.ReadTo(nil); err != nil {
		t.Fatal(err)
	}
	r.Release()
	if ok, err := s.Park(); !ok || err != nil {
		t.Fatalf("Park after release = %v, %v", ok, err)
	}
	r, err = s.Read(m.batches[5].base, 1<<20, -1)
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := s.Park(); ok {
		t.Fatal("parked under a region read from the parked segment")
	}
	got, err := r.ReadTo(nil)
	r.Release()
	if err != nil || int64(len(got)) != m.size()-m.batches[5].pos {
		t.Fatalf("region of the reopened segment: %d bytes, %v", len(got), err)
	}
}

// TestParkThenSealOrTruncate: a parked segment can be sealed (a time roll
// of an idle partition) and then reads as a sealed segment, and truncated
// (a follower's divergence), after which it takes appends.
func TestParkThenSealOrTruncate(t *testing.T) {
	dir := t.TempDir()
	g := newGen(23)
	var m model
	s := create(t, dir, 0, smallOpts())
	g.fill(t, s, &m, 30)
	if ok, err := s.Park(); !ok || err != nil {
		t.Fatal(ok, err)
	}
	if err := s.Seal(); err != nil {
		t.Fatal(err)
	}
	if s.Parked() {
		t.Fatal("sealed segment still parked")
	}
	checkAll(t, s, &m, 4096)
	if err := s.Append(g.batch(m.next()).data); !errors.Is(err, segment.ErrNotWritable) {
		t.Fatalf("Append to a sealed parked segment = %v", err)
	}
	closeSeg(t, s)

	dir = t.TempDir()
	m = model{}
	s = create(t, dir, 0, smallOpts())
	defer closeSeg(t, s)
	g.fill(t, s, &m, 30)
	if ok, err := s.Park(); !ok || err != nil {
		t.Fatal(ok, err)
	}
	cut := m.batches[12].base
	if next, err := s.TruncateTo(cut); err != nil || next != cut {
		t.Fatalf("TruncateTo(%d) on a parked segment = %d, %v", cut, next, err)
	}
	m.keep(12)
	g.fill(t, s, &m, 10)
	checkAll(t, s, &m, 4096)
}

// TestParkReopenFails: when the descriptors (or memory, or disk) run out,
// an Append to a parked segment fails with ErrUnavailable, writes nothing,
// and works once they are back.
func TestParkReopenFails(t *testing.T) {
	dir := t.TempDir()
	fs := fsys.NewFaulty(nil)
	opts := smallOpts()
	opts.FS = fs
	g := newGen(24)
	var m model
	s := create(t, dir, 0, opts)
	defer closeSeg(t, s)
	g.fill(t, s, &m, 10)
	for _, ft := range []fsys.Fault{
		{Ops: fsys.OpOpen, Err: syscall.EMFILE},
		{Ops: fsys.OpOpen, Err: syscall.ENFILE, Path: fsys.PathSuffix(".timeindex")},
		{Ops: fsys.OpMap, Err: syscall.ENOMEM},
		{Ops: fsys.OpAllocate, Err: syscall.ENOSPC},
	} {
		if ok, err := s.Park(); !ok || err != nil {
			t.Fatal(ok, err)
		}
		fs.Inject(ft)
		b := g.batch(m.next())
		if err := s.Append(b.data); !errors.Is(err, segment.ErrUnavailable) || !errors.Is(err, ft.Err) {
			t.Fatalf("%v: Append = %v, want ErrUnavailable and the cause", ft.Err, err)
		}
		if s.Size() != m.size() || s.NextOffset() != m.next() {
			t.Fatalf("%v: failed append moved the segment: size %d next %d", ft.Err, s.Size(), s.NextOffset())
		}
		fs.Clear()
		g.fill(t, s, &m, 3)
		checkAll(t, s, &m, 4096)
	}
}

// TestParkRacesReadersAndAppends parks the active segment over and over
// while one writer appends (excluded from Park by a lock, as the
// partition's is) and readers read: under -race this checks that every
// writer reopens under the segment's lock and that readers never see a
// closed file.
func TestParkRacesReadersAndAppends(t *testing.T) {
	dir := t.TempDir()
	g := newGen(25)
	var m model
	s := create(t, dir, 0, smallOpts())
	defer closeSeg(t, s)
	g.fill(t, s, &m, 20)
	var mu sync.Mutex // the partition's lock
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if mu.TryLock() {
				if _, err := s.Park(); err != nil {
					t.Error(err)
				}
				mu.Unlock()
			}
		}
	}()
	// Readers check what existed before the writer started.
	frozen := model{base: m.base, batches: append([]stored(nil), m.batches...)}
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 15 {
				for _, b := range frozen.batches {
					checkRead(t, s, &frozen, b.base, 2048, frozen.size())
				}
			}
		}()
	}
	for range 60 {
		mu.Lock()
		g.fill(t, s, &m, 2)
		mu.Unlock()
	}
	close(stop)
	wg.Wait()
	checkAll(t, s, &m, 4096)
}
