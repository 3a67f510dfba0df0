package kafka

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicelog/sluice/engine"
	"github.com/sluicelog/sluice/net/request"
)

// BenchmarkMetadata answers and encodes a Metadata request (v12) on the
// Kafka listener of a single node holding n partitions in topics of at
// most 1,000: for one topic by name, one by id, and every topic. One
// topic should cost the same at every n; every topic, in proportion to n.
//
// A size the engine refuses for this process's limits
// (engine.ErrResourceLimit) is skipped, saying so. Topics use 1 MiB
// segments so that their indexes stay small.
func BenchmarkMetadata(b *testing.B) {
	for _, n := range []int{1_000, 5_000, 10_000, 100_000} {
		b.Run(fmt.Sprintf("partitions=%d", n), func(b *testing.B) { benchMetadata(b, n) })
	}
}

func benchMetadata(b *testing.B, n int) {
	eng, err := engine.Open(b.TempDir(), engine.Options{RetentionCheckInterval: -1,
		TopicDefaults: map[string]string{"segment.bytes": "1048576"}})
	if err != nil {
		b.Fatal(err)
	}
	defer eng.Close()
	const perTopic = 1_000
	var names []string
	for left := n; left > 0; left -= perTopic {
		name := fmt.Sprintf("t%04d", len(names))
		if err := eng.CreateTopic(name, int32(min(left, perTopic)), nil); errors.Is(err, engine.ErrResourceLimit) {
			b.Skipf("%d partitions do not fit this process: %v", n, err)
		} else if err != nil {
			b.Fatal(err)
		}
		names = append(names, name)
	}
	local, err := request.NewLocal(eng, request.LocalConfig{})
	if err != nil {
		b.Fatal(err)
	}
	local.Advertise(request.ListenerKafka, "127.0.0.1", 9092)
	s := New(eng, Config{Handler: request.New(eng, local, request.Config{})})
	ctx := context.Background()
	lay, err := eng.TopicLayout(names[len(names)/2])
	if err != nil {
		b.Fatal(err)
	}
	run := func(name string, topics []kmsg.MetadataRequestTopic, want int) {
		b.Run(name, func(b *testing.B) {
			req := kmsg.NewPtrMetadataRequest()
			req.Version, req.Topics = 12, topics
			var buf []byte
			b.ReportAllocs()
			for b.Loop() {
				resp := s.metadata(ctx, req)
				buf = resp.AppendTo(buf[:0])
				got := 0
				for _, t := range resp.Topics {
					got += len(t.Partitions)
				}
				if got != want {
					b.Fatalf("%d partitions in the answer, want %d", got, want)
				}
			}
			b.ReportMetric(float64(len(buf)), "bytes/answer")
		})
	}
	one := kmsg.NewMetadataRequestTopic()
	one.Topic = kmsg.StringPtr(lay.Name)
	byID := kmsg.NewMetadataRequestTopic()
	byID.TopicID = lay.ID
	run("one-topic", []kmsg.MetadataRequestTopic{one}, int(lay.PartitionCount))
	run("one-topic-by-id", []kmsg.MetadataRequestTopic{byID}, int(lay.PartitionCount))
	run("all-topics", nil, n)
}
