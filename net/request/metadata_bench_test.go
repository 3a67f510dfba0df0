package request_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/sluicelog/sluice/engine"
	"github.com/sluicelog/sluice/net/request"
)

// BenchmarkMetadata answers Metadata on a single node holding n
// partitions in topics of at most 1,000: for one topic by name, for one by
// id, and for every topic. One topic should cost the same at every n, and
// every topic should cost in proportion to n.
//
// A size the engine refuses for this process's limits (descriptors,
// mappings, disk: engine.ErrResourceLimit) is skipped, saying so. Topics
// use 1 MiB segments so that their indexes stay small.
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
	h := request.New(eng, local, request.Config{})
	ctx := context.Background()
	one := []request.TopicRef{{Name: names[len(names)/2]}}
	id := h.Metadata(ctx, request.ListenerKafka, one, false).Topics[0].ID
	byID := []request.TopicRef{{ID: id}}

	run := func(name string, refs []request.TopicRef, want int) {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				m := h.Metadata(ctx, request.ListenerKafka, refs, false)
				if got := countPartitions(m); got != want {
					b.Fatalf("%d partitions in the answer, want %d", got, want)
				}
			}
		})
	}
	run("one-topic", one, min(n, perTopic))
	run("one-topic-by-id", byID, min(n, perTopic))
	run("all-topics", nil, n)
}

func countPartitions(m request.Metadata) int {
	total := 0
	for _, t := range m.Topics {
		if t.Err != nil {
			return -1
		}
		total += len(t.Partitions)
	}
	return total
}
