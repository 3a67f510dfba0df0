package index_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/sluicelog/sluice/index"
)

func TestOffsetAppendLookup(t *testing.T) {
	// Sizes around the 1024-entry hot tail exercise both search paths.
	for _, n := range []int{0, 1, 2, 7, 1023, 1024, 1025, 3000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(n), 1))
			base := rng.Int64N(1 << 40)
			x, _ := newOffset(t, base, (n+1)*index.OffsetEntrySize)
			es := genOffsets(rng, base, n)
			for _, e := range es {
				if err := x.Append(e.Offset, e.Position); err != nil {
					t.Fatalf("Append(%d, %d): %v", e.Offset, e.Position, err)
				}
			}
			if got := offsetEntries(x); !slices.Equal(got, es) && n > 0 {
				t.Fatalf("entries differ from what was appended")
			}
			last, ok := x.Last()
			if ok != (n > 0) || (ok && last != es[n-1]) {
				t.Fatalf("Last() = %v, %v", last, ok)
			}
			for _, target := range offsetTargets(es, base) {
				want := refOffset(es, base, target)
				if got := x.Lookup(target); got != want {
					t.Fatalf("Lookup(%d) = %v, want %v", target, got, want)
				}
				if got := x.LookupFull(target); got != want {
					t.Fatalf("LookupFull(%d) = %v, want %v", target, got, want)
				}
			}
			for range 2000 {
				target := base + rng.Int64N(int64(n)*60+10) - 5
				if got, full := x.Lookup(target), x.LookupFull(target); got != full {
					t.Fatalf("Lookup(%d) = %v, full binary search %v", target, got, full)
				}
			}
		})
	}
}

func TestOffsetAppendErrors(t *testing.T) {
	const base = 1000
	x, _ := newOffset(t, base, 3*index.OffsetEntrySize)
	for _, c := range []struct {
		off, pos int64
		want     error
	}{
		{base - 1, 0, index.ErrRange},
		{base + 1<<32, 0, index.ErrRange},
		{base, -1, index.ErrRange},
		{base, 1 << 32, index.ErrRange},
	} {
		if err := x.Append(c.off, c.pos); !errors.Is(err, c.want) {
			t.Errorf("Append(%d, %d) = %v, want %v", c.off, c.pos, err, c.want)
		}
	}
	if err := x.Append(base+10, 500); err != nil {
		t.Fatal(err)
	}
	for _, c := range [][2]int64{{base + 10, 600}, {base + 9, 600}, {base + 11, 500}, {base + 11, 499}} {
		if err := x.Append(c[0], c[1]); !errors.Is(err, index.ErrNotMonotonic) {
			t.Errorf("Append(%d, %d) = %v, want ErrNotMonotonic", c[0], c[1], err)
		}
	}
	if err := x.Append(base+1<<32-1, 1<<32-1); err != nil {
		t.Fatalf("largest entry: %v", err)
	}
	if x.Full() {
		t.Fatal("Full with one slot left")
	}
	if err := x.Append(base+1<<32-1, 1<<32-1); !errors.Is(err, index.ErrNotMonotonic) {
		t.Fatalf("Append past the largest = %v", err)
	}
	if x.Entries() != 2 {
		t.Fatalf("Entries() = %d after failed appends", x.Entries())
	}
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	if err := x.Append(base+1<<32-1, 1<<32-1); !errors.Is(err, index.ErrClosed) {
		t.Fatalf("Append after Close = %v", err)
	}
}

func TestOffsetFull(t *testing.T) {
	// 100 bytes round down to 12 entries.
	x, path := newOffset(t, 0, 100)
	if got := fileSize(t, path); got != 96 {
		t.Fatalf("preallocated size %d, want 96", got)
	}
	for i := range int64(12) {
		if x.Full() {
			t.Fatalf("Full after %d entries", i)
		}
		if err := x.Append(i*2, i*10+1); err != nil {
			t.Fatal(err)
		}
	}
	if !x.Full() {
		t.Fatal("not Full after 12 entries")
	}
	if err := x.Append(100, 1000); err != index.ErrFull {
		t.Fatalf("Append to a full index = %v, want ErrFull", err)
	}
}

func TestOffsetReopen(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	const base = 5_000_000
	x, path := newOffset(t, base, 1<<20)
	es := genOffsets(rng, base, 2500)
	for _, e := range es {
		if err := x.Append(e.Offset, e.Position); err != nil {
			t.Fatal(err)
		}
	}
	if err := x.Sync(); err != nil {
		t.Fatal(err)
	}
	crashed := crashCopy(t, path)
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	if err := x.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if got, want := fileSize(t, path), int64(len(es)*index.OffsetEntrySize); got != want {
		t.Fatalf("file size after Close %d, want %d", got, want)
	}
	// 2,500 entries fill 20,000 bytes: the file was allocated one 64 KiB
	// chunk, not the 1 MiB the mapping may reach.
	if got := fileSize(t, crashed); got != 64<<10 {
		t.Fatalf("crash image size %d, want one 64 KiB chunk", got)
	}

	for _, p := range []string{path, crashed} {
		for _, maxBytes := range []int{0, 1 << 20, 2 << 20} {
			y, err := index.OpenOffset(p, base, maxBytes)
			if err != nil {
				t.Fatalf("reopen %s with %d: %v", p, maxBytes, err)
			}
			if got := offsetEntries(y); !slices.Equal(got, es) {
				t.Fatalf("reopen %s with %d: %d entries, want %d", p, maxBytes, len(got), len(es))
			}
			for k, target := range offsetTargets(es, base) {
				if k%7 != 0 {
					continue // the entries are equal; a sample of targets will do
				}
				if got, want := y.Lookup(target), refOffset(es, base, target); got != want {
					t.Fatalf("Lookup(%d) = %v, want %v", target, got, want)
				}
			}
			if err := y.Close(); err != nil {
				t.Fatal(err)
			}
			if got, want := fileSize(t, p), int64(len(es)*index.OffsetEntrySize); got != want {
				t.Fatalf("size after reopen and Close %d, want %d", got, want)
			}
		}
	}
}

func TestOffsetMissingAndEmpty(t *testing.T) {
	x, path := newOffset(t, 42, 0)
	if x.Entries() != 0 || !x.Full() {
		t.Fatalf("missing file: Entries %d, Full %v", x.Entries(), x.Full())
	}
	if got := x.Lookup(100); got != (index.OffsetEntry{Offset: 42}) {
		t.Fatalf("Lookup on empty = %v", got)
	}
	if _, ok := x.Last(); ok {
		t.Fatal("Last on empty reported an entry")
	}
	if err := x.Append(42, 0); err != index.ErrFull {
		t.Fatalf("Append to a 0-byte index opened as it is = %v, want ErrFull", err)
	}
	if err := x.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	if got := fileSize(t, path); got != 0 {
		t.Fatalf("size %d", got)
	}
	if got := x.Lookup(100); got != (index.OffsetEntry{Offset: 42}) {
		t.Fatalf("Lookup after Close = %v", got)
	}
}

// TestOffsetZeroFirstEntry checks the rule for an entry (base, 0), whose
// bytes are all zero like the unused tail of a preallocated file.
func TestOffsetZeroFirstEntry(t *testing.T) {
	const base = 300
	x, path := newOffset(t, base, 10*index.OffsetEntrySize)
	if err := x.Append(base, 0); err != nil {
		t.Fatal(err)
	}
	// Alone, it cannot be told from unused space; reopening finds nothing,
	// and every Lookup answers as before.
	alone := crashCopy(t, path)
	y, err := index.OpenOffset(alone, base, 0)
	if err != nil {
		t.Fatal(err)
	}
	if y.Entries() != 0 || y.Lookup(base+5) != x.Lookup(base+5) {
		t.Fatalf("lone zero entry: Entries %d, Lookup %v vs %v", y.Entries(), y.Lookup(base+5), x.Lookup(base+5))
	}
	y.Close()

	// Followed by another entry it is kept.
	if err := x.Append(base+3, 4096); err != nil {
		t.Fatal(err)
	}
	want := offsetEntries(x)
	for _, p := range []string{crashCopy(t, path), path} {
		if p == path {
			if err := x.Close(); err != nil {
				t.Fatal(err)
			}
		}
		y, err := index.OpenOffset(p, base, 0)
		if err != nil {
			t.Fatal(err)
		}
		if got := offsetEntries(y); !slices.Equal(got, want) {
			t.Fatalf("%s: entries %v, want %v", p, got, want)
		}
		y.Close()
	}
}

func TestOffsetTruncateTo(t *testing.T) {
	const base = 100
	// Entries at offsets 100, 110, ..., 190.
	var es []index.OffsetEntry
	for i := range int64(10) {
		es = append(es, index.OffsetEntry{Offset: base + 10*i, Position: 1000*i + 1})
	}
	for _, to := range []int64{0, 99, 100, 101, 110, 155, 190, 191, 1 << 40} {
		x, path := newOffset(t, base, 20*index.OffsetEntrySize)
		for _, e := range es {
			if err := x.Append(e.Offset, e.Position); err != nil {
				t.Fatal(err)
			}
		}
		x.TruncateTo(to)
		var want []index.OffsetEntry
		for _, e := range es {
			if e.Offset < to {
				want = append(want, e)
			}
		}
		if got := offsetEntries(x); !slices.Equal(got, want) {
			t.Fatalf("TruncateTo(%d): %v, want %v", to, got, want)
		}
		// The dropped entries' bytes are zero: a crash image reopens to the
		// same entries.
		y, err := index.OpenOffset(crashCopy(t, path), base, 0)
		if err != nil {
			t.Fatalf("TruncateTo(%d) then reopen: %v", to, err)
		}
		if got := offsetEntries(y); !slices.Equal(got, want) {
			t.Fatalf("TruncateTo(%d) then reopen: %v, want %v", to, got, want)
		}
		y.Close()
		// Appending resumes after the kept entries.
		if err := x.Append(base+1000, 1<<20); err != nil {
			t.Fatalf("Append after TruncateTo(%d): %v", to, err)
		}
		x.Reset()
		if x.Entries() != 0 {
			t.Fatalf("Reset left %d entries", x.Entries())
		}
		if err := x.Append(base, 0); err != nil {
			t.Fatalf("Append after Reset: %v", err)
		}
	}
}

func TestOffsetTrim(t *testing.T) {
	const base = 0
	x, path := newOffset(t, base, 1000*index.OffsetEntrySize)
	for i := range int64(10) {
		if err := x.Append(base+i*5, i*100+1); err != nil {
			t.Fatal(err)
		}
	}
	if err := x.Trim(); err != nil {
		t.Fatal(err)
	}
	if got := fileSize(t, path); got != 10*index.OffsetEntrySize {
		t.Fatalf("size after Trim %d", got)
	}
	if !x.Full() {
		t.Fatal("not Full after Trim")
	}
	if err := x.Append(100, 5000); err != index.ErrFull {
		t.Fatalf("Append after Trim = %v, want ErrFull", err)
	}
	// Lookups and Sync keep working on the trimmed file.
	if got := x.Lookup(27); got != (index.OffsetEntry{Offset: 25, Position: 501}) {
		t.Fatalf("Lookup after Trim = %v", got)
	}
	if err := x.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := x.Trim(); err != nil {
		t.Fatalf("second Trim: %v", err)
	}
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}

	// Reopened with room, it takes appends again.
	y, err := index.OpenOffset(path, base, 20*index.OffsetEntrySize)
	if err != nil {
		t.Fatal(err)
	}
	if got := fileSize(t, path); got != 20*index.OffsetEntrySize {
		t.Fatalf("size after reopen %d", got)
	}
	for i := int64(10); i < 20; i++ {
		if err := y.Append(base+i*5, i*100+1); err != nil {
			t.Fatalf("Append %d after reopen: %v", i, err)
		}
	}
	if err := y.Append(1000, 1<<20); err != index.ErrFull {
		t.Fatalf("Append past maxBytes = %v", err)
	}
	if err := y.Close(); err != nil {
		t.Fatal(err)
	}
	if got := fileSize(t, path); got != 20*index.OffsetEntrySize {
		t.Fatalf("size after Close %d", got)
	}
	if err := y.Trim(); !errors.Is(err, index.ErrClosed) {
		t.Fatalf("Trim after Close = %v", err)
	}
}

func TestOffsetAllocs(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	x, _ := newOffset(t, 0, 5000*index.OffsetEntrySize)
	es := genOffsets(rng, 0, 4000)
	for _, e := range es[:3000] {
		if err := x.Append(e.Offset, e.Position); err != nil {
			t.Fatal(err)
		}
	}
	i := 3000
	if a := testing.AllocsPerRun(500, func() {
		if err := x.Append(es[i].Offset, es[i].Position); err != nil {
			t.Fatal(err)
		}
		i++
	}); a != 0 {
		t.Errorf("Append allocates %v times", a)
	}
	targets := offsetTargets(es, 0)
	var j int
	if a := testing.AllocsPerRun(1000, func() {
		x.Lookup(targets[j%len(targets)])
		j++
	}); a != 0 {
		t.Errorf("Lookup allocates %v times", a)
	}
}

// TestUnmap: an index whose file was opened again for appends can be let
// go without cutting the file under the new mapping, as Close would.
func TestUnmap(t *testing.T) {
	const base = 100
	x, path := newOffset(t, base, 4*index.OffsetEntrySize)
	for i := range int64(3) {
		if err := x.Append(base+i, 10*i+1); err != nil {
			t.Fatal(err)
		}
	}
	if err := x.Trim(); err != nil {
		t.Fatal(err)
	}
	y, err := index.OpenOffset(path, base, 16*index.OffsetEntrySize)
	if err != nil {
		t.Fatal(err)
	}
	defer y.Close()
	for i := int64(3); i < 10; i++ {
		if err := y.Append(base+i, 10*i+1); err != nil {
			t.Fatal(err)
		}
	}
	// x still sees its three entries while y appends to the same file.
	if got := x.Entries(); got != 3 {
		t.Fatalf("old mapping sees %d entries, want 3", got)
	}
	if err := x.Unmap(); err != nil {
		t.Fatal(err)
	}
	if err := x.Unmap(); err != nil {
		t.Fatalf("second Unmap: %v", err)
	}
	if x.Entries() != 0 {
		t.Fatal("an unmapped index reads entries")
	}
	if got := y.Entries(); got != 10 {
		t.Fatalf("new mapping has %d entries after Unmap, want 10", got)
	}
	if e, _ := y.Last(); e != (index.OffsetEntry{Offset: base + 9, Position: 91}) {
		t.Fatalf("Last after Unmap: %v", e)
	}
	if err := y.Append(base+10, 101); err != nil {
		t.Fatalf("Append after the old mapping's Unmap: %v", err)
	}
}

func TestOffsetLookupPosition(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	for _, n := range []int{0, 1, 2, 7, 1025} {
		const base = 5000
		x, _ := newOffset(t, base, (n+1)*index.OffsetEntrySize)
		es := genOffsets(rng, base, n)
		for _, e := range es {
			if err := x.Append(e.Offset, e.Position); err != nil {
				t.Fatal(err)
			}
		}
		targets := []int64{-1, 0, 1, 1 << 40}
		for _, e := range es {
			targets = append(targets, e.Position-1, e.Position, e.Position+1)
		}
		for _, p := range targets {
			want := index.OffsetEntry{Offset: base}
			for _, e := range es {
				if e.Position <= p {
					want = e
				}
			}
			if got := x.LookupPosition(p); got != want {
				t.Fatalf("%d entries: LookupPosition(%d) = %v, want %v", n, p, got, want)
			}
		}
	}
}
