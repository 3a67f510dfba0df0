package client

import (
	"context"
	"fmt"
	"time"

	"github.com/sluicelog/sluice/net/internal/sockbuf"
	"github.com/sluicelog/sluice/net/protocol"
	"github.com/sluicelog/sluice/segment/batch"
)

// sender is the goroutine that sends one broker's produce requests over a
// connection of its own: at most MaxInFlight unanswered, one batch per
// partition per request (the broker recognises a retried duplicate only
// when it comes alone for its partition). It also runs, for the whole
// producer, the metadata refreshes and epoch bumps the answers call for.
type sender struct {
	p     *Producer
	addr  string // "" sends to any broker
	parts []*partState

	wake    chan struct{}
	results chan *call // answers, in the order the requests were written

	// Owned by the sender goroutine.
	conn      *conn
	dialAfter time.Time
	inflight  int
	// comp compresses every batch this sender builds: one set of
	// encoders, however many batches the producer has open.
	comp batch.Compressor
}

func newSender(p *Producer, addr string) *sender {
	return &sender{
		p:       p,
		addr:    addr,
		wake:    make(chan struct{}, 1),
		results: make(chan *call, p.cfg.MaxInFlight),
	}
}

// poke wakes the sender to look at its partitions again.
func (s *sender) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *sender) remove(pt *partState) {
	for i, q := range s.parts {
		if q == pt {
			s.parts = append(s.parts[:i], s.parts[i+1:]...)
			return
		}
	}
}

func (s *sender) run() {
	p := s.p
	defer p.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	defer func() {
		if s.conn != nil {
			s.conn.close()
		}
	}()
	start := 0 // rotates, so no partition always goes first in a full request
	for {
		s.maintain()
		wakeAt := s.sendReady(&start)
		if !wakeAt.IsZero() {
			timer.Reset(max(time.Until(wakeAt), 0))
		}
		select {
		case cl := <-s.results:
			s.handle(cl)
		case <-s.wake:
		case <-timer.C:
		case <-p.stopCh:
			return
		}
	}
}

// maintain runs the producer-wide chores that need IO, outside the lock:
// looking up leaders after errors, and getting a producer id or a new
// epoch.
func (s *sender) maintain() {
	p := s.p
	now := time.Now()
	p.mu.Lock()
	var topics []string
	if len(p.metaStale) > 0 && !now.Before(p.metaAfter) {
		for t := range p.metaStale {
			topics = append(topics, t)
		}
		clear(p.metaStale)
		p.metaAfter = now.Add(p.cfg.RetryBackoff)
	}
	bump := p.needBump && !p.bumping && p.inflight == 0 && !now.Before(p.bumpAfter)
	if bump {
		p.bumping = true
	}
	pid, epoch := p.pid, p.epoch
	p.mu.Unlock()

	if topics != nil {
		s.refreshLeaders(topics)
	}
	if bump {
		s.bumpEpoch(pid, epoch)
	}
}

func (s *sender) refreshLeaders(topics []string) {
	p := s.p
	ctx, cancel := context.WithTimeout(p.ctx, p.cl.cfg.RequestTimeout)
	defer cancel()
	_, err := p.cl.refreshMetadata(ctx, topics, true)
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		p.lastErr = err
		for _, t := range topics {
			p.metaStale[t] = true // try again after the backoff
		}
		return
	}
	refreshed := map[string]bool{}
	for _, t := range topics {
		if p.metaStale[t] {
			continue // marked stale again since: looked up next time
		}
		refreshed[t] = true
		if ts, meta := p.topics[t], p.cl.meta.cached(t); ts != nil && meta != nil && meta.err == nil {
			ts.partitions = max(ts.partitions, int32(len(meta.partitions)))
			ts.metaAt = time.Now()
		}
	}
	for _, pt := range p.parts {
		if refreshed[pt.topic.name] {
			p.assignLocked(pt, p.cl.leaderAddr(pt.topic.name, pt.partition))
		}
	}
}

// bumpEpoch asks for a producer id (pid -1) or the next epoch of ours,
// then restarts every partition's sequence at 0. It runs only when no
// produce request is in flight, so no batch with the old numbers is on
// its way.
func (s *sender) bumpEpoch(pid int64, epoch int16) {
	p := s.p
	ctx, cancel := context.WithTimeout(p.ctx, p.cl.cfg.RequestTimeout)
	defer cancel()
	req := &protocol.InitProducerIDRequest{ProducerID: pid, ProducerEpoch: epoch, TransactionTimeoutMs: -1}
	var resp protocol.InitProducerIDResponse
	err := p.cl.call(ctx, s.addr, req, &resp, true)
	if err == nil {
		err = brokerErr(protocol.InitProducerID, resp.ErrorCode, "", -1, nil)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.bumping = false
	if err != nil {
		p.lastErr = fmt.Errorf("init producer id: %w", err)
		p.bumpAfter = time.Now().Add(p.cfg.RetryBackoff)
		p.cl.logger.Warn("producer id request failed", "err", err)
		for _, s := range p.senders {
			s.poke()
		}
		return
	}
	p.pid, p.epoch, p.needBump = resp.ProducerID, resp.ProducerEpoch, false
	p.cl.logger.Debug("producer id", "id", p.pid, "epoch", p.epoch)
	for _, pt := range p.parts {
		pt.uncertain, pt.rewind, pt.fatal, pt.blocked = false, false, nil, false
		pt.ackedSeq = 0
		if err := pt.renumber(0, p.pid, p.epoch); err != nil {
			p.cl.logger.Error("rebuilding batches for a new producer epoch", "err", err)
		}
	}
	for _, s := range p.senders {
		s.poke()
	}
}

// ensureConn returns the sender's connection, dialling a new one when
// there is none or it broke, no more often than RetryBackoff.
func (s *sender) ensureConn() (*conn, error) {
	if s.conn != nil {
		if err := s.conn.broken(); err == nil {
			return s.conn, nil
		}
		if s.inflight > 0 {
			// Not before every request of the broken connection has come
			// back failed: until then the partitions do not know they
			// must resend, and new batches sent on a new connection
			// would overtake the failed ones, which could then fall out
			// of the broker's duplicate window.
			return nil, nil
		}
		s.conn.close()
		s.conn = nil
	}
	if time.Now().Before(s.dialAfter) {
		return nil, nil
	}
	addr := s.addr
	if addr == "" {
		addr = s.p.cl.brokers()[0]
	}
	c, err := dial(s.p.ctx, addr, s.p.cl.cfg.DialTimeout, s.p.cl.logger, false, sockbuf.Sizes{Send: s.p.cfg.SendBufferBytes})
	if err != nil {
		s.dialAfter = time.Now().Add(s.p.cfg.RetryBackoff)
		return nil, err
	}
	s.conn = c
	return c, nil
}

// sendReady sends requests while some partition has a batch ready and the
// in-flight limit allows, and returns when to look again (zero: only when
// woken).
func (s *sender) sendReady(start *int) time.Time {
	p := s.p
	for {
		if s.inflight >= p.cfg.MaxInFlight {
			return time.Time{}
		}
		p.mu.Lock()
		now := time.Now()
		var done []*pbatch
		done, wakeAt, ready := s.expireAndCheck(now, done)
		p.releaseLocked(done)
		p.mu.Unlock()
		p.callback(done)
		if !ready {
			return wakeAt
		}

		c, err := s.ensureConn()
		if c == nil && err == nil && s.inflight > 0 {
			return time.Time{} // the broken connection's answers wake us
		}
		if c == nil {
			p.mu.Lock()
			if err != nil {
				p.lastErr = err
				p.cl.logger.Debug("producer cannot reach broker", "addr", s.addr, "err", err)
			}
			p.mu.Unlock()
			return s.dialAfter
		}

		p.mu.Lock()
		batches, wakeAt := s.takeLocked(time.Now(), start)
		if batches == nil {
			p.mu.Unlock()
			return wakeAt
		}
		expect := p.cfg.Acks != AcksNone
		if expect {
			s.inflight++
			p.inflight++
		}
		p.mu.Unlock()
		if batches = s.buildWire(batches, expect); len(batches) == 0 {
			continue
		}
		req := s.request(batches)

		cl, err := c.send(req, expect, time.Now().Add(p.cl.cfg.RequestTimeout), nil, s.results)
		switch {
		case err != nil:
			// Not written, so surely not appended.
			if expect {
				s.inflight--
			}
			s.settle(batches, nil, err, expect, false)
		case !expect:
			// acks=0: written is all the answer there will be.
			s.settle(batches, &protocol.ProduceResponse{}, nil, false, true)
		default:
			cl.data = batches
		}
	}
}

// expireAndCheck fails expired queued batches and reports whether any
// partition of this sender has a batch ready, or else when one may be.
func (s *sender) expireAndCheck(now time.Time, done []*pbatch) ([]*pbatch, time.Time, bool) {
	p := s.p
	var wakeAt time.Time
	anyReady := false
	for _, pt := range s.parts {
		pt.expire(now, p.cfg.DeliveryTimeout, p.idem, p.lastErr)
		done = pt.popDone(done)
		if pt.blocked && pt.inflight == 0 {
			needBump, err := pt.unblock(p.idem, p.pid, p.epoch)
			if err != nil {
				p.cl.logger.Error("rebuilding batches", "err", err)
				done = pt.popDone(done)
			}
			if needBump && !p.needBump {
				p.needBump = true
				for _, o := range p.senders {
					o.poke()
				}
			}
		}
		if p.needBump || p.bumping {
			continue
		}
		ok, at := pt.ready(now, p.cfg.Linger, p.flushing > 0 || p.closed)
		if ok {
			anyReady = true
		} else if !at.IsZero() && (wakeAt.IsZero() || at.Before(wakeAt)) {
			wakeAt = at
		}
		// Queued batches expire even when nothing can be sent.
		if len(pt.queue) > 0 {
			if exp := pt.queue[0].created.Add(p.cfg.DeliveryTimeout); wakeAt.IsZero() || exp.Before(wakeAt) {
				wakeAt = exp
			}
		}
	}
	if (p.needBump || p.bumping) && p.inflight == 0 {
		// The bump is waiting on this loop (or on its backoff).
		at := p.bumpAfter
		if at.Before(now) {
			at = now.Add(p.cfg.RetryBackoff)
		}
		if wakeAt.IsZero() || at.Before(wakeAt) {
			wakeAt = at
		}
	}
	if len(p.metaStale) > 0 && (wakeAt.IsZero() || p.metaAfter.Before(wakeAt)) {
		wakeAt = p.metaAfter
	}
	return done, wakeAt, anyReady
}

// takeLocked takes one ready batch from each ready partition, up to
// MaxRequestSize, for the next request.
func (s *sender) takeLocked(now time.Time, start *int) ([]*pbatch, time.Time) {
	p := s.p
	if p.needBump || p.bumping {
		return nil, time.Time{}
	}
	room := p.cfg.MaxRequestSize - 64
	var batches []*pbatch
	var wakeAt time.Time
	n := len(s.parts)
	for i := range n {
		pt := s.parts[(*start+i)%n]
		ok, at := pt.ready(now, p.cfg.Linger, p.flushing > 0 || p.closed)
		if !ok {
			if !at.IsZero() && (wakeAt.IsZero() || at.Before(wakeAt)) {
				wakeAt = at
			}
			continue
		}
		b := pt.next(room-len(pt.topic.name)-32, p.idem, p.pid, p.epoch)
		if b == nil {
			if len(batches) > 0 {
				continue
			}
			// Alone it does not fit either; Send keeps records below
			// MaxRequestSize, so only compression overhead gets here.
			// Send it anyway: the broker decides.
			b = pt.next(1<<31-1, p.idem, p.pid, p.epoch)
		}
		b.attempts++
		pt.inflight++
		room -= b.wireSize() + len(pt.topic.name) + 32
		batches = append(batches, b)
	}
	if n > 0 {
		*start = (*start + 1) % n
	}
	if len(batches) == 0 {
		return nil, wakeAt
	}
	return batches, time.Time{}
}

// buildWire builds (compresses) the batches taken for a request that are
// not built yet, without the producer's lock: a batch the sender has taken
// is the sender's alone, and Send keeps appending to the others meanwhile.
// A batch that fails to build is finished with the error, as if never
// sent; the request's in-flight count is given back if none is left.
func (s *sender) buildWire(batches []*pbatch, expect bool) []*pbatch {
	var failed []*pbatch
	var errs []error
	kept := batches[:0]
	for _, b := range batches {
		if b.wire == nil {
			wire, err := b.b.BuildWith(&s.comp)
			if err != nil {
				failed, errs = append(failed, b), append(errs, err)
				continue
			}
			b.wire = wire
		}
		kept = append(kept, b)
	}
	if len(failed) == 0 {
		return kept
	}
	p := s.p
	p.mu.Lock()
	for i, b := range failed {
		b.part.inflight--
		// Never sent: its sequence number is a gap to close.
		b.finish(-1, -1, fmt.Errorf("client: building a batch: %w", errs[i]))
		b.part.gaveUp(b, p.idem)
	}
	if len(kept) == 0 && expect {
		s.inflight--
		p.inflight--
	}
	p.mu.Unlock()
	return kept
}

// request makes the produce request carrying the built batches.
func (s *sender) request(batches []*pbatch) *protocol.ProduceRequest {
	p := s.p
	req := &protocol.ProduceRequest{Acks: p.cfg.wireAcks(), TimeoutMs: p.cl.timeoutMs()}
	for _, b := range batches {
		name := b.part.topic.name
		ti := len(req.Topics) - 1
		if ti < 0 || req.Topics[ti].Name != name {
			ti = -1
			for j := range req.Topics {
				if req.Topics[j].Name == name {
					ti = j
				}
			}
			if ti < 0 {
				req.Topics = append(req.Topics, protocol.ProduceRequestTopic{Name: name})
				ti = len(req.Topics) - 1
			}
		}
		req.Topics[ti].Partitions = append(req.Topics[ti].Partitions,
			protocol.ProduceRequestPartition{Partition: b.part.partition, Records: b.wire})
	}
	return req
}

// handle takes one produce answer off the connection.
func (s *sender) handle(cl *call) {
	s.inflight--
	batches, _ := cl.data.([]*pbatch)
	err := cl.err
	var resp protocol.ProduceResponse
	if err == nil {
		if derr := resp.DecodeFrom(cl.body); derr != nil {
			// Out of step or a broker bug: the outcome is unknown, as
			// after a broken connection.
			err = &netError{addr: cl.c.addr, op: "read", err: fmt.Errorf("produce response: %w", derr)}
			cl.c.fail(err)
		}
	}
	s.settle(batches, &resp, err, true, true)
}

// settle applies an answer (or a failure, err) to the batches of one
// request, then runs the callbacks that became due.
func (s *sender) settle(batches []*pbatch, resp *protocol.ProduceResponse, err error, counted, sent bool) {
	p := s.p
	type key struct {
		topic     string
		partition int32
	}
	var answers map[key]*protocol.ProduceResponsePartition
	if err == nil && resp != nil && resp.ErrorCode == protocol.NoError && p.cfg.Acks != AcksNone {
		answers = make(map[key]*protocol.ProduceResponsePartition, len(batches))
		for ti := range resp.Topics {
			t := &resp.Topics[ti]
			for pi := range t.Partitions {
				answers[key{t.Name, t.Partitions[pi].Partition}] = &t.Partitions[pi]
			}
		}
	}
	now := time.Now()
	p.mu.Lock()
	if counted {
		p.inflight--
	}
	var done []*pbatch
	for _, b := range batches {
		pt := b.part
		var outcome produceOutcome
		switch {
		case err != nil:
			if !sent {
				// Never written: the broker cannot have it.
				pt.inflight--
				pt.blocked = true
				b.lastErr = err
				b.attempts-- // not an attempt the broker saw
				b.retryAt = now.Add(p.cfg.RetryBackoff)
				pt.insertRetry(b)
				p.lastErr = err
				p.retries++
				continue
			}
			p.lastErr = err
			outcome = pt.result(b, err, protocol.NoError, nil, -1, -1, now, &p.cfg, p.idem)
		case p.cfg.Acks == AcksNone:
			outcome = pt.result(b, nil, protocol.NoError, nil, -1, -1, now, &p.cfg, p.idem)
		case resp.ErrorCode != protocol.NoError:
			outcome = pt.result(b, nil, resp.ErrorCode, nil, -1, -1, now, &p.cfg, p.idem)
		default:
			a := answers[key{pt.topic.name, pt.partition}]
			if a == nil {
				msg := "the broker's answer did not mention the partition"
				outcome = pt.result(b, nil, protocol.ErrUnknownServerError, &msg, -1, -1, now, &p.cfg, p.idem)
			} else {
				outcome = pt.result(b, nil, a.ErrorCode, a.ErrorMessage, a.BaseOffset, a.LogAppendTimeMs, now, &p.cfg, p.idem)
				if needsMetadata(a.ErrorCode) {
					p.metaStale[pt.topic.name] = true
				}
			}
		}
		switch {
		case outcome == outcomeRetry:
			p.retries++
		case b.err != nil:
			p.cl.logger.Debug("produce failed", "topic", pt.topic.name, "partition", pt.partition, "err", b.err)
		}
		done = pt.popDone(done)
	}
	if err == nil {
		p.lastErr = nil
	}
	p.releaseLocked(done)
	p.mu.Unlock()
	p.callback(done)
}
