package server

import (
	"github.com/sluicelog/sluice/net/protocol"
	"github.com/sluicelog/sluice/net/request"
)

// offsetForLeaderEpoch answers OffsetForLeaderEpoch through the request
// layer: for each partition this broker leads, where its log ends the
// leader epoch asked about.
func (s *Server) offsetForLeaderEpoch(c *conn, r *protocol.OffsetForLeaderEpochRequest) *protocol.OffsetForLeaderEpochResponse {
	req := request.OffsetForLeaderEpoch{ReplicaID: r.ReplicaID}
	for _, t := range r.Topics {
		for _, rp := range t.Partitions {
			req.Partitions = append(req.Partitions, request.EpochPartition{Topic: t.Name, Partition: rp.Partition,
				CurrentLeaderEpoch: rp.CurrentLeaderEpoch, LeaderEpoch: rp.LeaderEpoch})
		}
	}
	s.h.OffsetForLeaderEpoch(c.ctx, &req)
	resp := &protocol.OffsetForLeaderEpochResponse{Topics: make([]protocol.OffsetForLeaderEpochResponseTopic, 0, len(r.Topics))}
	i := 0
	for _, t := range r.Topics {
		rt := protocol.OffsetForLeaderEpochResponseTopic{Name: t.Name,
			Partitions: make([]protocol.OffsetForLeaderEpochResponsePartition, 0, len(t.Partitions))}
		for range t.Partitions {
			p := &req.Partitions[i]
			i++
			rt.Partitions = append(rt.Partitions, protocol.OffsetForLeaderEpochResponsePartition{Partition: p.Partition,
				ErrorCode: errorCode(p.Err), LeaderEpoch: p.EndEpoch, EndOffset: p.EndOffset})
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}
