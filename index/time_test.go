package index_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/sluicelog/sluice/index"
)

func TestTimeAppendLookup(t *testing.T) {
	// Sizes around the 682-entry hot tail exercise both search paths.
	for _, n := range []int{0, 1, 2, 9, 681, 682, 683, 2000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(n), 2))
			base := rng.Int64N(1 << 40)
			x, _ := newTime(t, base, (n+1)*index.TimeEntrySize)
			es := genTimes(rng, base, n)
			for _, e := range es {
				if err := x.Append(e.Timestamp, e.Offset); err != nil {
					t.Fatalf("Append(%d, %d): %v", e.Timestamp, e.Offset, err)
				}
			}
			if got := timeEntries(x); len(got) != n || (n > 0 && !slices.Equal(got, es)) {
				t.Fatalf("entries differ from what was appended")
			}
			last, ok := x.Last()
			if ok != (n > 0) || (ok && last != es[n-1]) {
				t.Fatalf("Last() = %v, %v", last, ok)
			}
			for _, target := range timeTargets(es) {
				want := refTime(es, base, target)
				if got := x.Lookup(target); got != want {
					t.Fatalf("Lookup(%d) = %v, want %v", target, got, want)
				}
				if got := x.LookupFull(target); got != want {
					t.Fatalf("LookupFull(%d) = %v, want %v", target, got, want)
				}
			}
			for range 2000 {
				target := 1_700_000_000_000 + rng.Int64N(int64(n)*1000+10) - 5
				if got, full := x.Lookup(target), x.LookupFull(target); got != full {
					t.Fatalf("Lookup(%d) = %v, full binary search %v", target, got, full)
				}
			}
		})
	}
}

func TestTimeAppendErrors(t *testing.T) {
	const base = 1000
	x, _ := newTime(t, base, 3*index.TimeEntrySize)
	for _, c := range []struct {
		ts, off int64
		want    error
	}{
		{-1, base, index.ErrRange},
		{5, base - 1, index.ErrRange},
		{5, base + 1<<32, index.ErrRange},
	} {
		if err := x.Append(c.ts, c.off); !errors.Is(err, c.want) {
			t.Errorf("Append(%d, %d) = %v, want %v", c.ts, c.off, err, c.want)
		}
	}
	if err := x.Append(100, base+10); err != nil {
		t.Fatal(err)
	}
	for _, c := range [][2]int64{{100, base + 11}, {99, base + 11}, {101, base + 9}} {
		if err := x.Append(c[0], c[1]); !errors.Is(err, index.ErrNotMonotonic) {
			t.Errorf("Append(%d, %d) = %v, want ErrNotMonotonic", c[0], c[1], err)
		}
	}
	// The offset may stay put while the timestamp grows.
	if err := x.Append(101, base+10); err != nil {
		t.Fatal(err)
	}
	if err := x.Append(1<<63-1, base+1<<32-1); err != nil {
		t.Fatal(err)
	}
	if !x.Full() {
		t.Fatal("not Full")
	}
	if err := x.Append(1<<63-1, base+1<<32-1); !errors.Is(err, index.ErrNotMonotonic) {
		t.Fatalf("Append past the largest = %v", err)
	}
	x.Close()
	if err := x.Append(5, base); !errors.Is(err, index.ErrClosed) {
		t.Fatalf("Append after Close = %v", err)
	}
}

func TestTimeFull(t *testing.T) {
	x, path := newTime(t, 0, 50) // 4 entries
	if got := fileSize(t, path); got != 48 {
		t.Fatalf("preallocated size %d, want 48", got)
	}
	for i := range int64(4) {
		if err := x.Append(10+i, i); err != nil {
			t.Fatal(err)
		}
	}
	if err := x.Append(100, 100); err != index.ErrFull {
		t.Fatalf("Append to a full index = %v, want ErrFull", err)
	}
}

func TestTimeReopen(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	const base = 77
	x, path := newTime(t, base, 1<<16)
	es := genTimes(rng, base, 1500)
	for _, e := range es {
		if err := x.Append(e.Timestamp, e.Offset); err != nil {
			t.Fatal(err)
		}
	}
	crashed := crashCopy(t, path)
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	if got, want := fileSize(t, path), int64(len(es)*index.TimeEntrySize); got != want {
		t.Fatalf("file size after Close %d, want %d", got, want)
	}
	for _, p := range []string{path, crashed} {
		for _, maxBytes := range []int{0, 1 << 16, 1 << 17} {
			y, err := index.OpenTime(p, base, maxBytes)
			if err != nil {
				t.Fatalf("reopen %s with %d: %v", p, maxBytes, err)
			}
			if got := timeEntries(y); !slices.Equal(got, es) {
				t.Fatalf("reopen %s with %d: %d entries, want %d", p, maxBytes, len(got), len(es))
			}
			for k, target := range timeTargets(es) {
				if k%7 != 0 {
					continue
				}
				if got, want := y.Lookup(target), refTime(es, base, target); got != want {
					t.Fatalf("Lookup(%d) = %v, want %v", target, got, want)
				}
			}
			if err := y.Close(); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestTimeTruncateTo(t *testing.T) {
	const base = 100
	// Offsets 100, 100, 105, 105, 110, ...: ties must go together.
	var es []index.TimeEntry
	for i := range int64(10) {
		es = append(es, index.TimeEntry{Timestamp: 1000 + i, Offset: base + 5*(i/2)})
	}
	for _, to := range []int64{-5, 100, 101, 105, 106, 120, 124, 125, 1 << 40} {
		x, path := newTime(t, base, 20*index.TimeEntrySize)
		for _, e := range es {
			if err := x.Append(e.Timestamp, e.Offset); err != nil {
				t.Fatal(err)
			}
		}
		x.TruncateTo(to)
		var want []index.TimeEntry
		for _, e := range es {
			if e.Offset < to {
				want = append(want, e)
			}
		}
		if got := timeEntries(x); !slices.Equal(got, want) {
			t.Fatalf("TruncateTo(%d): %v, want %v", to, got, want)
		}
		y, err := index.OpenTime(crashCopy(t, path), base, 0)
		if err != nil {
			t.Fatalf("TruncateTo(%d) then reopen: %v", to, err)
		}
		if got := timeEntries(y); !slices.Equal(got, want) {
			t.Fatalf("TruncateTo(%d) then reopen: %v, want %v", to, got, want)
		}
		y.Close()
		x.Reset()
		if x.Entries() != 0 {
			t.Fatalf("Reset left %d entries", x.Entries())
		}
	}
}

func TestTimeTrim(t *testing.T) {
	x, path := newTime(t, 0, 100*index.TimeEntrySize)
	for i := range int64(5) {
		if err := x.Append(10*i+10, i); err != nil {
			t.Fatal(err)
		}
	}
	if err := x.Trim(); err != nil {
		t.Fatal(err)
	}
	if got := fileSize(t, path); got != 5*index.TimeEntrySize {
		t.Fatalf("size after Trim %d", got)
	}
	if err := x.Append(1000, 10); err != index.ErrFull {
		t.Fatalf("Append after Trim = %v", err)
	}
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	y, err := index.OpenTime(path, 0, 10*index.TimeEntrySize)
	if err != nil {
		t.Fatal(err)
	}
	defer y.Close()
	if err := y.Append(1000, 10); err != nil {
		t.Fatalf("Append after reopen: %v", err)
	}
	if got := y.Lookup(999); got != (index.TimeEntry{Timestamp: 50, Offset: 4}) {
		t.Fatalf("Lookup(999) = %v", got)
	}
}

func TestTimeAllocs(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	x, _ := newTime(t, 0, 3000*index.TimeEntrySize)
	es := genTimes(rng, 0, 3000)
	for _, e := range es[:2000] {
		if err := x.Append(e.Timestamp, e.Offset); err != nil {
			t.Fatal(err)
		}
	}
	i := 2000
	if a := testing.AllocsPerRun(500, func() {
		if err := x.Append(es[i].Timestamp, es[i].Offset); err != nil {
			t.Fatal(err)
		}
		i++
	}); a != 0 {
		t.Errorf("Append allocates %v times", a)
	}
	targets := timeTargets(es)
	var j int
	if a := testing.AllocsPerRun(1000, func() {
		x.Lookup(targets[j%len(targets)])
		j++
	}); a != 0 {
		t.Errorf("Lookup allocates %v times", a)
	}
}

func TestReadLastTime(t *testing.T) {
	const base = 500
	dir := t.TempDir()

	e, ok, err := index.ReadLastTime(filepath.Join(dir, "missing.timeindex"), base)
	if err != nil || ok {
		t.Fatalf("missing file: %v, %v, %v", e, ok, err)
	}

	x, path := newTime(t, base, 100*index.TimeEntrySize)
	if e, ok, err := index.ReadLastTime(path, base); err != nil || ok {
		t.Fatalf("preallocated, empty: %v, %v, %v", e, ok, err)
	}
	if err := x.Append(0, base); err != nil {
		t.Fatal(err)
	}
	// A lone all-zero entry is no entry, as for OpenTime.
	if e, ok, err := index.ReadLastTime(path, base); err != nil || ok {
		t.Fatalf("lone zero entry: %v, %v, %v", e, ok, err)
	}
	for i := int64(1); i <= 50; i++ {
		if err := x.Append(i*1000, base+i*3); err != nil {
			t.Fatal(err)
		}
	}
	want := index.TimeEntry{Timestamp: 50_000, Offset: base + 150}
	// Untrimmed, as after a crash: the slow path.
	if e, ok, err := index.ReadLastTime(path, base); err != nil || !ok || e != want {
		t.Fatalf("untrimmed: %v, %v, %v; want %v", e, ok, err, want)
	}
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	if e, ok, err := index.ReadLastTime(path, base); err != nil || !ok || e != want {
		t.Fatalf("trimmed: %v, %v, %v; want %v", e, ok, err, want)
	}

	empty := filepath.Join(dir, "empty.timeindex")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := index.ReadLastTime(empty, base); err != nil || ok {
		t.Fatalf("empty file: %v, %v", ok, err)
	}
	for name, b := range map[string][]byte{
		"odd size": make([]byte, 13),
		"negative": {0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1},
		// entry 0 = (5, +0), entry 1 zero (the end), then a stray byte.
		"garbage in pad": {7: 5, 24: 1, 47: 0},
	} {
		p := filepath.Join(dir, "bad.timeindex")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, _, err := index.ReadLastTime(p, base); !errors.Is(err, index.ErrCorrupt) {
			t.Errorf("%s: err = %v, want ErrCorrupt", name, err)
		}
	}
}
