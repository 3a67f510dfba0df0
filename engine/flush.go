package engine

// Durability: flushes (flush.ms, flush.messages, rolls) that advance the
// recovery point, and flush.on.ack's group commit, where appenders that
// arrive while one fdatasync runs share the next.

import (
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/sluicelog/sluice/segment"
)

// Flush makes everything appended so far durable (log and indexes) and
// advances the recovery point, so a crash recovery need not scan it.
func (p *Partition) Flush() error {
	return p.flushTo(p.logEnd.Load())
}

// flushTo flushes every segment that may hold offsets in
// [recovery point, upTo) and moves the recovery point to upTo.
func (p *Partition) flushTo(upTo int64) error {
	p.flushMu.Lock()
	defer p.flushMu.Unlock()
	return p.flushLocked(upTo)
}

// tryFlushTo is flushTo unless another flush is running, in which case it
// does nothing and reports false: for the closer, which must not queue
// behind a partition's flushes.
func (p *Partition) tryFlushTo(upTo int64) (bool, error) {
	if !p.flushMu.TryLock() {
		return false, nil
	}
	defer p.flushMu.Unlock()
	return true, p.flushLocked(upTo)
}

// flushLocked is flushTo with flushMu held.
func (p *Partition) flushLocked(upTo int64) error {
	rp := p.recoveryPoint.Load()
	if upTo <= rp {
		return nil
	}
	// Where upTo begins, if the high watermark is there: it was published
	// after its batches were written, so the flush below covers them. A
	// replica's log may be cut under a flush, so its position is not kept.
	var at *watermark
	if w := p.hw.Load(); !p.replicated && w != nil && w.offset == upTo {
		at = w
	}
	segs := p.segments()
	first := sort.Search(len(segs), func(i int) bool { return segs[i].Base() > rp }) - 1
	start := time.Now()
	for _, seg := range segs[max(first, 0):] {
		if seg.Base() >= upTo {
			break
		}
		if err := seg.Flush(); err != nil && !errors.Is(err, segment.ErrClosed) {
			return fmt.Errorf("%s-%d: flush: %w", p.Topic(), p.id, err)
		}
	}
	p.observeFlush(start)
	p.recoveryPoint.Store(upTo)
	p.lastFlushMs.Store(p.eng.now().UnixMilli())
	if p.deleted.Load() {
		return nil
	}
	var err error
	if at != nil {
		err = p.eng.meta.putRecoveryPos(p.Topic(), p.id, upTo, at.segBase, at.pos)
	} else {
		err = p.eng.meta.putRecoveryPoint(p.Topic(), p.id, upTo)
	}
	if err != nil {
		return fmt.Errorf("%s-%d: recovery point: %w", p.Topic(), p.id, err)
	}
	return nil
}

// syncTo is flush.on.ack's group commit: the caller returns once target is
// on disk. One caller at a time leads: it syncs everything written so far
// and moves the synced offset (and, unreplicated, the high watermark),
// which wakes every waiter at once; those it covered return, the others
// elect the next leader. So appenders that arrive while one fdatasync runs
// share the next one. An error has taken the partition offline (fail).
func (p *Partition) syncTo(target int64) error {
	for {
		ch := p.syncChanged()
		if p.synced.Load() >= target {
			return nil
		}
		if !p.syncMu.TryLock() {
			<-ch
			continue
		}
		// After a failed fdatasync the kernel may have dropped the dirty
		// pages it could not write, and a later one succeed without them:
		// once the partition is offline, nothing past the synced offset
		// is acknowledged. fail runs before the lock is let go, so no
		// waiter syncs in between.
		err := p.checkOnline()
		if err == nil {
			err = p.fail(p.syncLocked())
		}
		p.syncMu.Unlock()
		// Wake waiters even when nothing was synced (an error, say), so
		// one of them leads next and meets any error itself.
		p.wakeSync()
		if err != nil {
			return err
		}
	}
}

// syncChanged returns a channel closed the next time a group-commit sync
// ends.
func (p *Partition) syncChanged() <-chan struct{} { return p.syncDone.wait() }

func (p *Partition) wakeSync() { p.syncDone.fire() }

// syncLocked fdatasyncs every segment that holds offsets past the synced
// offset and moves it to the log end; unreplicated, the high watermark
// follows.
func (p *Partition) syncLocked() error {
	synced := p.synced.Load()
	p.mu.Lock()
	end := p.logEnd.Load()
	segs := p.segments()
	active := segs[len(segs)-1]
	pos := active.Size()
	p.mu.Unlock()
	if end <= synced {
		return nil
	}
	start := time.Now()
	for i := len(segs) - 1; i >= 0; i-- {
		if err := segs[i].FlushLog(); err != nil && !errors.Is(err, segment.ErrClosed) {
			return fmt.Errorf("%s-%d: sync: %w", p.Topic(), p.id, err)
		}
		if segs[i].Base() <= synced {
			break
		}
	}
	p.observeFlush(start)
	// The high watermark moves before the synced offset: an appender
	// that sees its offset synced returns at once, and what it was
	// acknowledged must already be visible.
	if !p.replicated {
		p.publish(end, active.Base(), pos)
	}
	p.synced.Store(end)
	return nil
}
