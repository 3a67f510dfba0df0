package fuzz

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/sluicelog/sluice/segment"
	"github.com/sluicelog/sluice/segment/batch"
)

// truncBatch is one batch of FuzzSegmentTruncate's model.
type truncBatch struct {
	base, last, pos int64
	data            []byte
	ts              []int64
}

// truncModel is what the fuzzed segment should hold.
type truncModel struct {
	base    int64
	batches []truncBatch
}

func (m *truncModel) next() int64 {
	if len(m.batches) == 0 {
		return m.base
	}
	return m.batches[len(m.batches)-1].last + 1
}

func (m *truncModel) size() int64 {
	if len(m.batches) == 0 {
		return 0
	}
	b := &m.batches[len(m.batches)-1]
	return b.pos + int64(len(b.data))
}

// truncateTo cuts the model at the first batch whose last offset reaches
// offset, as Segment.TruncateTo does.
func (m *truncModel) truncateTo(offset int64) {
	i := 0
	for i < len(m.batches) && m.batches[i].last < offset {
		i++
	}
	m.batches = m.batches[:i]
}

// offsetForTimestamp is the brute-force ListOffsets answer.
func (m *truncModel) offsetForTimestamp(ts int64) (int64, bool) {
	for _, b := range m.batches {
		for j, t := range b.ts {
			if t >= ts {
				return b.base + int64(j), true
			}
		}
	}
	return 0, false
}

func (m *truncModel) maxTS() int64 {
	ts := int64(-1)
	for _, b := range m.batches {
		for _, t := range b.ts {
			ts = max(ts, t)
		}
	}
	return ts
}

// opReader hands out the fuzz input a byte at a time, zeros once it runs out.
type opReader struct{ data []byte }

func (r *opReader) byte() byte {
	if len(r.data) == 0 {
		return 0
	}
	b := r.data[0]
	r.data = r.data[1:]
	return b
}

// FuzzSegmentTruncate drives one segment through appends (with gaps between
// offsets and timestamps that go up and down), truncations at arbitrary
// offsets, seals, and reopens by Activate or Recover, as a follower's log
// sees them, and checks it against a model after every step: NextOffset,
// Size, MaxTimestamp, the bytes every offset reads, and OffsetForTimestamp.
func FuzzSegmentTruncate(f *testing.F) {
	f.Add([]byte{0, 5, 1, 3, 0, 2, 1, 0})
	f.Add([]byte{0, 9, 2, 1, 40, 0, 3, 3, 1, 7, 0, 1})
	f.Add([]byte{0, 20, 1, 200, 0, 4, 4, 0, 1, 2, 0, 3, 2, 1, 0})
	f.Add([]byte{0, 3, 2, 4, 1, 0, 0, 6, 1, 15, 5, 0, 2})
	f.Add([]byte{0, 12, 0, 12, 1, 90, 1, 60, 1, 30, 1, 1, 0, 3})

	codecs := []batch.Codec{batch.None, batch.Gzip, batch.Snappy, batch.LZ4, batch.Zstd}
	f.Fuzz(func(t *testing.T, ops []byte) {
		if len(ops) > 200 {
			ops = ops[:200] // bound the work of one input
		}
		const base = 1000
		dir := t.TempDir()
		s, err := segment.Create(dir, base, fuzzOpts)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { s.Close() }()
		m := &truncModel{base: base}
		r := &opReader{data: ops}
		bld := batch.NewBuilder(batch.None)
		for step := 0; len(r.data) > 0; step++ {
			switch op := r.byte() % 5; op {
			case 0, 1: // append 1..8 batches in one call
				n := 1 + int(r.byte()%8)
				var buf []byte
				for range n {
					gap := int64(r.byte() % 4)
					if gap == 3 {
						gap = 0
					}
					b := truncBatch{base: m.next() + gap, pos: m.size()}
					bld.SetCodec(codecs[int(r.byte())%len(codecs)])
					bld.Reset()
					records := 1 + int(r.byte()%5)
					for j := range records {
						ts := 1_700_000_000_000 + int64(r.byte())*1000 + int64(j)
						b.ts = append(b.ts, ts)
						bld.Append(ts, []byte{byte(j)}, fmt.Appendf(nil, "step %d record %d", step, j), nil)
					}
					data, err := bld.Build()
					if err != nil {
						t.Fatal(err)
					}
					b.data = bytes.Clone(data)
					batch.SetBaseOffset(b.data, b.base)
					b.last = b.base + int64(records) - 1
					buf = append(buf, b.data...)
					m.batches = append(m.batches, b)
				}
				if err := s.Append(buf); err != nil {
					t.Fatalf("step %d: Append: %v", step, err)
				}
			case 2: // truncate at an offset around the log
				span := m.next() - m.base + 4
				offset := m.base - 2 + int64(r.byte())%span
				m.truncateTo(offset)
				got, err := s.TruncateTo(offset)
				if err != nil {
					t.Fatalf("step %d: TruncateTo(%d): %v", step, offset, err)
				}
				if got != m.next() {
					t.Fatalf("step %d: TruncateTo(%d) = %d, want %d", step, offset, got, m.next())
				}
			case 3:
				if err := s.Seal(); err != nil {
					t.Fatalf("step %d: Seal: %v", step, err)
				}
				// A sealed segment takes no appends until it is truncated
				// or reopened: do one or the other.
				if r.byte()%2 == 0 {
					if _, err := s.TruncateTo(1 << 62); err != nil {
						t.Fatal(err)
					}
					break
				}
				fallthrough
			case 4: // close and reopen
				if err := s.Close(); err != nil {
					t.Fatalf("step %d: Close: %v", step, err)
				}
				if s, err = segment.Open(dir, base, fuzzOpts); err != nil {
					t.Fatal(err)
				}
				if r.byte()%2 == 0 {
					err = s.Activate()
				} else {
					var rec segment.Recovery
					rec, err = s.Recover()
					if rec.TruncatedBytes != 0 {
						t.Fatalf("step %d: Recover cut %d bytes of a clean log: %v", step, rec.TruncatedBytes, rec.Reason)
					}
				}
				if err != nil {
					t.Fatalf("step %d: reopen: %v", step, err)
				}
			}
			checkTruncModel(t, step, s, m)
		}
	})
}

func checkTruncModel(t *testing.T, step int, s *segment.Segment, m *truncModel) {
	t.Helper()
	if s.NextOffset() != m.next() || s.Size() != m.size() {
		t.Fatalf("step %d: NextOffset %d Size %d, want %d and %d", step, s.NextOffset(), s.Size(), m.next(), m.size())
	}
	if ts, err := s.MaxTimestamp(); err != nil || ts != m.maxTS() {
		t.Fatalf("step %d: MaxTimestamp %d, %v; want %d", step, ts, err, m.maxTS())
	}
	var buf []byte
	for i := range m.batches {
		b := &m.batches[i]
		for o := b.base - 1; o <= b.last; o++ {
			if i > 0 && o < m.batches[i-1].last+1 || o < m.base {
				continue
			}
			// An offset in the gap before a batch reads that batch.
			r, err := s.Read(o, 1, -1)
			if err != nil {
				t.Fatalf("step %d: Read(%d): %v", step, o, err)
			}
			if r.Pos != b.pos || r.BaseOffset != b.base || r.Len != int64(len(b.data)) {
				r.Release()
				t.Fatalf("step %d: Read(%d) = [%d +%d) base %d, want [%d +%d) base %d", step, o, r.Pos, r.Len, r.BaseOffset, b.pos, len(b.data), b.base)
			}
			buf, err = r.ReadTo(buf[:0])
			r.Release()
			if err != nil || !bytes.Equal(buf, b.data) {
				t.Fatalf("step %d: Read(%d) bytes differ: %v", step, o, err)
			}
		}
	}
	if r, err := s.Read(m.next(), 1<<20, -1); err != nil || r.Len != 0 {
		r.Release()
		t.Fatalf("step %d: Read at the end: %+v, %v", step, r, err)
	}
	targets := []int64{0, m.maxTS(), m.maxTS() + 1}
	for _, b := range m.batches {
		targets = append(targets, b.ts[0]-1, b.ts[len(b.ts)-1])
	}
	for _, ts := range targets {
		got, found, err := s.OffsetForTimestamp(ts)
		if err != nil && !errors.Is(err, segment.ErrClosed) {
			t.Fatalf("step %d: OffsetForTimestamp(%d): %v", step, ts, err)
		}
		want, wantFound := m.offsetForTimestamp(ts)
		if found != wantFound || got != want && found {
			t.Fatalf("step %d: OffsetForTimestamp(%d) = %d, %v; want %d, %v", step, ts, got, found, want, wantFound)
		}
	}
}
