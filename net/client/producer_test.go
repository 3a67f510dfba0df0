package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicelog/sluice/net/broker"
	"github.com/sluicelog/sluice/net/protocol"
	"github.com/sluicelog/sluice/segment/batch"
)

// consumeAll reads partitions from offset 0 until n records have come.
func consumeAll(t *testing.T, cl *Client, topic string, partitions []int32, n int) []ConsumerRecord {
	t.Helper()
	k := cl.NewConsumer(ConsumerConfig{MaxWait: 100 * time.Millisecond})
	defer k.Close()
	k.Assign(topic, partitions...)
	ctx := testCtx(t, 30*time.Second)
	var out []ConsumerRecord
	for len(out) < n {
		recs, err := k.Poll(ctx)
		if err != nil {
			t.Fatalf("Poll after %d of %d records: %v", len(out), n, err)
		}
		out = append(out, recs...)
	}
	if len(out) != n {
		t.Fatalf("consumed %d records, want %d", len(out), n)
	}
	return out
}

func TestProduceConsumeCodecsAndAcks(t *testing.T) {
	b := startBroker(t, nil)
	cl := newClient(t, b.Addr().String(), nil)
	ctx := testCtx(t, 60*time.Second)
	codecs := []batch.Codec{batch.None, batch.Gzip, batch.Snappy, batch.LZ4, batch.Zstd}
	acks := []int16{AcksAll, AcksLeader, AcksNone}
	const n = 300
	for _, codec := range codecs {
		for _, ack := range acks {
			name := fmt.Sprintf("%v-acks%d", codec, ack)
			t.Run(name, func(t *testing.T) {
				topic := "t-" + name
				if err := cl.CreateTopic(ctx, topic, 1, 1, nil); err != nil {
					t.Fatal(err)
				}
				p, err := cl.NewProducer(ProducerConfig{Partitioner: ManualPartitioner(), Acks: ack, Compression: codec, BatchSize: 4096})
				if err != nil {
					t.Fatal(err)
				}
				var mu sync.Mutex
				var got []RecordMetadata
				var errs []error
				base := time.UnixMilli(time.Now().UnixMilli())
				for i := range n {
					r := &Record{
						Topic: topic, Partition: 0,
						Key:       []byte("k" + strconv.Itoa(i)),
						Value:     bytes.Repeat([]byte{byte(i)}, 50+i%100),
						Headers:   []batch.RecordHeader{{Key: []byte("i"), Value: []byte(strconv.Itoa(i))}},
						Timestamp: base.Add(time.Duration(i) * time.Millisecond),
					}
					if i == 7 {
						r.Key, r.Value, r.Headers = nil, nil, nil // null key and value survive
					}
					err := p.Send(ctx, r, func(md RecordMetadata, err error) {
						mu.Lock()
						defer mu.Unlock()
						got = append(got, md)
						if err != nil {
							errs = append(errs, err)
						}
					})
					if err != nil {
						t.Fatal(err)
					}
				}
				if err := p.Close(ctx); err != nil {
					t.Fatal(err)
				}
				if len(errs) > 0 {
					t.Fatalf("%d callbacks failed, first: %v", len(errs), errs[0])
				}
				if len(got) != n {
					t.Fatalf("%d callbacks, want %d", len(got), n)
				}
				for i, md := range got {
					want := int64(i)
					if ack == AcksNone {
						want = -1
					}
					if md.Offset != want || md.Topic != topic || md.Partition != 0 {
						t.Fatalf("callback %d: %+v, want offset %d", i, md, want)
					}
					if !md.Timestamp.Equal(base.Add(time.Duration(i) * time.Millisecond)) {
						t.Fatalf("callback %d: timestamp %v", i, md.Timestamp)
					}
				}
				recs := consumeAll(t, cl, topic, []int32{0}, n)
				for i, r := range recs {
					if r.Offset != int64(i) {
						t.Fatalf("record %d has offset %d", i, r.Offset)
					}
					if !r.Timestamp.Equal(base.Add(time.Duration(i) * time.Millisecond)) {
						t.Fatalf("record %d: timestamp %v", i, r.Timestamp)
					}
					if i == 7 {
						if r.Key != nil || r.Value != nil || r.Headers != nil {
							t.Fatalf("record 7 should have null key and value: %+v", r)
						}
						continue
					}
					if string(r.Key) != "k"+strconv.Itoa(i) || !bytes.Equal(r.Value, bytes.Repeat([]byte{byte(i)}, 50+i%100)) {
						t.Fatalf("record %d: key %q, value %d bytes", i, r.Key, len(r.Value))
					}
					if len(r.Headers) != 1 || string(r.Headers[0].Key) != "i" || string(r.Headers[0].Value) != strconv.Itoa(i) {
						t.Fatalf("record %d headers: %+v", i, r.Headers)
					}
				}
			})
		}
	}
}

func TestKeyedRecordsLandOnKeyPartition(t *testing.T) {
	b := startBroker(t, nil)
	cl := newClient(t, b.Addr().String(), nil)
	ctx := testCtx(t, 30*time.Second)
	const parts = 6
	if err := cl.CreateTopic(ctx, "keyed", parts, 1, nil); err != nil {
		t.Fatal(err)
	}
	p, err := cl.NewProducer(ProducerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	keys := []string{"21", "foobar", "abc", "a-little-bit-long-string", "user-42", "", "x"}
	for round := range 3 {
		for _, k := range keys {
			md, err := p.SendSync(ctx, &Record{Topic: "keyed", Key: []byte(k), Value: []byte(strconv.Itoa(round))})
			if err != nil {
				t.Fatal(err)
			}
			if want := KeyPartition([]byte(k), parts); md.Partition != want {
				t.Fatalf("key %q went to partition %d, want %d", k, md.Partition, want)
			}
		}
	}
	// The default partitioner ignores Record.Partition: the key decides.
	md, err := p.SendSync(ctx, &Record{Topic: "keyed", Partition: 5, Key: []byte("foobar")})
	if want := KeyPartition([]byte("foobar"), parts); err != nil || md.Partition != want {
		t.Fatalf("default partitioner with Partition 5 set: %+v, %v; want partition %d", md, err, want)
	}

	// ManualPartitioner honours it, key or not.
	mp, err := cl.NewProducer(ProducerConfig{Partitioner: ManualPartitioner()})
	if err != nil {
		t.Fatal(err)
	}
	defer mp.Close(ctx)
	md, err = mp.SendSync(ctx, &Record{Topic: "keyed", Partition: 5, Key: []byte("foobar")})
	if err != nil || md.Partition != 5 {
		t.Fatalf("explicit partition: %+v, %v", md, err)
	}
	// And a partition that does not exist is refused at Send.
	for _, bad := range []int32{parts, -1} {
		err = mp.Send(ctx, &Record{Topic: "keyed", Partition: bad}, nil)
		if !errors.Is(err, protocol.ErrUnknownTopicOrPartition) {
			t.Fatalf("Send to partition %d of %d: %v", bad, parts, err)
		}
	}
}

func TestStickyPartitioningSpreads(t *testing.T) {
	b := startBroker(t, nil)
	cl := newClient(t, b.Addr().String(), nil)
	ctx := testCtx(t, 30*time.Second)
	const parts = 4
	if err := cl.CreateTopic(ctx, "sticky", parts, 1, nil); err != nil {
		t.Fatal(err)
	}
	// Small batches so that many go out; each unkeyed record sticks to the
	// current partition until its batch closes. The records are zero
	// Records but for topic and value: Partition 0 does not pin them.
	p, err := cl.NewProducer(ProducerConfig{BatchSize: 1024, Linger: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	count := map[int32]int{}
	var switches int
	last := int32(-1)
	for i := range 2000 {
		err := p.Send(ctx, &Record{Topic: "sticky", Value: make([]byte, 100)}, func(md RecordMetadata, err error) {
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			count[md.Partition]++
			mu.Unlock()
		})
		if err != nil {
			t.Fatal(err)
		}
		p.mu.Lock()
		cur := p.topics["sticky"].part.(*stickyKey).current
		p.mu.Unlock()
		if i > 0 && cur != last {
			switches++
		}
		last = cur
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if len(count) != parts {
		t.Fatalf("unkeyed records used partitions %v, want all %d", count, parts)
	}
	for part, c := range count {
		if c < 2000/parts/4 {
			t.Errorf("partition %d got only %d of 2000 records: %v", part, c, count)
		}
	}
	// About 2000*121/1024 ≈ 230 batches; the partition changes with each.
	if switches < 50 {
		t.Errorf("sticky partition changed only %d times", switches)
	}
	// A batch's records all sit together: consecutive offsets in one
	// partition, not one record per partition round robin.
	info, err := cl.DescribeTopic(ctx, "sticky")
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, pi := range info.Partitions {
		total += pi.HighWatermark
	}
	if total != 2000 {
		t.Fatalf("high watermarks add up to %d", total)
	}
}

func TestFlushAndCloseDeliverEverything(t *testing.T) {
	b := startBroker(t, nil)
	cl := newClient(t, b.Addr().String(), nil)
	ctx := testCtx(t, 30*time.Second)
	if err := cl.CreateTopic(ctx, "flush", 2, 1, nil); err != nil {
		t.Fatal(err)
	}
	// A linger far longer than the test: only Flush and Close send.
	p, err := cl.NewProducer(ProducerConfig{Partitioner: ManualPartitioner(), Linger: time.Hour, BatchSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	var acked atomic.Int64
	cb := func(md RecordMetadata, err error) {
		if err != nil {
			t.Error(err)
		}
		acked.Add(1)
	}
	for i := range 100 {
		if err := p.Send(ctx, &Record{Topic: "flush", Partition: int32(i % 2), Value: []byte("v")}, cb); err != nil {
			t.Fatal(err)
		}
	}
	if acked.Load() != 0 {
		t.Fatal("records acknowledged before the linger or a flush")
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if acked.Load() != 100 {
		t.Fatalf("after Flush, %d of 100 acknowledged", acked.Load())
	}
	for i := range 50 {
		if err := p.Send(ctx, &Record{Topic: "flush", Partition: int32(i % 2), Value: []byte("w")}, cb); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if acked.Load() != 150 {
		t.Fatalf("after Close, %d of 150 acknowledged", acked.Load())
	}
	if err := p.Send(ctx, &Record{Topic: "flush", Value: []byte("late")}, cb); !errors.Is(err, ErrClosed) {
		t.Fatalf("Send after Close: %v", err)
	}
	if err := p.Close(ctx); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	recs := consumeAll(t, cl, "flush", []int32{0, 1}, 150)
	if len(recs) != 150 {
		t.Fatal(len(recs))
	}
}

func TestProducerErrors(t *testing.T) {
	b := startBroker(t, func(c *broker.Config) { c.AutoCreateTopics = false })
	cl := newClient(t, b.Addr().String(), nil)
	ctx := testCtx(t, 30*time.Second)
	if err := cl.CreateTopic(ctx, "small", 1, 1, map[string]string{"max.message.bytes": "2000"}); err != nil {
		t.Fatal(err)
	}
	p, err := cl.NewProducer(ProducerConfig{MaxBlock: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)

	// Larger than MaxRequestSize: refused at Send.
	err = p.Send(ctx, &Record{Topic: "small", Value: make([]byte, 2<<20)}, nil)
	if !errors.Is(err, protocol.ErrMessageTooLarge) {
		t.Fatalf("huge record: %v", err)
	}
	// Larger than the topic's max.message.bytes: the broker refuses the
	// batch, and the callback says so; it is not retried.
	_, err = p.SendSync(ctx, &Record{Topic: "small", Value: make([]byte, 5000)})
	if !errors.Is(err, protocol.ErrMessageTooLarge) {
		t.Fatalf("record over max.message.bytes: %v", err)
	}
	// The partition's sequence has a gap now; the producer closes it and
	// goes on.
	md, err := p.SendSync(ctx, &Record{Topic: "small", Value: []byte("fits")})
	if err != nil || md.Offset != 0 {
		t.Fatalf("record after a refused one: %+v, %v", md, err)
	}
	// Unknown topic without auto-create: Send waits MaxBlock for it.
	start := time.Now()
	err = p.Send(ctx, &Record{Topic: "nope", Value: []byte("x")}, nil)
	if !errors.Is(err, protocol.ErrUnknownTopicOrPartition) || !errors.Is(err, ErrTimeout) {
		t.Fatalf("Send to a missing topic: %v", err)
	}
	if d := time.Since(start); d < 300*time.Millisecond || d > 5*time.Second {
		t.Fatalf("Send to a missing topic gave up after %v, want MaxBlock", d)
	}
	// Bad configs.
	if _, err := cl.NewProducer(ProducerConfig{MaxInFlight: 6}); err == nil {
		t.Error("MaxInFlight 6 with idempotence accepted")
	}
	if _, err := cl.NewProducer(ProducerConfig{Acks: 2}); err == nil {
		t.Error("Acks 2 accepted")
	}
	if _, err := cl.NewProducer(ProducerConfig{Compression: 9}); err == nil {
		t.Error("codec 9 accepted")
	}
}

func TestAutoCreateOnProduce(t *testing.T) {
	b := startBroker(t, func(c *broker.Config) { c.NumPartitions = 3 })
	cl := newClient(t, b.Addr().String(), nil)
	ctx := testCtx(t, 30*time.Second)
	p, err := cl.NewProducer(ProducerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	if _, err := p.SendSync(ctx, &Record{Topic: "auto", Value: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	if n, err := cl.Partitions(ctx, "auto"); err != nil || n != 3 {
		t.Fatalf("auto-created topic has %d partitions, %v", n, err)
	}
}

func TestManyProducersAndConsumers(t *testing.T) {
	b := startBroker(t, nil)
	cl := newClient(t, b.Addr().String(), nil)
	ctx := testCtx(t, 120*time.Second)
	const (
		producers = 4
		perProd   = 2000
		parts     = 4
	)
	if err := cl.CreateTopic(ctx, "busy", parts, 1, nil); err != nil {
		t.Fatal(err)
	}
	// Two consumers, each with half the partitions, read while the
	// producers write.
	type seen struct {
		mu   sync.Mutex
		recs map[int32][]ConsumerRecord
	}
	var got seen
	got.recs = map[int32][]ConsumerRecord{}
	total := producers * perProd
	var consumed atomic.Int64
	consumeCtx, stopConsumers := context.WithCancel(ctx)
	defer stopConsumers()
	var cwg sync.WaitGroup
	for c := range 2 {
		k := cl.NewConsumer(ConsumerConfig{MaxWait: 50 * time.Millisecond})
		k.Assign("busy", int32(c), int32(c+2))
		cwg.Add(1)
		go func() {
			defer cwg.Done()
			defer k.Close()
			for consumed.Load() < int64(total) {
				recs, err := k.Poll(consumeCtx)
				if err != nil {
					if consumeCtx.Err() == nil {
						t.Errorf("Poll: %v", err)
					}
					return
				}
				got.mu.Lock()
				for _, r := range recs {
					got.recs[r.Partition] = append(got.recs[r.Partition], r)
				}
				got.mu.Unlock()
				consumed.Add(int64(len(recs)))
			}
		}()
	}
	var pwg sync.WaitGroup
	for pi := range producers {
		pwg.Add(1)
		go func() {
			defer pwg.Done()
			p, err := cl.NewProducer(ProducerConfig{})
			if err != nil {
				t.Error(err)
				return
			}
			for i := range perProd {
				key := []byte(fmt.Sprintf("p%d-%d", pi, i%37))
				val := []byte(fmt.Sprintf("%d/%d", pi, i))
				err := p.Send(ctx, &Record{Topic: "busy", Key: key, Value: val}, func(md RecordMetadata, err error) {
					if err != nil {
						t.Errorf("produce: %v", err)
					}
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
			if err := p.Close(ctx); err != nil {
				t.Error(err)
			}
		}()
	}
	pwg.Wait()
	waitFor(t, 60*time.Second, "consumers to read every record", func() bool { return consumed.Load() >= int64(total) })
	stopConsumers()
	cwg.Wait()

	// Every record exactly once; per partition in offset order, and each
	// producer's records of one key in the order sent.
	seenVals := map[string]bool{}
	for part, recs := range got.recs {
		lastPerKey := map[string]int{}
		for i, r := range recs {
			if r.Offset != int64(i) {
				t.Fatalf("partition %d: record %d has offset %d", part, i, r.Offset)
			}
			if want := KeyPartition(r.Key, parts); want != part {
				t.Fatalf("key %q in partition %d, want %d", r.Key, part, want)
			}
			v := string(r.Value)
			if seenVals[v] {
				t.Fatalf("record %q consumed twice", v)
			}
			seenVals[v] = true
			var pi, n int
			fmt.Sscanf(v, "%d/%d", &pi, &n)
			if prev, ok := lastPerKey[string(r.Key)]; ok && n <= prev {
				t.Fatalf("key %q: record %d after %d", r.Key, n, prev)
			}
			lastPerKey[string(r.Key)] = n
		}
	}
	if len(seenVals) != total {
		t.Fatalf("consumed %d distinct records, want %d", len(seenVals), total)
	}
}
