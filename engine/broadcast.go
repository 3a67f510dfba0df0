package engine

import "sync"

// broadcast wakes every goroutine waiting for an event at once: waiters
// take the current channel, and fire closes it (the next wait gets a new
// one). A waiter takes the channel before it checks its condition, so an
// event between the check and the wait still wakes it.
type broadcast struct {
	mu sync.Mutex
	ch chan struct{}
}

// wait returns the channel the next fire closes.
func (b *broadcast) wait() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ch == nil {
		b.ch = make(chan struct{})
	}
	return b.ch
}

// fire wakes every waiter.
func (b *broadcast) fire() {
	b.mu.Lock()
	if b.ch != nil {
		close(b.ch)
		b.ch = nil
	}
	b.mu.Unlock()
}
