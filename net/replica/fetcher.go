package replica

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicelog/sluice/engine"
	"github.com/sluicelog/sluice/segment/batch"
)

// Request versions the fetcher speaks: the newest non-flexible ones, which
// carry the replica id and the current leader epoch.
const (
	fetchVersion          = 11
	epochForLeaderVersion = 3
)

// fetcher follows one leader broker: every partition this node follows
// under it shares one connection and one fetch loop (Kafka's replica
// fetcher thread).
type fetcher struct {
	m      *Manager
	leader int32

	mu    sync.Mutex
	parts map[key]*following
	wake  chan struct{}

	conn *kconn // the run goroutine's
	addr string
	// live is conn for close, which shuts it to end a round trip blocked
	// on a leader that stopped answering (paused, cut off).
	live    atomic.Pointer[kconn]
	stop    context.CancelFunc
	ctxDone <-chan struct{}
	done    chan struct{}
}

// following is one partition a fetcher follows.
type following struct {
	ps *partState
	// truncated is set once the log was cut to where it agrees with the
	// leader's for this leader epoch.
	truncated bool
	// retryAt delays a partition the leader refused (it may not know its
	// leadership yet).
	retryAt time.Time
}

// assignFetchers gives each leader's fetcher the partitions that follow
// it, starting and stopping fetchers as needed. changed, when not nil,
// names the leaders whose lists may have changed: the other fetchers keep
// theirs without a look.
func (m *Manager) assignFetchers(follow map[int32][]*partState, changed map[int32]bool) {
	m.fetchersMu.Lock()
	defer m.fetchersMu.Unlock()
	if m.ctx.Err() != nil {
		return
	}
	for id, f := range m.fetchers {
		if _, ok := follow[id]; !ok {
			f.close()
			delete(m.fetchers, id)
		}
	}
	for id, list := range follow {
		f := m.fetchers[id]
		if f != nil && changed != nil && !changed[id] {
			continue // its partitions are as they were
		}
		if f == nil {
			f = &fetcher{m: m, leader: id, parts: map[key]*following{}, wake: make(chan struct{}, 1), done: make(chan struct{})}
			var ctx context.Context
			ctx, f.stop = context.WithCancel(m.ctx)
			f.ctxDone = ctx.Done()
			m.fetchers[id] = f
			go f.run(ctx)
		}
		f.set(list)
	}
}

func (m *Manager) stopFetchers() {
	m.fetchersMu.Lock()
	defer m.fetchersMu.Unlock()
	for id, f := range m.fetchers {
		f.close()
		delete(m.fetchers, id)
	}
}

func (f *fetcher) close() {
	f.stop()
	if c := f.live.Load(); c != nil {
		c.Close()
	}
	<-f.done
}

// set replaces the fetcher's partitions, keeping the progress of those
// whose role did not change.
func (f *fetcher) set(list []*partState) {
	f.mu.Lock()
	next := make(map[key]*following, len(list))
	for _, ps := range list {
		if cur := f.parts[ps.key]; cur != nil && cur.ps == ps {
			next[ps.key] = cur
			continue
		}
		next[ps.key] = &following{ps: ps}
	}
	f.parts = next
	f.mu.Unlock()
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

func (f *fetcher) snapshot() []*following {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]*following, 0, len(f.parts))
	for _, fl := range f.parts {
		out = append(out, fl)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].ps.key, out[j].ps.key
		return a.topic < b.topic || a.topic == b.topic && a.partition < b.partition
	})
	return out
}

func (f *fetcher) run(ctx context.Context) {
	defer close(f.done)
	defer func() {
		if f.conn != nil {
			f.conn.Close()
		}
	}()
	logger := f.m.logger.With("leader", f.leader)
	backoff := f.m.cfg.FetchBackoff
	// A round that fails is logged at debug: one may as a leader goes
	// away, before the image moves its partitions. A second in a row is
	// a warning, once, and the first round that succeeds after it says so.
	failures := 0
	for ctx.Err() == nil {
		parts := f.snapshot()
		now := time.Now()
		var ready []*following
		for _, fl := range parts {
			if fl.ps.p.Offline() {
				continue // the leader drops it from the ISR once it lags
			}
			if !fl.retryAt.After(now) {
				ready = append(ready, fl)
			}
		}
		if len(ready) == 0 {
			wait := backoff
			if len(parts) == 0 {
				wait = time.Hour
			}
			select {
			case <-ctx.Done():
				return
			case <-f.wake:
			case <-time.After(wait):
			}
			continue
		}
		err := f.round(ready)
		switch {
		case err == nil:
			if failures > 1 {
				logger.Info("replica fetching from the leader again", "event", "replica_fetch_recovered", "addr", f.addr, "failures", failures)
			}
			failures = 0
			continue
		case ctx.Err() != nil:
			return
		}
		failures++
		if failures == 2 {
			logger.Warn("replica fetch failing", "event", "replica_fetch_failing", "addr", f.addr, "failures", failures,
				"partitions", len(ready), "err", err)
		} else {
			logger.Debug("replica fetch failed", "addr", f.addr, "failures", failures, "err", err)
		}
		if f.conn != nil {
			f.conn.Close()
			f.conn = nil
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
	}
}

// connect dials the leader's Kafka listener as the image advertises it.
func (f *fetcher) connect() error {
	if f.conn != nil {
		return nil
	}
	b, ok := f.m.cfg.State.Broker(f.leader)
	if !ok {
		return fmt.Errorf("leader %d is not registered", f.leader)
	}
	addr := b.Listeners[f.m.cfg.Listener]
	if addr == "" {
		return fmt.Errorf("leader %d advertises no %s listener", f.leader, f.m.cfg.Listener)
	}
	f.addr = addr // for the logs, dialled or not
	c, err := dialKafka(addr, fmt.Sprintf("sluice-replica-%d", f.m.cfg.NodeID), 5*time.Second)
	if err != nil {
		return err
	}
	f.conn = c
	f.live.Store(c)
	if f.stopped() {
		// close ran between the dial and the store: it could not shut c.
		c.Close()
	}
	return nil
}

// stopped reports whether close began.
func (f *fetcher) stopped() bool {
	select {
	case <-f.ctxDone:
		return true
	default:
		return false
	}
}

// round truncates the partitions that need it, then fetches once.
func (f *fetcher) round(ready []*following) error {
	if err := f.connect(); err != nil {
		return err
	}
	var fetching []*following
	var truncating []*following
	for _, fl := range ready {
		if fl.truncated {
			fetching = append(fetching, fl)
		} else {
			truncating = append(truncating, fl)
		}
	}
	if len(truncating) > 0 {
		if err := f.truncate(truncating); err != nil {
			return err
		}
		for _, fl := range truncating {
			if fl.truncated {
				fetching = append(fetching, fl)
			}
		}
	}
	if len(fetching) == 0 {
		return nil
	}
	return f.fetch(fetching)
}

// truncate asks the leader where each partition's latest epoch ends and
// cuts the local log there (KIP-101 and KIP-279): both logs agree up to
// the smaller of that end and this log's own end of the same epoch.
func (f *fetcher) truncate(list []*following) error {
	req := kmsg.NewOffsetForLeaderEpochRequest()
	req.SetVersion(epochForLeaderVersion)
	req.ReplicaID = f.m.cfg.NodeID
	byTopic := map[string]int{}
	var ask []*following
	for _, fl := range list {
		epoch := fl.ps.p.LatestEpoch()
		if epoch < 0 {
			// Nothing written under any epoch here (a new or empty
			// replica): nothing can diverge.
			fl.truncated = true
			continue
		}
		ti, ok := byTopic[fl.ps.key.topic]
		if !ok {
			ti = len(req.Topics)
			byTopic[fl.ps.key.topic] = ti
			t := kmsg.NewOffsetForLeaderEpochRequestTopic()
			t.Topic = fl.ps.key.topic
			req.Topics = append(req.Topics, t)
		}
		rp := kmsg.NewOffsetForLeaderEpochRequestTopicPartition()
		rp.Partition, rp.CurrentLeaderEpoch, rp.LeaderEpoch = fl.ps.key.partition, fl.ps.epoch, epoch
		req.Topics[ti].Partitions = append(req.Topics[ti].Partitions, rp)
		ask = append(ask, fl)
	}
	if len(ask) == 0 {
		return nil
	}
	resp := kmsg.NewOffsetForLeaderEpochResponse()
	if err := f.conn.roundTrip(&req, &resp, 10*time.Second); err != nil {
		return fmt.Errorf("offset for leader epoch: %w", err)
	}
	answers := map[key]kmsg.OffsetForLeaderEpochResponseTopicPartition{}
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			answers[key{t.Topic, p.Partition}] = p
		}
	}
	for _, fl := range ask {
		a, ok := answers[fl.ps.key]
		if !ok {
			fl.retryAt = time.Now().Add(f.m.cfg.FetchBackoff)
			continue
		}
		if err := kerr.ErrorForCode(a.ErrorCode); err != nil {
			f.m.logger.Debug("leader cannot answer offset for leader epoch yet", "topic", fl.ps.key.topic, "partition", fl.ps.key.partition, "err", err)
			fl.retryAt = time.Now().Add(f.retryDelay())
			continue
		}
		p := fl.ps.p
		cut := p.LogEndOffset()
		switch {
		case a.LeaderEpoch < 0 || a.EndOffset < 0:
			// The leader knows no epoch this old: keep only what the high
			// watermark vouches for.
			cut = p.HighWatermark()
		default:
			_, ownEnd := p.EndOffsetForEpoch(a.LeaderEpoch)
			if ownEnd < 0 {
				ownEnd = p.LogEndOffset()
			}
			cut = min(a.EndOffset, ownEnd, p.LogEndOffset())
		}
		if cut < p.LogEndOffset() {
			// Records the new leader does not have: written under an
			// earlier leader but never committed (or, after an unclean
			// election, committed and lost). Routine in a failover.
			f.m.logger.Info("truncating divergent log tail", "event", "log_truncation", "topic", fl.ps.key.topic, "partition", fl.ps.key.partition,
				"leader", f.leader, "to", cut, "log_end", p.LogEndOffset(), "records", p.LogEndOffset()-cut,
				"leader_epoch", fl.ps.epoch, "leader_answer_epoch", a.LeaderEpoch)
			if err := p.TruncateTo(cut); err != nil {
				f.m.logger.Error("truncation failed", "topic", fl.ps.key.topic, "partition", fl.ps.key.partition, "err", err)
				fl.retryAt = time.Now().Add(f.m.cfg.FetchBackoff)
				continue
			}
		}
		fl.truncated = true
	}
	return nil
}

// retryDelay is how long a partition the leader refused waits: short, as
// the refusal is usually a leader that has not applied its promotion yet.
func (f *fetcher) retryDelay() time.Duration {
	return min(f.m.cfg.FetchBackoff, 100*time.Millisecond)
}

// fetch sends one Fetch for the partitions and appends what comes back.
func (f *fetcher) fetch(list []*following) error {
	req := kmsg.NewFetchRequest()
	req.SetVersion(fetchVersion)
	req.ReplicaID = f.m.cfg.NodeID
	req.MaxWaitMillis = int32(f.m.cfg.FetchWait / time.Millisecond)
	req.MinBytes = 1
	req.MaxBytes = DefaultFetchResponseMaxBytes
	req.SessionEpoch = -1
	byTopic := map[string]int{}
	for _, fl := range list {
		ti, ok := byTopic[fl.ps.key.topic]
		if !ok {
			ti = len(req.Topics)
			byTopic[fl.ps.key.topic] = ti
			t := kmsg.NewFetchRequestTopic()
			t.Topic = fl.ps.key.topic
			req.Topics = append(req.Topics, t)
		}
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.Partition = fl.ps.key.partition
		rp.CurrentLeaderEpoch = fl.ps.epoch
		rp.FetchOffset = fl.ps.p.LogEndOffset()
		rp.LogStartOffset = fl.ps.p.LogStartOffset()
		rp.PartitionMaxBytes = DefaultFetchMaxBytes
		req.Topics[ti].Partitions = append(req.Topics[ti].Partitions, rp)
	}
	resp := kmsg.NewFetchResponse()
	if err := f.conn.roundTrip(&req, &resp, f.m.cfg.FetchWait+10*time.Second); err != nil {
		return fmt.Errorf("fetch: %w", err)
	}
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		return fmt.Errorf("fetch: %w", err)
	}
	byKey := make(map[key]*following, len(list))
	for _, fl := range list {
		byKey[fl.ps.key] = fl
	}
	for _, t := range resp.Topics {
		for i := range t.Partitions {
			rp := &t.Partitions[i]
			fl := byKey[key{t.Topic, rp.Partition}]
			if fl == nil {
				continue
			}
			f.apply(fl, rp)
		}
	}
	return nil
}

// apply appends one partition's fetched batches and takes the leader's
// high watermark and log start offset.
func (f *fetcher) apply(fl *following, rp *kmsg.FetchResponseTopicPartition) {
	p := fl.ps.p
	log := func(msg string, err error) {
		f.m.logger.Warn(msg, "topic", fl.ps.key.topic, "partition", fl.ps.key.partition, "leader", f.leader, "err", err)
	}
	switch err := kerr.ErrorForCode(rp.ErrorCode); {
	case err == nil:
	case errors.Is(err, kerr.OffsetOutOfRange):
		if rp.LogStartOffset > p.LogEndOffset() {
			// Retention at the leader deleted what this replica would
			// fetch next: start again at the leader's log start.
			if err := p.ResetTo(rp.LogStartOffset); err != nil {
				log("resetting the log to the leader's start failed", err)
			}
			fl.retryAt = time.Now().Add(f.retryDelay())
			return
		}
		// This log ends past the leader's: find where they agree again.
		fl.truncated = false
		fl.retryAt = time.Now().Add(f.retryDelay())
		return
	case errors.Is(err, kerr.NotLeaderForPartition), errors.Is(err, kerr.FencedLeaderEpoch),
		errors.Is(err, kerr.UnknownLeaderEpoch), errors.Is(err, kerr.UnknownTopicOrPartition):
		// The leader has not applied the image this node acts on yet, or
		// has moved past it: wait for the image to settle.
		fl.retryAt = time.Now().Add(f.retryDelay())
		return
	default:
		log("leader refused replica fetch", err)
		fl.retryAt = time.Now().Add(f.m.cfg.FetchBackoff)
		return
	}
	records := wholeBatches(rp.RecordBatches)
	if len(records) > 0 {
		if _, err := p.AppendReplica(records); err != nil {
			if errors.Is(err, engine.ErrReplicaOffset) {
				fl.truncated = false // the log moved under us: check again
			} else {
				log("appending replicated batches failed", err)
			}
			fl.retryAt = time.Now().Add(f.retryDelay())
			return
		}
	}
	if rp.HighWatermark >= 0 {
		p.SetHighWatermark(min(rp.HighWatermark, p.LogEndOffset()))
	}
	if rp.LogStartOffset > p.LogStartOffset() {
		// The leader's log start moved (DeleteRecords, or retention):
		// follow it, so that the deleted records stay deleted when this
		// replica leads. FollowLogStart stops at this replica's high
		// watermark; the next answers carry it the rest of the way.
		if _, err := p.FollowLogStart(rp.LogStartOffset); err != nil {
			log("following the leader's log start offset failed", err)
		}
	}
}

// wholeBatches drops a partial batch at the end of a fetched run (Kafka
// leaders may cut the last one at the size limit).
func wholeBatches(b []byte) []byte {
	n := 0
	for rest := b; len(rest) > 0; {
		first, tail, err := batch.Split(rest)
		if err != nil {
			break
		}
		n += len(first)
		rest = tail
	}
	return b[:n]
}
