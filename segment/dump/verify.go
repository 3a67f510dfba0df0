package dump

import (
	"fmt"
	"io"
)

// BatchSpan is what index verification needs of one batch.
type BatchSpan struct {
	Position     int64
	BaseOffset   int64
	LastOffset   int64
	MaxTimestamp int64
}

// Layout is the batches of a log, in file order, and where its walk
// stopped.
type Layout struct {
	Batches    []BatchSpan
	byPosition map[int64]int
	byLast     map[int64]int
	// Damage is the walk's *Damage, or nil if the log was read to its end.
	Damage *Damage
	// Size is the log's size in bytes.
	Size int64
}

// ReadLayout walks the log of size bytes in r and records its batches.
// Damage is kept in the Layout; only a read error is returned.
func ReadLayout(r io.ReaderAt, size int64) (*Layout, error) {
	l := &Layout{byPosition: map[int64]int{}, byLast: map[int64]int{}, Size: size}
	err := WalkLog(r, size, func(b *Batch, _ []byte) error {
		h := &b.Header
		l.byPosition[b.Position] = len(l.Batches)
		l.byLast[h.LastOffset()] = len(l.Batches)
		l.Batches = append(l.Batches, BatchSpan{b.Position, h.BaseOffset, h.LastOffset(), h.MaxTimestamp})
		return nil
	})
	if d, ok := err.(*Damage); ok {
		l.Damage, err = d, nil
	}
	return l, err
}

// VerifyOffsetIndex checks each entry of an offset index against the log:
// it must name the position where a batch starts, and that batch's base
// offset. It returns one error per entry that does not.
func VerifyOffsetIndex(x Index[OffsetEntry], l *Layout) []error {
	var out []error
	for i, e := range x.Entries {
		j, ok := l.byPosition[e.Position]
		switch {
		case ok && l.Batches[j].BaseOffset == e.Offset:
		case ok:
			out = append(out, fmt.Errorf("entry %d: offset %d at position %d, but the batch there starts at offset %d", i, e.Offset, e.Position, l.Batches[j].BaseOffset))
		case e.Position >= l.Size:
			out = append(out, fmt.Errorf("entry %d: offset %d at position %d, past the end of the log (%d bytes)", i, e.Offset, e.Position, l.Size))
		case l.Damage != nil && e.Position >= l.Damage.Position:
			out = append(out, fmt.Errorf("entry %d: offset %d at position %d, in the log's damaged part (from position %d)", i, e.Offset, e.Position, l.Damage.Position))
		default:
			out = append(out, fmt.Errorf("entry %d: offset %d at position %d, where no batch starts", i, e.Offset, e.Position))
		}
	}
	return out
}

// VerifyTimeIndex checks each entry of a time index against the log: it
// must name the last offset of a batch whose largest timestamp is the
// entry's (the segment adds an entry when its largest timestamp grows, with
// the batch that grew it). It returns one error per entry that does not.
func VerifyTimeIndex(x Index[TimeEntry], l *Layout) []error {
	var out []error
	for i, e := range x.Entries {
		j, ok := l.byLast[e.Offset]
		switch {
		case ok && l.Batches[j].MaxTimestamp == e.Timestamp:
		case ok:
			out = append(out, fmt.Errorf("entry %d: timestamp %d at offset %d, but the batch ending there has max timestamp %d", i, e.Timestamp, e.Offset, l.Batches[j].MaxTimestamp))
		default:
			out = append(out, fmt.Errorf("entry %d: timestamp %d at offset %d, where no batch of the log ends", i, e.Timestamp, e.Offset))
		}
	}
	return out
}
