package server

import (
	"time"

	"github.com/sluicelog/sluice/net/protocol"
	"github.com/sluicelog/sluice/net/request"
)

// deleteRecords answers DeleteRecords through the request layer, one
// result per partition asked for, in request order.
func (s *Server) deleteRecords(c *conn, r *protocol.DeleteRecordsRequest) *protocol.DeleteRecordsResponse {
	var parts []request.DeleteRecordsPartition
	for _, t := range r.Topics {
		for _, p := range t.Partitions {
			parts = append(parts, request.DeleteRecordsPartition{Topic: t.Name, Partition: p.Partition, Offset: p.Offset})
		}
	}
	timeout := 30 * time.Second // Kafka's default, when the request names none
	if r.TimeoutMs > 0 {
		timeout = time.Duration(r.TimeoutMs) * time.Millisecond
	}
	s.h.DeleteRecords(c.ctx, parts, timeout)
	resp := &protocol.DeleteRecordsResponse{Topics: make([]protocol.DeleteRecordsResponseTopic, len(r.Topics))}
	i := 0
	for ti, t := range r.Topics {
		out := &resp.Topics[ti]
		out.Name = t.Name
		if len(t.Partitions) > 0 {
			out.Partitions = make([]protocol.DeleteRecordsResponsePartition, len(t.Partitions))
		}
		for pi := range t.Partitions {
			dp := &parts[i]
			i++
			out.Partitions[pi] = protocol.DeleteRecordsResponsePartition{Partition: dp.Partition, LowWatermark: dp.LowWatermark,
				ErrorCode: errorCode(dp.Err), ErrorMessage: message(dp.Err)}
		}
	}
	return resp
}
