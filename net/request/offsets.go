package request

import (
	"github.com/sluicelog/sluice/engine"
	"github.com/sluicelog/sluice/segment/batch"
)

// ListOffsetsPartition is one partition of a ListOffsets request and,
// after Handler.ListOffsets, its answer.
type ListOffsetsPartition struct {
	Topic     string
	Partition int32
	// Timestamp is -2 (earliest: the log start), -1 (latest: the high
	// watermark) or a time in milliseconds: the first offset whose record
	// is at least that new.
	Timestamp int64
	// CurrentLeaderEpoch is the leader epoch the client knows, -1 when it
	// does not say.
	CurrentLeaderEpoch int32

	// Err is the partition's failure; Offset, RecordTimestamp and
	// LeaderEpoch are then -1.
	Err    error
	Offset int64
	// RecordTimestamp is, for a lookup by time, the timestamp of the
	// record found; -1 otherwise.
	RecordTimestamp int64
	LeaderEpoch     int32
}

// ListOffsets answers each partition on its own.
func (h *Handler) ListOffsets(parts []ListOffsetsPartition) {
	for i := range parts {
		lp := &parts[i]
		lp.Offset, lp.RecordTimestamp, lp.LeaderEpoch = -1, -1, -1
		p, err := h.partition(lp.Topic, lp.Partition)
		if err == nil {
			err = h.checkEpoch(lp.Topic, lp.Partition, lp.CurrentLeaderEpoch)
		}
		var epoch int32
		if err == nil {
			epoch, err = h.cluster.LeaderEpoch(lp.Topic, lp.Partition)
		}
		var offset int64
		if err == nil {
			offset, err = p.ListOffset(lp.Timestamp)
		}
		if lp.Err = err; err != nil {
			continue
		}
		lp.Offset, lp.LeaderEpoch = offset, epoch
		if lp.Timestamp >= 0 && offset >= 0 {
			lp.RecordTimestamp = recordTimestamp(p, offset)
		}
	}
}

// recordTimestamp reads the timestamp of the record at offset, or -1 if it
// cannot be read (retention removed it meanwhile, say). It decodes one
// batch: a lookup by time is rare, so it may cost that.
func recordTimestamp(p *engine.Partition, offset int64) int64 {
	b, err := p.ReadBytes(nil, offset, 1)
	if err != nil {
		return -1
	}
	first, _, err := batch.Split(b)
	if err != nil {
		return -1
	}
	var r batch.Reader
	if _, err := r.Reset(first); err != nil {
		return -1
	}
	for {
		rec, err := r.Next()
		if err != nil {
			return -1
		}
		if rec.Offset >= offset {
			return rec.Timestamp
		}
	}
}
