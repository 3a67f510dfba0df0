package segment_test

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"testing"

	"github.com/sluicelog/sluice/segment"
	"github.com/sluicelog/sluice/segment/fsys"
)

// faultyOpts are smallOpts on a Faulty file system.
func faultyOpts() (segment.Options, *fsys.Faulty) {
	fs := fsys.NewFaulty(nil)
	opts := smallOpts()
	opts.FS = fs
	return opts, fs
}

// failAppend appends the next batch of g to s expecting err, and checks that
// the segment and its log file are as the model says.
func failAppend(t *testing.T, dir string, s *segment.Segment, m *model, g *gen, want error) {
	t.Helper()
	next := g.batch(m.next())
	if err := s.Append(next.data); !errors.Is(err, want) {
		t.Fatalf("Append under a fault: %v, want %v", err, want)
	}
	if s.Size() != m.size() || s.NextOffset() != m.next() {
		t.Fatalf("after a failed Append: Size %d NextOffset %d, want %d and %d", s.Size(), s.NextOffset(), m.size(), m.next())
	}
	checkAll(t, s, m, 700)
}

// TestAppendENOSPC: a full disk fails the append and changes nothing; once
// space is back, appends go on where they were.
func TestAppendENOSPC(t *testing.T) {
	dir := t.TempDir()
	opts, fs := faultyOpts()
	s := create(t, dir, 0, opts)
	m := &model{}
	g := newGen(21)
	g.fill(t, s, m, 20)

	fs.Inject(fsys.Fault{Ops: fsys.OpWrite, Err: syscall.ENOSPC, Path: fsys.PathSuffix(".log")})
	for range 3 {
		failAppend(t, dir, s, m, g, syscall.ENOSPC)
	}
	if got := fileSize(t, path(dir, 0, ".log")); got != m.size() {
		t.Fatalf("log file %d bytes after failed appends, want %d", got, m.size())
	}
	fs.Clear()
	g.fill(t, s, m, 20)
	checkAll(t, s, m, 700)
	checkTimestamps(t, s, m, m.tsSample(100))
	if err := s.Seal(); err != nil {
		t.Fatal(err)
	}
	checkIndexFiles(t, dir, m, opts.IndexIntervalBytes)
	closeSeg(t, s)
	checkReopenAgree(t, dir, m, opts)
}

// TestAppendShortWrite: a write that ran out of room midway is cut back;
// when even the cut fails, the torn bytes stay past Size, unseen, and a
// reopen recovers to the last good batch.
func TestAppendShortWrite(t *testing.T) {
	for _, cutFails := range []bool{false, true} {
		t.Run(fmt.Sprintf("cutFails=%v", cutFails), func(t *testing.T) {
			dir := t.TempDir()
			opts, fs := faultyOpts()
			s := create(t, dir, 0, opts)
			m := &model{}
			g := newGen(22)
			g.fill(t, s, m, 15)
			ops := fsys.OpWrite
			if cutFails {
				ops |= fsys.OpTruncate
			}
			fs.Inject(fsys.Fault{Ops: ops, Err: syscall.EIO, Short: 70, Path: fsys.PathSuffix(".log")})
			failAppend(t, dir, s, m, g, syscall.EIO)
			want := m.size()
			if cutFails {
				want += 70
			}
			if got := fileSize(t, path(dir, 0, ".log")); got != want {
				t.Fatalf("log file %d bytes after a short write, want %d", got, want)
			}
			fs.Clear()
			closeSeg(t, s)

			s = open(t, dir, 0, opts)
			rec, err := s.Recover()
			if err != nil {
				t.Fatal(err)
			}
			if rec.Batches != len(m.batches) || rec.TruncatedBytes != want-m.size() {
				t.Fatalf("Recover = %+v; want %d batches and %d bytes cut", rec, len(m.batches), want-m.size())
			}
			checkRecovered(t, dir, s, m, 22, opts)
		})
	}
}

// TestFlushEIO: a failing fdatasync or msync is what Flush and FlushLog
// return; they succeed again once the disk does.
func TestFlushEIO(t *testing.T) {
	dir := t.TempDir()
	opts, fs := faultyOpts()
	s := create(t, dir, 0, opts)
	defer s.Close()
	m := &model{}
	newGen(23).fill(t, s, m, 10)

	fs.Inject(fsys.Fault{Ops: fsys.OpSync, Err: syscall.EIO, Path: fsys.PathSuffix(".log")})
	if err := s.FlushLog(); !errors.Is(err, syscall.EIO) {
		t.Fatalf("FlushLog under a log sync fault: %v, want EIO", err)
	}
	if err := s.Flush(); !errors.Is(err, syscall.EIO) {
		t.Fatalf("Flush under a log sync fault: %v, want EIO", err)
	}
	// The indexes' msync fails alone: only Flush sees it.
	fs.Inject(fsys.Fault{Ops: fsys.OpSync, Err: syscall.EIO, Path: fsys.PathSuffix(".timeindex")})
	if err := s.FlushLog(); err != nil {
		t.Fatalf("FlushLog under an index sync fault: %v", err)
	}
	if err := s.Flush(); !errors.Is(err, syscall.EIO) {
		t.Fatalf("Flush under an index sync fault: %v, want EIO", err)
	}
	fs.Clear()
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	if fs.Failed() != 3 {
		t.Fatalf("%d operations failed, want 3", fs.Failed())
	}
	checkAll(t, s, m, 500)
}

// TestCreateFaults: a Create that fails at any of its steps (creating a
// file, preallocating or mapping an index) leaves no file behind and can be
// retried.
func TestCreateFaults(t *testing.T) {
	for _, c := range []struct {
		name string
		ft   fsys.Fault
	}{
		{"open-log", fsys.Fault{Ops: fsys.OpOpen, Path: fsys.PathSuffix(".log")}},
		{"open-index", fsys.Fault{Ops: fsys.OpOpen, Path: fsys.PathSuffix(".index")}},
		{"open-timeindex", fsys.Fault{Ops: fsys.OpOpen, Path: fsys.PathSuffix(".timeindex")}},
		{"allocate-index", fsys.Fault{Ops: fsys.OpAllocate, Path: fsys.PathSuffix(".index")}},
		{"allocate-timeindex", fsys.Fault{Ops: fsys.OpAllocate, Path: fsys.PathSuffix(".timeindex")}},
		{"map", fsys.Fault{Ops: fsys.OpMap, After: 1}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			opts, fs := faultyOpts()
			c.ft.Err = syscall.ENOSPC
			fs.Inject(c.ft)
			if _, err := segment.Create(dir, 40, opts); !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("Create under the fault: %v, want ENOSPC", err)
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 0 {
				t.Fatalf("failed Create left %v", ents)
			}
			fs.Clear()
			s := create(t, dir, 40, opts)
			m := &model{base: 40}
			newGen(24).fill(t, s, m, 10)
			checkAll(t, s, m, 500)
			closeSeg(t, s)
		})
	}
}

// TestTruncateToFaults: a TruncateTo whose cut of the log fails leaves the
// segment as it was, readable and appendable, and works once the disk does.
func TestTruncateToFaults(t *testing.T) {
	dir := t.TempDir()
	opts, fs := faultyOpts()
	s := create(t, dir, 0, opts)
	m := &model{}
	g := newGen(25)
	g.fill(t, s, m, 30)
	cut := m.batches[12].base
	fs.Inject(fsys.Fault{Ops: fsys.OpTruncate, Err: syscall.EIO, Path: fsys.PathSuffix(".log")})
	if _, err := s.TruncateTo(cut); !errors.Is(err, syscall.EIO) {
		t.Fatalf("TruncateTo under a truncate fault: %v, want EIO", err)
	}
	if s.NextOffset() != m.next() {
		t.Fatalf("NextOffset %d after a failed TruncateTo, want %d", s.NextOffset(), m.next())
	}
	checkAll(t, s, m, 700)
	g.fill(t, s, m, 2)
	fs.Clear()
	truncateModel(m, cut)
	if got, err := s.TruncateTo(cut); err != nil || got != m.next() {
		t.Fatalf("TruncateTo = %d, %v; want %d", got, err, m.next())
	}
	checkRecovered(t, dir, s, m, 25, opts)
}

// TestFaultsRandom appends under random faults (full disk, short writes,
// failing cut-backs, failing syncs) and truncates now and then; the segment
// must match the model of the appends that succeeded after every step, and
// reopen to it.
func TestFaultsRandom(t *testing.T) {
	for seed := range uint64(8) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			dir := t.TempDir()
			opts, fs := faultyOpts()
			g := newGen(seed + 100)
			s := create(t, dir, 0, opts)
			m := &model{}
			for step := range 120 {
				switch g.rng.IntN(8) {
				case 0:
					fs.Inject(fsys.Fault{Ops: fsys.OpWrite, Err: syscall.ENOSPC, Path: fsys.PathSuffix(".log"), After: g.rng.Int64N(3), Times: 1 + g.rng.Int64N(3)})
				case 1:
					// A short write, whose cut-back fails too: never a
					// whole first batch, which a reopen would rightly
					// find and keep. A TruncateTo may meet the fault
					// first.
					fs.Inject(fsys.Fault{Ops: fsys.OpWrite | fsys.OpTruncate, Err: syscall.EIO, Path: fsys.PathSuffix(".log"), Short: 1 + g.rng.IntN(60), Times: 2})
				case 2:
					fs.Inject(fsys.Fault{Ops: fsys.OpSync, Err: syscall.EIO})
					if err := s.Flush(); !errors.Is(err, syscall.EIO) {
						t.Fatalf("step %d: Flush: %v, want EIO", step, err)
					}
					fs.Clear()
				case 3:
					if len(m.batches) > 0 {
						cut := m.base + g.rng.Int64N(m.next()-m.base+1)
						got, err := s.TruncateTo(cut)
						if errors.Is(err, syscall.EIO) {
							break // the segment is as it was
						}
						truncateModel(m, cut)
						if err != nil || got != m.next() {
							t.Fatalf("step %d: TruncateTo(%d) = %d, %v; want %d", step, cut, got, err, m.next())
						}
					}
				default:
					b := g.batch(m.next())
					b.pos = m.size()
					if err := s.Append(b.data); err == nil {
						m.batches = append(m.batches, b)
					} else if !errors.Is(err, syscall.ENOSPC) && !errors.Is(err, syscall.EIO) {
						t.Fatalf("step %d: Append: %v", step, err)
					}
				}
				if s.Size() != m.size() || s.NextOffset() != m.next() {
					t.Fatalf("step %d: Size %d NextOffset %d, want %d and %d", step, s.Size(), s.NextOffset(), m.size(), m.next())
				}
			}
			fs.Clear()
			checkAll(t, s, m, 900)
			closeSeg(t, s)
			s = open(t, dir, 0, opts)
			if _, err := s.Recover(); err != nil {
				t.Fatal(err)
			}
			checkRecovered(t, dir, s, m, seed, opts)
		})
	}
}
