// Package replyq is a connection's ordered reply writer, shared by both
// listeners for produces that must wait for the disk (flush.on.ack).
//
// The connection's goroutine appends a produce's records and hands the
// request to a Writer (Add); the Writer's goroutine waits for the
// request's fdatasync and writes its response, one request after another
// in the order they were added, while the connection goroutine appends the
// next requests. One fdatasync thus covers several pipelined requests.
//
// Invariants: responses leave in request order. While the Writer holds a
// request (Busy), the connection goroutine writes nothing itself: a
// produce goes through the Writer too, and any other request first waits
// (Drain) until the Writer has written everything before it. Once one
// write failed the Writer writes nothing more, but still hands every
// request to serve (broken set) so that it releases what it holds.
//
// The Writer's goroutine and channel are made at the first Add, so a
// connection that never produces to a flush.on.ack topic pays nothing.
package replyq

import (
	"errors"
	"sync/atomic"
)

// ErrWriteFailed is what Add and Drain return once a write of the
// Writer's failed: the connection is broken and must close.
var ErrWriteFailed = errors.New("a pipelined response write failed")

// Writer writes the responses of requests handed to it, in order. Add,
// Busy, Drain and Close are for the one connection goroutine.
type Writer[T any] struct {
	depth int
	serve func(v T, broken bool) error

	entries chan entry[T]
	// outstanding counts the requests added and not yet served.
	outstanding atomic.Int32
	failed      atomic.Bool
	done        chan struct{}
}

type entry[T any] struct {
	v T
	// barrier, when set, marks a Drain: it is closed once every entry
	// before it is served.
	barrier chan struct{}
}

// New returns a Writer that queues up to depth requests ahead of the one
// it serves. serve waits for v's sync and writes its response, unless
// broken (an earlier write failed), and releases v either way; an error
// from it marks the Writer broken (serve closes the socket itself).
func New[T any](depth int, serve func(v T, broken bool) error) *Writer[T] {
	return &Writer[T]{depth: depth, serve: serve}
}

// Add hands v to the writer, blocking while depth requests are queued. It
// returns ErrWriteFailed once a write failed.
func (w *Writer[T]) Add(v T) error {
	if w.entries == nil {
		w.entries = make(chan entry[T], w.depth)
		w.done = make(chan struct{})
		go w.loop()
	}
	w.outstanding.Add(1)
	w.entries <- entry[T]{v: v}
	if w.failed.Load() {
		return ErrWriteFailed
	}
	return nil
}

// Busy reports whether the writer holds requests it has not written: the
// caller must not write a response itself before they are (Drain).
func (w *Writer[T]) Busy() bool { return w.outstanding.Load() > 0 }

// Drain returns once every request added before is served. It returns
// ErrWriteFailed once a write failed.
func (w *Writer[T]) Drain() error {
	if w.entries == nil {
		return nil
	}
	done := make(chan struct{})
	w.entries <- entry[T]{barrier: done}
	<-done
	if w.failed.Load() {
		return ErrWriteFailed
	}
	return nil
}

// Close ends the writer once it has served what it holds. Nothing may be
// added after.
func (w *Writer[T]) Close() {
	if w.entries != nil {
		close(w.entries)
		<-w.done
	}
}

func (w *Writer[T]) loop() {
	defer close(w.done)
	for e := range w.entries {
		if e.barrier != nil {
			close(e.barrier)
			continue
		}
		if err := w.serve(e.v, w.failed.Load()); err != nil {
			w.failed.Store(true)
		}
		w.outstanding.Add(-1)
	}
}
