package fuzz

import (
	"bytes"
	"errors"
	"fmt"
	"syscall"
	"testing"

	"github.com/sluicelog/sluice/segment"
	"github.com/sluicelog/sluice/segment/batch"
	"github.com/sluicelog/sluice/segment/fsys"
)

// FuzzSegmentFaults drives one segment on a failing disk: appends,
// truncations, flushes and reopens while faults come and go (ENOSPC or EIO
// on the Nth write, short writes, failing cut-backs, truncations and
// syncs). An operation that fails must leave the segment as it was; after
// every step it must hold exactly the batches whose appends succeeded, and
// a reopen (Activate or Recover) must find exactly those.
func FuzzSegmentFaults(f *testing.F) {
	f.Add([]byte{0, 4, 3, 0, 1, 0, 0, 2, 0, 6, 1})
	f.Add([]byte{0, 6, 3, 1, 9, 0, 30, 0, 3, 4, 0, 2, 6, 0})
	f.Add([]byte{0, 3, 3, 3, 1, 1, 2, 3, 2, 5, 5, 4, 0, 2, 6, 1})
	f.Add([]byte{0, 8, 3, 2, 0, 0, 5, 2, 17, 4, 0, 1, 6, 0, 0, 2})

	errs := []error{syscall.ENOSPC, syscall.EIO}
	f.Fuzz(func(t *testing.T, ops []byte) {
		if len(ops) > 200 {
			ops = ops[:200]
		}
		const base = 500
		dir := t.TempDir()
		fs := fsys.NewFaulty(nil)
		opts := fuzzOpts
		opts.FS = fs
		s, err := segment.Create(dir, base, opts)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { s.Close() }()
		m := &truncModel{base: base}
		r := &opReader{data: ops}
		bld := batch.NewBuilder(batch.None)
		injected := false
		for step := 0; len(r.data) > 0; step++ {
			switch r.byte() % 7 {
			case 0, 1: // append 1..4 batches in one call
				n := 1 + int(r.byte()%4)
				var buf []byte
				var added []truncBatch
				pos, next := m.size(), m.next()
				for range n {
					b := truncBatch{base: next, pos: pos}
					bld.Reset()
					records := 1 + int(r.byte()%4)
					for j := range records {
						ts := 1_700_000_000_000 + int64(r.byte())*1000 + int64(j)
						b.ts = append(b.ts, ts)
						bld.Append(ts, nil, fmt.Appendf(nil, "step %d record %d", step, j), nil)
					}
					data, err := bld.Build()
					if err != nil {
						t.Fatal(err)
					}
					b.data = bytes.Clone(data)
					batch.SetBaseOffset(b.data, b.base)
					b.last = b.base + int64(records) - 1
					buf = append(buf, b.data...)
					added = append(added, b)
					pos += int64(len(b.data))
					next = b.last + 1
				}
				err := s.Append(buf)
				switch {
				case err == nil:
					m.batches = append(m.batches, added...)
				case !injected || !(errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EIO)):
					t.Fatalf("step %d: Append: %v", step, err)
				}
			case 2: // truncate
				span := m.next() - m.base + 3
				offset := m.base - 1 + int64(r.byte())%span
				got, err := s.TruncateTo(offset)
				if err != nil {
					if !injected {
						t.Fatalf("step %d: TruncateTo(%d): %v", step, offset, err)
					}
					break // the segment is as it was
				}
				m.truncateTo(offset)
				if got != m.next() {
					t.Fatalf("step %d: TruncateTo(%d) = %d, want %d", step, offset, got, m.next())
				}
			case 3: // inject a fault on the log
				kind := r.byte()
				ft := fsys.Fault{
					Err:   errs[kind>>4%2],
					After: int64(r.byte() % 4),
					Times: int64(kind>>5%3) + 1,
					// Less than a batch header: a short write never lands
					// a whole batch, which a reopen would rightly keep.
					Short: int(r.byte()) % batch.HeaderSize,
					Path:  fsys.PathSuffix(".log"),
				}
				switch kind % 4 {
				case 0:
					ft.Ops = fsys.OpWrite
				case 1:
					ft.Ops = fsys.OpWrite | fsys.OpTruncate
				case 2:
					ft.Ops = fsys.OpTruncate
				case 3:
					ft.Ops, ft.Path = fsys.OpSync, nil
				}
				fs.Inject(ft)
				injected = true
			case 4:
				fs.Clear()
				injected = false
			case 5:
				if err := s.Flush(); err != nil && !injected {
					t.Fatalf("step %d: Flush: %v", step, err)
				}
			case 6: // close and reopen on a healthy disk
				fs.Clear()
				injected = false
				if err := s.Close(); err != nil {
					t.Fatalf("step %d: Close: %v", step, err)
				}
				if s, err = segment.Open(dir, base, opts); err != nil {
					t.Fatal(err)
				}
				if r.byte()%2 == 0 {
					err = s.Activate()
				} else {
					_, err = s.Recover()
				}
				if err != nil {
					t.Fatalf("step %d: reopen: %v", step, err)
				}
			}
			checkTruncModel(t, step, s, m)
		}
	})
}
