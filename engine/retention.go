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
	doomed := segs[:n]
	kept := append([]*segment.Segment(nil), segs[n:]...)
	p.segs.Store(&kept)
	p.logStart.Store(kept[0].Base())
	p.mu.Unlock()

	var errs []error
	var bytes int64
	for _, s := range doomed {
		bytes += s.Size()
		errs = append(errs, s.Delete())
	}
	p.logger.Info("retention deleted segments", "event", "retention", "segments", n, "bytes", bytes,
		"log_start_offset", kept[0].Base())
	return n, errors.Join(errs...)
}
