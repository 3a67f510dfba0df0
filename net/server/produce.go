package server

import (
	"errors"

	"github.com/sluicelog/sluice/engine"
	"github.com/sluicelog/sluice/net/protocol"
)

// produce appends each partition's batches. Partitions fail on their own:
// a bad batch for one partition does not stop the others.
func (s *Server) produce(r *protocol.ProduceRequest) *protocol.ProduceResponse {
	resp := &protocol.ProduceResponse{Topics: make([]protocol.ProduceResponseTopic, 0, len(r.Topics))}
	acksOK := r.Acks == protocol.AcksNone || r.Acks == protocol.AcksLeader || r.Acks == protocol.AcksAll
	for _, t := range r.Topics {
		rt := protocol.ProduceResponseTopic{Name: t.Name, Partitions: make([]protocol.ProduceResponsePartition, 0, len(t.Partitions))}
		for _, rp := range t.Partitions {
			out := protocol.ProduceResponsePartition{Partition: rp.Partition, BaseOffset: -1, LogAppendTimeMs: -1, LogStartOffset: -1}
			if !acksOK {
				out.ErrorCode = protocol.ErrInvalidRequiredAcks
				rt.Partitions = append(rt.Partitions, out)
				continue
			}
			res, err := s.appendTo(t.Name, rp.Partition, rp.Records)
			if err == nil {
				out.BaseOffset, out.LogAppendTimeMs, out.LogStartOffset = res.BaseOffset, res.LogAppendTime, res.LogStartOffset
			} else {
				out.ErrorCode, out.ErrorMessage = errorCode(err), message(err)
				s.logProduceError(t.Name, rp.Partition, err)
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

// logProduceError logs refused input at warn (a client sent something
// wrong) and storage failures at error.
func (s *Server) logProduceError(topic string, partition int32, err error) {
	code := errorCode(err)
	if code == protocol.ErrKafkaStorageError {
		s.logger.Error("append failed", "topic", topic, "partition", partition, "err", err)
		return
	}
	s.logger.Warn("produce refused", "topic", topic, "partition", partition, "code", code.String(), "err", err)
}

// produceFailed reports whether any partition of a response failed: with
// acks=0 the only way to tell the client is to close the connection.
func produceFailed(resp *protocol.ProduceResponse) bool {
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			if p.ErrorCode != protocol.NoError {
				return true
			}
		}
	}
	return false
}
