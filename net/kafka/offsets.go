package kafka

import (
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicelog/sluice/net/request"
)

// listOffsets answers ListOffsets through the request layer: -2
// (earliest) is the log start, -1 (latest) the high watermark, and a
// timestamp the first offset whose record is at least that new, with
// that record's timestamp, or -1 when there is none.
func (s *Server) listOffsets(r *kmsg.ListOffsetsRequest) *kmsg.ListOffsetsResponse {
	var parts []request.ListOffsetsPartition
	for ti := range r.Topics {
		t := &r.Topics[ti]
		for pi := range t.Partitions {
			rp := &t.Partitions[pi]
			epoch := int32(-1)
			if r.Version >= 4 {
				epoch = rp.CurrentLeaderEpoch
			}
			parts = append(parts, request.ListOffsetsPartition{Topic: t.Topic, Partition: rp.Partition,
				Timestamp: rp.Timestamp, CurrentLeaderEpoch: epoch})
		}
	}
	s.h.ListOffsets(parts)
	resp := r.ResponseKind().(*kmsg.ListOffsetsResponse)
	i := 0
	for ti := range r.Topics {
		t := &r.Topics[ti]
		rt := kmsg.NewListOffsetsResponseTopic()
		rt.Topic = t.Topic
		for range t.Partitions {
			p := &parts[i]
			i++
			out := kmsg.NewListOffsetsResponseTopicPartition()
			out.Partition, out.ErrorCode = p.Partition, errorCode(p.Err)
			out.Offset, out.Timestamp, out.LeaderEpoch = p.Offset, p.RecordTimestamp, p.LeaderEpoch
			rt.Partitions = append(rt.Partitions, out)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}
