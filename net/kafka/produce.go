package kafka

import (
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicelog/sluice/engine"
)

// produce appends each partition's batches as they arrived. Partitions fail
// on their own: a bad batch for one does not stop the others. The records
// point into the request frame, which the engine patches in place
// (baseOffset), so nothing is copied on the way to the log.
func (s *Server) produce(r *kmsg.ProduceRequest) *kmsg.ProduceResponse {
	resp := r.ResponseKind().(*kmsg.ProduceResponse)
	resp.Topics = make([]kmsg.ProduceResponseTopic, 0, len(r.Topics))
	var refuse *kerr.Error
	switch {
	case r.Acks != 0 && r.Acks != 1 && r.Acks != -1:
		refuse = kerr.InvalidRequiredAcks
	case r.TransactionID != nil:
		refuse = kerr.TransactionalIDAuthorizationFailed
	}
	for i := range r.Topics {
		t := &r.Topics[i]
		rt := kmsg.NewProduceResponseTopic()
		rt.Topic = t.Topic
		rt.Partitions = make([]kmsg.ProduceResponseTopicPartition, 0, len(t.Partitions))
		for j := range t.Partitions {
			rp := &t.Partitions[j]
			out := kmsg.NewProduceResponseTopicPartition()
			out.Partition = rp.Partition
			if refuse != nil {
				out.ErrorCode = refuse.Code
				rt.Partitions = append(rt.Partitions, out)
				continue
			}
			res, err := s.appendTo(t.Topic, rp.Partition, rp.Records)
			if err == nil {
				out.BaseOffset, out.LogAppendTime, out.LogStartOffset = res.BaseOffset, res.LogAppendTime, res.LogStartOffset
			} else {
				out.BaseOffset, out.LogAppendTime, out.LogStartOffset = -1, -1, -1
				out.ErrorCode, out.ErrorMessage = errorCode(err), errorMessage(err)
				s.logProduceError(t.Topic, rp.Partition, err)
			}
			rt.Partitions = append(rt.Partitions, out)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}

func (s *Server) appendTo(topic string, partition int32, records []byte) (engine.AppendResult, error) {
	p, err := s.eng.Partition(topic, partition)
	if errors.Is(err, engine.ErrUnknownTopic) && s.cfg.AutoCreateTopics {
		if err = s.autoCreate(topic); err == nil {
			p, err = s.eng.Partition(topic, partition)
		}
	}
	if err != nil {
		return engine.AppendResult{}, err
	}
	return p.Append(records)
}

// logProduceError logs refused input at warn (the client sent something
// wrong) and storage failures at error.
func (s *Server) logProduceError(topic string, partition int32, err error) {
	code := kafkaError(err)
	if code == kerr.KafkaStorageError {
		s.logger.Error("append failed", "topic", topic, "partition", partition, "err", err)
		return
	}
	s.logger.Warn("produce refused", "topic", topic, "partition", partition, "code", code.Message, "err", err)
}

// produceFailed reports whether any partition failed: with acks=0 the only
// way to tell the client is to close the connection.
func produceFailed(resp *kmsg.ProduceResponse) bool {
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			if p.ErrorCode != 0 {
				return true
			}
		}
	}
	return false
}
