package kafka

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicelog/sluice/net/request"
)

// produce decodes a Produce into p (the connection's, reused), has the
// request layer append it, and encodes the results. The records point into
// the request frame, which the engine patches in place (baseOffset), so
// nothing is copied on the way to the log.
func (s *Server) produce(ctx context.Context, p *request.Produce, r *kmsg.ProduceRequest) (resp *kmsg.ProduceResponse, failed bool) {
	p.Reset(r.Acks, r.TransactionID != nil)
	p.Timeout = time.Duration(r.TimeoutMillis) * time.Millisecond
	for i := range r.Topics {
		t := &r.Topics[i]
		for j := range t.Partitions {
			p.Add(t.Topic, t.Partitions[j].Partition, t.Partitions[j].Records)
		}
	}
	failed = s.h.Produce(ctx, p)
	resp = r.ResponseKind().(*kmsg.ProduceResponse)
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
	p.Reset(0, false) // no reference to the frame outlives the request
	return resp, failed
}
