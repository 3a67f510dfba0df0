package engine_test

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sluicelog/sluice/engine"
	"github.com/sluicelog/sluice/segment/batch"
	"github.com/sluicelog/sluice/segment/fsys"
)

// mappingsUnder counts this process's memory mappings of files in dir.
func mappingsUnder(t *testing.T, dir string) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Skip("no /proc/self/maps here")
	}
	return strings.Count(string(b), dir+string(os.PathSeparator))
}

// indexBytesUnder sums the disk blocks of the index files in dir.
func indexBytesUnder(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && (strings.HasSuffix(path, ".index") || strings.HasSuffix(path, ".timeindex")) {
			var st syscall.Stat_t
			if syscall.Stat(path, &st) == nil {
				n += st.Blocks * 512
			}
		}
		return nil
	})
	return n
}

// TestParkIdlePartitions: idle partitions give their active segment's
// descriptor, mappings and preallocated index blocks back after a flush
// that moves the recovery point (a crash then scans nothing); reads and
// appends reopen them, in the same segment.
func TestParkIdlePartitions(t *testing.T) {
	dir := t.TempDir()
	var flushes atomic.Int64
	e := openEngine(t, dir, engine.Options{ActiveSegmentIdleTimeout: -1, MaxOpenSegments: -1,
		OnFlush: func(time.Duration) { flushes.Add(1) }})
	const n = 20
	if err := e.CreateTopic("t", n, nil); err != nil {
		t.Fatal(err)
	}
	parts := make([]*engine.Partition, n)
	for i := range parts {
		parts[i], _ = e.Partition("t", int32(i))
		if _, err := parts[i].Append(buildBatch(t, batch.None, "a", 5, 1)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range parts {
		pdir := filepath.Join(dir, fmt.Sprintf("t-%d", i))
		if f, m := openFilesUnder(t, pdir), mappingsUnder(t, pdir); f != 1 || m != 2 {
			t.Fatalf("active partition %d holds %d files, %d mappings; want its log and two index mappings", i, f, m)
		}
	}
	before := flushes.Load()
	if got := e.ParkIdle(-time.Hour); got != n {
		t.Fatalf("parked %d, want %d", got, n)
	}
	// Each was flushed first: no writeback error can be lost with the
	// descriptor, and the recovery point is the log end.
	if got := flushes.Load() - before; got != n {
		t.Fatalf("%d flushes while parking %d dirty partitions", got, n)
	}
	for i := range parts {
		pdir := filepath.Join(dir, fmt.Sprintf("t-%d", i))
		if f, m := openFilesUnder(t, pdir), mappingsUnder(t, pdir); f != 0 || m != 0 {
			t.Fatalf("parked partition %d holds %d files, %d mappings", i, f, m)
		}
		if b := indexBytesUnder(t, pdir); b > 8192 {
			t.Fatalf("parked partition %d holds %d bytes of index", i, b)
		}
	}
	if f, m := e.OpenSegments(); f != 0 || m != 0 {
		t.Fatalf("OpenSegments = %d, %d after parking everything", f, m)
	}

	// A crash now keeps every record.
	crashed := crashCopy(t, dir)
	c := openEngine(t, crashed, engine.Options{})
	for i := range n {
		cp, _ := c.Partition("t", int32(i))
		if cp.LogEndOffset() != 5 {
			t.Fatalf("partition %d after a crash while parked: log end %d", i, cp.LogEndOffset())
		}
	}
	c.Close()

	for i, p := range parts {
		if i%2 == 0 {
			if got := readAll(t, p, 0); len(got) != 5 {
				t.Fatalf("partition %d: read %d records from the parked segment", i, len(got))
			}
		}
		if _, err := p.Append(buildBatch(t, batch.None, "b", 5, 10)); err != nil {
			t.Fatalf("partition %d: append after parking: %v", i, err)
		}
		got := readAll(t, p, 0)
		if len(got) != 10 || got[9].value != "b-4" {
			t.Fatalf("partition %d: %v after append", i, got)
		}
		if segs := segmentFiles(t, dir, "t", i); len(segs) != 1 {
			t.Fatalf("partition %d: %d segments after appending to the parked one, want 1 (no roll)", i, len(segs))
		}
	}
}

// TestParkedFetchSendfile: a fetch of a parked partition gets a region
// whose file the segment reopened, sent with sendfile as the broker
// sends it; parking while the region is held leaves it alone.
func TestParkedFetchSendfile(t *testing.T) {
	dir := t.TempDir()
	e := openEngine(t, dir, engine.Options{ActiveSegmentIdleTimeout: -1})
	if err := e.CreateTopic("t", 1, nil); err != nil {
		t.Fatal(err)
	}
	p, _ := e.Partition("t", 0)
	data := buildBatch(t, batch.None, "v", 20, 1)
	want := append([]byte(nil), data...)
	if _, err := p.Append(data); err != nil {
		t.Fatal(err)
	}
	if e.ParkIdle(-time.Hour) != 1 {
		t.Fatal("did not park")
	}
	r, err := p.Read(0, 1<<20)
	if err != nil || r.Len != int64(len(want)) {
		t.Fatalf("Read = %+v, %v", r, err)
	}
	defer r.Release()
	if e.ParkIdle(-time.Hour) != 0 {
		t.Fatal("parked under a live region")
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan []byte, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- nil
			return
		}
		defer c.Close()
		buf := make([]byte, len(want))
		n := 0
		for n < len(buf) {
			m, err := c.Read(buf[n:])
			n += m
			if err != nil {
				break
			}
		}
		got <- buf[:n]
	}()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	raw, err := conn.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	off, left := r.Pos, int(r.Len)
	var serr error
	werr := raw.Write(func(fd uintptr) bool {
		for left > 0 {
			n, err := syscall.Sendfile(int(fd), int(r.File.Fd()), &off, left)
			if err == syscall.EAGAIN {
				return false
			}
			if err != nil {
				serr = err
				return true
			}
			left -= n
		}
		return true
	})
	if werr != nil || serr != nil {
		t.Fatalf("sendfile: %v, %v", werr, serr)
	}
	if b := <-got; string(b) != string(want) {
		t.Fatalf("sendfile sent %d bytes that differ from the %d appended", len(b), len(want))
	}
	r.Release()
	if e.ParkIdle(-time.Hour) != 1 {
		t.Fatal("did not park after the region was released")
	}
}

// TestHandleBudgetManySegments: a partition of thousands of segments, all
// read, stays within the handle budget: the closer closes the least
// recently used down to the low-water mark, and the descriptors the
// process holds on the partition's files (counted in /proc/self/fd) are
// back under the budget within a moment.
func TestHandleBudgetManySegments(t *testing.T) {
	if testing.Short() {
		t.Skip("thousands of segments")
	}
	dir := t.TempDir()
	const budget = 64
	e := openEngine(t, dir, engine.Options{MaxOpenSegments: budget, MaintenanceInterval: 20 * time.Millisecond})
	if err := e.CreateTopic("t", 1, map[string]string{"segment.bytes": "200"}); err != nil {
		t.Fatal(err)
	}
	p, _ := e.Partition("t", 0)
	const records = 4000
	for i := range records {
		if _, err := p.Append(buildBatch(t, batch.None, "x", 1, int64(i))); err != nil {
			t.Fatal(err)
		}
	}
	pdir := filepath.Join(dir, "t-0")
	segments := len(segmentFiles(t, dir, "t", 0))
	if segments < 1500 {
		t.Fatalf("%d segments, want thousands", segments)
	}
	peak := 0
	check := func() {
		peak = max(peak, openFilesUnder(t, pdir))
	}
	for off := int64(0); off < p.HighWatermark(); off++ {
		r, err := p.Read(off, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		r.Release()
		if off%100 == 0 {
			check()
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for openFilesUnder(t, pdir) > budget {
		if time.Now().After(deadline) {
			t.Fatalf("%d files open on the partition 10 s after reading, budget %d (peak %d)", openFilesUnder(t, pdir), budget, peak)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if f, m := e.OpenSegments(); f > budget || m > 2*budget {
		t.Fatalf("OpenSegments = %d, %d, budget %d", f, m, budget)
	}
	// Without the budget every one of them would be open, until the
	// 5-minute idle timeout.
	if peak >= segments/2 {
		t.Fatalf("peak of %d files open while reading %d segments with a budget of %d", peak, segments, budget)
	}
	if got := readAll(t, p, 0); len(got) != records {
		t.Fatalf("read %d records, want %d", len(got), records)
	}
}

// TestParkRacesAppendsAndReads parks every partition over and over while
// appenders and readers run; under -race this checks the locking, and at
// the end every record is there, in order, with no partition offline.
func TestParkRacesAppendsAndReads(t *testing.T) {
	dir := t.TempDir()
	e := openEngine(t, dir, engine.Options{ActiveSegmentIdleTimeout: -1, MaxOpenSegments: -1})
	const parts, appends = 4, 150
	if err := e.CreateTopic("t", parts, map[string]string{"segment.bytes": "4000"}); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var closer sync.WaitGroup
	closer.Add(1)
	go func() {
		defer closer.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			e.ParkIdle(-time.Hour)
			e.CloseIdleSegments(-time.Hour)
		}
	}()
	var wg sync.WaitGroup
	for i := range parts {
		p, _ := e.Partition("t", int32(i))
		wg.Add(2)
		go func() {
			defer wg.Done()
			for j := range appends {
				if _, err := p.Append(buildBatch(t, batch.None, fmt.Sprint("v", j), 2, int64(j))); err != nil {
					t.Errorf("append %d: %v", j, err)
					return
				}
			}
		}()
		go func() {
			defer wg.Done()
			for p.HighWatermark() < 2*appends {
				for off := int64(0); off < p.HighWatermark(); off += 7 {
					r, err := p.Read(off, 300)
					if err != nil {
						t.Errorf("read %d: %v", off, err)
						return
					}
					if _, err := r.ReadTo(nil); err != nil {
						t.Errorf("read region at %d: %v", off, err)
					}
					r.Release()
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	closer.Wait()
	for i := range parts {
		p, _ := e.Partition("t", int32(i))
		if p.Offline() {
			t.Fatalf("partition %d offline", i)
		}
		got := readAll(t, p, 0)
		if len(got) != 2*appends {
			t.Fatalf("partition %d: %d records, want %d", i, len(got), 2*appends)
		}
		for k, r := range got {
			if want := fmt.Sprintf("v%d-%d", k/2, k%2); r.offset != int64(k) || r.value != want {
				t.Fatalf("partition %d record %d = %+v, want %s", i, k, r, want)
			}
		}
	}
}

// TestReopenOutOfDescriptors: when a parked partition cannot reopen its
// files (EMFILE), or a roll cannot create one, the append fails with a
// plain error, not ErrStorage, and the partition stays online; once
// descriptors are back, appends carry on.
func TestReopenOutOfDescriptors(t *testing.T) {
	dir := t.TempDir()
	fs := fsys.NewFaulty(nil)
	e := openEngine(t, dir, engine.Options{FS: fs, ActiveSegmentIdleTimeout: -1})
	if err := e.CreateTopic("t", 1, map[string]string{"segment.bytes": "300"}); err != nil {
		t.Fatal(err)
	}
	p, _ := e.Partition("t", 0)
	if _, err := p.Append(buildBatch(t, batch.None, "a", 1, 1)); err != nil {
		t.Fatal(err)
	}
	if e.ParkIdle(-time.Hour) != 1 {
		t.Fatal("did not park")
	}
	for _, errno := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE} {
		fs.Inject(fsys.Fault{Ops: fsys.OpOpen, Err: errno})
		_, err := p.Append(buildBatch(t, batch.None, "b", 1, 2))
		if err == nil || errors.Is(err, engine.ErrStorage) || p.Offline() {
			t.Fatalf("%v: append = %v, offline %v; want a plain error, online", errno, err, p.Offline())
		}
	}
	fs.Inject(fsys.Fault{Ops: fsys.OpMap, Err: syscall.ENOMEM})
	if _, err := p.Append(buildBatch(t, batch.None, "b", 1, 2)); err == nil || errors.Is(err, engine.ErrStorage) || p.Offline() {
		t.Fatalf("mmap ENOMEM: append = %v, offline %v", err, p.Offline())
	}
	fs.Clear()
	// Fill the segment until the next append rolls, then fail the roll.
	for len(segmentFiles(t, dir, "t", 0)) == 1 {
		fs.Inject(fsys.Fault{Ops: fsys.OpOpen, Err: syscall.EMFILE, Path: fsys.PathSuffix(".log")})
		_, err := p.Append(buildBatch(t, batch.None, "c", 3, 3))
		fs.Clear()
		if err == nil {
			continue
		}
		if errors.Is(err, engine.ErrStorage) || p.Offline() {
			t.Fatalf("roll out of descriptors: %v, offline %v", err, p.Offline())
		}
		if _, err := p.Append(buildBatch(t, batch.None, "c", 3, 3)); err != nil {
			t.Fatal(err)
		}
	}
	if p.Offline() {
		t.Fatal("offline")
	}
	got := readAll(t, p, 0)
	if len(got) < 4 || got[0].value != "a-0" || got[1].value != "c-0" {
		t.Fatalf("records %v", got)
	}
}
