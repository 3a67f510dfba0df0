package server

import (
	"time"

	"github.com/sluicelog/sluice/net/internal/longpoll"
	"github.com/sluicelog/sluice/net/internal/sendfile"
	"github.com/sluicelog/sluice/net/protocol"
	"github.com/sluicelog/sluice/segment"
)

// fetchState is one Fetch being answered: the response being built and the
// segment regions its records come from, in frame order.
type fetchState struct {
	resp    protocol.FetchResponse
	regions []segment.Region
	bytes   int64
	failed  bool
	// next holds, for each partition of the request in order, where a
	// fetch continuing this one starts.
	next []int64
}

// fetchKey names a partition in a connection's continuation state.
type fetchKey struct {
	topic     string
	partition int32
}

func (f *fetchState) release() {
	for i := range f.regions {
		f.regions[i].Release()
	}
	f.regions = f.regions[:0]
}

// fetch answers a Fetch: it gathers regions of whole batches for every
// partition, waits (up to MaxWaitMs) until MinBytes are there, then writes
// the response with the record bytes sent by sendfile straight from the
// segment files.
func (c *conn) fetch(correlationID int32, r *protocol.FetchRequest) error {
	var deadline time.Time
	if r.MaxWaitMs > 0 {
		deadline = time.Now().Add(time.Duration(r.MaxWaitMs) * time.Millisecond)
	}
	// Continuation: FetchContinue offsets start where this connection's
	// last fetch of the partition ended (docs/PROTOCOL.md). Unknown ones
	// stay FetchContinue, which collectFetch refuses.
	for ti := range r.Topics {
		t := &r.Topics[ti]
		for pi := range t.Partitions {
			if rp := &t.Partitions[pi]; rp.FetchOffset == protocol.FetchContinue {
				if next, ok := c.fetchNext[fetchKey{t.Name, rp.Partition}]; ok {
					rp.FetchOffset = next
				}
			}
		}
	}
	var st fetchState
	for {
		// Ask for the wake-up channels before reading, so an append that
		// lands in between still wakes the wait below.
		chans := c.s.collectFetch(r, &st)
		if st.bytes >= int64(r.MinBytes) || st.failed || deadline.IsZero() || !time.Now().Before(deadline) || c.s.isStopping() {
			break
		}
		st.release()
		if !longpoll.Wait(chans, deadline, c.s.stopping, c.ctx.Done()) {
			// Timed out or stopping: one last look, then answer.
			c.s.collectFetch(r, &st)
			break
		}
	}
	defer st.release()
	i := 0
	for _, t := range r.Topics {
		for _, rp := range t.Partitions {
			if c.fetchNext == nil {
				c.fetchNext = map[fetchKey]int64{}
			}
			if next := st.next[i]; next >= 0 {
				c.fetchNext[fetchKey{t.Name, rp.Partition}] = next
			}
			i++
		}
	}
	frame, splices := protocol.AppendFetchResponseFrame(c.wbuf[:0], correlationID, &st.resp)
	c.wbuf = frame
	c.cuts = c.cuts[:0]
	for _, sp := range splices {
		c.cuts = append(c.cuts, sp.At)
	}
	c.nc.SetWriteDeadline(time.Now().Add(c.s.cfg.WriteTimeout))
	return sendfile.WriteFrame(c.nc, frame, c.cuts, func(i int) sendfile.Region {
		reg := &st.regions[i]
		return sendfile.Region{File: reg.File, Pos: reg.Pos, Len: reg.Len}
	})
}

func (s *Server) isStopping() bool {
	select {
	case <-s.stopping:
		return true
	default:
		return false
	}
}

// collectFetch fills st with a fresh response for r and returns the
// partitions' change channels, taken before their data was read.
func (s *Server) collectFetch(r *protocol.FetchRequest, st *fetchState) []<-chan struct{} {
	st.release()
	st.resp = protocol.FetchResponse{Topics: make([]protocol.FetchResponseTopic, 0, len(r.Topics))}
	st.bytes, st.failed, st.next = 0, false, st.next[:0]
	var chans []<-chan struct{}
	budget := int64(r.MaxBytes)
	if budget <= 0 {
		budget = 1 << 62
	}
	for _, t := range r.Topics {
		rt := protocol.FetchResponseTopic{Name: t.Name, Partitions: make([]protocol.FetchResponsePartition, 0, len(t.Partitions))}
		for _, rp := range t.Partitions {
			out := protocol.FetchResponsePartition{Partition: rp.Partition, HighWatermark: -1, LastStableOffset: -1, LogStartOffset: -1}
			// A fetch that returns no records ends where it started.
			st.next = append(st.next, rp.FetchOffset)
			if rp.FetchOffset == protocol.FetchContinue {
				// Nothing to continue from on this connection.
				out.ErrorCode, st.failed = protocol.ErrInvalidRequest, true
				rt.Partitions = append(rt.Partitions, out)
				continue
			}
			p, err := s.eng.Partition(t.Name, rp.Partition)
			if err != nil {
				out.ErrorCode, st.failed = errorCode(err), true
				rt.Partitions = append(rt.Partitions, out)
				continue
			}
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
					out.RecordsLen = int32(reg.Len)
					st.regions = append(st.regions, reg)
					st.bytes += reg.Len
					budget -= reg.Len
					st.next[len(st.next)-1] = reg.NextOffset
				}
			}
			rt.Partitions = append(rt.Partitions, out)
		}
		st.resp.Topics = append(st.resp.Topics, rt)
	}
	return chans
}
