//go:build unix

package request_test

import (
	"context"
	"fmt"
	"syscall"
	"testing"

	"github.com/sluicelog/sluice/engine"
	"github.com/sluicelog/sluice/net/request"
)

// BenchmarkMetadata answers Metadata on a single node holding n
// partitions in topics of at most 1,000: for one topic by name, for one by
// id, and for every topic. One topic should cost the same at every n, and
// every topic should cost in proportion to n.
//
// Each open partition holds descriptors (three today: the active
// segment's log and two indexes), so sizes the process's RLIMIT_NOFILE
// cannot hold are skipped, saying so. Topics use 1 MiB segments so that
// their preallocated indexes stay a few KiB instead of 5 MiB each.
func BenchmarkMetadata(b *testing.B) {
	for _, n := range []int{1_000, 5_000, 10_000, 100_000} {
		b.Run(fmt.Sprintf("partitions=%d", n), func(b *testing.B) { benchMetadata(b, n) })
	}
}

// fdsPerPartition is what an open partition holds today; benchMetadata
// skips sizes that would run out.
const fdsPerPartition = 3

func benchMetadata(b *testing.B, n int) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		b.Fatal(err)
	}
	if need := uint64(n*fdsPerPartition + 2000); lim.Cur < need {
		b.Skipf("%d partitions need about %d descriptors; RLIMIT_NOFILE is %d", n, need, lim.Cur)
	}
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
		if err := eng.CreateTopic(name, int32(min(left, perTopic)), nil); err != nil {
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
