package kafka_test

import (
	"context"
	"fmt"
	"os"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicelog/sluice/engine"
	"github.com/sluicelog/sluice/net/kafka"
)

// A Kafka listener in front of an engine, and a franz-go producer that
// uses it as it would use Kafka.
func Example() {
	dir, _ := os.MkdirTemp("", "sluice-example")
	defer os.RemoveAll(dir)
	eng, err := engine.Open(dir, engine.Options{})
	if err != nil {
		panic(err)
	}
	defer eng.Close()
	s := kafka.New(eng, kafka.Config{Addr: "127.0.0.1:0", AutoCreateTopics: true})
	if err := s.Listen(); err != nil {
		panic(err)
	}
	go s.Serve()
	defer s.Shutdown(context.Background())

	cl, err := kgo.NewClient(kgo.SeedBrokers(s.Addr().String()), kgo.DefaultProduceTopic("greetings"),
		kgo.AllowAutoTopicCreation()) // as with Kafka, Metadata creates a topic only when asked to
	if err != nil {
		panic(err)
	}
	defer cl.Close()
	res := cl.ProduceSync(context.Background(), kgo.StringRecord("hello"), kgo.StringRecord("world"))
	if err := res.FirstErr(); err != nil {
		panic(err)
	}
	fmt.Println(res[0].Record.Topic, res[0].Record.Offset, res[1].Record.Offset)
	// Output: greetings 0 1
}
