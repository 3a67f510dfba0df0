package enginebench

import (
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync/atomic"
	"time"
)

// maxStallDumps bounds how many stalls a run reports.
const maxStallDumps = 5

// stallWatch watches the appends in flight and, when one has run longer than
// threshold, writes the stacks of every goroutine that is inside Sluice's
// code at that moment: where the append waits, and what else runs.
type stallWatch struct {
	threshold time.Duration
	w         io.Writer
	// started[g] is when producer g's current append began (Unix ns), 0
	// when it is between appends; seq[g] numbers its appends.
	started []atomic.Int64
	seq     []atomic.Int64
	stop    chan struct{}
	done    chan struct{}
	dumps   int
}

// newStallWatch returns nil (watch nothing) unless threshold > 0.
func newStallWatch(threshold time.Duration, w io.Writer, producers int) *stallWatch {
	if threshold <= 0 || w == nil {
		return nil
	}
	s := &stallWatch{threshold: threshold, w: w,
		started: make([]atomic.Int64, producers), seq: make([]atomic.Int64, producers),
		stop: make(chan struct{}), done: make(chan struct{})}
	go s.loop()
	return s
}

func (s *stallWatch) begin(g int) {
	if s != nil {
		s.seq[g].Add(1)
		s.started[g].Store(time.Now().UnixNano())
	}
}

func (s *stallWatch) end(g int) {
	if s != nil {
		s.started[g].Store(0)
	}
}

// close stops the watch; later calls do nothing.
func (s *stallWatch) close() {
	if s != nil && s.stop != nil {
		close(s.stop)
		<-s.done
		s.stop = nil
	}
}

func (s *stallWatch) loop() {
	defer close(s.done)
	tick := time.NewTicker(max(s.threshold/4, time.Millisecond))
	defer tick.Stop()
	dumped := make([]int64, len(s.started))
	for {
		select {
		case <-s.stop:
			return
		case <-tick.C:
		}
		for g := range s.started {
			t0 := s.started[g].Load()
			if t0 == 0 || s.dumps >= maxStallDumps {
				continue
			}
			n := s.seq[g].Load()
			if age := time.Since(time.Unix(0, t0)); age >= s.threshold && dumped[g] != n {
				dumped[g] = n
				s.dumps++
				s.dump(g, n, age)
			}
		}
	}
}

func (s *stallWatch) dump(g int, n int64, age time.Duration) {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	fmt.Fprintf(s.w, "stall: producer %d, append #%d in flight for %v; goroutines in sluice:\n", g, n, age.Round(time.Millisecond))
	for _, st := range strings.Split(string(buf), "\n\n") {
		if !strings.Contains(st, "github.com/sluicelog/sluice/engine") && !strings.Contains(st, "github.com/sluicelog/sluice/segment") {
			continue
		}
		// Keep the goroutine line and the function lines, not the paths.
		for _, line := range strings.Split(st, "\n") {
			if !strings.HasPrefix(line, "\t") {
				fmt.Fprintf(s.w, "    %s\n", line)
			}
		}
		fmt.Fprintln(s.w)
	}
}
