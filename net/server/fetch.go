package server

import (
	"time"

	"github.com/sluicelog/sluice/net/internal/sendfile"
	"github.com/sluicelog/sluice/net/protocol"
	"github.com/sluicelog/sluice/net/request"
)

// fetchKey names a partition in a connection's continuation state.
type fetchKey struct {
	topic     string
	partition int32
}

// errNoContinuation fails a FetchContinue partition this connection has
// not fetched before.
var errNoContinuation = request.Refuse(request.ErrInvalidRequest, "fetch continue: this connection has not fetched the partition")

// fetch answers a Fetch: the request layer gathers regions of whole batches
// for every partition and waits (up to MaxWaitMs) until MinBytes are
// there; then the response goes out with the record bytes sent by
// sendfile straight from the segment files.
func (c *conn) fetch(correlationID int32, r *protocol.FetchRequest) error {
	f := &c.fetchReq
	f.Reset(time.Duration(r.MaxWaitMs)*time.Millisecond, r.MinBytes, int64(r.MaxBytes))
	defer f.Release()
	for ti := range r.Topics {
		t := &r.Topics[ti]
		for pi := range t.Partitions {
			rp := &t.Partitions[pi]
			offset := rp.FetchOffset
			var invalid bool
			if offset == protocol.FetchContinue {
				// Continuation: the offset is where this connection's last
				// fetch of the partition ended (docs/PROTOCOL.md).
				next, ok := c.fetchNext[fetchKey{t.Name, rp.Partition}]
				offset, invalid = next, !ok
			}
			fp := f.Add(t.Name, rp.Partition, offset, rp.PartitionMaxBytes, -1)
			if invalid {
				fp.Invalid = errNoContinuation
			}
		}
	}
	c.s.h.Fetch(c.ctx, f, c.s.stopping)

	resp := protocol.FetchResponse{Topics: make([]protocol.FetchResponseTopic, 0, len(r.Topics))}
	c.cuts, c.regions = c.cuts[:0], c.regions[:0]
	i := 0
	for ti := range r.Topics {
		t := &r.Topics[ti]
		rt := protocol.FetchResponseTopic{Name: t.Name, Partitions: make([]protocol.FetchResponsePartition, 0, len(t.Partitions))}
		for range t.Partitions {
			fp := &f.Partitions[i]
			i++
			if fp.Invalid == nil && fp.Next >= 0 {
				if c.fetchNext == nil {
					c.fetchNext = map[fetchKey]int64{}
				}
				c.fetchNext[fetchKey{t.Name, fp.Partition}] = fp.Next
			}
			out := protocol.FetchResponsePartition{Partition: fp.Partition, ErrorCode: errorCode(fp.Err),
				HighWatermark: fp.HighWatermark, LastStableOffset: fp.LastStableOffset, LogStartOffset: fp.LogStartOffset}
			if fp.Records.Len > 0 {
				out.RecordsLen = int32(fp.Records.Len)
				c.regions = append(c.regions, i-1)
			}
			rt.Partitions = append(rt.Partitions, out)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	frame, splices := protocol.AppendFetchResponseFrame(c.wbuf[:0], correlationID, &resp)
	c.wbuf = frame
	for _, sp := range splices {
		c.cuts = append(c.cuts, sp.At)
	}
	c.nc.SetWriteDeadline(time.Now().Add(c.s.cfg.WriteTimeout))
	return c.fw.WriteFrame(c.nc, frame, c.cuts, func(i int) sendfile.Region {
		reg := &f.Partitions[c.regions[i]].Records
		return sendfile.Region{File: reg.File, Pos: reg.Pos, Len: reg.Len}
	})
}
