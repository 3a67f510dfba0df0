package client_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/sluicelog/sluice/net/client"
)

func ExampleClient_NewGroupConsumer() {
	addr, stop := startBroker()
	defer stop()
	ctx := context.Background()
	cl, err := client.New(ctx, client.Config{BootstrapServers: []string{addr}})
	if err != nil {
		log.Fatal(err)
	}
	defer cl.Close()
	if err := cl.CreateTopic(ctx, "orders", 2, 1, nil); err != nil {
		log.Fatal(err)
	}
	p, err := cl.NewProducer(client.ProducerConfig{Partitioner: client.ManualPartitioner()})
	if err != nil {
		log.Fatal(err)
	}
	for i := 0; i < 4; i++ {
		if _, err := p.SendSync(ctx, &client.Record{Topic: "orders", Partition: int32(i % 2), Value: []byte(fmt.Sprint("order ", i))}); err != nil {
			log.Fatal(err)
		}
	}
	p.Close(ctx)

	// Members of group "billing" share the partitions of "orders"; each
	// resumes from the group's committed offsets.
	var g *client.GroupConsumer
	g, err = cl.NewGroupConsumer(client.GroupConfig{
		GroupID: "billing", Topics: []string{"orders"}, AutoOffsetReset: "earliest",
		OnPartitionsRevoked: func(ctx context.Context, ps []client.TopicPartition) {
			// The last chance to commit what was processed.
			if err := g.CommitSync(ctx); err != nil {
				log.Print(err)
			}
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	read := 0
	deadline := time.Now().Add(30 * time.Second)
	for read < 4 && time.Now().Before(deadline) {
		recs, err := g.Poll(ctx)
		if err != nil {
			log.Fatal(err)
		}
		read += len(recs)
		g.CommitAsync(nil, nil)
	}
	if err := g.CommitSync(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println("read", read, "records; owned", g.Assignment())
	g.Close()

	offs, err := cl.FetchGroupOffsets(ctx, "billing", nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("committed:", offs[client.TopicPartition{Topic: "orders", Partition: 0}].Offset, offs[client.TopicPartition{Topic: "orders", Partition: 1}].Offset)
	// Output:
	// read 4 records; owned [{orders 0} {orders 1}]
	// committed: 2 2
}
