package engine

// The periodic duties of a partition: scheduled flushes and retention by
// retention.ms and retention.bytes (cleanup.policy delete), which drops
// whole sealed segments from the front of the log.

import (
	"errors"
	"time"

	"github.com/sluicelog/sluice/segment"
)

// maintain runs the periodic duties: flush.ms and, when due, retention.
func (p *Partition) maintain(now time.Time, retention bool) {
	cfg := p.config()
	if cfg.FlushMs < 1<<62 && p.logEnd.Load() > p.recoveryPoint.Load() &&
		now.UnixMilli()-p.lastFlushMs.Load() >= cfg.FlushMs {
		if err := p.Flush(); err != nil {
			p.logger.Error("scheduled flush failed", "err", err)
		}
	}
	p.saveHighWatermark()
	if exp := p.eng.opts.ProducerIDExpiration; exp > 0 {
		p.mu.Lock()
		p.producers.expire(now.Add(-exp).UnixMilli())
		p.mu.Unlock()
	}
	if retention {
		if _, err := p.EnforceRetention(); err != nil {
			p.logger.Error("retention failed", "err", err)
		}
	}
}

// EnforceRetention deletes the oldest segments that retention.ms or
// retention.bytes no longer allow, never the active one, and moves the log
// start offset. It returns how many segments it deleted.
func (p *Partition) EnforceRetention() (int, error) {
	cfg := p.config()
	if !cfg.Delete {
		// cleanup.policy=compact alone keeps every key's newest record
		// for as long as the topic exists.
		return 0, nil
	}
	now := p.eng.now().UnixMilli()
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return 0, nil
	}
	segs := p.segments()
	n := 0
	if cfg.RetentionMs >= 0 {
		for i := 0; i < len(segs)-1; i++ {
			if segs[i].Size() == 0 {
				// Emptied by the log cleaner (compact,delete): it has no
				// time of its own, and goes with the next expired one.
				continue
			}
			mt, err := segs[i].MaxTimestamp()
			if err != nil {
				p.mu.Unlock()
				return 0, err
			}
			if mt < 0 || now-mt <= cfg.RetentionMs {
				break
			}
			n = i + 1
		}
	}
	if cfg.RetentionBytes >= 0 {
		var total int64
		for _, s := range segs[n:] {
			total += s.Size()
		}
		excess := total - cfg.RetentionBytes
		for n < len(segs)-1 && excess-segs[n].Size() >= 0 {
			excess -= segs[n].Size()
			n++
		}
	}
	if n == 0 {
		p.mu.Unlock()
		return 0, nil
	}
	doomed := p.dropFrontLocked(n, 0)
	start := p.logStart.Load()
	p.mu.Unlock()

	bytes, err := deleteDropped(doomed)
	p.logger.Info("retention deleted segments", "event", "retention", "segments", n, "bytes", bytes,
		"log_start_offset", start)
	return n, err
}

// dropFrontLocked takes the first n segments out of the list (never the
// active one) and moves the log start to start, or to the first kept
// segment's base when that is later; it never moves the log start back.
// Retention and DeleteRecords share it. The caller holds mu, and deletes
// the returned segments' files (deleteDropped) once it has let go:
// readers of a dropped segment see it closed and look again
// (reloadSegments), finding their offset below the log start.
func (p *Partition) dropFrontLocked(n int, start int64) []*segment.Segment {
	segs := p.segments()
	n = min(n, len(segs)-1)
	if n <= 0 {
		if start > p.logStart.Load() {
			p.logStart.Store(start)
		}
		return nil
	}
	doomed := segs[:n]
	kept := append([]*segment.Segment(nil), segs[n:]...)
	p.segs.Store(&kept)
	p.logStart.Store(max(start, kept[0].Base(), p.logStart.Load()))
	return doomed
}

// deleteDropped deletes the files of segments dropFrontLocked took out,
// returning how many bytes they held.
func deleteDropped(doomed []*segment.Segment) (int64, error) {
	var errs []error
	var bytes int64
	for _, s := range doomed {
		bytes += s.Size()
		errs = append(errs, s.Delete())
	}
	return bytes, errors.Join(errs...)
}
