package fuzz

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/sluicelog/sluice/engine"
	"github.com/sluicelog/sluice/segment"
	"github.com/sluicelog/sluice/segment/batch"
)

// swapGroup is one group of segments a cleaning replaced: the old
// segments of [base, end) became the cleaned segment base.
type swapGroup struct {
	base, end int64
	old       []int64 // bases of the segments it replaced
}

// swapOp is one file-system operation of the replacement protocol
// (engine/cleanswap.go), applied to a partition directory.
type swapOp struct {
	what string
	do   func(part string) error
	// partial, for a write, is the write a crash interrupted: part of the
	// file's bytes made it.
	partial func(part string) error
}

// swapFixture is a compacted partition cleaned once, written to again, and
// what its next cleaning does, step by step.
type swapFixture struct {
	// dir is the data directory before the second cleaning, closed
	// cleanly; a copy without its clean-shutdown marker is what a crash
	// during that cleaning left, before the first step.
	dir string
	// before and after are the records read before and after the
	// cleaning, which ended at end.
	before, after []cleanRec
	end           int64
	groups        []swapGroup
	// ops are the cleaning's steps, in order: a crash leaves a prefix of
	// them done.
	ops []swapOp
	// oldBases and newBases are the segments of the log before and after.
	oldBases, newBases []int64
}

// swapName is the committed name of a cleaned segment's log (the engine's
// swapName).
func swapName(base, end int64) string {
	return segment.FileName(base, ".log") + "." + fmt.Sprintf("%020d", end) + ".swap"
}

// logBases lists the base offsets of the .log files in dir.
func logBases(tb testing.TB, dir string) []int64 {
	tb.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		tb.Fatal(err)
	}
	var bases []int64
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".log")
		if !ok || len(name) != 20 {
			continue
		}
		b, err := strconv.ParseInt(name, 10, 64)
		if err != nil {
			tb.Fatal(err)
		}
		bases = append(bases, b)
	}
	sort.Slice(bases, func(i, j int) bool { return bases[i] < bases[j] })
	return bases
}

// newSwapFixture builds the partition deterministically: records of eight
// keys (a few tombstones) in two codecs, a cleaning, more records, then a
// copy of that cleaned again to learn the groups and their cleaned files.
func newSwapFixture(f *testing.F) *swapFixture {
	fx := &swapFixture{dir: filepath.Join(f.TempDir(), "before")}
	e, err := engine.Open(fx.dir, cleanOpts())
	if err != nil {
		f.Fatal(err)
	}
	if err := e.CreateTopic("c", 1, cleanTopicConfig); err != nil {
		f.Fatal(err)
	}
	p, err := e.Partition("c", 0)
	if err != nil {
		f.Fatal(err)
	}
	n := 0
	write := func(batches int) {
		for range batches {
			b := batch.NewBuilder([]batch.Codec{batch.None, batch.Snappy}[n%2])
			for j := range 1 + n%3 {
				key := fmt.Appendf(nil, "k%d", (n*7+j*3)%8)
				value := fmt.Appendf(nil, "value %d/%d", n, j)
				if n%11 == 5 {
					value = nil
				}
				b.Append(cleanFresh+int64(n), key, value, nil)
			}
			n++
			raw, err := b.Build()
			if err != nil {
				f.Fatal(err)
			}
			if _, err := p.Append(bytes.Clone(raw)); err != nil {
				f.Fatal(err)
			}
		}
	}
	write(60)
	if _, err := p.Clean(); err != nil {
		f.Fatal(err)
	}
	write(60)
	if err := e.Close(); err != nil {
		f.Fatal(err)
	}

	// Clean a copy to see what the cleaning does.
	cleaned := filepath.Join(f.TempDir(), "after")
	copyTree(f, fx.dir, cleaned)
	if e, err = engine.Open(cleaned, cleanOpts()); err != nil {
		f.Fatal(err)
	}
	if p, err = e.Partition("c", 0); err != nil {
		f.Fatal(err)
	}
	if fx.before, err = readRecords(p); err != nil {
		f.Fatal(err)
	}
	st, err := p.Clean()
	if err != nil {
		f.Fatal(err)
	}
	if fx.after, err = readRecords(p); err != nil {
		f.Fatal(err)
	}
	if err := e.Close(); err != nil {
		f.Fatal(err)
	}
	fx.end = st.End
	fx.oldBases = logBases(f, cleanPartDir(fx.dir))
	fx.newBases = logBases(f, cleanPartDir(cleaned))

	// The groups: each cleaned segment below the end replaced the old
	// ones from its base to the next one's.
	for i, b := range fx.newBases {
		if b >= st.End {
			break
		}
		g := swapGroup{base: b, end: st.End}
		if i+1 < len(fx.newBases) && fx.newBases[i+1] < st.End {
			g.end = fx.newBases[i+1]
		}
		for _, o := range fx.oldBases {
			if o >= g.base && o < g.end {
				g.old = append(g.old, o)
			}
		}
		if len(g.old) == 0 || g.old[0] != g.base {
			f.Fatalf("cleaned segment %d replaced segments %v", b, g.old)
		}
		fx.groups = append(fx.groups, g)
	}
	if len(fx.groups) != st.Groups || st.Groups < 2 {
		f.Fatalf("found %d groups, the cleaning made %d: want several", len(fx.groups), st.Groups)
	}
	multi := false
	for _, g := range fx.groups {
		multi = multi || len(g.old) > 1
	}
	if !multi {
		f.Fatalf("no group replaced several segments: %+v", fx.groups)
	}
	fx.ops = swapOps(f, cleanPartDir(cleaned), fx.groups)
	return fx
}

// swapOps lists the steps of the protocol in engine/cleanswap.go for each
// group in turn, with the cleaned files taken from newDir.
func swapOps(tb testing.TB, newDir string, groups []swapGroup) []swapOp {
	var ops []swapOp
	add := func(what string, do func(part string) error) { ops = append(ops, swapOp{what: what, do: do}) }
	for _, g := range groups {
		tmp := func(part string) string { return filepath.Join(part, ".cleaning") }
		// 1. The cleaned segment is written under .cleaning/.
		add(fmt.Sprintf("group %d: make .cleaning/", g.base), func(part string) error {
			if err := os.RemoveAll(tmp(part)); err != nil {
				return err
			}
			return os.Mkdir(tmp(part), 0o755)
		})
		for _, suffix := range []string{".log", ".index", ".timeindex"} {
			name := segment.FileName(g.base, suffix)
			data, err := os.ReadFile(filepath.Join(newDir, name))
			if errors.Is(err, os.ErrNotExist) && suffix != ".log" {
				continue
			}
			if err != nil {
				tb.Fatal(err)
			}
			add(fmt.Sprintf("group %d: write .cleaning/%s", g.base, name), func(part string) error {
				return os.WriteFile(filepath.Join(tmp(part), name), data, 0o644)
			})
			ops[len(ops)-1].partial = func(part string) error {
				return os.WriteFile(filepath.Join(tmp(part), name), data[:len(data)/2], 0o644)
			}
		}
		// 2. The commit point.
		swap := swapName(g.base, g.end)
		add(fmt.Sprintf("group %d: rename to %s", g.base, swap), func(part string) error {
			return os.Rename(filepath.Join(tmp(part), segment.FileName(g.base, ".log")), filepath.Join(part, swap))
		})
		// 3. The old segments go, file by file as Segment.Delete removes
		// them, and the cleaned one takes their place.
		for _, o := range g.old {
			for _, suffix := range []string{".log", ".index", ".timeindex"} {
				name := segment.FileName(o, suffix)
				add(fmt.Sprintf("group %d: remove %s", g.base, name), func(part string) error {
					if err := os.Remove(filepath.Join(part, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
						return err
					}
					return nil
				})
			}
		}
		add(fmt.Sprintf("group %d: rename %s into place", g.base, swap), func(part string) error {
			return os.Rename(filepath.Join(part, swap), filepath.Join(part, segment.FileName(g.base, ".log")))
		})
		for _, suffix := range []string{".index", ".timeindex"} {
			name := segment.FileName(g.base, suffix)
			add(fmt.Sprintf("group %d: move .cleaning/%s", g.base, name), func(part string) error {
				if err := os.Rename(filepath.Join(tmp(part), name), filepath.Join(part, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
					return err
				}
				return nil
			})
		}
		add(fmt.Sprintf("group %d: remove .cleaning/", g.base), func(part string) error { return os.RemoveAll(tmp(part)) })
	}
	return ops
}

// swapEntries lists what the partition directory holds, .cleaning/ and
// what is in it included, sorted.
func swapEntries(part string) []string {
	var out []string
	entries, _ := os.ReadDir(part)
	for _, e := range entries {
		out = append(out, e.Name())
		if e.IsDir() {
			inner, _ := os.ReadDir(filepath.Join(part, e.Name()))
			for _, i := range inner {
				out = append(out, filepath.Join(e.Name(), i.Name()))
			}
		}
	}
	sort.Strings(out)
	return out
}

// swapMutator damages a partition directory as the fuzz input says:
// files removed, cut short, overwritten, copied or renamed to swap names
// good and bad.
type swapMutator struct {
	r    *opReader
	part string
	fx   *swapFixture
}

// offset picks an offset for a swap name: one of the log's segment or
// group boundaries, nearby, or far off.
func (m *swapMutator) offset() int64 {
	var known []int64
	known = append(known, m.fx.oldBases...)
	known = append(known, m.fx.newBases...)
	known = append(known, m.fx.end)
	b := m.r.byte()
	switch b % 8 {
	case 0:
		return int64(b >> 3)
	case 1:
		return math.MaxInt64 - int64(b>>3)
	}
	return known[int(b>>3)%len(known)] + int64(m.r.byte()%5) - 2
}

// swapFileName makes a name for a swap file: well formed, or with numbers
// of the wrong width or sign, end at or below base, or no numbers at all.
func (m *swapMutator) swapFileName() string {
	base, end := m.offset(), m.offset()
	switch m.r.byte() % 8 {
	case 0:
		return fmt.Sprintf("%019d.log.%020d.swap", base, end)
	case 1:
		return fmt.Sprintf("%020d.log.%d.swap", base, end)
	case 2:
		return fmt.Sprintf("-%019d.log.%020d.swap", base, end)
	case 3:
		return fmt.Sprintf("%020d.log.%020d.swap", end, end)
	case 4:
		return segment.FileName(base, ".log.swap")
	case 5:
		return segment.FileName(base, ".index") + "." + fmt.Sprintf("%020d", end) + ".swap"
	}
	return fmt.Sprintf("%020d.log.%020d.swap", base, end)
}

// pick chooses one of the directory's entries, or "" when it is empty.
func (m *swapMutator) pick() string {
	entries := swapEntries(m.part)
	if len(entries) == 0 {
		return ""
	}
	return entries[int(m.r.byte())%len(entries)]
}

// apply makes one change. Each is best effort: a change that cannot be
// made (a rename onto a directory, say) is simply not made.
func (m *swapMutator) apply() {
	r, part := m.r, m.part
	switch r.byte() % 8 {
	case 0: // a file (or .cleaning/) removed
		if name := m.pick(); name != "" {
			os.RemoveAll(filepath.Join(part, name))
		}
	case 1: // cut short
		if name := m.pick(); name != "" {
			path := filepath.Join(part, name)
			if fi, err := os.Stat(path); err == nil && !fi.IsDir() {
				os.Truncate(path, fi.Size()*int64(r.byte())/256)
			}
		}
	case 2: // renamed to a swap name
		if name := m.pick(); name != "" {
			os.Rename(filepath.Join(part, name), filepath.Join(part, m.swapFileName()))
		}
	case 3: // copied to a swap name
		if name := m.pick(); name != "" {
			if data, err := os.ReadFile(filepath.Join(part, name)); err == nil {
				os.WriteFile(filepath.Join(part, m.swapFileName()), data, 0o644)
			}
		}
	case 4: // a swap file of whatever bytes follow
		name, n := m.swapFileName(), int(r.byte())
		data := bytes.Clone(r.data[:min(len(r.data), n)])
		r.data = r.data[len(data):]
		os.WriteFile(filepath.Join(part, name), data, 0o644)
	case 5: // a directory where a file should be
		name := m.swapFileName()
		if r.byte()%2 == 0 {
			os.RemoveAll(filepath.Join(part, ".cleaning"))
			os.WriteFile(filepath.Join(part, ".cleaning"), []byte("not a directory"), 0o644)
		} else {
			os.Mkdir(filepath.Join(part, name), 0o755)
		}
	case 6: // bytes overwritten
		if name := m.pick(); name != "" {
			path := filepath.Join(part, name)
			if data, err := os.ReadFile(path); err == nil && len(data) > 0 {
				pos := (int(r.byte())<<8 | int(r.byte())) % len(data)
				data[pos] ^= 1 + r.byte()
				os.WriteFile(path, data, 0o644)
			}
		}
	case 7: // a segment file copied under another base (or into .cleaning/)
		if name := m.pick(); name != "" {
			if data, err := os.ReadFile(filepath.Join(part, name)); err == nil {
				suffix := []string{".log", ".index", ".timeindex"}[r.byte()%3]
				dst := segment.FileName(m.offset(), suffix)
				if r.byte()%2 == 0 {
					os.MkdirAll(filepath.Join(part, ".cleaning"), 0o755)
					dst = filepath.Join(".cleaning", dst)
				}
				os.WriteFile(filepath.Join(part, dst), data, 0o644)
			}
		}
	}
}

// checkGroups holds the protocol's promise at a crash point: each group
// reads wholly as before the cleaning or wholly as after it.
func checkGroups(t *testing.T, fx *swapFixture, got []cleanRec, crash string) {
	t.Helper()
	in := func(recs []cleanRec, g swapGroup) []cleanRec {
		var out []cleanRec
		for _, r := range recs {
			if r.offset >= g.base && r.offset < g.end {
				out = append(out, r)
			}
		}
		return out
	}
	same := func(a, b []cleanRec) bool {
		return slices.EqualFunc(a, b, func(x, y cleanRec) bool { return x.same(&y) })
	}
	for _, g := range fx.groups {
		read := in(got, g)
		if !same(read, in(fx.before, g)) && !same(read, in(fx.after, g)) {
			t.Fatalf("crash after %s: group [%d, %d) reads %d records, neither the %d before nor the %d after the cleaning",
				crash, g.base, g.end, len(read), len(in(fx.before, g)), len(in(fx.after, g)))
		}
	}
}

// FuzzSwapRecovery starts from a compacted partition whose cleaning was
// interrupted: the input picks how many steps of the replacement protocol
// (engine/cleanswap.go) were done when the process died, then may damage
// the directory further (files removed, cut, overwritten, swap files with
// good and bad names, ranges that overlap or run backwards). Open must not
// panic, nor reading the partition panic or hang, nor a cleaning panic.
// When the input stops at a step of the protocol and changes nothing
// else, a real crash point, Open must succeed, each group must read
// wholly old or wholly cleaned, no key may lose its newest record, and a
// new cleaning must succeed and keep that so.
func FuzzSwapRecovery(f *testing.F) {
	fx := newSwapFixture(f)
	for i := range len(fx.ops) + 1 {
		f.Add(uint16(i), []byte{})
		if i > 0 && fx.ops[i-1].partial != nil {
			f.Add(uint16(len(fx.ops)+1+i), []byte{})
		}
	}
	for i, ops := range [][]byte{
		{0, 0},                     // a file removed
		{1, 3, 128},                // cut to half
		{2, 5, 2, 24, 1, 16, 1},    // renamed to a swap name
		{3, 9, 3, 24, 2, 24, 0},    // copied to a swap name, end <= base
		{3, 4, 6, 40, 0, 32, 3},    // copied to a swap name, overlapping
		{4, 2, 16, 0, 7, 40, 1, 2}, // a garbage swap file
		{5, 0, 0, 0, 0},            // .cleaning/ a file
		{5, 16, 1, 32, 2, 6, 1},    // a directory with a swap name
		{6, 2, 0, 3, 7},            // a flipped bit
		{7, 6, 1, 40, 3, 1},        // a segment copied under another base
	} {
		f.Add(uint16(i*7%len(fx.ops)), ops)
	}

	f.Fuzz(func(t *testing.T, crash uint16, damage []byte) {
		if len(damage) > 64 {
			damage = damage[:64]
		}
		// The crash came after steps operations; with the next bit, in
		// the middle of the last one, when that is a write.
		steps := int(crash) % (len(fx.ops) + 1)
		torn := int(crash)/(len(fx.ops)+1)%2 == 1 && steps > 0 && fx.ops[steps-1].partial != nil
		dir := execDir(t)
		copyTree(t, fx.dir, dir)
		if err := os.Remove(filepath.Join(dir, ".clean-shutdown")); err != nil {
			t.Fatal(err)
		}
		part := cleanPartDir(dir)
		for i, op := range fx.ops[:steps] {
			do := op.do
			if torn && i == steps-1 {
				do = op.partial
			}
			if err := do(part); err != nil {
				t.Fatalf("%s: %v", op.what, err)
			}
		}
		crashAt := "nothing"
		if steps > 0 {
			crashAt = fx.ops[steps-1].what
			if torn {
				crashAt += " (torn)"
			}
		}
		m := &swapMutator{r: &opReader{data: damage}, part: part, fx: fx}
		for len(m.r.data) > 0 {
			m.apply()
		}
		protocol := len(damage) == 0

		e, err := engine.Open(dir, cleanOpts())
		if err != nil {
			if protocol {
				t.Fatalf("crash after %s: open: %v", crashAt, err)
			}
			return
		}
		defer func() { e.Close() }()
		p, err := e.Partition("c", 0)
		if err != nil {
			t.Fatal(err)
		}
		got, err := readRecords(p)
		if !protocol {
			// Damage beyond the protocol may make reads fail, as long
			// as they fail rather than panic or hang; cleaning too.
			p.Clean()
			readRecords(p)
			return
		}
		if err != nil {
			t.Fatalf("crash after %s: read: %v", crashAt, err)
		}
		if left := swapLeftovers(part); len(left) > 0 {
			t.Fatalf("crash after %s: recovery left %v", crashAt, left)
		}
		checkCleaned(t, "crash after "+crashAt, fx.before, got, fx.end)
		checkGroups(t, fx, got, crashAt)
		st, err := p.Clean()
		if err != nil {
			t.Fatalf("crash after %s: cleaning after recovery: %v", crashAt, err)
		}
		again, err := readRecords(p)
		if err != nil {
			t.Fatalf("crash after %s: read after cleaning: %v", crashAt, err)
		}
		checkCleaned(t, "crash after "+crashAt+", then a cleaning", fx.before, again, max(fx.end, st.End))
	})
}

// swapLeftovers lists what a finished recovery should not leave in a
// partition directory: swap files and .cleaning/.
func swapLeftovers(part string) []string {
	var out []string
	for _, name := range swapEntries(part) {
		if strings.HasSuffix(name, ".swap") || strings.HasPrefix(name, ".cleaning") {
			out = append(out, name)
		}
	}
	return out
}
