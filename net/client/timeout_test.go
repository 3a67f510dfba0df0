package client

import (
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/sluicelog/sluice/net/protocol"
)

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// silentServer accepts connections, reads whatever comes and never
// answers: a hung broker.
func silentServer(t *testing.T) string {
	ln := listen(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				io.Copy(io.Discard, c)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

func TestNewTimesOutOnSilentServer(t *testing.T) {
	addr := silentServer(t)
	start := time.Now()
	_, err := New(testCtx(t, 20*time.Second), Config{BootstrapServers: []string{addr}, RequestTimeout: 300 * time.Millisecond})
	d := time.Since(start)
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("New against a silent server: %v, want ErrTimeout", err)
	}
	if d < 300*time.Millisecond || d > 5*time.Second {
		t.Fatalf("New failed after %v, want about the 300ms request timeout", d)
	}
	checkNoClientGoroutines(t)
}

func TestRequestTimeout(t *testing.T) {
	// Connect to a real broker, then point the client's cached broker
	// address at a silent server: every request must fail after
	// RequestTimeout, not hang.
	b := startBroker(t, nil)
	cl := newClient(t, b.Addr().String(), func(c *Config) { c.RequestTimeout = 300 * time.Millisecond })
	silent := silentServer(t)
	cl.mu.Lock()
	cl.lastGood = silent
	cl.mu.Unlock()
	cl.cfg.BootstrapServers = []string{silent}

	ctx := testCtx(t, 20*time.Second)
	for name, call := range map[string]func() error{
		"ListTopics": func() error { _, err := cl.ListTopics(ctx); return err },
		"CreateTopic": func() error {
			return cl.CreateTopic(ctx, "t", 1, 1, nil)
		},
		"ListOffset": func() error { _, err := cl.ListOffset(ctx, "t", 0, protocol.LatestTimestamp); return err },
	} {
		start := time.Now()
		err := call()
		d := time.Since(start)
		if !errors.Is(err, ErrTimeout) {
			t.Errorf("%s: %v, want ErrTimeout", name, err)
		}
		if d < 300*time.Millisecond || d > 3*time.Second {
			t.Errorf("%s failed after %v, want about 300ms", name, d)
		}
	}

	// A consumer's fetch times out after RequestTimeout + MaxWait.
	k := cl.NewConsumer(ConsumerConfig{MaxWait: 100 * time.Millisecond})
	defer k.Close()
	k.Assign("t", 0)
	cl.meta.update(&protocol.MetadataResponse{Topics: []protocol.MetadataResponseTopic{{Name: "t", Partitions: []protocol.MetadataResponsePartition{{Partition: 0, Leader: 9}}}}}, time.Now())
	start := time.Now()
	_, err := k.Poll(ctx)
	if !errors.Is(err, ErrTimeout) {
		t.Errorf("Poll against a silent server: %v, want ErrTimeout", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Poll failed after %v", d)
	}
}
