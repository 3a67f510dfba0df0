package client

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/sluicelog/sluice/net/broker"
)

// startBroker starts an in-process broker on 127.0.0.1:0.
func startBroker(t *testing.T, edit func(*broker.Config)) *broker.Broker {
	t.Helper()
	return broker.StartTest(t, edit)
}

// newClient connects to b and closes the client when the test ends,
// checking that the client's goroutines are gone after that.
func newClient(t *testing.T, addr string, edit func(*Config)) *Client {
	t.Helper()
	cfg := Config{BootstrapServers: []string{addr}, RequestTimeout: 10 * time.Second}
	if edit != nil {
		edit(&cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cl, err := New(ctx, cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		cl.Close()
		checkNoClientGoroutines(t)
	})
	return cl
}

// ourGoroutines are the long-lived goroutines this package starts.
var ourGoroutines = []string{"client.(*conn).readLoop", "client.(*conn).drain", "client.(*sender).run", "client.(*GroupConsumer).heartbeatLoop", "client.(*GroupConsumer).metadataLoop"}

// allGoroutines returns the stack of every goroutine.
func allGoroutines() []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	return strings.Split(string(buf), "\n\n")
}

// clientGoroutines returns the stacks of the package's goroutines still
// running.
func clientGoroutines() []string {
	var out []string
	for _, g := range allGoroutines() {
		for _, name := range ourGoroutines {
			if strings.Contains(g, name) {
				out = append(out, g)
				break
			}
		}
	}
	return out
}

// checkNoClientGoroutines waits (with a deadline, no fixed sleep) until
// none of the package's goroutines is left.
func checkNoClientGoroutines(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		left := clientGoroutines()
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("%d client goroutines leaked:\n%s", len(left), strings.Join(left, "\n\n"))
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func testCtx(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
