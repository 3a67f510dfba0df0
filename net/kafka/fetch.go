package kafka

import (
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicelog/sluice/net/internal/longpoll"
	"github.com/sluicelog/sluice/net/internal/sendfile"
	"github.com/sluicelog/sluice/segment"
)

// fetchState is one Fetch being answered: the response, each partition's
// records length in response order, and the regions that hold the records
// of the partitions that have some, in the same order.
type fetchState struct {
	resp    *kmsg.FetchResponse
	lens    []int64
	regions []segment.Region
	bytes   int64
	failed  bool
}

func (f *fetchState) release() {
	for i := range f.regions {
		f.regions[i].Release()
	}
	f.regions = f.regions[:0]
}

// fetch answers a Fetch: it gathers regions of whole batches for every
// partition, waits (up to MaxWaitMillis) until MinBytes are there, then
// writes the response around the record bytes, which sendfile sends
// straight from the segment files. Fetch sessions are not kept: every
// response is a full one with session id 0, which clients accept.
func (c *conn) fetch(h header, r *kmsg.FetchRequest) error {
	st := fetchState{resp: r.ResponseKind().(*kmsg.FetchResponse)}
	defer st.release()
	if r.Version >= 7 && r.SessionID != 0 {
		st.resp.ErrorCode = kerr.FetchSessionIDNotFound.Code
		return c.writeFetch(h, &st)
	}
	var deadline time.Time
	if r.MaxWaitMillis > 0 {
		deadline = time.Now().Add(time.Duration(r.MaxWaitMillis) * time.Millisecond)
	}
	for {
		// The change channels are taken before reading, so an append that
		// lands in between still wakes the wait below.
		chans := c.s.collectFetch(r, &st)
		if st.bytes >= int64(r.MinBytes) || st.failed || deadline.IsZero() || !time.Now().Before(deadline) || c.s.isStopping() {
			break
		}
		st.release()
		if !longpoll.Wait(chans, deadline, c.s.stopping, c.ctx.Done()) {
			c.s.collectFetch(r, &st) // timed out or stopping: a last look
			break
		}
	}
	return c.writeFetch(h, &st)
}

// writeFetch writes the frame in pieces: the encoded parts from the buffer,
// each partition's records by sendfile between them.
func (c *conn) writeFetch(h header, st *fetchState) error {
	if len(st.lens) == 0 {
		st.lens = make([]int64, 0, 1)
	}
	frame, splices := appendFetchFrame(c.wbuf[:0], h, st.resp, st.lens, nil)
	c.wbuf = frame
	c.nc.SetWriteDeadline(time.Now().Add(c.s.cfg.WriteTimeout))
	return sendfile.WriteFrame(c.nc, frame, splices, func(i int) sendfile.Region {
		reg := &st.regions[i]
		return sendfile.Region{File: reg.File, Pos: reg.Pos, Len: reg.Len}
	})
}

// collectFetch fills st with a fresh response to r and returns the change
// channels of the partitions read, taken before their data was.
func (s *Server) collectFetch(r *kmsg.FetchRequest, st *fetchState) []<-chan struct{} {
	st.release()
	resp := st.resp
	resp.Topics = resp.Topics[:0]
	st.lens = st.lens[:0]
	st.bytes, st.failed = 0, false
	var chans []<-chan struct{}
	budget := int64(r.MaxBytes)
	if r.Version < 3 || budget <= 0 {
		budget = 1 << 62
	}
	for ti := range r.Topics {
		t := &r.Topics[ti]
		rt := kmsg.NewFetchResponseTopic()
		rt.Topic = t.Topic
		rt.Partitions = make([]kmsg.FetchResponseTopicPartition, 0, len(t.Partitions))
		for pi := range t.Partitions {
			rp := &t.Partitions[pi]
			out := kmsg.NewFetchResponseTopicPartition()
			out.Partition, out.HighWatermark = rp.Partition, -1
			var n int64
			p, err := s.eng.Partition(t.Topic, rp.Partition)
			switch {
			case err != nil:
				out.ErrorCode, st.failed = errorCode(err), true
			case r.Version >= 9 && rp.CurrentLeaderEpoch > 0:
				// This node leads every partition at epoch 0.
				out.ErrorCode, st.failed = kerr.UnknownLeaderEpoch.Code, true
			default:
				chans = append(chans, p.Changed())
				out.HighWatermark = p.HighWatermark()
				out.LastStableOffset = out.HighWatermark
				out.LogStartOffset = p.LogStartOffset()
				limit := min(int64(rp.PartitionMaxBytes), budget)
				if limit <= 0 && st.bytes == 0 {
					limit = 1 // Kafka's rule: the first batch comes whole, whatever the limits
				}
				if limit > 0 {
					reg, err := p.Read(rp.FetchOffset, limit)
					switch {
					case err != nil:
						out.ErrorCode, st.failed = errorCode(err), true
					case reg.Len > 0:
						n = reg.Len
						st.regions = append(st.regions, reg)
						st.bytes += n
						budget -= n
					}
				}
			}
			st.lens = append(st.lens, n)
			rt.Partitions = append(rt.Partitions, out)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return chans
}
