package client

import (
	"context"
	"fmt"
	"sort"

	"github.com/sluicelog/sluice/net/protocol"
)

// DeletedRecords is the outcome of DeleteRecords for one partition.
type DeletedRecords struct {
	// LowWatermark is the partition's log start offset after the
	// request: the first offset a consumer can still read. -1 on failure.
	LowWatermark int64
	// Err is the partition's failure, a *BrokerError for a broker's
	// refusal (OFFSET_OUT_OF_RANGE past the high watermark,
	// UNKNOWN_TOPIC_OR_PARTITION, ...).
	Err error
}

// deleteRecordsAttempts bounds how often a partition whose leader moved
// is sent again after a metadata refresh.
const deleteRecordsAttempts = 3

// DeleteRecords deletes every record below the given offset of each
// partition by moving its log start offset forward (Kafka's
// DeleteRecords, kafka-delete-records). Offset -1 means the partition's
// high watermark: everything readable now. Each partition is sent to its
// leader and answered on its own; a partition whose leader moved is sent
// again after a metadata refresh. The error is for the request as a whole
// (no broker reachable, ctx done); each partition's failure is in its
// DeletedRecords.
func (cl *Client) DeleteRecords(ctx context.Context, offsets map[TopicPartition]int64) (map[TopicPartition]DeletedRecords, error) {
	out := make(map[TopicPartition]DeletedRecords, len(offsets))
	pending := make([]TopicPartition, 0, len(offsets))
	for tp := range offsets {
		pending = append(pending, tp)
	}
	sort.Slice(pending, func(i, j int) bool {
		a, b := pending[i], pending[j]
		return a.Topic < b.Topic || a.Topic == b.Topic && a.Partition < b.Partition
	})
	for attempt := 1; len(pending) > 0; attempt++ {
		retry, err := cl.deleteRecordsOnce(ctx, offsets, pending, out, attempt < deleteRecordsAttempts)
		if err != nil {
			return nil, err
		}
		pending = retry
	}
	return out, nil
}

// deleteRecordsOnce sends each pending partition to its leader, one
// request per leader, and fills out; it returns the partitions to send
// again (their leader moved) when retry allows.
func (cl *Client) deleteRecordsOnce(ctx context.Context, offsets map[TopicPartition]int64, pending []TopicPartition,
	out map[TopicPartition]DeletedRecords, retry bool) ([]TopicPartition, error) {
	byLeader := map[string]*protocol.DeleteRecordsRequest{}
	var order []string
	for _, tp := range pending {
		if _, err := cl.topic(ctx, tp.Topic, false); err != nil {
			if ctx.Err() != nil {
				return nil, err
			}
			out[tp] = DeletedRecords{LowWatermark: -1, Err: err}
			continue
		}
		addr := cl.leaderAddr(tp.Topic, tp.Partition)
		req := byLeader[addr]
		if req == nil {
			req = &protocol.DeleteRecordsRequest{TimeoutMs: cl.timeoutMs()}
			byLeader[addr] = req
			order = append(order, addr)
		}
		if n := len(req.Topics); n == 0 || req.Topics[n-1].Name != tp.Topic {
			req.Topics = append(req.Topics, protocol.DeleteRecordsRequestTopic{Name: tp.Topic})
		}
		t := &req.Topics[len(req.Topics)-1]
		t.Partitions = append(t.Partitions, protocol.DeleteRecordsRequestPartition{Partition: tp.Partition, Offset: offsets[tp]})
	}
	var again []TopicPartition
	for _, addr := range order {
		req := byLeader[addr]
		var resp protocol.DeleteRecordsResponse
		// Moving a log start twice to the same offset is harmless: the
		// request may be sent again.
		if err := cl.call(ctx, addr, req, &resp, true); err != nil {
			return nil, fmt.Errorf("delete records: %w", err)
		}
		if err := brokerErr(protocol.DeleteRecords, resp.ErrorCode, "", -1, nil); err != nil {
			return nil, fmt.Errorf("delete records: %w", err)
		}
		for _, t := range resp.Topics {
			for _, p := range t.Partitions {
				tp := TopicPartition{Topic: t.Name, Partition: p.Partition}
				if _, asked := offsets[tp]; !asked {
					continue
				}
				if retry && needsMetadata(p.ErrorCode) && p.ErrorCode != protocol.ErrUnknownTopicOrPartition {
					cl.meta.forget(t.Name)
					again = append(again, tp)
					continue
				}
				out[tp] = DeletedRecords{LowWatermark: p.LowWatermark,
					Err: brokerErr(protocol.DeleteRecords, p.ErrorCode, t.Name, p.Partition, p.ErrorMessage)}
			}
		}
		for _, t := range req.Topics {
			for _, p := range t.Partitions {
				tp := TopicPartition{Topic: t.Name, Partition: p.Partition}
				if _, done := out[tp]; !done && !containsTP(again, tp) {
					out[tp] = DeletedRecords{LowWatermark: -1,
						Err: fmt.Errorf("delete records %s-%d: the broker's answer did not mention it", t.Name, p.Partition)}
				}
			}
		}
	}
	return again, nil
}

func containsTP(list []TopicPartition, tp TopicPartition) bool {
	for _, x := range list {
		if x == tp {
			return true
		}
	}
	return false
}
