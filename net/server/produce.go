package server

import (
	"time"

	"github.com/sluicelog/sluice/net/protocol"
	"github.com/sluicelog/sluice/net/request"
)

// appendProduce decodes a Produce into p and has the request layer append
// it. The records stay in the request frame. A flush.on.ack sync is left
// to Handler.Sync (p.SyncPending) unless the request wants no response.
func (c *conn) appendProduce(r *protocol.ProduceRequest, p *request.Produce) (failed bool) {
	p.Reset(r.Acks, false)
	p.Timeout = time.Duration(r.TimeoutMs) * time.Millisecond
	p.DeferSync = r.Acks != protocol.AcksNone
	for ti := range r.Topics {
		t := &r.Topics[ti]
		for pi := range t.Partitions {
			p.Add(t.Name, t.Partitions[pi].Partition, t.Partitions[pi].Records)
		}
	}
	return c.s.h.Produce(c.ctx, p)
}

// produceResponse encodes p's results as the response to r.
func produceResponse(r *protocol.ProduceRequest, p *request.Produce) *protocol.ProduceResponse {
	resp := &protocol.ProduceResponse{Topics: make([]protocol.ProduceResponseTopic, 0, len(r.Topics))}
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
	return resp
}
