package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestDurableProduceSurvivesKill9: producers pipeline acks=all produces
// (five requests in flight on each connection) to a flush.on.ack=true
// topic over the Kafka listener; the broker is killed with SIGKILL at a
// random moment and restarted on the same data directory. Every offset
// acknowledged before the kill reads back with the value produced: an ack
// left only after the fdatasync covering its records.
func TestDurableProduceSurvivesKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the binary")
	}
	bin := buildSluiced(t)
	data := t.TempDir()
	addrs := freeAddrs(t, 2)
	args := []string{"--data-dir", data, "--listen", addrs[0], "--kafka-listen", addrs[1], "--config", "sluiced.properties"}
	p := startProc(t, "sluiced", bin, args...)
	p.waitLog(t, "broker started", 30*time.Second)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	adm, err := kgo.NewClient(kgo.SeedBrokers(addrs[1]))
	if err != nil {
		t.Fatal(err)
	}
	on := "true"
	const partitions = 3
	if resp, err := kadm.NewClient(adm).CreateTopic(ctx, partitions, 1, map[string]*string{"flush.on.ack": &on}, "d"); err != nil || resp.Err != nil {
		t.Fatalf("create topic: %v %v", err, resp.Err)
	}
	adm.Close()

	type ack struct {
		partition int32
		offset    int64
	}
	var mu sync.Mutex
	acked := map[ack]string{}
	prodCtx, stopProducing := context.WithCancel(ctx)
	var wg sync.WaitGroup
	const producers = 3
	for id := 0; id < producers; id++ {
		cl, err := kgo.NewClient(kgo.SeedBrokers(addrs[1]), kgo.DefaultProduceTopic("d"),
			kgo.RequiredAcks(kgo.AllISRAcks()), kgo.DisableIdempotentWrite(),
			kgo.MaxProduceRequestsInflightPerBroker(5), kgo.ProducerLinger(0), kgo.ProducerBatchMaxBytes(1024),
			kgo.RecordRetries(1), kgo.RecordDeliveryTimeout(3*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		wg.Add(1)
		go func() {
			defer wg.Done()
			var inner sync.WaitGroup
			for i := 0; prodCtx.Err() == nil; i++ {
				v := fmt.Sprintf("p%d-%07d", id, i)
				inner.Add(1)
				cl.Produce(prodCtx, &kgo.Record{Value: []byte(v)}, func(r *kgo.Record, err error) {
					defer inner.Done()
					if err == nil {
						mu.Lock()
						acked[ack{r.Partition, r.Offset}] = v
						mu.Unlock()
					}
				})
			}
			inner.Wait()
		}()
	}

	time.Sleep(time.Duration(300+rand.IntN(1200)) * time.Millisecond)
	mu.Lock()
	before := len(acked)
	mu.Unlock()
	p.kill9(t)
	stopProducing()
	waitDone := make(chan struct{})
	go func() { wg.Wait(); close(waitDone) }()
	select {
	case <-waitDone:
	case <-time.After(30 * time.Second):
		t.Fatal("producers did not finish after the kill")
	}
	mu.Lock()
	want := make(map[ack]string, len(acked))
	for k, v := range acked {
		want[k] = v
	}
	mu.Unlock()
	if before == 0 {
		t.Fatal("nothing acknowledged before the kill")
	}
	t.Logf("%d records acknowledged before the kill", len(want))

	p = startProc(t, "sluiced (restarted)", bin, args...)
	p.waitLog(t, "broker started", 30*time.Second)
	cons, err := kgo.NewClient(kgo.SeedBrokers(addrs[1]), kgo.ConsumeTopics("d"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	got := map[ack]string{}
	found := 0
	for found < len(want) {
		fs := cons.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read back %d of %d acknowledged records: %v", found, len(want), ctx.Err())
		}
		fs.EachError(func(topic string, part int32, err error) {
			t.Fatalf("fetch %s[%d]: %v", topic, part, err)
		})
		fs.EachRecord(func(r *kgo.Record) {
			k := ack{r.Partition, r.Offset}
			got[k] = string(r.Value)
			if _, ok := want[k]; ok {
				found++
			}
		})
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("partition %d offset %d: read %q after the restart, acknowledged %q", k.partition, k.offset, got[k], v)
		}
	}
	p.stop(t)
}
