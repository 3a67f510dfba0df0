package grouplog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicelog/sluice/engine"
	"github.com/sluicelog/sluice/segment/batch"
)

// partition is one leadership of one partition of the offsets topic: it
// lives from the image naming this broker leader at an epoch until the
// image names another leader or epoch. Its goroutine loads the partition
// into the view and the coordinator, then applies each record as the high
// watermark passes it; it is the view's only writer for the partition's
// groups, so the view follows the log's order.
type partition struct {
	id    int32
	epoch int32
	n     int32             // the topic's partition count: which groups are this partition's
	log   *engine.Partition // set before loaded

	loaded atomic.Bool

	mu        sync.Mutex
	applied   int64         // the view holds every record below it
	appliedCh chan struct{} // closed when applied moves

	ctx  context.Context
	stop context.CancelFunc
	done chan struct{}
}

// applyReadBytes bounds one read of the log while loading or applying.
const applyReadBytes = 1 << 20

// retryInterval paces a load that cannot start yet (the partition is not
// created locally yet) or failed.
const retryInterval = 100 * time.Millisecond

// run follows the leaderships until Close.
func (s *Store) run() {
	defer s.bg.Done()
	for {
		select {
		case <-s.ctx.Done():
			for _, p := range *s.parts.Load() {
				p.stop()
				<-p.done
			}
			return
		case <-s.signal:
		}
		s.sync()
	}
}

// sync brings the partitions this broker serves in line with the
// leaderships: a partition it no longer leads (or leads at a new epoch) is
// stopped and its groups unloaded before any new load starts, so that no
// two goroutines write one group's view.
func (s *Store) sync() {
	n := int32(0)
	want := map[int32]int32{} // partition -> leader epoch
	if t, err := s.cfg.Cluster.Topic(Topic); err == nil {
		n = int32(len(t.Partitions))
		for i := range n {
			if epoch, err := s.cfg.Cluster.LeaderEpoch(Topic, i); err == nil {
				want[i] = epoch
			}
		}
	}
	cur := *s.parts.Load()
	next := make(map[int32]*partition, len(want))
	var gone, started []*partition
	for id, p := range cur {
		if epoch, ok := want[id]; ok && epoch == p.epoch && n == p.n {
			next[id] = p
		} else {
			gone = append(gone, p)
		}
	}
	for id, epoch := range want {
		if next[id] == nil {
			p := &partition{id: id, epoch: epoch, n: n, appliedCh: make(chan struct{}), done: make(chan struct{})}
			p.ctx, p.stop = context.WithCancel(s.ctx)
			next[id] = p
			started = append(started, p)
		}
	}
	if len(gone) == 0 && len(started) == 0 && n == s.n.Load() {
		return
	}
	s.n.Store(n)
	s.parts.Store(&next)
	for _, p := range gone {
		s.unload(p)
	}
	for _, p := range started {
		s.bg.Add(1)
		go s.load(p)
	}
}

// inPartition selects the groups of partition id of n.
func inPartition(id, n int32) func(string) bool {
	return func(g string) bool { return n > 0 && PartitionFor(g, int(n)) == id }
}

// unload stops a partition's goroutine and drops its groups: from the
// coordinator, whose members then hear NOT_COORDINATOR and move, and from
// the view, which the next leadership here loads again from the log.
func (s *Store) unload(p *partition) {
	p.stop()
	<-p.done
	match := inPartition(p.id, p.n)
	members := s.groups.UnloadGroups(match)
	groups, err := s.eng.ForgetGroups(match)
	if err != nil {
		s.logger.Warn("group view not cleared", "partition", p.id, "err", err)
	}
	args := []any{"topic", Topic, "partition", p.id, "leader_epoch", p.epoch, "groups", groups, "groups_unloaded", members}
	if groups == 0 && members == 0 {
		// Nothing moved: of the 50 partitions most hold no group.
		s.logger.Debug("offsets partition unloaded", args...)
		return
	}
	s.logger.Info("offsets partition unloaded: its groups' coordinator is another broker now",
		append([]any{"event", "offsets_partition_unloaded"}, args...)...)
}

// load replays a partition this broker now leads into the view, from the
// log start to the log end as it is now (Kafka's rule: the new leader's
// log is what its followers will hold), hands its groups' memberships to
// the coordinator, and from then on applies what the high watermark
// passes. Until it has loaded, Owns answers COORDINATOR_LOAD_IN_PROGRESS.
func (s *Store) load(p *partition) {
	defer s.bg.Done()
	defer close(p.done)
	for {
		var err error
		if p.log, err = s.eng.Partition(Topic, p.id); err == nil {
			break
		}
		if !sleep(p.ctx, retryInterval) {
			return
		}
	}
	match := inPartition(p.id, p.n)
	for attempt := 1; ; attempt++ {
		err := s.replayAll(p, match)
		if err == nil {
			break
		}
		if p.ctx.Err() != nil {
			return // the leadership ended under the load
		}
		// An error once; the retries every second at debug.
		lv := slog.LevelDebug
		if attempt == 1 {
			lv = slog.LevelError
		}
		s.logger.Log(p.ctx, lv, "loading offsets partition failed; retrying", "topic", Topic, "partition", p.id, "attempt", attempt, "err", err)
		if !sleep(p.ctx, time.Second) {
			return
		}
	}
	s.tail(p)
}

// replayAll rebuilds the partition's groups in the view from the whole
// log and hands their memberships to the coordinator.
func (s *Store) replayAll(p *partition, match func(string) bool) error {
	start := time.Now()
	if _, err := s.eng.ForgetGroups(match); err != nil {
		return err
	}
	from, end := p.log.LogStartOffset(), p.log.LogEndOffset()
	records, err := s.apply(p, from, end)
	if err != nil {
		return err
	}
	states, err := s.eng.GroupStates()
	if err != nil {
		return err
	}
	maps.DeleteFunc(states, func(g string, _ []byte) bool { return !match(g) })
	members := s.groups.LoadGroups(states)
	p.advance(end)
	p.loaded.Store(true)
	args := []any{"topic", Topic, "partition", p.id, "leader_epoch", p.epoch, "records", records,
		"log_start", from, "log_end", end, "groups_with_members", members, "took", time.Since(start).Round(time.Millisecond)}
	if records == 0 && members == 0 {
		// An empty partition: of the 50, most are.
		s.logger.Debug("offsets partition loaded", args...)
		return nil
	}
	s.logger.Info("offsets partition loaded: this broker coordinates its groups", append([]any{"event", "offsets_partition_loaded"}, args...)...)
	return nil
}

// tail applies records as the high watermark passes them, until the
// leadership ends.
func (s *Store) tail(p *partition) {
	t := time.NewTicker(200 * time.Millisecond) // the watermark's wake-ups are enough; this is a safety net
	defer t.Stop()
	failures := 0
	for {
		changed := p.log.Changed()
		p.mu.Lock()
		from := p.applied
		p.mu.Unlock()
		if hw := p.log.HighWatermark(); hw > from {
			if _, err := s.apply(p, from, hw); err != nil {
				if p.ctx.Err() != nil {
					return
				}
				// An error once; the retries every second at debug.
				failures++
				lv := slog.LevelDebug
				if failures == 1 {
					lv = slog.LevelError
				}
				s.logger.Log(p.ctx, lv, "applying offsets records failed; retrying", "topic", Topic, "partition", p.id, "from", from,
					"attempt", failures, "err", err)
				if !sleep(p.ctx, time.Second) {
					return
				}
				continue
			}
			failures = 0
			p.advance(hw)
			continue
		}
		select {
		case <-p.ctx.Done():
			return
		case <-changed:
		case <-t.C:
		}
	}
}

// apply writes the records of [from, to) to the view, one read's worth per
// view batch, and returns how many it applied. A record that does not
// decode is logged and skipped: it must not stop the partition's groups
// from loading.
func (s *Store) apply(p *partition, from, to int64) (int, error) {
	var buf []byte
	var rd batch.Reader
	w := s.eng.NewGroupWrite()
	count := 0
	for off := from; off < to; {
		if err := p.ctx.Err(); err != nil {
			return count, err
		}
		region, err := p.log.ReadReplica(off, applyReadBytes)
		if err != nil {
			return count, err
		}
		if region.Len == 0 {
			region.Release()
			return count, fmt.Errorf("%s-%d: nothing to read at %d, below %d", Topic, p.id, off, to)
		}
		buf, err = region.ReadTo(buf[:0])
		region.Release()
		if err != nil {
			return count, err
		}
		next := off
		for rest := buf; len(rest) > 0 && next < to; {
			one, tail, err := batch.Split(rest)
			if err != nil {
				return count, fmt.Errorf("%s-%d at %d: %w", Topic, p.id, next, err)
			}
			rest = tail
			h, err := rd.Reset(one)
			if err != nil {
				return count, fmt.Errorf("%s-%d at %d: %w", Topic, p.id, next, err)
			}
			if h.NextOffset() <= next {
				continue
			}
			for {
				rec, err := rd.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					return count, fmt.Errorf("%s-%d at %d: %w", Topic, p.id, h.BaseOffset, err)
				}
				if rec.Offset < next {
					continue
				}
				if rec.Offset >= to {
					break
				}
				if h.Control() {
					continue
				}
				r, err := Decode(rec.Key, rec.Value)
				if err != nil {
					s.logger.Warn("offsets record skipped", "partition", p.id, "offset", rec.Offset, "err", err)
					continue
				}
				stage(w, &r)
				count++
			}
			next = min(h.NextOffset(), to)
		}
		if next == off {
			return count, fmt.Errorf("%s-%d: no progress at %d", Topic, p.id, off)
		}
		if err := w.Commit(); err != nil {
			return count, err
		}
		off = next
	}
	return count, nil
}

// stage adds one record's change to a view batch.
func stage(w *engine.GroupWrite, r *Record) {
	switch {
	case r.Kind == KindOffset && r.Tombstone:
		w.DeleteOffset(r.Group, r.Partition)
	case r.Kind == KindOffset:
		w.SetOffset(r.Group, r.Partition, r.TopicID, r.Offset)
	case r.Tombstone:
		w.DeleteGroupState(r.Group)
	default:
		w.SetGroupState(r.Group, append([]byte(nil), r.State...))
	}
}

// advance records that the view holds everything below end.
func (p *partition) advance(end int64) {
	p.mu.Lock()
	if end > p.applied {
		p.applied = end
		close(p.appliedCh)
		p.appliedCh = make(chan struct{})
	}
	p.mu.Unlock()
}

// waitApplied returns once the view holds everything below end, when the
// leadership ends (the next leader loads the rest), or with ctx's error.
func (p *partition) waitApplied(ctx context.Context, end int64) error {
	for {
		p.mu.Lock()
		applied, ch := p.applied, p.appliedCh
		p.mu.Unlock()
		if applied >= end {
			return nil
		}
		select {
		case <-ch:
		case <-p.ctx.Done():
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// sleep waits d or until ctx ends, and reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
