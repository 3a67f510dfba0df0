package engine

import (
	"sync"
	"time"
)

// throttleWindow is how much unused rate the throttle may bank: after an
// idle spell, a cleaning starts at the limit rather than in a burst of
// everything the idle time saved (Kafka's throttler checks its rate over
// windows of about this length too).
const throttleWindow = 300 * time.Millisecond

// throttle paces the log cleaner's reads and writes to
// log.cleaner.io.max.bytes.per.second: the sum over every cleaning at
// once, as Kafka's one throttler for all cleaner threads. It keeps the time
// by which the bytes accounted so far are paid for at the rate, and each
// wait sleeps until then; over any span the bytes stay within the rate
// times the span plus throttleWindow. A nil throttle does not pace. It is
// safe for concurrent use.
type throttle struct {
	rate  float64 // bytes per second
	now   func() time.Time
	sleep func(d time.Duration, stop, gone <-chan struct{}) error

	mu   sync.Mutex
	paid time.Time // when the bytes accounted so far are within the rate
}

func newThrottle(rate float64, now func() time.Time, sleep func(d time.Duration, stop, gone <-chan struct{}) error) *throttle {
	if rate <= 0 {
		return nil
	}
	return &throttle{rate: rate, now: now, sleep: sleep, paid: now()}
}

// wait accounts n bytes of I/O and sleeps until they are paid for; it
// gives up with ErrClosed when stop closes (the engine stops) and with
// errCleanAborted when gone does (the partition was deleted).
func (t *throttle) wait(n int64, stop, gone <-chan struct{}) error {
	if t == nil {
		return nil
	}
	t.mu.Lock()
	now := t.now()
	// After an idle spell, at most throttleWindow of the unused rate is
	// banked.
	t.paid = later(t.paid, now.Add(-throttleWindow)).Add(time.Duration(float64(n) / t.rate * float64(time.Second)))
	due := t.paid
	t.mu.Unlock()
	if d := due.Sub(now); d > 0 {
		return t.sleep(d, stop, gone)
	}
	return nil
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// sleepUnlessStopped sleeps d, or until stop (ErrClosed) or gone
// (errCleanAborted) closes.
func sleepUnlessStopped(d time.Duration, stop, gone <-chan struct{}) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-stop:
		return ErrClosed
	case <-gone:
		return errCleanAborted
	}
}
