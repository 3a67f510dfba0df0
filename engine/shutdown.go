package engine

// Shutdown and start-up at scale: Close writes, for every partition, what
// the next Open needs to open nothing (the recovery point with the active
// segment's state, and the producer snapshot when the log moved since the
// last one) into one pebble batch with one sync, instead of one synced
// write per partition and key. Open reads those keys back in one pass per
// prefix (preload.go) and opens partitions in a small pool.

import (
	"errors"
	"fmt"
	"runtime"
	"sort"
	"sync"

	"github.com/cockroachdb/pebble/v2"

	"github.com/sluicelog/sluice/segment"
)

// shutdownBatch collects the keys the partitions write as they close.
type shutdownBatch struct {
	mu sync.Mutex
	b  *pebble.Batch
}

func (s *shutdownBatch) set(key, value []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Set(key, value, nil)
}

// closeInto closes the partition for a shutdown: no more appends, every
// segment flushed, then closed; its recovery point (with the active
// segment's state, so that Open resumes it without opening it) and, if
// stale, its producer snapshot go into out.
func (p *Partition) closeInto(out *shutdownBatch) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	end := p.logEnd.Load()
	var snapshot []byte
	if p.producersSaved.Load() != end {
		snapshot = p.producers.marshal(end)
	}
	p.mu.Unlock()
	p.saveHighWatermark()

	var errs []error
	p.flushMu.Lock()
	flushed := p.flushSegmentsLocked(end)
	errs = append(errs, flushed)
	if flushed == nil && !p.deleted.Load() {
		p.recoveryPoint.Store(end)
		active := p.active()
		var v []byte
		if st := active.State(); !active.Unborn() && st.NextOffset == end {
			v = encodeRecovery(end, active.Base(), st)
		} else if !active.Unborn() || end > 0 {
			v = make([]byte, 8)
			copy(v, encodeRecovery(end, 0, segment.State{})[:8])
		}
		if v != nil {
			errs = append(errs, out.set(recoveryKey(p.Topic(), p.id), v))
		}
		if snapshot != nil {
			errs = append(errs, out.set(producersKey(p.Topic(), p.id), snapshot))
		}
	}
	p.flushMu.Unlock()
	for _, s := range p.segments() {
		errs = append(errs, s.Close())
	}
	p.wake() // long-pollers notice the close
	p.wakeEnd()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%s-%d: close: %w", p.Topic(), p.id, err)
	}
	return nil
}

// flushSegmentsLocked makes every segment that may hold offsets in
// [recovery point, upTo) durable, without storing the recovery point.
// Callers hold flushMu.
func (p *Partition) flushSegmentsLocked(upTo int64) error {
	rp := p.recoveryPoint.Load()
	if upTo <= rp {
		return nil
	}
	segs := p.segments()
	first := sort.Search(len(segs), func(i int) bool { return segs[i].Base() > rp }) - 1
	for _, seg := range segs[max(first, 0):] {
		if seg.Base() >= upTo {
			break
		}
		if err := seg.Flush(); err != nil && !errors.Is(err, segment.ErrClosed) {
			return fmt.Errorf("flush: %w", err)
		}
	}
	return nil
}

// closePartitionsForShutdown closes every partition in a small pool and
// commits what they leave for the next Open in one synced batch.
func (e *Engine) closePartitionsForShutdown(ps []*Partition) error {
	out := &shutdownBatch{b: e.meta.db.NewBatch()}
	defer out.b.Close()
	errs := make([]error, len(ps))
	forEachInPool(len(ps), func(i int) { errs[i] = ps[i].closeInto(out) })
	if !out.b.Empty() {
		if err := out.b.Commit(pebble.Sync); err != nil {
			errs = append(errs, fmt.Errorf("meta: shutdown checkpoint: %w", err))
		}
	}
	return errors.Join(errs...)
}

// openWorkers is how many partitions Open or Close handles at once: the
// work is file system calls (a directory listing, a stat) and, at close,
// fdatasyncs, which overlap well.
func openWorkers() int { return min(8, 2*runtime.GOMAXPROCS(0)) }

// forEachInPool runs fn(0..n-1) on openWorkers goroutines.
func forEachInPool(n int, fn func(i int)) {
	var (
		wg   sync.WaitGroup
		next = make(chan int)
	)
	workers := min(openWorkers(), n)
	wg.Add(workers)
	for range workers {
		go func() {
			defer wg.Done()
			for i := range next {
				fn(i)
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

// saveResumeState stores the recovery point at end with the state of s,
// the active segment just parked with everything up to end flushed, and
// the producer snapshot if the log moved since the last, so that an Open
// after a crash resumes s as it is instead of scanning it or replaying its
// headers. Unsynced (the sweep syncs once, syncResumeStates): losing it
// costs the scan, nothing more. Callers hold p.mu.
func (p *Partition) saveResumeState(s *segment.Segment, end int64) {
	if p.deleted.Load() {
		return
	}
	st := s.State()
	if st.NextOffset != end {
		return
	}
	b := p.eng.meta.db.NewBatch()
	defer b.Close()
	err := b.Set(recoveryKey(p.Topic(), p.id), encodeRecovery(end, s.Base(), st), nil)
	snapshot := p.producersSaved.Load() != end
	if err == nil && snapshot {
		err = b.Set(producersKey(p.Topic(), p.id), p.producers.marshal(end), nil)
	}
	if err == nil {
		err = b.Commit(pebble.NoSync)
	}
	if err != nil {
		p.logger.Warn("saving the parked segment's state failed; a crash recovery would scan it", "err", err)
		return
	}
	if snapshot {
		p.producersSaved.Store(end)
	}
}

// syncResumeStates makes the states saveResumeState wrote durable, once
// per sweep that parked segments rather than once per segment.
func (e *Engine) syncResumeStates() {
	if e.meta == nil || e.stopping.Load() {
		return // closing: Close syncs what is left
	}
	if err := e.meta.flush(); err != nil {
		e.logger.Warn("syncing parked segments' states failed", "err", err)
	}
}
