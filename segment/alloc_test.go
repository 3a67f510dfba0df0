package segment_test

import (
	"testing"

	"github.com/sluicelog/sluice/segment"
)

// TestReadAllocs: a Read on a warm segment costs a small constant number of
// allocations, however many batches the region spans or the scan passes.
func TestReadAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation counts")
	}
	dir := t.TempDir()
	s := create(t, dir, 0, segment.Options{IndexIntervalBytes: 4096})
	defer s.Close()
	g := newGen(1)
	m := &model{}
	g.fill(t, s, m, 2000)
	for _, maxBytes := range []int64{1, 64 << 10, 1 << 20, 1 << 30} {
		i := 0
		allocs := testing.AllocsPerRun(500, func() {
			b := &m.batches[(i*7919)%len(m.batches)]
			i++
			r, err := s.Read(b.last, maxBytes, -1)
			if err != nil || r.Len == 0 {
				t.Fatalf("Read(%d): %+v, %v", b.last, r, err)
			}
			r.Release()
		})
		t.Logf("Read with maxBytes %d: %.1f allocations", maxBytes, allocs)
		if allocs > 2 {
			t.Errorf("Read with maxBytes %d allocates %.1f times, want at most 2", maxBytes, allocs)
		}
	}
	// The same on a lazily opened segment once its indexes are mapped.
	closeSeg(t, s)
	s = open(t, dir, 0, segment.Options{IndexIntervalBytes: 4096})
	checkRead(t, s, m, 0, 1, -1)
	i := 0
	allocs := testing.AllocsPerRun(500, func() {
		b := &m.batches[(i*7919)%len(m.batches)]
		i++
		r, err := s.Read(b.base, 1<<20, -1)
		if err != nil {
			t.Fatal(err)
		}
		r.Release()
	})
	t.Logf("Read on a reopened segment: %.1f allocations", allocs)
	if allocs > 2 {
		t.Errorf("Read on a reopened segment allocates %.1f times", allocs)
	}
}

// TestAppendAllocs: appending costs no allocation per batch.
func TestAppendAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation counts")
	}
	s := create(t, t.TempDir(), 0, segment.Options{IndexIntervalBytes: 256})
	defer s.Close()
	g := newGen(2)
	m := &model{}
	const n = 1000
	for range n {
		b := g.batch(m.next())
		m.batches = append(m.batches, b)
	}
	// Batches of 1 and of 8 per call.
	var multi [][]byte
	for i := 500; i+8 <= n; i += 8 {
		var buf []byte
		for j := i; j < i+8; j++ {
			buf = append(buf, m.batches[j].data...)
		}
		multi = append(multi, buf)
	}
	i := 0
	allocs := testing.AllocsPerRun(400, func() {
		if err := s.Append(m.batches[i].data); err != nil {
			t.Fatal(err)
		}
		i++
	})
	t.Logf("Append of one batch: %.1f allocations", allocs)
	if allocs != 0 {
		t.Errorf("Append of one batch allocates %.1f times", allocs)
	}
	for i < 500 {
		if err := s.Append(m.batches[i].data); err != nil {
			t.Fatal(err)
		}
		i++
	}
	j := 0
	allocs = testing.AllocsPerRun(len(multi)-1, func() {
		if err := s.Append(multi[j]); err != nil {
			t.Fatal(err)
		}
		j++
	})
	t.Logf("Append of eight batches: %.1f allocations", allocs)
	if allocs != 0 {
		t.Errorf("Append of eight batches allocates %.1f times", allocs)
	}
}
