package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/sluicelog/sluice/net/broker"
	"github.com/sluicelog/sluice/net/client"
	"github.com/sluicelog/sluice/net/protocol"
)

// startBroker starts an in-process broker on 127.0.0.1 with a free port
// and a temporary data directory, as a test would with broker.StartTest.
func startBroker() (addr string, stop func()) {
	dir, err := os.MkdirTemp("", "sluice-example-")
	if err != nil {
		log.Fatal(err)
	}
	cfg := broker.DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.DataDir = dir
	b, err := broker.Start(cfg, nil)
	if err != nil {
		log.Fatal(err)
	}
	return b.Addr().String(), func() {
		b.Close(context.Background())
		os.RemoveAll(dir)
	}
}

func Example_produce() {
	addr, stop := startBroker()
	defer stop()
	ctx := context.Background()

	cl, err := client.New(ctx, client.Config{BootstrapServers: []string{addr}})
	if err != nil {
		log.Fatal(err)
	}
	defer cl.Close()
	if err := cl.CreateTopic(ctx, "greetings", 3, 1, nil); err != nil {
		log.Fatal(err)
	}

	p, err := cl.NewProducer(client.ProducerConfig{})
	if err != nil {
		log.Fatal(err)
	}
	// Records with the same key go to the same partition, the one Kafka's
	// Java client would choose. Send returns at once; each callback runs
	// when its record is acknowledged (in order within a partition).
	names := []string{"ada", "grace", "ada"}
	results := make([]client.RecordMetadata, len(names))
	for i, name := range names {
		err := p.Send(ctx, &client.Record{
			Topic: "greetings", Key: []byte(name), Value: []byte("hello " + name),
		}, func(md client.RecordMetadata, err error) {
			if err != nil {
				log.Print(err)
			}
			results[i] = md
		})
		if err != nil {
			log.Fatal(err)
		}
	}
	// Close delivers everything queued, and every callback has run when
	// it returns.
	if err := p.Close(ctx); err != nil {
		log.Fatal(err)
	}
	for i, md := range results {
		fmt.Printf("%s went to partition %d offset %d\n", names[i], md.Partition, md.Offset)
	}
	fmt.Println("ada's partition:", client.KeyPartition([]byte("ada"), 3))

	err = cl.CreateTopic(ctx, "greetings", 3, 1, nil)
	fmt.Println("again:", errors.Is(err, protocol.ErrTopicAlreadyExists))
	// Output:
	// ada went to partition 2 offset 0
	// grace went to partition 0 offset 0
	// ada went to partition 2 offset 1
	// ada's partition: 2
	// again: true
}

func Example_consume() {
	addr, stop := startBroker()
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	cl, err := client.New(ctx, client.Config{BootstrapServers: []string{addr}})
	if err != nil {
		log.Fatal(err)
	}
	defer cl.Close()
	// ManualPartitioner: each record names its partition.
	p, err := cl.NewProducer(client.ProducerConfig{Partitioner: client.ManualPartitioner()})
	if err != nil {
		log.Fatal(err)
	}
	for i := range 5 {
		// The broker creates the topic on first use (auto.create.topics.enable).
		if _, err := p.SendSync(ctx, &client.Record{Topic: "events", Partition: 0, Value: fmt.Appendf(nil, "event %d", i)}); err != nil {
			log.Fatal(err)
		}
	}
	p.Close(ctx)

	k := cl.NewConsumer(client.ConsumerConfig{MaxWait: 100 * time.Millisecond})
	defer k.Close()
	k.Assign("events", 0)
	k.Seek("events", 0, 2) // skip the first two
	for k.Position("events", 0) < 5 {
		recs, err := k.Poll(ctx)
		if err != nil {
			log.Fatal(err)
		}
		for _, r := range recs {
			fmt.Printf("%d: %s\n", r.Offset, r.Value)
		}
	}
	// Output:
	// 2: event 2
	// 3: event 3
	// 4: event 4
}
