package fuzz

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/sluicelog/sluice/index"
)

// fuzzBase is the segment base offset the fuzzed index files belong to.
const fuzzBase = 1000

// FuzzIndexOpen writes arbitrary bytes as an offset index file and as a time
// index file and opens each as it is and preallocated. Opening must either
// refuse the file with ErrCorrupt or yield entries that keep the index's
// ordering rules, answer every Lookup as a linear scan of them does, take
// one more Append when there is room, and reopen to the same entries after
// Close trims the file.
func FuzzIndexOpen(f *testing.F) {
	be32 := binary.BigEndian.AppendUint32
	be64 := binary.BigEndian.AppendUint64
	var offsets, times []byte
	for i := range uint32(5) {
		offsets = be32(be32(offsets, i*7), i*4096+1)
		times = be32(be64(times, uint64(1_700_000_000_000+int64(i)*10)), i*7)
	}
	f.Add([]byte{})
	f.Add(offsets)
	f.Add(append(slices.Clone(offsets), make([]byte, 48)...)) // untrimmed offset index
	f.Add(times)
	f.Add(append(slices.Clone(times), make([]byte, 48)...))       // untrimmed time index
	f.Add(make([]byte, 24))                                       // all zero: empty
	f.Add(append(make([]byte, 8), offsets...))                    // zero first entry, then more
	f.Add([]byte{0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 3}) // repeated offset
	f.Add(append(slices.Clone(offsets[:8]), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9))

	// One directory for the whole run: inputs run one at a time in each
	// process, and each reuses the same two file names.
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		var verdict []error
		for _, maxBytes := range []int{0, len(data) + 4*index.TimeEntrySize} {
			verdict = append(verdict, fuzzOffset(t, dir, data, maxBytes), fuzzTime(t, dir, data, maxBytes))
		}
		// Preallocation must not change whether a file is accepted.
		if (verdict[0] == nil) != (verdict[2] == nil) || (verdict[1] == nil) != (verdict[3] == nil) {
			t.Fatalf("verdict depends on maxBytes: %v", verdict)
		}
	})
}

// lookupTargets returns targets around each key and at the extremes, at most
// a few hundred so a large input stays quick.
func lookupTargets(keys []int64, extra ...int64) []int64 {
	ts := append([]int64{-1 << 63, -1, 0, 1, 1<<63 - 1}, extra...)
	step := max(1, len(keys)/100)
	for i := 0; i < len(keys); i += step {
		ts = append(ts, keys[i]-1, keys[i], keys[i]+1)
	}
	if n := len(keys); n > 0 {
		ts = append(ts, keys[n-1]-1, keys[n-1], keys[n-1]+1)
	}
	return ts
}

func fuzzOffset(t *testing.T, dir string, data []byte, maxBytes int) error {
	path := filepath.Join(dir, "x.index")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	x, err := index.OpenOffset(path, fuzzBase, maxBytes)
	if err != nil {
		if !errors.Is(err, index.ErrCorrupt) {
			t.Fatalf("OpenOffset(maxBytes %d): %v, want nil or ErrCorrupt", maxBytes, err)
		}
		return err
	}
	es := make([]index.OffsetEntry, x.Entries())
	keys := make([]int64, len(es))
	for i := range es {
		es[i] = x.Entry(i)
		keys[i] = es[i].Offset
		if i > 0 && (es[i].Offset <= es[i-1].Offset || es[i].Position <= es[i-1].Position) {
			t.Fatalf("entries %d and %d not increasing: %v, %v", i-1, i, es[i-1], es[i])
		}
		if es[i].Offset < fuzzBase || es[i].Position < 0 {
			t.Fatalf("entry %d out of range: %v", i, es[i])
		}
	}
	if len(es)*index.OffsetEntrySize > max(len(data), maxBytes) {
		t.Fatalf("%d entries from %d bytes", len(es), len(data))
	}
	if last, ok := x.Last(); ok != (len(es) > 0) || (ok && last != es[len(es)-1]) {
		t.Fatalf("Last() = %v, %v with %d entries", last, ok, len(es))
	}
	for _, target := range lookupTargets(keys, fuzzBase-1, fuzzBase, fuzzBase+1<<32) {
		want := index.OffsetEntry{Offset: fuzzBase}
		for _, e := range es {
			if e.Offset <= target {
				want = e
			}
		}
		if got := x.Lookup(target); got != want {
			t.Fatalf("Lookup(%d) = %v, want %v", target, got, want)
		}
	}
	if maxBytes > 0 && !x.Full() {
		next := index.OffsetEntry{Offset: fuzzBase, Position: 0}
		if n := len(es); n > 0 {
			next = index.OffsetEntry{Offset: es[n-1].Offset + 1, Position: es[n-1].Position + 1}
		}
		switch err := x.Append(next.Offset, next.Position); {
		case err == nil:
			es = append(es, next)
		case errors.Is(err, index.ErrRange):
		default:
			t.Fatalf("Append(%v) with room: %v", next, err)
		}
	}
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Size() != int64(len(es)*index.OffsetEntrySize) {
		t.Fatalf("after Close: %v, size %d for %d entries", err, fi.Size(), len(es))
	}
	y, err := index.OpenOffset(path, fuzzBase, 0)
	if err != nil {
		t.Fatalf("reopen after Close: %v", err)
	}
	defer y.Close()
	got := make([]index.OffsetEntry, y.Entries())
	for i := range got {
		got[i] = y.Entry(i)
	}
	// A lone (base, 0) entry reads back as no entry; see the index package.
	if lone := len(es) == 1 && es[0] == (index.OffsetEntry{Offset: fuzzBase}); !slices.Equal(got, es) && !(lone && len(got) == 0) {
		t.Fatalf("reopen: %v, want %v", got, es)
	}
	return nil
}

func fuzzTime(t *testing.T, dir string, data []byte, maxBytes int) error {
	path := filepath.Join(dir, "x.timeindex")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	x, err := index.OpenTime(path, fuzzBase, maxBytes)
	if err != nil {
		if !errors.Is(err, index.ErrCorrupt) {
			t.Fatalf("OpenTime(maxBytes %d): %v, want nil or ErrCorrupt", maxBytes, err)
		}
		return err
	}
	es := make([]index.TimeEntry, x.Entries())
	keys := make([]int64, len(es))
	for i := range es {
		es[i] = x.Entry(i)
		keys[i] = es[i].Timestamp
		if es[i].Timestamp < 0 || es[i].Offset < fuzzBase {
			t.Fatalf("entry %d out of range: %v", i, es[i])
		}
		if i > 0 && (es[i].Timestamp <= es[i-1].Timestamp || es[i].Offset < es[i-1].Offset) {
			t.Fatalf("entries %d and %d out of order: %v, %v", i-1, i, es[i-1], es[i])
		}
	}
	if last, ok := x.Last(); ok != (len(es) > 0) || (ok && last != es[len(es)-1]) {
		t.Fatalf("Last() = %v, %v with %d entries", last, ok, len(es))
	}
	for _, target := range lookupTargets(keys) {
		want := index.TimeEntry{Timestamp: -1, Offset: fuzzBase}
		for _, e := range es {
			if e.Timestamp <= target {
				want = e
			}
		}
		if got := x.Lookup(target); got != want {
			t.Fatalf("Lookup(%d) = %v, want %v", target, got, want)
		}
	}
	if maxBytes > 0 && !x.Full() {
		next := index.TimeEntry{Timestamp: 0, Offset: fuzzBase}
		if n := len(es); n > 0 {
			next = index.TimeEntry{Timestamp: es[n-1].Timestamp + 1, Offset: es[n-1].Offset}
		}
		switch err := x.Append(next.Timestamp, next.Offset); {
		case err == nil:
			es = append(es, next)
		case errors.Is(err, index.ErrRange): // the last timestamp was the largest int64
		default:
			t.Fatalf("Append(%v) with room: %v", next, err)
		}
	}
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	y, err := index.OpenTime(path, fuzzBase, 0)
	if err != nil {
		t.Fatalf("reopen after Close: %v", err)
	}
	defer y.Close()
	got := make([]index.TimeEntry, y.Entries())
	for i := range got {
		got[i] = y.Entry(i)
	}
	if lone := len(es) == 1 && es[0] == (index.TimeEntry{Offset: fuzzBase}); !slices.Equal(got, es) && !(lone && len(got) == 0) {
		t.Fatalf("reopen: %v, want %v", got, es)
	}
	// ReadLastTime agrees with the mapped index.
	last, ok, err := index.ReadLastTime(path, fuzzBase)
	if wantLast, wantOK := y.Last(); err != nil || ok != wantOK || last != wantLast {
		t.Fatalf("ReadLastTime = %v, %v, %v; want %v, %v", last, ok, err, wantLast, wantOK)
	}
	return nil
}

// FuzzIndexOps reads its input as a sequence of operations on an offset
// index and a time index (append, lookup, truncate, reset, trim, close and
// reopen, crash and reopen) and checks both against a plain slice model after
// every step.
func FuzzIndexOps(f *testing.F) {
	f.Add([]byte{0, 1, 1, 0, 2, 3, 5, 9, 0, 4, 4, 3, 1, 0, 5, 2})
	f.Add([]byte{0, 0, 0, 0, 5, 5, 4, 1, 0, 3, 3, 3, 0, 9, 9, 6, 0, 2, 2, 4, 0})
	f.Add([]byte{0, 7, 7, 0, 7, 7, 0, 7, 7, 2, 0, 1, 1, 3, 1, 0, 1, 1, 1, 20, 5, 30})
	f.Add([]byte{6, 0, 0, 0, 4, 0, 0, 1, 1, 4, 1, 3, 0})

	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, ops []byte) {
		if len(ops) > 4096 {
			return
		}
		r := &opsRun{t: t, dir: dir}
		r.start()
		defer r.stop()
		for len(ops) > 0 {
			op := ops[0] % 7
			arg1, arg2 := byteAt(ops, 1), byteAt(ops, 2)
			ops = ops[min(len(ops), 3):]
			r.step(op, arg1, arg2)
			r.check()
		}
	})
}

func byteAt(b []byte, i int) int64 {
	if i < len(b) {
		return int64(b[i])
	}
	return 0
}

const opsSlots = 8 // room preallocated on (re)open, in entries

// opsRun holds both indexes under test and their models: the entries, and
// how many entries the file and Append have room for.
type opsRun struct {
	t   *testing.T
	dir string

	ox         *index.Offset
	oes        []index.OffsetEntry
	oSlots     int // Append room
	oFileSlots int // file size in entries

	tx         *index.Time
	tes        []index.TimeEntry
	tSlots     int
	tFileSlots int
}

func (r *opsRun) paths() (string, string) {
	return filepath.Join(r.dir, "ops.index"), filepath.Join(r.dir, "ops.timeindex")
}

func (r *opsRun) start() {
	op, tp := r.paths()
	os.Remove(op)
	os.Remove(tp)
	r.oes, r.tes = nil, nil
	r.oFileSlots, r.tFileSlots = 0, 0
	r.reopen(opsSlots)
}

func (r *opsRun) stop() {
	r.ox.Close()
	r.tx.Close()
}

// reopen opens both files with room for slots entries (0: as they are) and
// updates the models the way OpenOffset and OpenTime promise.
func (r *opsRun) reopen(slots int) {
	var err error
	op, tp := r.paths()
	if r.ox, err = index.OpenOffset(op, fuzzBase, slots*index.OffsetEntrySize); err != nil {
		r.t.Fatalf("reopen offset index: %v", err)
	}
	if r.tx, err = index.OpenTime(tp, fuzzBase, slots*index.TimeEntrySize); err != nil {
		r.t.Fatalf("reopen time index: %v", err)
	}
	r.oFileSlots, r.tFileSlots = max(r.oFileSlots, slots), max(r.tFileSlots, slots)
	r.oSlots, r.tSlots = r.oFileSlots, r.tFileSlots
	// A lone all-zero first entry cannot be told from unused space.
	if len(r.oes) == 1 && r.oes[0] == (index.OffsetEntry{Offset: fuzzBase}) {
		r.oes = nil
	}
	if len(r.tes) == 1 && r.tes[0] == (index.TimeEntry{Offset: fuzzBase}) {
		r.tes = nil
	}
}

func (r *opsRun) step(op byte, a, b int64) {
	t := r.t
	switch op {
	case 0: // append: a and b are the steps past the last entry
		oe := index.OffsetEntry{Offset: fuzzBase + a, Position: b}
		if n := len(r.oes); n > 0 {
			oe = index.OffsetEntry{Offset: r.oes[n-1].Offset + a, Position: r.oes[n-1].Position + b}
		}
		err := r.ox.Append(oe.Offset, oe.Position)
		n := len(r.oes)
		switch {
		case n > 0 && (a == 0 || b == 0):
			if !errors.Is(err, index.ErrNotMonotonic) {
				t.Fatalf("offset Append(%v) = %v, want ErrNotMonotonic", oe, err)
			}
		case n >= r.oSlots:
			if err != index.ErrFull {
				t.Fatalf("offset Append(%v) = %v, want ErrFull", oe, err)
			}
		case err != nil:
			t.Fatalf("offset Append(%v) = %v", oe, err)
		default:
			r.oes = append(r.oes, oe)
		}

		te := index.TimeEntry{Timestamp: a, Offset: fuzzBase + b}
		if n := len(r.tes); n > 0 {
			te = index.TimeEntry{Timestamp: r.tes[n-1].Timestamp + a, Offset: r.tes[n-1].Offset + b}
		}
		err = r.tx.Append(te.Timestamp, te.Offset)
		n = len(r.tes)
		switch {
		case n > 0 && a == 0:
			if !errors.Is(err, index.ErrNotMonotonic) {
				t.Fatalf("time Append(%v) = %v, want ErrNotMonotonic", te, err)
			}
		case n >= r.tSlots:
			if err != index.ErrFull {
				t.Fatalf("time Append(%v) = %v, want ErrFull", te, err)
			}
		case err != nil:
			t.Fatalf("time Append(%v) = %v", te, err)
		default:
			r.tes = append(r.tes, te)
		}

	case 1: // lookups near a and around every entry
		r.lookups(a)

	case 2: // truncate at an offset near the entries
		to := fuzzBase + a*int64(1+b%4) - 2
		r.ox.TruncateTo(to)
		r.tx.TruncateTo(to)
		r.oes = slices.DeleteFunc(r.oes, func(e index.OffsetEntry) bool { return e.Offset >= to })
		r.tes = slices.DeleteFunc(r.tes, func(e index.TimeEntry) bool { return e.Offset >= to })

	case 3: // reset
		r.ox.Reset()
		r.tx.Reset()
		r.oes, r.tes = nil, nil

	case 4: // trim: the file shrinks to its entries and Append stops
		if err := r.ox.Trim(); err != nil {
			t.Fatal(err)
		}
		if err := r.tx.Trim(); err != nil {
			t.Fatal(err)
		}
		r.oSlots, r.oFileSlots = len(r.oes), len(r.oes)
		r.tSlots, r.tFileSlots = len(r.tes), len(r.tes)
		if err := r.ox.Sync(); err != nil {
			t.Fatal(err)
		}

	case 5: // clean close, then reopen as it is or with room
		r.stop()
		r.oFileSlots, r.tFileSlots = len(r.oes), len(r.tes)
		r.checkSizes()
		r.reopen(int(a%2) * opsSlots)

	case 6: // crash: the files stay as the page cache has them, untrimmed
		op, tp := r.paths()
		ob, err1 := os.ReadFile(op)
		tb, err2 := os.ReadFile(tp)
		if err := errors.Join(err1, err2); err != nil {
			t.Fatal(err)
		}
		r.stop()
		if err := errors.Join(os.WriteFile(op, ob, 0o644), os.WriteFile(tp, tb, 0o644)); err != nil {
			t.Fatal(err)
		}
		r.reopen(int(a%2) * opsSlots)
	}
}

func (r *opsRun) lookups(a int64) {
	t := r.t
	targets := []int64{fuzzBase - 1, fuzzBase + a, 1<<63 - 1}
	for _, e := range r.oes {
		targets = append(targets, e.Offset-1, e.Offset, e.Offset+1)
	}
	for _, target := range targets {
		want := index.OffsetEntry{Offset: fuzzBase}
		for _, e := range r.oes {
			if e.Offset <= target {
				want = e
			}
		}
		if got := r.ox.Lookup(target); got != want {
			t.Fatalf("offset Lookup(%d) = %v, want %v", target, got, want)
		}
	}
	targets = append(targets[:0], -1, a, 1<<63-1)
	for _, e := range r.tes {
		targets = append(targets, e.Timestamp-1, e.Timestamp, e.Timestamp+1)
	}
	for _, target := range targets {
		want := index.TimeEntry{Timestamp: -1, Offset: fuzzBase}
		for _, e := range r.tes {
			if e.Timestamp <= target {
				want = e
			}
		}
		if got := r.tx.Lookup(target); got != want {
			t.Fatalf("time Lookup(%d) = %v, want %v", target, got, want)
		}
	}
}

// check compares the indexes with the models.
func (r *opsRun) check() {
	t := r.t
	if n := r.ox.Entries(); n != len(r.oes) {
		t.Fatalf("offset index has %d entries, model %d", n, len(r.oes))
	}
	for i, e := range r.oes {
		if got := r.ox.Entry(i); got != e {
			t.Fatalf("offset entry %d = %v, model %v", i, got, e)
		}
	}
	if n := r.tx.Entries(); n != len(r.tes) {
		t.Fatalf("time index has %d entries, model %d", n, len(r.tes))
	}
	for i, e := range r.tes {
		if got := r.tx.Entry(i); got != e {
			t.Fatalf("time entry %d = %v, model %v", i, got, e)
		}
	}
	if r.ox.Full() != (len(r.oes) >= r.oSlots) || r.tx.Full() != (len(r.tes) >= r.tSlots) {
		t.Fatalf("Full: offset %v (%d/%d), time %v (%d/%d)", r.ox.Full(), len(r.oes), r.oSlots, r.tx.Full(), len(r.tes), r.tSlots)
	}
	r.checkSizes()
}

// checkSizes compares the files' sizes with the models.
func (r *opsRun) checkSizes() {
	op, tp := r.paths()
	for _, c := range []struct {
		path string
		want int64
	}{
		{op, int64(r.oFileSlots * index.OffsetEntrySize)},
		{tp, int64(r.tFileSlots * index.TimeEntrySize)},
	} {
		fi, err := os.Stat(c.path)
		if err != nil || fi.Size() != c.want {
			r.t.Fatalf("%s: size %d, model %d (%v)", c.path, fi.Size(), c.want, err)
		}
	}
}
