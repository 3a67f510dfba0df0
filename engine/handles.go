package engine

// The handle budget: every open segment holds a log descriptor and two
// index mappings, and a broker with many partitions cannot keep them all
// open (RLIMIT_NOFILE, vm.max_map_count). So segments open on use and give
// their handles back when idle or when the budget runs short:
//
//   - A sealed segment closes its files after SegmentIdleTimeout without a
//     read (CloseIdle); it reopens on the next read.
//   - The active segment of a partition that nobody appended to or read
//     for ActiveSegmentIdleTimeout is parked (segment.Park): its time
//     index gets its final entry, both indexes are trimmed and unmapped,
//     and its log is closed. The next append, read or truncation reopens
//     it, at full size, and appends carry on in it.
//   - Every open segment counts against one budget (segment.Handles, shared
//     by all the engine's segments). When a log opens past the high-water
//     mark the closer wakes and closes or parks the least recently used
//     segments down to the low-water mark.
//
// The closer never waits for a partition's lock (TryLock only), so it
// never stalls an append; a partition busy at that moment is simply not
// parked this time. Before parking a partition with unflushed records it
// fdatasyncs them and moves the recovery point, without the lock: once a
// descriptor is closed, a later writeback error of its dirty pages could
// reach no one, and the partition is clean for the next start-up. The
// partition is parked only if nothing was appended meanwhile.
//
// A reopen that fails for want of descriptors, mappings or disk
// (segment.ErrUnavailable, EMFILE, ENFILE) fails that one call, and the
// closer is woken to make room: the partition stays online (see fail).

import (
	"sort"
	"sync"
	"time"

	"github.com/sluicelog/sluice/segment"
)

// Defaults for the handle budget.
const (
	// DefaultActiveSegmentIdleTimeout is how long an active segment keeps
	// its files without an append or a read.
	DefaultActiveSegmentIdleTimeout = time.Minute
	// DefaultMaxOpenSegments is the budget of open segments when the
	// process's limits are unknown (Limits.Descriptors is -1).
	DefaultMaxOpenSegments = 4096
	// minOpenSegments is the least budget: a few partitions' worth.
	minOpenSegments = 16
)

// handleState is the engine's handle budget: the counter its segments
// share, made on first use so that it is ready before load opens the
// first segment.
type handleState struct {
	once    sync.Once
	handles *segment.Handles
	high    int64 // open segments past which the closer runs
	low     int64 // where it stops
	// sweep runs one budget sweep at a time: the closer's, or that of a
	// call whose open failed for want of descriptors (makeRoom).
	sweep sync.Mutex
}

// segmentHandles returns the counter every segment of the engine shares.
func (e *Engine) segmentHandles() *segment.Handles {
	hs := &e.handles
	hs.once.Do(func() {
		hs.high, hs.low = e.handleMarks()
		hs.handles = segment.NewHandles(hs.high)
	})
	return hs.handles
}

// handleMarks derives the high- and low-water marks of open segments from
// Options.MaxOpenSegments or, by default, from the budgets Open computed
// from the process's limits: each open segment holds one descriptor and
// two mappings.
func (e *Engine) handleMarks() (high, low int64) {
	budget := e.opts.MaxOpenSegments
	if budget < 0 {
		return 0, 0 // no budget
	}
	if budget == 0 {
		budget = DefaultMaxOpenSegments
		if d := e.limits.Descriptors; d > 0 {
			budget = d
		}
		if m := e.limits.Mappings; m > 0 {
			budget = min(budget, m/2)
		}
		// Leave room for the opens that race the closer.
		budget = budget * 9 / 10
	}
	high = max(budget, minOpenSegments)
	return high, high * 3 / 4
}

// OpenSegments reports how many segments hold a log descriptor and how
// many index mappings they hold, across the engine.
func (e *Engine) OpenSegments() (files, mappings int64) {
	h := e.segmentHandles()
	return h.Files(), h.Maps()
}

// closerLoop runs the idle sweep every maintenance interval, and the
// budget sweep as well whenever a segment opens past the high-water mark.
func (e *Engine) closerLoop() {
	h := e.segmentHandles()
	tick := time.NewTicker(e.opts.MaintenanceInterval)
	defer tick.Stop()
	for {
		select {
		case <-e.stop:
			return
		case <-tick.C:
			now := time.Now()
			var sealed, active time.Time
			if t := e.opts.SegmentIdleTimeout; t > 0 {
				sealed = now.Add(-t)
			}
			if t := e.activeIdleTimeout(); t > 0 {
				active = now.Add(-t)
			}
			e.closeIdle(sealed, active)
			e.enforceHandleBudget(e.handles.high)
		case <-h.Over():
			// Past the high-water mark, or EMFILE met below it.
			e.enforceHandleBudget(e.handles.low)
		}
	}
}

// closeIdle closes sealed segments unread since sealed and parks active
// segments unused since active; a zero time skips that kind. It returns
// how many segments it closed or parked.
func (e *Engine) closeIdle(sealed, active time.Time) int {
	n := 0
	for _, p := range e.allPartitions() {
		segs := p.segments()
		if !sealed.IsZero() {
			for _, s := range segs[:len(segs)-1] {
				if s.CloseIdle(sealed) {
					n++
				}
			}
		}
		if !active.IsZero() && p.park(segs[len(segs)-1], active) {
			n++
		}
	}
	if n > 0 {
		e.syncResumeStates()
	}
	return n
}

// ParkIdle parks the active segments of partitions unused for idle, and
// closes sealed segments unread for as long, now: what the closer does on
// its own after ActiveSegmentIdleTimeout and SegmentIdleTimeout. It
// returns how many segments it parked or closed.
func (e *Engine) ParkIdle(idle time.Duration) int {
	t := time.Now().Add(-idle)
	return e.closeIdle(t, t)
}

func (e *Engine) activeIdleTimeout() time.Duration {
	if t := e.opts.ActiveSegmentIdleTimeout; t != 0 {
		return t
	}
	return DefaultActiveSegmentIdleTimeout
}

// enforceHandleBudget closes or parks the least recently used open
// segments, sealed and active alike, when more than trigger are open, down
// to the low-water mark. It returns how many it closed or parked.
// Segments a reader holds, and partitions whose lock is taken, are
// skipped.
func (e *Engine) enforceHandleBudget(trigger int64) int {
	h := e.segmentHandles()
	high, low := e.handles.high, e.handles.low
	if high <= 0 || h.Files() <= trigger {
		return 0
	}
	e.handles.sweep.Lock()
	defer e.handles.sweep.Unlock()
	if h.Files() <= trigger {
		return 0 // another sweep made room meanwhile
	}
	type candidate struct {
		p      *Partition
		s      *segment.Segment
		active bool
		used   int64
	}
	var cands []candidate
	for _, p := range e.allPartitions() {
		segs := p.segments()
		for i, s := range segs {
			if s.HasOpenFiles() {
				cands = append(cands, candidate{p, s, i == len(segs)-1, s.LastUsed().UnixNano()})
			}
		}
	}
	sort.Slice(cands, func(i, j int) bool { return cands[i].used < cands[j].used })
	n := 0
	now := time.Now()
	for _, c := range cands {
		if h.Files() <= low {
			break
		}
		closed := false
		if c.active {
			closed = c.p.park(c.s, now)
		} else {
			closed = c.s.CloseIdle(now.Add(time.Nanosecond))
		}
		if closed {
			n++
		}
	}
	if n > 0 {
		e.syncResumeStates()
	}
	if h.Files() > high {
		e.logger.Warn("open segments stay above the handle budget: readers hold them, or their partitions were busy",
			"open", h.Files(), "budget", high)
	}
	return n
}

// makeRoom runs the budget sweep on the caller's goroutine, for a call
// whose segment could not open its files for want of descriptors or
// mappings: one request touching more partitions than the budget holds
// (a produce or fetch of thousands) opens them faster than the closer,
// woken, can park others. It reports whether it closed or parked any, so
// that the call is worth retrying. The caller may hold its partition's
// lock (the sweep only TryLocks partitions, and so skips that one) but no
// segment's.
func (e *Engine) makeRoom(err error) bool {
	if !transient(err) {
		return false
	}
	return e.enforceHandleBudget(e.handles.low) > 0
}

// park parks s, the partition's active segment, if it was unused since
// idleSince: it flushes unflushed records first (moving the recovery
// point), then parks under p.mu taken with TryLock, if s is still the
// active segment and nothing was appended since the flush. It reports
// whether it parked.
func (p *Partition) park(s *segment.Segment, idleSince time.Time) bool {
	if !s.HasOpenFiles() || !s.LastUsed().Before(idleSince) || p.Offline() {
		return false
	}
	end := p.logEnd.Load()
	if end > p.recoveryPoint.Load() {
		ok, err := p.tryFlushTo(end)
		if err != nil {
			// As a failed flush.ms flush does: the data may be lost.
			p.fail(err)
			return false
		}
		if !ok {
			return false // a flush is running (a roll's): next time
		}
	}
	if !p.mu.TryLock() {
		return false
	}
	defer p.mu.Unlock()
	if p.closed || p.active() != s || p.logEnd.Load() != end || p.recoveryPoint.Load() < end {
		return false
	}
	ok, err := s.Park()
	if err != nil {
		p.logger.Warn("parking the idle active segment failed; it stays open", "segment", s.Base(), "err", err)
		return false
	}
	if ok {
		p.saveResumeState(s, end)
	}
	return ok
}

// parkIfOverBudget parks the active segment of a partition that was just
// opened or created when the engine is past its high-water mark: a start-up
// or a create of many partitions would otherwise open them all before the
// closer can run (the partitions are not listed until their topic is). A
// partition that needs a flush is left open for the closer.
func (p *Partition) parkIfOverBudget() {
	e := p.eng
	h := e.segmentHandles()
	if high := e.handles.high; high <= 0 || h.Files() <= high {
		return
	}
	if p.logEnd.Load() > p.recoveryPoint.Load() {
		return
	}
	// As the closer parks (state saved for a crash start), whatever the
	// segment's last use.
	p.park(p.active(), time.Now().Add(time.Hour))
}
