package segment_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/sluicelog/sluice/segment"
	"github.com/sluicelog/sluice/segment/batch"
)

// baseTime is the timestamp around which generated records cluster.
const baseTime = 1_700_000_000_000

var codecs = []batch.Codec{batch.None, batch.Gzip, batch.Snappy, batch.LZ4, batch.Zstd}

// stored is one batch as the test wrote it, with what a reader should see.
type stored struct {
	base, last int64
	pos        int64
	data       []byte  // the exact bytes appended, base offset patched
	ts         []int64 // record timestamps in offset order
	// offsets are the records' offsets when compaction thinned the batch;
	// nil means every offset from base to last holds a record.
	offsets []int64
	maxTS   int64 // the header's MaxTimestamp
}

// offset returns the offset of the batch's i-th record.
func (b *stored) offset(i int) int64 {
	if b.offsets != nil {
		return b.offsets[i]
	}
	return b.base + int64(i)
}

func (b *stored) size() int64 { return int64(len(b.data)) }
func (b *stored) end() int64  { return b.pos + b.size() }

// model is what a segment should hold: its batches in log order.
type model struct {
	base    int64
	batches []stored
}

func (m *model) next() int64 {
	if len(m.batches) == 0 {
		return m.base
	}
	return m.batches[len(m.batches)-1].last + 1
}

func (m *model) size() int64 {
	if len(m.batches) == 0 {
		return 0
	}
	return m.batches[len(m.batches)-1].end()
}

// find returns the index of the batch holding offset, or len(batches) if
// the offset is past the end.
func (m *model) find(offset int64) int {
	for i := range m.batches {
		if m.batches[i].last >= offset {
			return i
		}
	}
	return len(m.batches)
}

// maxTS is the largest record timestamp, or -1.
func (m *model) maxTS() int64 {
	ts := int64(-1)
	for i := range m.batches {
		ts = max(ts, m.batches[i].maxTS)
	}
	return ts
}

// keep cuts the model to its first n batches.
func (m *model) keep(n int) { m.batches = m.batches[:n] }

// gen builds random batches the way producers would.
type gen struct {
	rng *rand.Rand
	bld batch.Builder
	// codecs to pick from; nil means all.
	codecs []batch.Codec
	// maxRecords and maxValue bound the shape of a batch.
	maxRecords, maxValue int
	scratch              []byte
}

func newGen(seed uint64) *gen {
	return &gen{rng: rand.New(rand.NewPCG(seed, 0x5e9)), maxRecords: 20, maxValue: 300}
}

// batch builds one batch with base offset base. Record timestamps wander
// around baseTime, up and down, as several producers' clocks would.
func (g *gen) batch(base int64) stored {
	cs := g.codecs
	if cs == nil {
		cs = codecs
	}
	g.bld.SetCodec(cs[g.rng.IntN(len(cs))])
	g.bld.Reset()
	n := 1 + g.rng.IntN(g.maxRecords)
	ts := make([]int64, n)
	for i := range n {
		ts[i] = baseTime + base*10 + g.rng.Int64N(4000) - 2000
		g.scratch = g.value(g.scratch[:0], g.rng.IntN(g.maxValue+1))
		key := fmt.Appendf(nil, "k%d", base+int64(i))
		g.bld.Append(ts[i], key, g.scratch, nil)
	}
	b, err := g.bld.Build()
	if err != nil {
		panic(err)
	}
	data := bytes.Clone(b)
	batch.SetBaseOffset(data, base)
	b2 := stored{base: base, last: base + int64(n) - 1, data: data, ts: ts, maxTS: ts[0]}
	for _, t := range ts {
		b2.maxTS = max(b2.maxTS, t)
	}
	return b2
}

// value appends n bytes that compress somewhat, like text.
func (g *gen) value(dst []byte, n int) []byte {
	const words = "the quick brown fox jumps over lazy dogs sluice log batch "
	for len(dst) < n {
		i := g.rng.IntN(len(words) - 8)
		dst = append(dst, words[i:i+1+g.rng.IntN(8)]...)
	}
	return dst[:n]
}

// fill appends n batches to s and m, several per Append call at times.
func (g *gen) fill(t testing.TB, s *segment.Segment, m *model, n int) {
	t.Helper()
	for n > 0 {
		k := min(n, 1+g.rng.IntN(4))
		var buf []byte
		for range k {
			b := g.batch(m.next())
			b.pos = m.size()
			m.batches = append(m.batches, b)
			buf = append(buf, b.data...)
		}
		if err := s.Append(buf); err != nil {
			t.Fatalf("Append of %d batches at offset %d: %v", k, m.batches[len(m.batches)-k].base, err)
		}
		n -= k
	}
}

// smallOpts are options with a small index interval so that even short
// segments get many index entries.
func smallOpts() segment.Options {
	return segment.Options{IndexIntervalBytes: 256, MaxIndexBytes: 64 << 10}
}

func create(t testing.TB, dir string, base int64, opts segment.Options) *segment.Segment {
	t.Helper()
	s, err := segment.Create(dir, base, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func open(t testing.TB, dir string, base int64, opts segment.Options) *segment.Segment {
	t.Helper()
	s, err := segment.Open(dir, base, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func closeSeg(t testing.TB, s *segment.Segment) {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func path(dir string, base int64, suffix string) string {
	return filepath.Join(dir, segment.FileName(base, suffix))
}

// checkRead reads offset with maxBytes and checks the region against the
// model: it starts at the batch holding offset, holds whole batches only,
// as many as fit in maxBytes (the first always whole) and no more than
// maxPosition allows, and its bytes are the ones written.
func checkRead(t testing.TB, s *segment.Segment, m *model, offset, maxBytes, maxPosition int64) {
	t.Helper()
	r, err := s.Read(offset, maxBytes, maxPosition)
	if err != nil {
		t.Fatalf("Read(%d, %d, %d): %v", offset, maxBytes, maxPosition, err)
	}
	defer r.Release()
	limit := m.size()
	if maxPosition >= 0 && maxPosition < limit {
		limit = maxPosition
	}
	i := m.find(offset)
	if i == len(m.batches) || m.batches[i].end() > limit {
		if r.Len != 0 {
			t.Fatalf("Read(%d, %d, %d) past the end: region %+v, want empty", offset, maxBytes, maxPosition, r)
		}
		return
	}
	first := &m.batches[i]
	if r.Pos != first.pos || r.BaseOffset != first.base {
		t.Fatalf("Read(%d, %d, %d): region at %d base %d, want the batch at %d base %d",
			offset, maxBytes, maxPosition, r.Pos, r.BaseOffset, first.pos, first.base)
	}
	// The batches that should be in the region: the first, then every one
	// that fits in maxBytes and below limit.
	j := i + 1
	for j < len(m.batches) && m.batches[j].end() <= limit && m.batches[j].end()-first.pos <= maxBytes {
		j++
	}
	want := m.batches[j-1].end() - first.pos
	if r.Len != want {
		t.Fatalf("Read(%d, %d, %d): region of %d bytes, want %d (batches %d..%d)", offset, maxBytes, maxPosition, r.Len, want, i, j-1)
	}
	got, err := r.ReadTo(nil)
	if err != nil {
		t.Fatalf("ReadTo: %v", err)
	}
	for k := i; k < j; k++ {
		b := &m.batches[k]
		off := b.pos - first.pos
		one := got[off : off+b.size()]
		if !bytes.Equal(one, b.data) {
			t.Fatalf("Read(%d): batch %d (offset %d) differs from what was written", offset, k, b.base)
		}
		if _, err := batch.ValidateStored(one); err != nil {
			t.Fatalf("Read(%d): batch %d: %v", offset, k, err)
		}
	}
}

// checkAll reads every offset of the model, one past its end and far past it.
func checkAll(t testing.TB, s *segment.Segment, m *model, maxBytes int64) {
	t.Helper()
	for o := m.base; o <= m.next(); o++ {
		checkRead(t, s, m, o, maxBytes, -1)
	}
	checkRead(t, s, m, m.next()+1000, maxBytes, -1)
	if got := s.Size(); got != m.size() {
		t.Fatalf("Size %d, want %d", got, m.size())
	}
}

// checkBatches is checkAll for large models: it reads at the first and last
// offset of every batch rather than at every offset.
func checkBatches(t testing.TB, s *segment.Segment, m *model, maxBytes int64) {
	t.Helper()
	for i := range m.batches {
		checkRead(t, s, m, m.batches[i].base, maxBytes, -1)
		if m.batches[i].last != m.batches[i].base {
			checkRead(t, s, m, m.batches[i].last, maxBytes, -1)
		}
	}
	checkRead(t, s, m, m.next(), maxBytes, -1)
	checkRead(t, s, m, m.next()+1000, maxBytes, -1)
	if got := s.Size(); got != m.size() {
		t.Fatalf("Size %d, want %d", got, m.size())
	}
}

// offsetForTimestamp is the brute-force answer: the first offset whose
// record timestamp is at least ts.
func (m *model) offsetForTimestamp(ts int64) (int64, bool) {
	for i := range m.batches {
		if m.batches[i].maxTS < ts {
			continue
		}
		for j, t := range m.batches[i].ts {
			if t >= ts {
				return m.batches[i].offset(j), true
			}
		}
	}
	return 0, false
}

func checkTimestamps(t testing.TB, s *segment.Segment, m *model, targets []int64) {
	t.Helper()
	for _, ts := range targets {
		got, found, err := s.OffsetForTimestamp(ts)
		if err != nil {
			t.Fatalf("OffsetForTimestamp(%d): %v", ts, err)
		}
		want, wantFound := m.offsetForTimestamp(ts)
		if found != wantFound || (found && got != want) {
			t.Fatalf("OffsetForTimestamp(%d) = %d, %v; want %d, %v", ts, got, found, want, wantFound)
		}
	}
}

// tsTargets returns timestamps around the records' and the extremes: all
// of them for small segments, a fixed sample of at most about 600 for large
// ones.
func (m *model) tsTargets() []int64 { return m.tsSample(600) }

// tsSample is tsTargets with at most about n targets.
func (m *model) tsSample(n int) []int64 {
	ts := []int64{-1, 0, baseTime - 1_000_000, m.maxTS(), m.maxTS() + 1, 1<<63 - 1}
	var all []int64
	for i := range m.batches {
		for _, t := range m.batches[i].ts {
			all = append(all, t-1, t, t+1)
		}
	}
	if step := len(all)/n + 1; step > 1 {
		for i := 0; i < len(all); i += step {
			ts = append(ts, all[i])
		}
		return ts
	}
	return append(ts, all...)
}

// logBuffer is a slog handler target that tests can inspect.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func fileSize(t testing.TB, p string) int64 {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

func readFile(t testing.TB, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// overwrite writes b at pos of the file at p.
func overwrite(p string, pos int64, b []byte) error {
	f, err := os.OpenFile(p, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if _, err := f.WriteAt(b, pos); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
