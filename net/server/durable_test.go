package server_test

import (
	"fmt"
	"syscall"
	"testing"

	"github.com/sluicelog/sluice/net/broker"
	"github.com/sluicelog/sluice/net/protocol"
	"github.com/sluicelog/sluice/segment/batch"
	"github.com/sluicelog/sluice/segment/fsys"
)

// durableProduce is a produce of n records to each of partitions.
func durableProduce(t *testing.T, topic string, partitions []int32, prefix string, n int) *protocol.ProduceRequest {
	req := &protocol.ProduceRequest{Acks: -1, TimeoutMs: 5000, Topics: []protocol.ProduceRequestTopic{{Name: topic}}}
	for _, p := range partitions {
		req.Topics[0].Partitions = append(req.Topics[0].Partitions,
			protocol.ProduceRequestPartition{Partition: p, Records: records(t, batch.None, fmt.Sprint(prefix, "-", p), n)})
	}
	return req
}

// Produces pipelined on one connection to a flush.on.ack topic are synced
// after they are appended, by the connection's writer: every one is still
// answered, in request order (rawClient.recv checks the correlation ids),
// with ascending offsets, and a request of another kind sent among them
// is answered in its turn.
func TestPipelinedDurableProduceAnswersInOrder(t *testing.T) {
	b := broker.StartTest(t, nil)
	c := dial(t, b.Addr().String())
	createTopic(t, c, "d", 2, "flush.on.ack", "true")
	const n = 200
	type sent struct {
		corr  int32
		parts []int32
		meta  bool
	}
	var reqs []sent
	for i := 0; i < n; i++ {
		if i%50 == 25 {
			reqs = append(reqs, sent{corr: c.send(&protocol.MetadataRequest{Topics: []string{"d"}}), meta: true})
		}
		parts := []int32{int32(i % 2)}
		if i%3 == 0 {
			parts = []int32{0, 1}
		}
		reqs = append(reqs, sent{corr: c.send(durableProduce(t, "d", parts, fmt.Sprint(i), 2)), parts: parts})
	}
	next := map[int32]int64{}
	for i, r := range reqs {
		if r.meta {
			var resp protocol.MetadataResponse
			c.recv(r.corr, &resp)
			continue
		}
		var resp protocol.ProduceResponse
		c.recv(r.corr, &resp)
		for j, pr := range resp.Topics[0].Partitions {
			if pr.ErrorCode != protocol.NoError {
				t.Fatalf("request %d partition %d: %v", i, pr.Partition, pr.ErrorCode)
			}
			if pr.Partition != r.parts[j] || pr.BaseOffset != next[pr.Partition] {
				t.Fatalf("request %d: partition %d at offset %d, want partition %d at %d", i, pr.Partition, pr.BaseOffset, r.parts[j], next[r.parts[j]])
			}
			next[pr.Partition] += 2
		}
	}
	for p, end := range next {
		if got := fetch(t, c, "d", p, 0); got.HighWatermark != end {
			t.Fatalf("partition %d: high watermark %d, want %d", p, got.HighWatermark, end)
		}
	}
}

// A failed fdatasync answers KAFKA_STORAGE_ERROR to every pipelined
// produce it covered, and nothing appended after it is acknowledged: the
// partition is offline.
func TestPipelinedDurableProduceSyncFailure(t *testing.T) {
	faulty := fsys.NewFaulty(fsys.OS{})
	b := broker.StartTest(t, func(cfg *broker.Config) { cfg.FS = faulty })
	c := dial(t, b.Addr().String())
	createTopic(t, c, "d", 1, "flush.on.ack", "true")
	if res := produce(t, c, -1, "d", 0, records(t, batch.None, "ok", 3)); res.ErrorCode != protocol.NoError {
		t.Fatalf("first produce: %v", res.ErrorCode)
	}
	faulty.Inject(fsys.Fault{Ops: fsys.OpSync, Err: syscall.EIO, Path: fsys.PathSuffix(".log")})
	const n = 30
	var corrs []int32
	for i := 0; i < n; i++ {
		corrs = append(corrs, c.send(durableProduce(t, "d", []int32{0}, fmt.Sprint(i), 2)))
	}
	for i, corr := range corrs {
		var resp protocol.ProduceResponse
		c.recv(corr, &resp)
		if pr := resp.Topics[0].Partitions[0]; pr.ErrorCode != protocol.ErrKafkaStorageError || pr.BaseOffset != -1 {
			t.Fatalf("request %d after the failed sync: %v at offset %d, want KAFKA_STORAGE_ERROR", i, pr.ErrorCode, pr.BaseOffset)
		}
	}
	// The disk is back, but what the failed sync left may be lost: the
	// partition stays offline rather than acknowledge it.
	faulty.Clear()
	if res := produce(t, c, -1, "d", 0, records(t, batch.None, "later", 1)); res.ErrorCode != protocol.ErrKafkaStorageError {
		t.Fatalf("produce after the disk came back: %v, want KAFKA_STORAGE_ERROR", res.ErrorCode)
	}
}
