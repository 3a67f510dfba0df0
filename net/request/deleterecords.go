package request

import (
	"context"
	"time"
)

// DeleteRecordsPartition is one partition of a DeleteRecords request and,
// after Handler.DeleteRecords, its answer.
type DeleteRecordsPartition struct {
	Topic     string
	Partition int32
	// Offset is where the log is to start from now on: every record below
	// it is deleted. -1 means the high watermark.
	Offset int64

	// Err is the partition's failure: OFFSET_OUT_OF_RANGE past the high
	// watermark, UNKNOWN_TOPIC_OR_PARTITION, NOT_LEADER_OR_FOLLOWER (the
	// request goes to the leader, whose followers then take its log start
	// from their fetch answers). LowWatermark is then -1.
	Err error
	// LowWatermark is the partition's log start offset after the request.
	LowWatermark int64
}

// DeleteRecords moves each partition's log start offset forward on its
// own, as Kafka's DeleteRecords does: a refused or bad partition never
// stops the others. On a replicated partition the offset is bounded by
// the high watermark, which every in-sync replica has reached.
//
// In a cluster each partition's answer waits, within timeout, until every
// in-sync replica has moved its log start too (followers take the
// leader's from their fetch answers and report theirs in their fetches),
// as Kafka's DeleteRecords waits for the low watermark: a leader lost
// right after the answer cannot bring the deleted records back. A
// partition that does not get there in time answers REQUEST_TIMED_OUT;
// its leader's log start has moved all the same.
func (h *Handler) DeleteRecords(ctx context.Context, parts []DeleteRecordsPartition, timeout time.Duration) {
	for i := range parts {
		dp := &parts[i]
		dp.LowWatermark = -1
		p, err := h.partition(dp.Topic, dp.Partition)
		var start int64
		if err == nil {
			start, err = p.DeleteRecordsBefore(dp.Offset)
		}
		if err == nil && h.repl != nil {
			start, err = h.repl.AwaitLowWatermark(ctx, p, start, timeout)
		}
		if dp.Err = err; err != nil {
			h.logger.Info("delete records refused", "topic", dp.Topic, "partition", dp.Partition, "offset", dp.Offset, "err", err)
			continue
		}
		dp.LowWatermark = start
	}
}
