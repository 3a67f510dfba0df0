package kafka

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicelog/sluice/net/request"
)

// offsetForLeaderEpoch answers OffsetForLeaderEpoch through the request
// layer: for each partition this broker leads, the end offset of the
// leader epoch asked about. v2 adds the client's current leader epoch
// (checked), v3 the replica id, v4 is flexible; v0 answers carry no
// epoch.
func (s *Server) offsetForLeaderEpoch(ctx context.Context, r *kmsg.OffsetForLeaderEpochRequest) *kmsg.OffsetForLeaderEpochResponse {
	req := request.OffsetForLeaderEpoch{ReplicaID: -2}
	if r.Version >= 3 {
		req.ReplicaID = r.ReplicaID
	}
	for ti := range r.Topics {
		t := &r.Topics[ti]
		for pi := range t.Partitions {
			rp := &t.Partitions[pi]
			current := int32(-1)
			if r.Version >= 2 {
				current = rp.CurrentLeaderEpoch
			}
			req.Partitions = append(req.Partitions, request.EpochPartition{Topic: t.Topic, Partition: rp.Partition,
				CurrentLeaderEpoch: current, LeaderEpoch: rp.LeaderEpoch})
		}
	}
	s.h.OffsetForLeaderEpoch(ctx, &req)
	resp := r.ResponseKind().(*kmsg.OffsetForLeaderEpochResponse)
	i := 0
	for ti := range r.Topics {
		t := &r.Topics[ti]
		rt := kmsg.NewOffsetForLeaderEpochResponseTopic()
		rt.Topic = t.Topic
		for range t.Partitions {
			p := &req.Partitions[i]
			i++
			out := kmsg.NewOffsetForLeaderEpochResponseTopicPartition()
			out.Partition, out.ErrorCode = p.Partition, errorCode(p.Err)
			out.LeaderEpoch, out.EndOffset = p.EndEpoch, p.EndOffset
			rt.Partitions = append(rt.Partitions, out)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}
