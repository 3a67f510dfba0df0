package kafka

import (
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicelog/sluice/net/internal/sendfile"
)

// fetch answers a Fetch: the request layer gathers regions of whole
// batches for every partition and waits (up to MaxWaitMillis) until
// MinBytes are there; then the response is written around the record
// bytes, which sendfile sends straight from the segment files. Fetch
// sessions are not kept: every response is a full one with session id 0,
// which clients accept.
func (c *conn) fetch(h header, r *kmsg.FetchRequest) error {
	resp := r.ResponseKind().(*kmsg.FetchResponse)
	f := &c.fetchReq
	maxBytes := int64(r.MaxBytes)
	if r.Version < 3 {
		maxBytes = 0 // no response-wide bound before v3
	}
	f.Reset(time.Duration(r.MaxWaitMillis)*time.Millisecond, r.MinBytes, maxBytes)
	defer f.Release()
	f.ReplicaID = r.ReplicaID
	if f.ReplicaID < 0 {
		f.ReplicaID = -1 // -2 and others are debug and observer ids: read as a consumer
	}
	if r.Version >= 7 && r.SessionID != 0 {
		resp.ErrorCode = kerr.FetchSessionIDNotFound.Code
		c.lens, c.regions = c.lens[:0], c.regions[:0]
		return c.writeFetch(h, resp)
	}
	for ti := range r.Topics {
		t := &r.Topics[ti]
		for pi := range t.Partitions {
			rp := &t.Partitions[pi]
			epoch := int32(-1)
			if r.Version >= 9 {
				epoch = rp.CurrentLeaderEpoch
			}
			fp := f.Add(t.Topic, rp.Partition, rp.FetchOffset, rp.PartitionMaxBytes, epoch)
			if r.Version >= 5 {
				fp.ReplicaLogStart = rp.LogStartOffset // a follower's own
			}
		}
	}
	c.s.h.Fetch(c.ctx, f, c.s.stopping)

	c.lens, c.regions = c.lens[:0], c.regions[:0]
	resp.Topics = make([]kmsg.FetchResponseTopic, 0, len(r.Topics))
	i := 0
	for ti := range r.Topics {
		t := &r.Topics[ti]
		rt := kmsg.NewFetchResponseTopic()
		rt.Topic = t.Topic
		rt.Partitions = make([]kmsg.FetchResponseTopicPartition, 0, len(t.Partitions))
		for range t.Partitions {
			fp := &f.Partitions[i]
			out := kmsg.NewFetchResponseTopicPartition()
			out.Partition, out.ErrorCode = fp.Partition, errorCode(fp.Err)
			out.HighWatermark, out.LastStableOffset, out.LogStartOffset = fp.HighWatermark, fp.LastStableOffset, fp.LogStartOffset
			c.lens = append(c.lens, fp.Records.Len)
			if fp.Records.Len > 0 {
				c.regions = append(c.regions, i)
			}
			rt.Partitions = append(rt.Partitions, out)
			i++
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return c.writeFetch(h, resp)
}

// writeFetch writes the frame in pieces: the encoded parts from the buffer,
// each partition's records by sendfile between them.
func (c *conn) writeFetch(h header, resp *kmsg.FetchResponse) error {
	if c.lens == nil {
		c.lens = make([]int64, 0, 1)
	}
	frame, splices := appendFetchFrame(c.wbuf[:0], h, resp, c.lens, nil)
	c.wbuf = frame
	c.nc.SetWriteDeadline(time.Now().Add(c.s.cfg.WriteTimeout))
	return c.fw.WriteFrame(c.nc, frame, splices, func(i int) sendfile.Region {
		reg := &c.fetchReq.Partitions[c.regions[i]].Records
		return sendfile.Region{File: reg.File, Pos: reg.Pos, Len: reg.Len}
	})
}
