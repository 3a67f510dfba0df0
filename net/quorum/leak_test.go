package quorum

import (
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestCloseLeavesNothing: a closed cluster leaves no goroutines behind.
func TestCloseLeavesNothing(t *testing.T) {
	before := runtime.NumGoroutine()
	c := newCluster(t, 3, nil)
	l := c.leader()
	propose(t, c.nodes[c.follower(l)], "x")
	if _, err := c.nodes[c.follower(l)].LeaderCall(ctxFor(t, 5*time.Second), 1, nil); err != nil {
		t.Fatal(err)
	}
	c.closeAll()
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			s := string(buf[:runtime.Stack(buf, true)])
			var ours []string
			for _, g := range strings.Split(s, "\n\n") {
				if strings.Contains(g, "raft") || strings.Contains(g, "quorum") || strings.Contains(g, "pebble") {
					ours = append(ours, g)
				}
			}
			t.Fatalf("%d goroutines before, %d after Close:\n%s", before, runtime.NumGoroutine(), strings.Join(ours, "\n\n"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}
