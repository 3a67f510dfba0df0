package segment

import "sync/atomic"

// Handles counts the open handles of every segment that shares it
// (Options.Handles): log file descriptors and index mappings. An owner
// with many segments (an engine with many partitions) keeps their total
// under a budget: it reads the counts, and is woken through Over when the
// descriptors pass a high-water mark, so that it can close idle segments
// (CloseIdle) and park idle active ones (Park). A nil *Handles counts
// nothing. Counting costs an atomic add when a file opens or closes, never
// on a read or an append of an open segment.
type Handles struct {
	files atomic.Int64
	maps  atomic.Int64
	high  atomic.Int64
	over  chan struct{}
}

// NewHandles returns a counter that signals Over whenever a log file
// opens while more than high are open; high <= 0 never signals.
func NewHandles(high int64) *Handles {
	h := &Handles{over: make(chan struct{}, 1)}
	h.high.Store(high)
	return h
}

// SetHigh changes the high-water mark.
func (h *Handles) SetHigh(high int64) { h.high.Store(high) }

// Files returns the number of open log file descriptors.
func (h *Handles) Files() int64 { return h.files.Load() }

// Maps returns the number of index mappings (two per segment whose
// indexes are mapped, counting mappings kept for readers after a remap).
func (h *Handles) Maps() int64 { return h.maps.Load() }

// Over is signalled (it holds at most one signal) when a log file opens
// above the high-water mark.
func (h *Handles) Over() <-chan struct{} { return h.over }

// Nudge signals Over, as a file opening above the high-water mark does:
// for an owner that met EMFILE elsewhere and wants room made.
func (h *Handles) Nudge() {
	if h == nil {
		return
	}
	select {
	case h.over <- struct{}{}:
	default:
	}
}

func (h *Handles) fileOpened() {
	if h == nil {
		return
	}
	n := h.files.Add(1)
	if high := h.high.Load(); high > 0 && n > high {
		select {
		case h.over <- struct{}{}:
		default:
		}
	}
}

func (h *Handles) fileClosed() {
	if h != nil {
		h.files.Add(-1)
	}
}

func (h *Handles) mapped(pairs int64) {
	if h != nil {
		h.maps.Add(2 * pairs)
	}
}
