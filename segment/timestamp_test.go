package segment_test

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/sluicelog/sluice/segment"
	"github.com/sluicelog/sluice/segment/batch"
)

// appendTimed appends one batch whose records carry the given timestamps.
func appendTimed(t *testing.T, s *segment.Segment, m *model, codec batch.Codec, ts ...int64) {
	t.Helper()
	bld := batch.NewBuilder(codec)
	for i, x := range ts {
		bld.Append(x, nil, fmt.Appendf(nil, "value %d at %d", i, x), nil)
	}
	data, err := bld.Build()
	if err != nil {
		t.Fatal(err)
	}
	b := stored{base: m.next(), data: bytes.Clone(data), ts: ts, maxTS: -1, pos: m.size()}
	b.last = b.base + int64(len(ts)) - 1
	batch.SetBaseOffset(b.data, b.base)
	for _, x := range ts {
		b.maxTS = max(b.maxTS, x)
	}
	if err := s.Append(b.data); err != nil {
		t.Fatal(err)
	}
	m.batches = append(m.batches, b)
}

func TestOffsetForTimestamp(t *testing.T) {
	dir := t.TempDir()
	opts := segment.Options{IndexIntervalBytes: 1}
	s := create(t, dir, 1000, opts)
	m := &model{base: 1000}
	// Timestamps go back and forth within batches and across them, as
	// records from several producers or with skewed clocks do.
	appendTimed(t, s, m, batch.None, 100, 50, 300)     // 1000-1002
	appendTimed(t, s, m, batch.Zstd, 200, 10)          // 1003-1004
	appendTimed(t, s, m, batch.None, -1, -1)           // 1005-1006: no timestamps
	appendTimed(t, s, m, batch.LZ4, 400, 150, 500, 20) // 1007-1010
	appendTimed(t, s, m, batch.Gzip, 450)              // 1011
	appendTimed(t, s, m, batch.None, 300, 600)         // 1012-1013
	appendTimed(t, s, m, batch.Snappy, 600, 599)       // 1014-1015
	// A broker-stamped batch: every record reads the append time.
	lat := len(m.batches)
	appendTimed(t, s, m, batch.None, 5, 6, 7) // 1016-1018
	b := &m.batches[lat]
	batch.SetLogAppendTime(b.data, 700)
	// Rewrite it in place: Append took the producer's bytes.
	s.Close()
	if err := overwrite(path(dir, 1000, ".log"), b.pos, b.data); err != nil {
		t.Fatal(err)
	}
	b.ts, b.maxTS = []int64{700, 700, 700}, 700
	s = open(t, dir, 1000, opts)
	if _, err := s.Recover(); err != nil {
		t.Fatal(err)
	}
	appendTimed(t, s, m, batch.None, 650, 800) // 1019-1020

	cases := []struct {
		ts    int64
		want  int64
		found bool
	}{
		{-1, 1000, true},
		{0, 1000, true},
		{50, 1000, true},
		{100, 1000, true},
		{101, 1002, true},
		{300, 1002, true},
		{301, 1007, true},
		{400, 1007, true},
		{401, 1009, true},
		{450, 1009, true},
		{500, 1009, true},
		{501, 1013, true},
		{600, 1013, true},
		{601, 1016, true},
		{700, 1016, true},
		{701, 1020, true},
		{800, 1020, true},
		{801, 0, false},
		{1 << 62, 0, false},
	}
	check := func(s *segment.Segment) {
		t.Helper()
		for _, c := range cases {
			got, found, err := s.OffsetForTimestamp(c.ts)
			if err != nil || found != c.found || (found && got != c.want) {
				t.Fatalf("OffsetForTimestamp(%d) = %d, %v, %v; want %d, %v", c.ts, got, found, err, c.want, c.found)
			}
		}
		checkTimestamps(t, s, m, m.tsTargets())
	}
	check(s)
	if got, _ := s.MaxTimestamp(); got != 800 {
		t.Fatalf("MaxTimestamp %d, want 800", got)
	}
	closeSeg(t, s)
	s = open(t, dir, 1000, opts)
	defer s.Close()
	check(s)
	checkIndexFiles(t, dir, m, 1)
}

// TestOffsetForTimestampRandom checks many random segments against the
// brute-force answer.
func TestOffsetForTimestampRandom(t *testing.T) {
	for seed := range uint64(6) {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			dir := t.TempDir()
			opts := segment.Options{IndexIntervalBytes: 1 << (seed * 2)}
			g := newGen(seed)
			s := create(t, dir, 0, opts)
			defer s.Close()
			m := &model{}
			g.fill(t, s, m, 120)
			checkTimestamps(t, s, m, m.tsTargets())
		})
	}
}
