package kafka

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicelog/sluice/engine"
	"github.com/sluicelog/sluice/segment/batch"
)

// listOffsets answers ListOffsets: -2 (earliest) is the log start, -1
// (latest) the high watermark, and a timestamp the first offset whose
// record is at least that new, with that record's timestamp, or -1 when
// there is none.
func (s *Server) listOffsets(r *kmsg.ListOffsetsRequest) *kmsg.ListOffsetsResponse {
	resp := r.ResponseKind().(*kmsg.ListOffsetsResponse)
	for ti := range r.Topics {
		t := &r.Topics[ti]
		rt := kmsg.NewListOffsetsResponseTopic()
		rt.Topic = t.Topic
		for pi := range t.Partitions {
			rp := &t.Partitions[pi]
			out := kmsg.NewListOffsetsResponseTopicPartition()
			out.Partition, out.LeaderEpoch = rp.Partition, 0
			p, err := s.eng.Partition(t.Topic, rp.Partition)
			switch {
			case err != nil:
				out.ErrorCode = errorCode(err)
			case r.Version >= 4 && rp.CurrentLeaderEpoch > 0:
				out.ErrorCode = kerr.UnknownLeaderEpoch.Code
			default:
				out.Offset, err = p.ListOffset(rp.Timestamp)
				out.ErrorCode = errorCode(err)
				if err == nil && rp.Timestamp >= 0 && out.Offset >= 0 {
					out.Timestamp = recordTimestamp(p, out.Offset)
				}
			}
			if out.ErrorCode != 0 {
				out.Offset, out.LeaderEpoch = -1, -1
			}
			rt.Partitions = append(rt.Partitions, out)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}

// recordTimestamp reads the timestamp of the record at offset, or -1 if it
// cannot be read (retention removed it meanwhile, say). It decodes one
// batch: a lookup by time is rare, so it may cost that.
func recordTimestamp(p *engine.Partition, offset int64) int64 {
	b, err := p.ReadBytes(nil, offset, 1)
	if err != nil {
		return -1
	}
	first, _, err := batch.Split(b)
	if err != nil {
		return -1
	}
	var r batch.Reader
	if _, err := r.Reset(first); err != nil {
		return -1
	}
	for {
		rec, err := r.Next()
		if err != nil {
			return -1
		}
		if rec.Offset >= offset {
			return rec.Timestamp
		}
	}
}
