package kafka

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicelog/sluice/net/request"
)

// deleteRecords answers DeleteRecords (v0-v2) through the request layer:
// each partition's log start offset moves forward on its own, and the
// answer carries its new low watermark or its error (Kafka's response has
// no message field).
func (s *Server) deleteRecords(ctx context.Context, r *kmsg.DeleteRecordsRequest) *kmsg.DeleteRecordsResponse {
	var parts []request.DeleteRecordsPartition
	for _, t := range r.Topics {
		for _, p := range t.Partitions {
			parts = append(parts, request.DeleteRecordsPartition{Topic: t.Topic, Partition: p.Partition, Offset: p.Offset})
		}
	}
	s.h.DeleteRecords(ctx, parts, deleteRecordsTimeout(r.TimeoutMillis))
	resp := r.ResponseKind().(*kmsg.DeleteRecordsResponse)
	i := 0
	for _, t := range r.Topics {
		rt := kmsg.NewDeleteRecordsResponseTopic()
		rt.Topic = t.Topic
		for range t.Partitions {
			dp := &parts[i]
			i++
			rp := kmsg.NewDeleteRecordsResponseTopicPartition()
			rp.Partition, rp.LowWatermark, rp.ErrorCode = dp.Partition, dp.LowWatermark, errorCode(dp.Err)
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}

// deleteRecordsTimeout is how long the replicas have to follow: the
// request's timeout, or Kafka's default of 30 s when it names none.
func deleteRecordsTimeout(ms int32) time.Duration {
	if ms <= 0 {
		return 30 * time.Second
	}
	return time.Duration(ms) * time.Millisecond
}
