package dump_test

import (
	"bytes"
	"testing"

	"github.com/sluicelog/sluice/segment/batch"
	"github.com/sluicelog/sluice/segment/dump"
)

// FuzzDump walks arbitrary bytes as a log, an offset index and a time
// index, and verifies the indexes against the log: nothing may panic, and
// what the walk reports must stay within the input.
func FuzzDump(f *testing.F) {
	log, idx, tidx := writeSegment(f, 3)
	f.Add(log, idx, tidx)
	f.Add(log[:len(log)-5], idx[:len(idx)-3], tidx)
	f.Add([]byte{}, []byte{}, []byte{})
	f.Fuzz(func(t *testing.T, log, idx, tidx []byte) {
		size := int64(len(log))
		err := dump.WalkLog(bytes.NewReader(log), size, func(b *dump.Batch, raw []byte) error {
			if b.Position < 0 || b.Position+int64(len(raw)) > size {
				t.Fatalf("batch at %d of %d bytes outside %d", b.Position, len(raw), size)
			}
			_ = dump.Records(raw, func(*batch.Record) error { return nil })
			return nil
		})
		if d, ok := err.(*dump.Damage); ok && (d.Position < 0 || d.Position >= size) {
			t.Fatalf("damage at %d of %d", d.Position, size)
		} else if err != nil && !ok {
			t.Fatalf("walk of in-memory bytes: %v", err)
		}
		l, err := dump.ReadLayout(bytes.NewReader(log), size)
		if err != nil {
			t.Fatal(err)
		}
		ox := dump.ReadOffsetIndex(idx, 100)
		tx := dump.ReadTimeIndex(tidx, 100)
		if len(ox.Entries)*dump.OffsetEntrySize > len(idx) || len(tx.Entries)*dump.TimeEntrySize > len(tidx) {
			t.Fatalf("more entries than bytes")
		}
		dump.VerifyOffsetIndex(ox, l)
		dump.VerifyTimeIndex(tx, l)
	})
}
