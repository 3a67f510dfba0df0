package engine

import (
	"sync"
	"testing"
	"time"
)

// throttleClock is a clock that moves only when the throttle sleeps or
// the test says so.
type throttleClock struct {
	mu    sync.Mutex
	t     time.Time
	slept time.Duration
}

func (c *throttleClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *throttleClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func (c *throttleClock) sleep(d time.Duration, _, _ <-chan struct{}) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t, c.slept = c.t.Add(d), c.slept+d
	return nil
}

// TestThrottlePaces: a busy cleaner's bytes take exactly bytes/rate, an
// idle spell banks at most throttleWindow of rate, and no limit means no
// wait.
func TestThrottlePaces(t *testing.T) {
	c := &throttleClock{t: time.Unix(1_800_000_000, 0)}
	th := newThrottle(1e6, c.now, c.sleep) // 1 MB/s
	for range 10 {
		if err := th.wait(100_000, nil, nil); err != nil {
			t.Fatal(err)
		}
		c.advance(10 * time.Millisecond) // the work between the waits
	}
	// The work between the first wait and the last counts toward the
	// pace: 9 spells of it.
	if want := time.Second - 90*time.Millisecond; c.slept < want-time.Millisecond || c.slept > want+time.Millisecond {
		t.Fatalf("1 MB at 1 MB/s with 90 ms of work between waits slept %v, want %v", c.slept, want)
	}

	c.advance(time.Hour)
	c.slept = 0
	if err := th.wait(1_000_000, nil, nil); err != nil {
		t.Fatal(err)
	}
	if want := time.Second - throttleWindow; c.slept < want-time.Millisecond || c.slept > want+time.Millisecond {
		t.Fatalf("1 MB after an idle hour slept %v, want %v (only %v of the idle rate banked)", c.slept, want, throttleWindow)
	}

	if th := newThrottle(0, c.now, c.sleep); th != nil {
		t.Fatal("a zero rate made a throttle")
	}
	var none *throttle
	if err := none.wait(1<<40, nil, nil); err != nil {
		t.Fatal(err)
	}
}

// TestThrottleSharedAndStoppable: waits from several goroutines share one
// rate (log.cleaner.threads cleaners together stay within
// log.cleaner.io.max.bytes.per.second), and a wait ends with ErrClosed
// when the engine stops and errCleanAborted when the partition goes.
func TestThrottleSharedAndStoppable(t *testing.T) {
	const rate, chunk, waits = 4e6, 100_000, 10 // 2 MB over two goroutines
	th := newThrottle(rate, time.Now, sleepUnlessStopped)
	start := time.Now()
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range waits {
				if err := th.wait(chunk, nil, nil); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	// A lower bound only: sleeping is never shorter than asked.
	if took, least := time.Since(start), time.Duration(2*waits*chunk/rate*float64(time.Second)); took < least {
		t.Fatalf("2 MB at 4 MB/s from two goroutines took %v, less than %v", took, least)
	}

	done := make(chan error, 1)
	for _, closeStop := range []bool{false, true} {
		stop, gone := make(chan struct{}), make(chan struct{})
		go func() { done <- th.wait(1e9, stop, gone) }() // 250 s at the rate
		want := errCleanAborted
		if closeStop {
			close(stop)
			want = ErrClosed
		} else {
			close(gone)
		}
		select {
		case err := <-done:
			if err != want {
				t.Fatalf("stopped wait: %v, want %v", err, want)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("a wait went on after its channel closed")
		}
	}
}
