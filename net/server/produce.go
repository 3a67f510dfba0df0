package server

import (
	"time"

	"github.com/sluicelog/sluice/net/protocol"
)

// produce decodes a Produce into the connection's request.Produce, has
// the request layer append it, and encodes the results. The records stay
// in the request frame.
func (c *conn) produce(r *protocol.ProduceRequest) (resp *protocol.ProduceResponse, failed bool) {
	p := &c.prod
	p.Reset(r.Acks, false)
	p.Timeout = time.Duration(r.TimeoutMs) * time.Millisecond
	for ti := range r.Topics {
		t := &r.Topics[ti]
		for pi := range t.Partitions {
			p.Add(t.Name, t.Partitions[pi].Partition, t.Partitions[pi].Records)
		}
	}
	failed = c.s.h.Produce(c.ctx, p)
	resp = &protocol.ProduceResponse{Topics: make([]protocol.ProduceResponseTopic, 0, len(r.Topics))}
	i := 0
	for ti := range r.Topics {
		t := &r.Topics[ti]
		rt := protocol.ProduceResponseTopic{Name: t.Name, Partitions: make([]protocol.ProduceResponsePartition, 0, len(t.Partitions))}
		for range t.Partitions {
			pp := &p.Partitions[i]
			i++
			rt.Partitions = append(rt.Partitions, protocol.ProduceResponsePartition{Partition: pp.Partition,
				ErrorCode: errorCode(pp.Err), ErrorMessage: message(pp.Err),
				BaseOffset: pp.BaseOffset, LogAppendTimeMs: pp.LogAppendTime, LogStartOffset: pp.LogStartOffset})
		}
		resp.Topics = append(resp.Topics, rt)
	}
	p.Reset(0, false) // no reference to the frame outlives the request
	return resp, failed
}
