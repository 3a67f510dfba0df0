package segment_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/sluicelog/sluice/segment"
	"github.com/sluicelog/sluice/segment/batch"
)

func TestAppendRead(t *testing.T) {
	for seed := range uint64(8) {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			g := newGen(seed)
			dir := t.TempDir()
			base := int64(seed * 1000)
			opts := segment.Options{}
			if seed%2 == 1 {
				opts = smallOpts()
			}
			s := create(t, dir, base, opts)
			defer s.Close()
			m := &model{base: base}
			if got := s.NextOffset(); got != base {
				t.Fatalf("NextOffset of a new segment %d, want %d", got, base)
			}
			checkAll(t, s, m, 1<<20) // empty
			g.fill(t, s, m, 60)
			if got := s.NextOffset(); got != m.next() {
				t.Fatalf("NextOffset %d, want %d", got, m.next())
			}
			if got, err := s.MaxTimestamp(); err != nil || got != m.maxTS() {
				t.Fatalf("MaxTimestamp %d, %v; want %d", got, err, m.maxTS())
			}
			for _, maxBytes := range []int64{0, 1, 100, 700, 2000, 5000, 1 << 20, math.MaxInt64} {
				checkAll(t, s, m, maxBytes)
			}
			// maxPosition: at every batch boundary (what the high
			// watermark's position always is).
			for i := range m.batches {
				for _, mp := range []int64{m.batches[i].pos, m.batches[i].end()} {
					for _, o := range []int64{base, m.batches[i].base, m.batches[i].last} {
						checkRead(t, s, m, o, 3000, mp)
					}
				}
			}
			if _, err := s.Read(base-1, 1<<20, -1); !errors.Is(err, segment.ErrOffsetOutOfRange) {
				t.Fatalf("Read below base: %v, want ErrOffsetOutOfRange", err)
			}
			// ReadBytes appends to what it is given.
			got, err := s.ReadBytes([]byte("prefix"), m.batches[3].base, 1)
			if err != nil {
				t.Fatal(err)
			}
			if want := append([]byte("prefix"), m.batches[3].data...); !bytes.Equal(got, want) {
				t.Fatal("ReadBytes returned other bytes")
			}
			if got := fileSize(t, path(dir, base, ".log")); got != m.size() {
				t.Fatalf("log file is %d bytes, want %d", got, m.size())
			}
		})
	}
}

// TestReadEmptyRegion checks that empty regions need no Release and that
// Release is idempotent.
func TestReadEmptyRegion(t *testing.T) {
	s := create(t, t.TempDir(), 0, segment.Options{})
	r, err := s.Read(0, 100, -1)
	if err != nil || r.Len != 0 || r.File != nil {
		t.Fatalf("Read of an empty segment: %+v, %v", r, err)
	}
	r.Release()
	r.Release()
	g := newGen(1)
	m := &model{}
	g.fill(t, s, m, 3)
	r, err = s.Read(0, 100, -1)
	if err != nil || r.Len == 0 {
		t.Fatalf("Read: %+v, %v", r, err)
	}
	r.Release()
	r.Release() // a second Release must not drop another reference
	closeSeg(t, s)
	if _, err := s.Read(0, 100, -1); !errors.Is(err, segment.ErrClosed) {
		t.Fatalf("Read after Close: %v, want ErrClosed", err)
	}
}

func TestAppendErrors(t *testing.T) {
	dir := t.TempDir()
	s := create(t, dir, 100, smallOpts())
	defer s.Close()
	g := newGen(7)
	m := &model{base: 100}
	g.fill(t, s, m, 10)
	size := s.Size()
	next := s.NextOffset()

	check := func(what string, b []byte, want error) {
		t.Helper()
		err := s.Append(b)
		if !errors.Is(err, want) {
			t.Fatalf("%s: Append = %v, want %v", what, err, want)
		}
		if s.Size() != size || s.NextOffset() != next {
			t.Fatalf("%s: Size %d NextOffset %d after a failed Append, want %d %d", what, s.Size(), s.NextOffset(), size, next)
		}
		if got := fileSize(t, path(dir, 100, ".log")); got != size {
			t.Fatalf("%s: log file %d bytes after a failed Append, want %d", what, got, size)
		}
	}
	below := g.batch(next - 1)
	check("base below next", below.data, segment.ErrOffsetOrder)
	below = g.batch(50)
	check("base below the segment", below.data, segment.ErrOffsetOrder)
	// A good batch followed by one that goes back: nothing is written.
	good := g.batch(next)
	back := g.batch(next)
	check("second batch going back", slices.Concat(good.data, back.data), segment.ErrOffsetOrder)
	check("torn batch", good.data[:len(good.data)-1], batch.ErrTruncated)
	check("short header", good.data[:30], batch.ErrTruncated)
	bad := bytes.Clone(good.data)
	bad[16] = 1 // magic
	check("bad magic", bad, batch.ErrBadMagic)
	far := g.batch(100 + 1<<32)
	check("offset past the segment's range", far.data, segment.ErrFull)

	// Gaps in offsets are fine (compaction and transactions leave them).
	gap := g.batch(next + 5)
	if err := s.Append(gap.data); err != nil {
		t.Fatalf("Append with a gap: %v", err)
	}
	gap.pos = m.size()
	m.batches = append(m.batches, gap)
	checkAll(t, s, m, 1<<20)
	if err := s.Append(nil); err != nil {
		t.Fatalf("empty Append: %v", err)
	}

	if err := s.Seal(); err != nil {
		t.Fatal(err)
	}
	size, next = s.Size(), s.NextOffset()
	check("after Seal", g.batch(next).data, segment.ErrNotWritable)
	if err := s.Seal(); err != nil {
		t.Fatalf("second Seal: %v", err)
	}
	checkAll(t, s, m, 1<<20)
}

func TestAppendNotWritable(t *testing.T) {
	dir := t.TempDir()
	s := create(t, dir, 0, segment.Options{})
	g := newGen(3)
	m := &model{}
	g.fill(t, s, m, 5)
	closeSeg(t, s)
	if err := s.Append(g.batch(m.next()).data); !errors.Is(err, segment.ErrClosed) && !errors.Is(err, segment.ErrNotWritable) {
		t.Fatalf("Append after Close: %v", err)
	}
	s = open(t, dir, 0, segment.Options{})
	defer s.Close()
	if err := s.Append(g.batch(m.next()).data); !errors.Is(err, segment.ErrNotWritable) {
		t.Fatalf("Append on a lazily opened segment: %v, want ErrNotWritable", err)
	}
	if _, err := segment.Create(dir, 0, segment.Options{}); err == nil {
		t.Fatal("Create over an existing segment succeeded")
	}
}

// TestCloseOpen closes a segment and opens it again lazily, then activates
// it and appends more.
func TestCloseOpen(t *testing.T) {
	for seed := range uint64(4) {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			dir := t.TempDir()
			opts := smallOpts()
			lb := &logBuffer{}
			opts.Logger = lb.logger()
			base := int64(42)
			g := newGen(seed)
			s := create(t, dir, base, opts)
			m := &model{base: base}
			g.fill(t, s, m, 40)
			closeSeg(t, s)

			s = open(t, dir, base, opts)
			if got := s.Size(); got != m.size() {
				t.Fatalf("Size after Open %d, want %d", got, m.size())
			}
			if got, err := s.MaxTimestamp(); err != nil || got != m.maxTS() {
				t.Fatalf("MaxTimestamp after Open %d, %v; want %d", got, err, m.maxTS())
			}
			checkAll(t, s, m, 1000)
			checkTimestamps(t, s, m, m.tsTargets())
			if seed%2 == 0 {
				// Activate on a segment that was never read, and on one
				// whose indexes are mapped for reading.
				closeSeg(t, s)
				s = open(t, dir, base, opts)
			}
			if err := s.Activate(); err != nil {
				t.Fatal(err)
			}
			if got := s.NextOffset(); got != m.next() {
				t.Fatalf("NextOffset after Activate %d, want %d", got, m.next())
			}
			if got, err := s.MaxTimestamp(); err != nil || got != m.maxTS() {
				t.Fatalf("MaxTimestamp after Activate %d, %v; want %d", got, err, m.maxTS())
			}
			g.fill(t, s, m, 30)
			if got := s.NextOffset(); got != m.next() {
				t.Fatalf("NextOffset after more appends %d, want %d", got, m.next())
			}
			if got, err := s.MaxTimestamp(); err != nil || got != m.maxTS() {
				t.Fatalf("MaxTimestamp %d, %v; want %d", got, err, m.maxTS())
			}
			checkAll(t, s, m, 1000)
			checkTimestamps(t, s, m, m.tsTargets())
			closeSeg(t, s)

			// And once more, lazily, with the entries added after Activate.
			s = open(t, dir, base, opts)
			defer s.Close()
			checkAll(t, s, m, 1000)
			checkTimestamps(t, s, m, m.tsTargets())
			checkIndexFiles(t, dir, m, opts.IndexIntervalBytes)
			if log := lb.String(); log != "" {
				t.Fatalf("clean close and open logged:\n%s", log)
			}
		})
	}
}

// TestIndexRebuild damages the index files of a closed segment in the ways
// a crash or an operator can, and checks that reads stay right.
func TestIndexRebuild(t *testing.T) {
	damages := []struct {
		name string
		do   func(t *testing.T, p string)
	}{
		{"deleted", func(t *testing.T, p string) {
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
		}},
		{"empty", func(t *testing.T, p string) {
			if err := os.Truncate(p, 0); err != nil {
				t.Fatal(err)
			}
		}},
		{"garbage", func(t *testing.T, p string) {
			b := readFile(t, p)
			g := newGen(uint64(len(b)))
			for i := range b {
				b[i] = byte(g.rng.Uint32())
			}
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}},
		{"odd size", func(t *testing.T, p string) {
			f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.Write([]byte{1, 2, 3})
			f.Close()
		}},
		{"one bogus entry", func(t *testing.T, p string) {
			// Sane as an index on its own (one entry, inside the log) but
			// pointing at no batch: into the middle of one, or at an
			// offset whose batch is elsewhere.
			b := []byte{0, 0, 0, 3, 0, 0, 0, 100}
			if filepath.Ext(p) == ".timeindex" {
				b = binary.BigEndian.AppendUint64(nil, baseTime+1_000_000)
				b = binary.BigEndian.AppendUint32(b, 5)
			}
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}},
		{"entries shifted", func(t *testing.T, p string) {
			// Every offset index entry points a few bytes into its batch.
			b := readFile(t, p)
			if len(b)%8 == 0 && len(b) > 0 {
				for i := 0; i+8 <= len(b); i += 8 {
					b[i+7] += 3
				}
			} else {
				for i := 0; i+12 <= len(b); i += 12 {
					b[i+11]++ // time index: offsets one later
				}
			}
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, suffix := range []string{".index", ".timeindex"} {
		for _, d := range damages {
			t.Run(suffix+"/"+d.name, func(t *testing.T) {
				dir := t.TempDir()
				opts := smallOpts()
				lb := &logBuffer{}
				opts.Logger = lb.logger()
				g := newGen(11)
				s := create(t, dir, 0, opts)
				m := &model{}
				g.fill(t, s, m, 40)
				closeSeg(t, s)
				d.do(t, path(dir, 0, suffix))

				s = open(t, dir, 0, opts)
				checkAll(t, s, m, 1500)
				checkTimestamps(t, s, m, m.tsTargets())
				closeSeg(t, s)
				if !strings.Contains(lb.String(), "rebuilding segment index") {
					t.Fatalf("damaged index not rebuilt:\n%s", lb)
				}
				// The rebuilt files are whole again.
				checkIndexFiles(t, dir, m, opts.IndexIntervalBytes)

				// The same damage before Activate.
				d.do(t, path(dir, 0, suffix))
				s = open(t, dir, 0, opts)
				if err := s.Activate(); err != nil {
					t.Fatal(err)
				}
				if s.NextOffset() != m.next() {
					t.Fatalf("NextOffset after Activate %d, want %d", s.NextOffset(), m.next())
				}
				if got, err := s.MaxTimestamp(); err != nil || got != m.maxTS() {
					t.Fatalf("MaxTimestamp after Activate %d, %v; want %d", got, err, m.maxTS())
				}
				g.fill(t, s, m, 10)
				checkAll(t, s, m, 1500)
				checkTimestamps(t, s, m, m.tsTargets())
				closeSeg(t, s)
				checkIndexFiles(t, dir, m, opts.IndexIntervalBytes)
			})
		}
	}
}

// TestDeleteWhileRead deletes a segment while a reader holds a region.
func TestDeleteWhileRead(t *testing.T) {
	dir := t.TempDir()
	s := create(t, dir, 0, smallOpts())
	g := newGen(5)
	m := &model{}
	g.fill(t, s, m, 20)
	r, err := s.Read(m.batches[4].base, 1<<20, -1)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 0 {
		t.Fatalf("files left after Delete: %v", ents)
	}
	if _, err := s.Read(0, 1<<20, -1); !errors.Is(err, segment.ErrClosed) {
		t.Fatalf("Read after Delete with a region held: %v, want ErrClosed", err)
	}
	if _, _, err := s.OffsetForTimestamp(baseTime); !errors.Is(err, segment.ErrClosed) {
		t.Fatalf("OffsetForTimestamp after Delete: %v, want ErrClosed", err)
	}
	// Owner calls after Delete must not drop the reader's reference.
	s.Close()
	s.Delete()
	got, err := r.ReadTo(nil)
	if err != nil {
		t.Fatalf("ReadTo after Delete: %v", err)
	}
	var want []byte
	for _, b := range m.batches[4:] {
		want = append(want, b.data...)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("region after Delete holds other bytes")
	}
	r.Release()
	if _, err := s.Read(0, 1<<20, -1); !errors.Is(err, segment.ErrClosed) {
		t.Fatalf("Read after Delete: %v, want ErrClosed", err)
	}
	r.Release()
	if err := s.Append(g.batch(m.next()).data); err == nil {
		t.Fatal("Append after Delete succeeded")
	}
}

// TestDeleteLazy deletes a segment that was opened but never read.
func TestDeleteLazy(t *testing.T) {
	dir := t.TempDir()
	s := create(t, dir, 0, smallOpts())
	newGen(1).fill(t, s, &model{}, 5)
	closeSeg(t, s)
	s = open(t, dir, 0, smallOpts())
	if err := s.Delete(); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("files left after Delete: %v", ents)
	}
	if _, err := s.Read(0, 1, -1); !errors.Is(err, segment.ErrClosed) {
		t.Fatalf("Read after Delete: %v", err)
	}
}

// TestConcurrentReadAppend runs one appender against several readers, for
// the race detector and for the publication order of Size and the indexes.
func TestConcurrentReadAppend(t *testing.T) {
	const seed = 99
	g := newGen(seed)
	dir := t.TempDir()
	opts := smallOpts()
	s := create(t, dir, 0, opts)
	defer s.Close()

	// Build everything first so readers can check against it without
	// locking: the appender only publishes how many batches are in.
	m := &model{}
	const n = 400
	for range n {
		b := g.batch(m.next())
		b.pos = m.size()
		m.batches = append(m.batches, b)
	}
	var published atomic.Int64
	var wg sync.WaitGroup
	done := make(chan struct{})
	errc := make(chan error, 8)
	for r := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := newGen(seed + 1 + uint64(r)).rng
			var buf []byte
			for {
				select {
				case <-done:
					return
				default:
				}
				k := int(published.Load())
				if k == 0 {
					continue
				}
				pm := &model{batches: m.batches[:k]}
				i := rng.IntN(k)
				b := &pm.batches[i]
				o := b.base + rng.Int64N(b.last-b.base+1)
				reg, err := s.Read(o, int64(rng.IntN(4000)), -1)
				if err != nil {
					errc <- fmt.Errorf("Read(%d): %w", o, err)
					return
				}
				buf, err = reg.ReadTo(buf[:0])
				reg.Release()
				if err != nil {
					errc <- err
					return
				}
				if reg.Pos != b.pos || len(buf) < len(b.data) || !bytes.Equal(buf[:len(b.data)], b.data) {
					errc <- fmt.Errorf("Read(%d): region at %d, want batch %d at %d", o, reg.Pos, i, b.pos)
					return
				}
				ts := baseTime + rng.Int64N(int64(k)*10+3000) - 2000
				got, found, err := s.OffsetForTimestamp(ts)
				if err != nil {
					errc <- fmt.Errorf("OffsetForTimestamp(%d): %w", ts, err)
					return
				}
				// The first match among the published batches is final;
				// without one, a later batch may match.
				if want, ok := pm.offsetForTimestamp(ts); ok && (!found || got != want) {
					errc <- fmt.Errorf("OffsetForTimestamp(%d) = %d, %v; want %d", ts, got, found, want)
					return
				} else if !ok && found && got < pm.next() {
					errc <- fmt.Errorf("OffsetForTimestamp(%d) = %d inside the published batches, which hold none", ts, got)
					return
				}
			}
		}()
	}
	for i := 0; i < n; {
		k := min(n-i, 1+i%3)
		var buf []byte
		for j := i; j < i+k; j++ {
			buf = append(buf, m.batches[j].data...)
		}
		if err := s.Append(buf); err != nil {
			t.Fatal(err)
		}
		i += k
		published.Store(int64(i))
	}
	close(done)
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Errorf("seed %d: %v", seed, err)
	}
	checkAll(t, s, m, 5000)
}

// TestConcurrentDelete releases regions from several goroutines while the
// segment is deleted, for the race detector and the reference count.
func TestConcurrentDelete(t *testing.T) {
	dir := t.TempDir()
	s := create(t, dir, 0, smallOpts())
	m := &model{}
	newGen(4).fill(t, s, m, 50)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for r := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for i := 0; ; i++ {
				b := &m.batches[(r*7+i)%len(m.batches)]
				reg, err := s.Read(b.base, 1000, -1)
				if errors.Is(err, segment.ErrClosed) {
					return
				}
				if err != nil {
					t.Errorf("Read: %v", err)
					return
				}
				got, err := reg.ReadTo(nil)
				reg.Release()
				if err != nil || !bytes.Equal(got[:len(b.data)], b.data) {
					t.Errorf("ReadTo of batch at %d: %v", b.base, err)
					return
				}
			}
		}()
	}
	close(start)
	for i := 0; i < 200; i++ {
		reg, err := s.Read(0, 1, -1)
		if err != nil {
			t.Fatal(err)
		}
		reg.Release()
	}
	if err := s.Delete(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
}

// TestCreateFails: a Create that fails leaves nothing behind to trip over.
func TestCreateFails(t *testing.T) {
	dir := t.TempDir()
	if _, err := segment.Create(dir, -1, segment.Options{}); err == nil {
		t.Fatal("Create with a negative base offset succeeded")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("failed Create left %v", ents)
	}
	if _, err := segment.Create(filepath.Join(dir, "missing"), 0, segment.Options{}); err == nil {
		t.Fatal("Create in a missing directory succeeded")
	}
	// Stale indexes of a cut-away segment with the same base are replaced.
	if err := os.WriteFile(path(dir, 0, ".index"), []byte{0, 0, 0, 9, 0, 0, 0, 9}, 0o644); err != nil {
		t.Fatal(err)
	}
	s := create(t, dir, 0, segment.Options{})
	defer s.Close()
	m := &model{}
	newGen(1).fill(t, s, m, 10)
	checkAll(t, s, m, 500)
}

// TestFlushAndMaxTimestamp covers Flush, FlushLog and the MaxTimestamp
// fallbacks of a lazily opened segment.
func TestFlushAndMaxTimestamp(t *testing.T) {
	dir := t.TempDir()
	s := create(t, dir, 5, segment.Options{})
	if s.Base() != 5 {
		t.Fatalf("Base %d", s.Base())
	}
	if ts, err := s.MaxTimestamp(); err != nil || ts != -1 {
		t.Fatalf("MaxTimestamp of an empty segment %d, %v", ts, err)
	}
	m := &model{base: 5}
	newGen(8).fill(t, s, m, 10)
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := s.FlushLog(); err != nil {
		t.Fatal(err)
	}
	closeSeg(t, s)
	if err := s.Flush(); !errors.Is(err, segment.ErrClosed) {
		t.Fatalf("Flush after Close: %v, want ErrClosed", err)
	}

	// From the time index's last entry, without mapping anything.
	s = open(t, dir, 5, segment.Options{})
	if ts, err := s.MaxTimestamp(); err != nil || ts != m.maxTS() {
		t.Fatalf("lazy MaxTimestamp %d, %v; want %d", ts, err, m.maxTS())
	}
	closeSeg(t, s)
	// Without a time index, from the log's modification time, as Kafka.
	if err := os.Remove(path(dir, 5, ".timeindex")); err != nil {
		t.Fatal(err)
	}
	s = open(t, dir, 5, segment.Options{})
	fi, err := os.Stat(path(dir, 5, ".log"))
	if err != nil {
		t.Fatal(err)
	}
	if ts, err := s.MaxTimestamp(); err != nil || ts != fi.ModTime().UnixMilli() {
		t.Fatalf("MaxTimestamp without a time index %d, %v; want the mtime %d", ts, err, fi.ModTime().UnixMilli())
	}
	// A read rebuilds the index and learns the real maximum.
	checkRead(t, s, m, 5, 100, -1)
	if ts, err := s.MaxTimestamp(); err != nil || ts != m.maxTS() {
		t.Fatalf("MaxTimestamp after the rebuild %d, %v; want %d", ts, err, m.maxTS())
	}
	closeSeg(t, s)
}

// TestReadToShort: a region whose file was cut under it reports the short
// read instead of returning stale bytes.
func TestReadToShort(t *testing.T) {
	dir := t.TempDir()
	s := create(t, dir, 0, segment.Options{})
	defer s.Close()
	m := &model{}
	newGen(6).fill(t, s, m, 5)
	r, err := s.Read(0, 1<<20, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Release()
	if err := os.Truncate(path(dir, 0, ".log"), r.Len-10); err != nil {
		t.Fatal(err)
	}
	got, err := r.ReadTo([]byte("x"))
	if err == nil || string(got) != "x" {
		t.Fatalf("ReadTo of a cut file: %q, %v; want an error and dst unchanged", got, err)
	}
}
