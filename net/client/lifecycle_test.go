package client

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicelog/sluice/net/protocol"
)

func TestNoGoroutineLeaks(t *testing.T) {
	b := startBroker(t, nil)
	ctx := testCtx(t, 30*time.Second)

	// A round of everything a client does, then close it all.
	round := func() {
		cl, err := New(ctx, Config{BootstrapServers: []string{b.Addr().String()}})
		if err != nil {
			t.Fatal(err)
		}
		if err := cl.CreateTopic(ctx, "leaks", 2, 1, nil); err != nil && !errors.Is(err, protocol.ErrTopicAlreadyExists) {
			t.Fatal(err)
		}
		for range 3 {
			p, err := cl.NewProducer(ProducerConfig{Partitioner: ManualPartitioner()})
			if err != nil {
				t.Fatal(err)
			}
			for i := range 100 {
				if err := p.Send(ctx, &Record{Topic: "leaks", Partition: int32(i % 2), Value: []byte("x")}, nil); err != nil {
					t.Fatal(err)
				}
			}
			if err := p.Close(ctx); err != nil {
				t.Fatal(err)
			}
			k := cl.NewConsumer(ConsumerConfig{MaxWait: 10 * time.Millisecond})
			k.Assign("leaks", 0, 1)
			if _, err := k.Poll(ctx); err != nil {
				t.Fatal(err)
			}
			k.Close()
		}
		if err := cl.Close(); err != nil {
			t.Fatal(err)
		}
		checkNoClientGoroutines(t)
	}
	// Count the goroutines of the client and those the broker runs per
	// client connection: a connection the client forgets to close keeps
	// the latter alive. (Counting all goroutines would count the broker's
	// storage engine too, which comes and goes on its own.)
	count := func() int {
		n := 0
		for _, g := range allGoroutines() {
			if strings.Contains(g, "sluice/net/client.") && !strings.Contains(g, "client.TestNoGoroutineLeaks") ||
				strings.Contains(g, "sluice/net/server.(*conn)") {
				n++
			}
		}
		return n
	}
	before := runtime.NumGoroutine()
	base := count()
	for range 2 {
		round()
	}
	waitFor(t, 5*time.Second, "client and connection goroutines to end", func() bool { return count() <= base })
	t.Logf("goroutines: %d in all before, %d after; %d of the client's and its connections' before and after",
		before, runtime.NumGoroutine(), base)
}

func TestClientCloseStopsProducersAndConsumers(t *testing.T) {
	b := startBroker(t, nil)
	ctx := testCtx(t, 30*time.Second)
	cl, err := New(ctx, Config{BootstrapServers: []string{b.Addr().String()}})
	if err != nil {
		t.Fatal(err)
	}
	if err := cl.CreateTopic(ctx, "stop", 1, 1, nil); err != nil {
		t.Fatal(err)
	}
	// A producer holding records (a linger longer than the test) and a
	// consumer in a long poll.
	p, err := cl.NewProducer(ProducerConfig{Partitioner: ManualPartitioner(), Linger: time.Hour, BatchSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	var failed atomic.Int64
	for range 10 {
		err := p.Send(ctx, &Record{Topic: "stop", Partition: 0, Value: []byte("x")}, func(_ RecordMetadata, err error) {
			if errors.Is(err, ErrClosed) {
				failed.Add(1)
			}
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	k := cl.NewConsumer(ConsumerConfig{MaxWait: time.Minute})
	k.Assign("stop", 0)
	polled := make(chan error, 1)
	go func() {
		_, err := k.Poll(context.Background())
		polled <- err
	}()
	// Wait for the poll to be on the wire (its connection exists).
	waitFor(t, 5*time.Second, "the long poll to start", func() bool {
		k.pool.mu.Lock()
		defer k.pool.mu.Unlock()
		return len(k.pool.slots) > 0
	})

	cl.Close()
	if err := <-polled; !errors.Is(err, ErrClosed) {
		t.Fatalf("Poll during Client.Close: %v", err)
	}
	if failed.Load() != 10 {
		t.Fatalf("%d of 10 queued records failed with ErrClosed", failed.Load())
	}
	if err := p.Send(ctx, &Record{Topic: "stop", Value: []byte("x")}, nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("Send after Client.Close: %v", err)
	}
	if _, err := cl.ListTopics(ctx); !errors.Is(err, ErrClosed) {
		t.Fatalf("ListTopics after Close: %v", err)
	}
	if _, err := cl.NewProducer(ProducerConfig{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("NewProducer after Close: %v", err)
	}
	if err := p.Close(ctx); err != nil {
		t.Fatalf("Producer.Close after Client.Close: %v", err)
	}
	checkNoClientGoroutines(t)
}
