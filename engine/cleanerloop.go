package engine

import (
	"errors"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicelog/sluice/segment"
	"github.com/sluicelog/sluice/segment/batch"
)

// cleanerTotals count what the background cleaner and Clean did since the
// engine opened (metrics read them).
type cleanerTotals struct {
	runs, bytesRead, bytesWritten, recordsRemoved atomic.Int64
}

func (c *cleanerTotals) add(st *CleanStats) {
	c.runs.Add(1)
	c.bytesRead.Add(st.BytesRead)
	c.bytesWritten.Add(st.BytesWritten)
	c.recordsRemoved.Add(st.RecordsRemoved)
}

// CleanerTotals is what log cleaning did since the engine opened.
type CleanerTotals struct {
	Runs, BytesRead, BytesWritten, RecordsRemoved int64
	// MaxDirtyRatio is the highest dirty ratio the cleaner last measured
	// among compacted partitions (Kafka's max-dirty-percent, as a ratio).
	MaxDirtyRatio float64
}

// CleanerTotals returns what log cleaning did since the engine opened.
func (e *Engine) CleanerTotals() CleanerTotals {
	out := CleanerTotals{Runs: e.cleaned.runs.Load(), BytesRead: e.cleaned.bytesRead.Load(),
		BytesWritten: e.cleaned.bytesWritten.Load(), RecordsRemoved: e.cleaned.recordsRemoved.Load()}
	for _, p := range e.allPartitions() {
		if p.config().Compact {
			out.MaxDirtyRatio = max(out.MaxDirtyRatio, math.Float64frombits(p.dirty.Load()))
		}
	}
	return out
}

// cleanerFailureBackoff is how many log.cleaner.backoff.ms a partition
// whose cleaning failed waits before the next try.
const cleanerFailureBackoff = 10

// startCleaners runs log.cleaner.threads background cleaners, each with
// its share of the dedupe buffer.
func (e *Engine) startCleaners() {
	if e.opts.CleanerDisabled {
		return
	}
	threads := max(e.opts.CleanerThreads, 1)
	claims := &cleanerClaims{busy: map[*Partition]bool{}}
	for range threads {
		e.bg.Add(1)
		go e.cleanerLoop(claims, e.opts.CleanerDedupeBufferSize/int64(threads))
	}
}

// cleanerClaims keeps two cleaners off one partition.
type cleanerClaims struct {
	mu   sync.Mutex
	busy map[*Partition]bool
}

// cleanerLoop cleans the dirtiest compacted partition whose dirty ratio
// passes min.cleanable.dirty.ratio, one after another, and rests
// log.cleaner.backoff.ms when none does.
func (e *Engine) cleanerLoop(claims *cleanerClaims, buffer int64) {
	defer e.bg.Done()
	var m *offsetMap // made on the first cleaning: most engines have no compacted topic
	defer func() {
		if m != nil {
			m.release()
		}
	}()
	for {
		p, due := e.dirtiest(claims)
		if p == nil {
			select {
			case <-e.stop:
				return
			case <-time.After(e.opts.CleanerBackoff):
			}
			continue
		}
		if m == nil {
			m = newOffsetMap(buffer)
		}
		rules := cleanRules{now: e.now(), force: due, throttle: e.cleanerThrottle, stop: e.stop}
		_, err := p.clean(m, rules)
		claims.mu.Lock()
		delete(claims.busy, p)
		claims.mu.Unlock()
		switch {
		case err == nil:
		case errors.Is(err, ErrClosed) && e.stopping.Load():
			return
		case errors.Is(err, errCleanAborted):
			// The log changed under the cleaning (retention,
			// truncation): let it settle before the next try.
			p.cleanerRetryAt.Store(time.Now().Add(e.opts.CleanerBackoff).UnixNano())
		default:
			// A partition that keeps failing waits its turn longer,
			// and the others are cleaned meanwhile.
			p.logger.Error("log cleaning failed", "event", "log_cleaner_error", "err", err)
			p.cleanerRetryAt.Store(time.Now().Add(cleanerFailureBackoff * e.opts.CleanerBackoff).UnixNano())
		}
		select {
		case <-e.stop:
			return
		default:
		}
	}
}

// dirtiest claims the compacted partition most worth cleaning: one past
// max.compaction.lag.ms (due), else the highest dirty ratio at or above
// its min.cleanable.dirty.ratio.
func (e *Engine) dirtiest(claims *cleanerClaims) (*Partition, bool) {
	now := e.now()
	var best *Partition
	bestRatio := -1.0
	for _, p := range e.allPartitions() {
		cfg := p.config()
		if !cfg.Compact || p.Offline() || time.Now().UnixNano() < p.cleanerRetryAt.Load() {
			continue
		}
		segs := p.segments()
		k, end := p.cleanable(segs, cfg, now)
		firstDirty, err := e.meta.cleanerCheckpoint(p.Topic(), p.id)
		if err != nil {
			continue
		}
		firstDirty = max(firstDirty, p.LogStartOffset())
		if k == 0 || firstDirty >= end {
			p.dirty.Store(0) // nothing cleanable is dirty: the gauge must not keep the last cleaning's ratio
			continue
		}
		ratio := dirtyRatio(segs, k, firstDirty)
		p.dirty.Store(math.Float64bits(ratio))
		if overdue(segs, k, firstDirty, cfg, now) {
			// max.compaction.lag.ms has passed for dirty records: this
			// partition goes before any merely dirty one.
			ratio += 1
		} else if ratio < cfg.MinCleanableDirtyRatio {
			continue
		}
		if ratio <= bestRatio {
			continue
		}
		claims.mu.Lock()
		busy := claims.busy[p]
		claims.mu.Unlock()
		if !busy {
			best, bestRatio = p, ratio
		}
	}
	if best != nil {
		claims.mu.Lock()
		if claims.busy[best] {
			best = nil
		} else {
			claims.busy[best] = true
		}
		claims.mu.Unlock()
	}
	return best, bestRatio > 1
}

// overdue reports whether the first dirty batch is older than
// max.compaction.lag.ms (its max timestamp, as Kafka's first batch
// timestamp): Kafka cleans such a partition whatever its dirty ratio, so
// that a key's older records do not outlive the lag.
func overdue(segs []*segment.Segment, k int, firstDirty int64, cfg *TopicConfig, now time.Time) bool {
	if cfg.MaxCompactionLagMs <= 0 || cfg.MaxCompactionLagMs == math.MaxInt64 {
		return false
	}
	for i, s := range segs[:k] {
		if i+1 < len(segs) && segs[i+1].Base() <= firstDirty {
			continue
		}
		b, err := s.ReadBytes(nil, max(firstDirty, s.Base()), batch.HeaderSize)
		if err != nil || len(b) < batch.HeaderSize {
			continue // an emptied segment: the next one's first batch decides
		}
		h, err := batch.ParseHeader(b)
		return err == nil && h.MaxTimestamp >= 0 && h.MaxTimestamp < now.UnixMilli()-cfg.MaxCompactionLagMs
	}
	return false
}
