package kafka

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicelog/sluice/net/request"
)

// appendProduce decodes a Produce into p and has the request layer append
// it. The records point into the request frame, which the engine patches
// in place (baseOffset), so nothing is copied on the way to the log. A
// flush.on.ack sync is left to Handler.Sync (p.SyncPending) unless the
// request wants no response.
func (s *Server) appendProduce(ctx context.Context, p *request.Produce, r *kmsg.ProduceRequest) (failed bool) {
	p.Reset(r.Acks, r.TransactionID != nil)
	p.Timeout = time.Duration(r.TimeoutMillis) * time.Millisecond
	p.DeferSync = r.Acks != 0
	for i := range r.Topics {
		t := &r.Topics[i]
		for j := range t.Partitions {
			p.Add(t.Topic, t.Partitions[j].Partition, t.Partitions[j].Records)
		}
	}
	return s.h.Produce(ctx, p)
}

// produceResponse encodes p's results as the response to r.
func produceResponse(r *kmsg.ProduceRequest, p *request.Produce) *kmsg.ProduceResponse {
	resp := r.ResponseKind().(*kmsg.ProduceResponse)
	resp.Topics = make([]kmsg.ProduceResponseTopic, 0, len(r.Topics))
	k := 0
	for i := range r.Topics {
		t := &r.Topics[i]
		rt := kmsg.NewProduceResponseTopic()
		rt.Topic = t.Topic
		rt.Partitions = make([]kmsg.ProduceResponseTopicPartition, 0, len(t.Partitions))
		for range t.Partitions {
			pp := &p.Partitions[k]
			k++
			out := kmsg.NewProduceResponseTopicPartition()
			out.Partition = pp.Partition
			out.BaseOffset, out.LogAppendTime, out.LogStartOffset = pp.BaseOffset, pp.LogAppendTime, pp.LogStartOffset
			if pp.Err != nil {
				out.ErrorCode, out.ErrorMessage = errorCode(pp.Err), errorMessage(pp.Err)
			}
			rt.Partitions = append(rt.Partitions, out)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}
