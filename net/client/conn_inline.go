package client

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/sluicelog/sluice/net/protocol"
)

// Inline connections: the goroutine waiting for a response reads it.
//
// A consumer's fetch connections have no reader goroutine. Handing every
// response frame from a reader to the polling goroutine cost a wake-up per
// frame, about a fifth of a consumer's time at loopback speeds; a Poll
// instead reads the frames off the socket itself, in order, completing
// each call they answer (abandoned ones included) until its own has come.
//
// Nobody reads while the application is busy between Polls, so responses
// sent ahead would sit in the socket and, once it is full, hold up the
// broker's write until its write timeout. A drain timer covers that: armed
// by every send and every wait, it fires drainAfter after the last one and
// reads whatever is pending, as a reader goroutine would have.
//
// Invariants: one goroutine reads at a time (it holds rsem); a read that
// ctx interrupts before a frame begins leaves the stream in step and the
// connection usable, while one interrupted mid-frame breaks it, since the
// rest of the frame would be read as a new one.

// drainAfter is how long responses may wait unread before the drain timer
// reads them.
const drainAfter = 500 * time.Millisecond

// waitInline is wait for an inline connection.
func (c *conn) waitInline(ctx context.Context, cl *call) ([]byte, error) {
	defer c.armDrain()
	for {
		// A completed call wins over an ended ctx (the select below picks
		// at random among ready cases).
		select {
		case <-cl.done:
			return cl.body, cl.err
		default:
		}
		select {
		case <-cl.done:
			return cl.body, cl.err
		case <-ctx.Done():
			return nil, ctx.Err()
		case c.rsem <- struct{}{}:
		}
		err := c.readInline(ctx, cl)
		<-c.rsem
		if err != nil {
			return nil, err
		}
		if c.broken() != nil {
			<-cl.done // fail completes every pending call
			return cl.body, cl.err
		}
	}
}

// readInline reads one response unless cl (if not nil) is complete
// already; rsem is held. It returns ctx's error when ctx interrupted the
// wait for a frame to begin, and nil otherwise: a broken connection
// completes every pending call with its error.
func (c *conn) readInline(ctx context.Context, cl *call) error {
	if cl != nil {
		select {
		case <-cl.done:
			return nil // the drain read it
		default:
		}
	}
	c.mu.Lock()
	if c.err != nil || len(c.pending) == 0 {
		c.mu.Unlock()
		return nil
	}
	// The oldest call's deadline, unless it passed while nobody was
	// reading: then the broker gets the request timeout again, from now.
	deadline := c.pending[0].deadline
	if now := time.Now(); deadline.Before(now) {
		deadline = now.Add(c.pending[0].timeout)
	}
	c.mu.Unlock()
	c.nc.SetReadDeadline(deadline)

	var interrupted atomic.Bool
	stop := func() {}
	if ctx.Done() != nil {
		done := make(chan struct{})
		cancel := context.AfterFunc(ctx, func() {
			defer close(done)
			interrupted.Store(true)
			c.nc.SetReadDeadline(time.Unix(1, 0))
		})
		stop = func() {
			if !cancel() {
				<-done // it ran: let it finish before the next read sets the deadline
			}
		}
	}
	_, err := c.r.Peek(protocol.LengthSize)
	if err != nil {
		stop()
		if interrupted.Load() && isTimeout(err) {
			return ctx.Err() // nothing of the frame was read
		}
		c.fail(readError(c.addr, err))
		return nil
	}
	err = c.readResponse(c.r)
	stop()
	if err != nil {
		if interrupted.Load() && isTimeout(err) {
			err = fmt.Errorf("wait abandoned in the middle of a response: %w", ctx.Err())
		}
		c.fail(readError(c.addr, err))
	}
	return nil
}

// armDrain (re)starts the drain timer while calls are pending.
func (c *conn) armDrain() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil || len(c.pending) == 0 {
		return
	}
	if c.drainT == nil {
		c.drainT = time.AfterFunc(drainAfter, c.drain)
	} else {
		c.drainT.Reset(drainAfter)
	}
}

// drain reads every pending response: nobody has for drainAfter.
func (c *conn) drain() {
	c.rsem <- struct{}{}
	defer func() { <-c.rsem }()
	for {
		c.mu.Lock()
		idle := c.err != nil || len(c.pending) == 0
		c.mu.Unlock()
		if idle {
			return
		}
		c.readInline(context.Background(), nil)
	}
}

// stopDrain stops the drain timer and waits for a drain under way, which
// the broken connection ends at once.
func (c *conn) stopDrain() {
	c.mu.Lock()
	if c.drainT != nil {
		c.drainT.Stop()
	}
	c.mu.Unlock()
	c.rsem <- struct{}{}
	<-c.rsem
}
