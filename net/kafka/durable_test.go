package kafka_test

import (
	"encoding/binary"
	"fmt"
	"sync"
	"syscall"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicelog/sluice/net/broker"
	"github.com/sluicelog/sluice/segment/fsys"
)

func flushOnAck() map[string]*string {
	v := "true"
	return map[string]*string{"flush.on.ack": &v}
}

// A kgo producer with five produce requests in flight on its connection
// and acks=all (without idempotence, which kgo would not let us set the
// requests in flight for), to a flush.on.ack topic: the broker syncs them
// after appending, in its writer, and every record is still acknowledged,
// in the order produced, at ascending offsets, and reads back as written.
func TestPipelinedDurableProduceKgo(t *testing.T) {
	_, addr := startBroker(t, nil)
	createTopic(t, newAdmin(t, addr), "d", 2, flushOnAck())
	prod := newClient(t, addr, kgo.DefaultProduceTopic("d"), kgo.RequiredAcks(kgo.AllISRAcks()), kgo.DisableIdempotentWrite(),
		kgo.MaxProduceRequestsInflightPerBroker(5), kgo.ProducerLinger(0), kgo.ProducerBatchMaxBytes(512),
		kgo.RecordPartitioner(kgo.ManualPartitioner()))
	const n = 600
	offsets := make([]int64, n)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for i := 0; i < n; i++ {
		wg.Add(1)
		r := &kgo.Record{Partition: int32(i % 2), Value: []byte(fmt.Sprintf("v%04d", i))}
		prod.Produce(ctx(t), r, func(r *kgo.Record, err error) {
			defer wg.Done()
			mu.Lock()
			defer mu.Unlock()
			if err != nil && firstErr == nil {
				firstErr = fmt.Errorf("record %s: %w", r.Value, err)
			}
			offsets[i] = r.Offset
		})
	}
	wg.Wait()
	if firstErr != nil {
		t.Fatal(firstErr)
	}
	// Record i is the (i/2)th of partition i%2.
	for i, off := range offsets {
		if want := int64(i / 2); off != want {
			t.Fatalf("record %d at offset %d, want %d", i, off, want)
		}
	}
	cons := newClient(t, addr, kgo.ConsumeTopics("d"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	for _, r := range consume(t, cons, n) {
		if want := fmt.Sprintf("v%04d", 2*r.Offset+int64(r.Partition)); string(r.Value) != want {
			t.Fatalf("partition %d offset %d: %q, want %q", r.Partition, r.Offset, r.Value, want)
		}
	}
}

// recvProduce reads the response to the produce with correlation id corr,
// which must be the next frame.
func (c *rawConn) recvProduce(corr int32, version int16) *kmsg.ProduceResponse {
	c.t.Helper()
	b, err := c.frame()
	if err != nil {
		c.t.Fatalf("reading response %d: %v", corr, err)
	}
	if got := int32(binary.BigEndian.Uint32(b)); got != corr {
		c.t.Fatalf("correlation id %d, want %d", got, corr)
	}
	resp := kmsg.NewPtrProduceResponse()
	resp.SetVersion(version)
	b = b[4:]
	if resp.IsFlexible() {
		b = b[1:] // empty header tags
	}
	if err := resp.ReadFrom(b); err != nil {
		c.t.Fatal(err)
	}
	return resp
}

// Produces pipelined by hand on one connection to a flush.on.ack topic,
// with acks=0 produces and Metadata requests among them: the answers come
// in request order (none for acks=0) with ascending offsets.
func TestPipelinedDurableProduceRawOrder(t *testing.T) {
	_, addr := startBroker(t, nil)
	createTopic(t, newAdmin(t, addr), "d", 1, flushOnAck())
	c := dialRaw(t, addr)
	type sent struct {
		corr int32
		meta bool
	}
	var reqs []sent
	const n = 200
	for i := 0; i < n; i++ {
		switch i % 40 {
		case 13:
			md := kmsg.NewPtrMetadataRequest()
			md.Version = 9
			reqs = append(reqs, sent{corr: c.send(md), meta: true})
		case 27:
			c.send(rawProduce(t, "d", 0, oneBatch(t))) // no answer
		}
		reqs = append(reqs, sent{corr: c.send(rawProduce(t, "d", -1, oneBatch(t)))})
	}
	last := int64(-1)
	for i, r := range reqs {
		if r.meta {
			b, err := c.frame()
			if err != nil {
				t.Fatal(err)
			}
			if got := int32(binary.BigEndian.Uint32(b)); got != r.corr {
				t.Fatalf("metadata: correlation id %d, want %d", got, r.corr)
			}
			continue
		}
		pr := c.recvProduce(r.corr, 9).Topics[0].Partitions[0]
		if pr.ErrorCode != 0 {
			t.Fatalf("request %d: %v", i, kerr.ErrorForCode(pr.ErrorCode))
		}
		if pr.BaseOffset <= last {
			t.Fatalf("request %d at offset %d after %d", i, pr.BaseOffset, last)
		}
		last = pr.BaseOffset
	}
}

// A failed fdatasync answers KAFKA_STORAGE_ERROR to every pipelined
// produce it covered, and the partition stays offline after the disk is
// back.
func TestPipelinedDurableProduceSyncFailureKafka(t *testing.T) {
	faulty := fsys.NewFaulty(fsys.OS{})
	_, addr := startBroker(t, func(cfg *broker.Config) { cfg.FS = faulty })
	createTopic(t, newAdmin(t, addr), "d", 1, flushOnAck())
	c := dialRaw(t, addr)
	if pr := c.recvProduce(c.send(rawProduce(t, "d", -1, oneBatch(t))), 9).Topics[0].Partitions[0]; pr.ErrorCode != 0 {
		t.Fatalf("first produce: %v", kerr.ErrorForCode(pr.ErrorCode))
	}
	faulty.Inject(fsys.Fault{Ops: fsys.OpSync, Err: syscall.EIO, Path: fsys.PathSuffix(".log")})
	const n = 30
	var corrs []int32
	for i := 0; i < n; i++ {
		corrs = append(corrs, c.send(rawProduce(t, "d", -1, oneBatch(t))))
	}
	for i, corr := range corrs {
		pr := c.recvProduce(corr, 9).Topics[0].Partitions[0]
		if pr.ErrorCode != kerr.KafkaStorageError.Code || pr.BaseOffset != -1 {
			t.Fatalf("request %d after the failed sync: %v at offset %d, want KAFKA_STORAGE_ERROR", i, kerr.ErrorForCode(pr.ErrorCode), pr.BaseOffset)
		}
	}
	faulty.Clear()
	if pr := c.recvProduce(c.send(rawProduce(t, "d", -1, oneBatch(t))), 9).Topics[0].Partitions[0]; pr.ErrorCode != kerr.KafkaStorageError.Code {
		t.Fatalf("produce after the disk came back: %v, want KAFKA_STORAGE_ERROR", kerr.ErrorForCode(pr.ErrorCode))
	}
}
