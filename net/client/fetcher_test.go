package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"testing"
	"time"

	"github.com/sluicelog/sluice/segment/batch"
)

// produceValues writes n records with values "<prefix><i>" and a header to
// one partition, with the given compression, and waits for them.
func produceValues(t *testing.T, cl *Client, topic string, n int, compression string) {
	t.Helper()
	ctx := testCtx(t, 30*time.Second)
	codec, err := batch.ParseCodec(compression)
	if err != nil {
		t.Fatal(err)
	}
	p, err := cl.NewProducer(ProducerConfig{Partitioner: ManualPartitioner(), BatchSize: 2048, Compression: codec})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		r := &Record{Topic: topic, Partition: 0, Key: []byte("k" + strconv.Itoa(i%7)), Value: []byte(fmt.Sprintf("value-%06d", i)),
			Headers: []batch.RecordHeader{{Key: []byte("h"), Value: []byte(strconv.Itoa(i))}}}
		if err := p.Send(ctx, r, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

func checkRecord(t *testing.T, r ConsumerRecord, want int64) {
	t.Helper()
	if r.Offset != want || string(r.Value) != fmt.Sprintf("value-%06d", want) || string(r.Key) != "k"+strconv.Itoa(int(want%7)) ||
		len(r.Headers) != 1 || string(r.Headers[0].Value) != strconv.Itoa(int(want)) {
		t.Fatalf("record at %d: offset %d key %q value %q headers %q", want, r.Offset, r.Key, r.Value, r.Headers)
	}
}

// TestBorrowRecords reads a partition with small fetches, so that every
// Poll is served by the prefetch of the one before, and checks that the
// borrowed records of each Poll are right while they are held, for
// compressed batches (copied into the arena) and uncompressed ones
// (pointing into the fetch buffer).
func TestBorrowRecords(t *testing.T) {
	b := startBroker(t, nil)
	cl := newClient(t, b.Addr().String(), nil)
	for _, codec := range []string{"none", "zstd"} {
		t.Run(codec, func(t *testing.T) {
			topic := "borrow-" + codec
			const n = 3000
			produceValues(t, cl, topic, n, codec)
			ctx := testCtx(t, 30*time.Second)
			k := cl.NewConsumer(ConsumerConfig{BorrowRecords: true, MaxPartitionBytes: 256})
			defer k.Close()
			k.Assign(topic, 0)
			var next int64
			polls := 0
			for next < n {
				recs, err := k.Poll(ctx)
				if err != nil {
					t.Fatal(err)
				}
				polls++
				for _, r := range recs {
					checkRecord(t, r, next)
					next++
				}
				// Still intact after the whole Poll was walked (a prefetch
				// into the same memory would have broken them).
				for i, r := range recs {
					checkRecord(t, r, next-int64(len(recs)-i))
				}
			}
			if polls < 10 {
				t.Fatalf("%d records came in %d polls: the fetches were not small enough to test prefetching", n, polls)
			}
			if pos := k.Position(topic, 0); pos != n {
				t.Fatalf("Position = %d, want %d", pos, n)
			}
		})
	}
}

// TestOwnedRecordsOutlivePolls: without BorrowRecords the records are the
// caller's. Kept across many Polls whose fetches reuse the same response
// buffers, every key, value and header is still intact at the end, for
// uncompressed batches (which records share a copy of) and compressed
// ones.
func TestOwnedRecordsOutlivePolls(t *testing.T) {
	b := startBroker(t, nil)
	cl := newClient(t, b.Addr().String(), nil)
	for _, codec := range []string{"none", "zstd"} {
		t.Run(codec, func(t *testing.T) {
			topic := "owned-" + codec
			const n = 3000
			produceValues(t, cl, topic, n, codec)
			ctx := testCtx(t, 30*time.Second)
			k := cl.NewConsumer(ConsumerConfig{MaxPartitionBytes: 256})
			defer k.Close()
			k.Assign(topic, 0)
			var kept []ConsumerRecord
			for len(kept) < n {
				recs, err := k.Poll(ctx)
				if err != nil {
					t.Fatal(err)
				}
				kept = append(kept, recs...)
			}
			for i, r := range kept {
				checkRecord(t, r, int64(i))
			}
		})
	}
}

// TestPollBatches reads a partition as batches from a position inside a
// batch and decodes them: every record from the position on comes exactly
// once, and From marks the ones to skip.
func TestPollBatches(t *testing.T) {
	b := startBroker(t, nil)
	cl := newClient(t, b.Addr().String(), nil)
	const n, from = 2000, 333
	produceValues(t, cl, "batches", n, "lz4")
	ctx := testCtx(t, 30*time.Second)
	k := cl.NewConsumer(ConsumerConfig{MaxPartitionBytes: 8192})
	defer k.Close()
	k.Seek("batches", 0, from)
	var r batch.Reader
	next := int64(from)
	for next < n {
		bs, err := k.PollBatches(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, fb := range bs {
			if fb.Topic != "batches" || fb.Partition != 0 || int64(len(fb.Bytes)) != fb.Header.Size() {
				t.Fatalf("batch %+v", fb.Header)
			}
			if _, err := r.Reset(fb.Bytes); err != nil {
				t.Fatal(err)
			}
			for {
				rec, err := r.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if rec.Offset < fb.From {
					continue
				}
				if rec.Offset != next || string(rec.Value) != fmt.Sprintf("value-%06d", next) {
					t.Fatalf("record %d: offset %d value %q", next, rec.Offset, rec.Value)
				}
				next++
			}
		}
	}
	if pos := k.Position("batches", 0); pos != n {
		t.Fatalf("Position = %d, want %d", pos, n)
	}
}

// TestSeekDropsPrefetch seeks back while a prefetch for the old position
// is in flight: the next Poll must return records from the new position.
func TestSeekDropsPrefetch(t *testing.T) {
	b := startBroker(t, nil)
	cl := newClient(t, b.Addr().String(), nil)
	const n = 2000
	produceValues(t, cl, "reseek", n, "none")
	ctx := testCtx(t, 30*time.Second)
	for _, borrow := range []bool{false, true} {
		k := cl.NewConsumer(ConsumerConfig{MaxPartitionBytes: 2048, BorrowRecords: borrow})
		k.Assign("reseek", 0)
		for round := range 5 {
			recs, err := k.Poll(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) == 0 {
				t.Fatal("no records")
			}
			// The Poll above sent a prefetch from past its records;
			// going back makes it stale.
			target := int64(round * 101)
			k.Seek("reseek", 0, target)
			recs, err = k.Poll(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) == 0 || recs[0].Offset != target {
				t.Fatalf("borrow=%v round %d: after Seek(%d) the first record is %+v", borrow, round, target, recs)
			}
			for i, r := range recs {
				checkRecord(t, r, target+int64(i))
			}
		}
		k.Close()
	}
}

// TestPollOwnedRecordsSurvive checks the default contract: records from
// one Poll keep their bytes after later Polls reuse the fetch buffers.
func TestPollOwnedRecordsSurvive(t *testing.T) {
	b := startBroker(t, nil)
	cl := newClient(t, b.Addr().String(), nil)
	const n = 1500
	produceValues(t, cl, "owned", n, "none")
	k := cl.NewConsumer(ConsumerConfig{MaxPartitionBytes: 2048})
	defer k.Close()
	k.Assign("owned", 0)
	all := pollUntil(t, k, n)
	for i, r := range all[:n] {
		checkRecord(t, r, int64(i))
	}
	if !bytes.Equal(all[0].Value, []byte("value-000000")) {
		t.Fatal("first record changed")
	}
}

// fetchConn is the consumer's connection to addr, or nil.
func fetchConn(k *Consumer, addr string) *conn {
	k.pool.mu.Lock()
	s := k.pool.slots[addr]
	k.pool.mu.Unlock()
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.c
}

// TestPollInterruptedKeepsConnection: a consumer's Poll reads its
// responses itself; a context that ends while it waits in a long poll
// for a response to begin leaves the connection in step and in use.
func TestPollInterruptedKeepsConnection(t *testing.T) {
	b := startBroker(t, nil)
	addr := b.Addr().String()
	cl := newClient(t, addr, nil)
	ctx := testCtx(t, 30*time.Second)
	if err := cl.CreateTopic(ctx, "interrupted", 1, 1, nil); err != nil {
		t.Fatal(err)
	}
	k := cl.NewConsumer(ConsumerConfig{MaxWait: 5 * time.Second})
	defer k.Close()
	k.Assign("interrupted", 0)
	for range 3 {
		short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		recs, err := k.Poll(short)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) || len(recs) != 0 {
			t.Fatalf("Poll of an empty partition with a short context: %d records, %v", len(recs), err)
		}
	}
	c := fetchConn(k, addr)
	if c == nil || c.broken() != nil {
		t.Fatalf("connection after interrupted polls: %v", c)
	}
	// The abandoned long polls are answered (empty) and read off before
	// the records come.
	produceValues(t, cl, "interrupted", 5, "none")
	var got []ConsumerRecord
	for len(got) < 5 {
		recs, err := k.Poll(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, recs...)
	}
	for i, r := range got {
		checkRecord(t, r, int64(i))
	}
	if fetchConn(k, addr) != c {
		t.Error("the consumer dialled again: the interrupted polls broke its connection")
	}
}

// TestSlowPollerKeepsConnection: while the application takes its time
// between Polls, the drain timer reads the responses sent ahead (so the
// broker's writes never stall on a full socket), and their waiting past
// the request timeout is not taken for a broker that stopped answering.
func TestSlowPollerKeepsConnection(t *testing.T) {
	b := startBroker(t, nil)
	addr := b.Addr().String()
	const timeout = 300 * time.Millisecond
	cl := newClient(t, addr, func(c *Config) { c.RequestTimeout = timeout })
	produceValues(t, cl, "slow", 2000, "none")
	ctx := testCtx(t, 30*time.Second)
	k := cl.NewConsumer(ConsumerConfig{MaxPartitionBytes: 1024})
	defer k.Close()
	k.Assign("slow", 0)
	recs, err := k.Poll(ctx)
	if err != nil || len(recs) == 0 {
		t.Fatalf("first Poll: %d records, %v", len(recs), err)
	}
	c := fetchConn(k, addr)
	if n := len(k.prefetched[addr]); n == 0 {
		t.Fatal("no fetch sent ahead")
	}
	waitFor(t, 10*time.Second, "the drain to read the responses sent ahead", func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return len(c.pending) == 0
	})
	next := int64(len(recs))
	for next < 2000 {
		recs, err := k.Poll(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			checkRecord(t, r, next)
			next++
		}
	}
	if fetchConn(k, addr) != c {
		t.Error("the consumer dialled again after a pause longer than the request timeout")
	}
}
