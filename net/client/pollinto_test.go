package client

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"os"
	"reflect"
	"runtime"
	"runtime/debug"
	"strconv"
	"testing"
	"time"

	"github.com/sluicelog/sluice/net/broker"
	"github.com/sluicelog/sluice/segment/batch"
)

// A consumer that owns its records without allocating them anew for every
// poll passes back the slice the last PollInto returned. The records in it
// are overwritten; the values taken from them stay valid.
func ExampleConsumer_PollInto() {
	dir, err := os.MkdirTemp("", "sluice-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	cfg := broker.DefaultConfig()
	cfg.Listen, cfg.DataDir = "127.0.0.1:0", dir
	b, err := broker.Start(cfg, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	cl, err := New(ctx, Config{BootstrapServers: []string{b.Addr().String()}})
	if err != nil {
		log.Fatal(err)
	}
	defer cl.Close()
	p, err := cl.NewProducer(ProducerConfig{Partitioner: ManualPartitioner()})
	if err != nil {
		log.Fatal(err)
	}
	for i := range 5 {
		if _, err := p.SendSync(ctx, &Record{Topic: "events", Partition: 0, Value: fmt.Appendf(nil, "event %d", i)}); err != nil {
			log.Fatal(err)
		}
	}
	p.Close(ctx)

	k := cl.NewConsumer(ConsumerConfig{MaxWait: 100 * time.Millisecond})
	defer k.Close()
	k.Assign("events", 0)
	var recs []ConsumerRecord
	var values [][]byte
	for k.Position("events", 0) < 5 {
		recs, err = k.PollInto(ctx, recs)
		if err != nil {
			log.Fatal(err)
		}
		for _, r := range recs {
			values = append(values, r.Value)
		}
	}
	for _, v := range values {
		fmt.Println(string(v))
	}
	// Output:
	// event 0
	// event 1
	// event 2
	// event 3
	// event 4
}

// mixedRecord is the i-th record of the mixed workload: keys, null keys,
// null and empty values, and none, one or two headers, one with a null
// value. With keyed set every record has a key, as a compacted topic
// requires.
func mixedRecord(topic string, i int, keyed bool) *Record {
	r := &Record{Topic: topic, Partition: 0, Timestamp: time.UnixMilli(1_700_000_000_000 + int64(i))}
	switch {
	case keyed && (i%3 == 0 || i/40%4 == 1):
		// One of a few keys, overwritten again and again: compaction
		// keeps only the last of each, leaving gaps inside batches and
		// (in the runs of 40 records with no other key) whole batches
		// gone.
		r.Key = []byte("key-" + strconv.Itoa(i%13))
	case keyed:
		r.Key = []byte("unique-" + strconv.Itoa(i))
	case i%5 == 1:
		// a null key
	case i%5 == 2:
		r.Key = []byte{}
	default:
		r.Key = []byte("key-" + strconv.Itoa(i))
	}
	switch {
	case i%7 == 3:
		// a null value (a tombstone, on a compacted topic)
	case i%7 == 4:
		r.Value = []byte{}
	default:
		r.Value = bytes.Repeat([]byte{byte('a' + i%26)}, 1+i%97)
	}
	switch i % 3 {
	case 1:
		r.Headers = []batch.RecordHeader{{Key: []byte("n"), Value: []byte(strconv.Itoa(i))}}
	case 2:
		r.Headers = []batch.RecordHeader{{Key: []byte("n"), Value: []byte(strconv.Itoa(i))}, {Key: []byte("null"), Value: nil}}
	}
	return r
}

// produceMixed writes n mixed records to partition 0 of topic, in runs of
// 97 records whose batches take turns over the codecs, so that the
// partition holds compressed and uncompressed batches side by side.
func produceMixed(t *testing.T, cl *Client, topic string, n int, keyed bool) {
	t.Helper()
	ctx := testCtx(t, 60*time.Second)
	codecs := []batch.Codec{batch.None, batch.Zstd, batch.None, batch.LZ4, batch.Gzip, batch.None, batch.Snappy}
	for i, c := 0, 0; i < n; c++ {
		p, err := cl.NewProducer(ProducerConfig{Partitioner: ManualPartitioner(), BatchSize: 1024, Compression: codecs[c%len(codecs)]})
		if err != nil {
			t.Fatal(err)
		}
		for end := min(i+97, n); i < end; i++ {
			if err := p.Send(ctx, mixedRecord(topic, i, keyed), nil); err != nil {
				t.Fatal(err)
			}
		}
		if err := p.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

// readAllPoll reads partition 0 of topic up to its end (offset end) with
// Poll, and returns the records.
func readAllPoll(t *testing.T, cl *Client, topic string, end int64, cfg ConsumerConfig) []ConsumerRecord {
	t.Helper()
	ctx := testCtx(t, 60*time.Second)
	k := cl.NewConsumer(cfg)
	defer k.Close()
	k.Assign(topic, 0)
	var out []ConsumerRecord
	for k.Position(topic, 0) < end {
		recs, err := k.Poll(ctx)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, recs...)
	}
	return out
}

// readAllPollInto is readAllPoll with PollInto, passing back what each
// call returned. It keeps a shallow copy of every record and checks that
// the returned records are in dst's backing array when they fit. With
// BorrowRecords it copies each record's bytes before the next call.
func readAllPollInto(t *testing.T, cl *Client, topic string, end int64, cfg ConsumerConfig) []ConsumerRecord {
	t.Helper()
	ctx := testCtx(t, 60*time.Second)
	k := cl.NewConsumer(cfg)
	defer k.Close()
	k.Assign(topic, 0)
	var out, dst []ConsumerRecord
	calls := 0
	for k.Position(topic, 0) < end {
		recs, err := k.PollInto(ctx, dst)
		if err != nil {
			t.Fatal(err)
		}
		calls++
		if len(recs) > 0 && len(recs) <= cap(dst) && &recs[0] != &dst[:1][0] {
			t.Fatalf("call %d: %d records fit in dst (cap %d), but came in a new array", calls, len(recs), cap(dst))
		}
		for _, r := range recs {
			if cfg.BorrowRecords {
				r = deepCopy(r)
			}
			out = append(out, r)
		}
		dst = recs
	}
	if calls < 5 {
		t.Fatalf("all records came in %d calls: the fetches were too large to test PollInto across calls", calls)
	}
	return out
}

// deepCopy returns r with copies of its keys, values and headers.
func deepCopy(r ConsumerRecord) ConsumerRecord {
	clone := func(b []byte) []byte {
		if b == nil {
			return nil
		}
		return append([]byte{}, b...)
	}
	r.Key, r.Value = clone(r.Key), clone(r.Value)
	if r.Headers != nil {
		hs := make([]batch.RecordHeader, len(r.Headers))
		for i, h := range r.Headers {
			hs[i] = batch.RecordHeader{Key: clone(h.Key), Value: clone(h.Value)}
		}
		r.Headers = hs
	}
	return r
}

// sameRecords fails unless got and want hold equal records: nil and empty
// slices count as different, so nulls must stay null.
func sameRecords(t *testing.T, what string, got, want []ConsumerRecord) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d records, want %d", what, len(got), len(want))
	}
	for i := range got {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Fatalf("%s: record %d:\n got %+v\nwant %+v", what, i, got[i], want[i])
		}
	}
}

// TestPollIntoMatchesPoll reads a partition of mixed records, in batches
// of every codec side by side, with Poll and with PollInto (records owned,
// and borrowed), with fetches small enough that every call is served by
// the prefetch of the one before. PollInto returns exactly what Poll does,
// nulls and all, and the records kept from every earlier PollInto still
// hold their bytes after the last call; both match what was produced.
func TestPollIntoMatchesPoll(t *testing.T) {
	b := startBroker(t, nil)
	cl := newClient(t, b.Addr().String(), nil)
	const topic, n = "pollinto", 3000
	produceMixed(t, cl, topic, n, false)

	small := ConsumerConfig{MaxPartitionBytes: 4096}
	want := readAllPoll(t, cl, topic, n, small)
	for i, r := range want {
		w := mixedRecord(topic, i, false)
		if r.Offset != int64(i) || !reflect.DeepEqual(r.Key, w.Key) || !reflect.DeepEqual(r.Value, w.Value) ||
			!reflect.DeepEqual(r.Headers, w.Headers) || !r.Timestamp.Equal(w.Timestamp) {
			t.Fatalf("Poll: record %d is %+v; produced %+v", i, r, *w)
		}
	}
	sameRecords(t, "PollInto", readAllPollInto(t, cl, topic, n, small), want)
	borrowed := small
	borrowed.BorrowRecords = true
	sameRecords(t, "PollInto, borrowed", readAllPollInto(t, cl, topic, n, borrowed), want)
	// Larger fetches, and prefetching off, as well.
	sameRecords(t, "PollInto, 16 KiB fetches without prefetching", readAllPollInto(t, cl, topic, n, ConsumerConfig{MaxPartitionBytes: 16 << 10, NoPrefetch: true}), want)
}

// TestPollIntoCompacted does the same over a compacted log: records
// missing inside batches and whole batches gone leave gaps in the
// offsets, which PollInto and Poll skip alike.
func TestPollIntoCompacted(t *testing.T) {
	b := startBroker(t, nil)
	const topic, n = "pollinto-compacted", 3000
	if err := b.Engine.CreateTopic(topic, 1, map[string]string{"cleanup.policy": "compact", "segment.bytes": "8192"}); err != nil {
		t.Fatal(err)
	}
	cl := newClient(t, b.Addr().String(), nil)
	produceMixed(t, cl, topic, n, true)
	p, err := b.Engine.Partition(topic, 0)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := p.Clean(); err != nil || st.RecordsRemoved == 0 {
		t.Fatalf("clean: %+v %v", st, err)
	}

	small := ConsumerConfig{MaxPartitionBytes: 1024}
	want := readAllPoll(t, cl, topic, n, small)
	gaps := 0
	for i, r := range want {
		w := mixedRecord(topic, int(r.Offset), true)
		if !reflect.DeepEqual(r.Key, w.Key) || !reflect.DeepEqual(r.Value, w.Value) || !reflect.DeepEqual(r.Headers, w.Headers) {
			t.Fatalf("Poll: record at %d is %+v; produced %+v", r.Offset, r, *w)
		}
		if i > 0 && r.Offset > want[i-1].Offset+1 {
			gaps++
		}
	}
	t.Logf("%d of %d records left, with %d gaps", len(want), n, gaps)
	if len(want) >= n || gaps == 0 {
		t.Fatalf("%d of %d records with %d gaps: the log was not compacted", len(want), n, gaps)
	}
	sameRecords(t, "PollInto", readAllPollInto(t, cl, topic, n, small), want)
	borrowed := small
	borrowed.BorrowRecords = true
	sameRecords(t, "PollInto, borrowed", readAllPollInto(t, cl, topic, n, borrowed), want)
}

// TestPollIntoClearsStaleRecords: records of dst past what a call
// returned are zeroed, so that they keep no fetched memory alive, and an
// error returns dst[:0], so that the caller keeps the array.
func TestPollIntoClearsStaleRecords(t *testing.T) {
	b := startBroker(t, nil)
	cl := newClient(t, b.Addr().String(), nil)
	const topic = "pollinto-stale"
	produceValues(t, cl, topic, 100, "none")
	ctx := testCtx(t, 30*time.Second)
	k := cl.NewConsumer(ConsumerConfig{MaxWait: 10 * time.Millisecond})
	defer k.Close()
	k.Assign(topic, 0)
	var dst []ConsumerRecord
	for len(dst) < 100 {
		recs, err := k.PollInto(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		dst = append(dst, recs...)
	}
	k.Seek(topic, 0, 98)
	recs, err := k.PollInto(ctx, dst)
	if err != nil || len(recs) != 2 {
		t.Fatalf("from 98: %d records, %v", len(recs), err)
	}
	checkRecord(t, recs[0], 98)
	checkRecord(t, recs[1], 99)
	for i, r := range dst[2:] {
		if !reflect.DeepEqual(r, ConsumerRecord{}) {
			t.Fatalf("dst[%d] is %+v after a call that returned 2 records", i+2, r)
		}
	}
	// A call that fails returns dst[:0].
	done, cancel := context.WithCancel(ctx)
	cancel()
	recs, err = k.PollInto(done, dst)
	if err == nil || len(recs) != 0 || cap(recs) != cap(dst) {
		t.Fatalf("at the end: %d records (cap %d of %d), %v", len(recs), cap(recs), cap(dst), err)
	}
}

// TestPollIntoAllocs: a PollInto that passes back the last call's slice
// allocates as often for 3,000 records as for 60, with and without
// compression: the records' bytes share memory allocated per fetch. Each
// run seeks back and reads the whole partition in one fetch (the
// in-process broker's allocations are counted too: they are per fetch as
// well). Poll, for comparison, also allocates its slice of records, once
// per call. Bytes are checked as well: PollInto allocates about what the
// fetch brings, Poll 128 bytes a record more.
func TestPollIntoAllocs(t *testing.T) {
	b := startBroker(t, nil)
	cl := newClient(t, b.Addr().String(), nil)
	ctx := testCtx(t, 60*time.Second)
	for _, codec := range []string{"none", "zstd"} {
		t.Run(codec, func(t *testing.T) {
			const few, many = 60, 3000
			for _, n := range []int{few, many} {
				produceValues(t, cl, fmt.Sprintf("allocs-%s-%d", codec, n), n, codec)
			}
			measure := func(n int, into bool) (allocs, bytes float64) {
				topic := fmt.Sprintf("allocs-%s-%d", codec, n)
				k := cl.NewConsumer(ConsumerConfig{MaxPartitionBytes: 4 << 20, MaxWait: time.Millisecond})
				defer k.Close()
				var dst []ConsumerRecord
				read := func() {
					k.Seek(topic, 0, 0)
					var err error
					if into {
						dst, err = k.PollInto(ctx, dst)
					} else {
						dst, err = k.Poll(ctx)
					}
					if err != nil || len(dst) != n {
						t.Fatalf("%d records, want %d: %v", len(dst), n, err)
					}
				}
				read() // the first fetch sizes the buffers
				const runs = 20
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				allocs = testing.AllocsPerRun(runs, read)
				runtime.ReadMemStats(&after)
				return allocs, float64(after.TotalAlloc-before.TotalAlloc) / (runs + 1) // AllocsPerRun runs once more to warm up
			}
			if codec != "none" && raceEnabled() {
				// klauspost's zstd decoder takes its tables from
				// sync.Pools, which the race detector makes drop
				// items: allocations per batch.
				t.Skip("compressed batches allocate per batch under the race detector")
			}
			fewAllocs, fewBytes := measure(few, true)
			manyAllocs, manyBytes := measure(many, true)
			t.Logf("PollInto: %.1f allocations and %.0f B for %d records, %.1f and %.0f B for %d", fewAllocs, fewBytes, few, manyAllocs, manyBytes, many)
			if manyAllocs > fewAllocs+4 {
				t.Errorf("PollInto: %.1f allocations for %d records, %.1f for %d: allocations grow with the records", manyAllocs, many, fewAllocs, few)
			}
			pollAllocs, pollBytes := measure(many, false)
			t.Logf("Poll: %.1f allocations and %.0f B for %d records", pollAllocs, pollBytes, many)
			if extra := (pollBytes - manyBytes) / many; extra < 100 {
				t.Errorf("Poll allocated %.0f B a record more than PollInto, want about 128 (the records themselves)", extra)
			}
			// What is left is the records' bytes, about 30 B a record on
			// the wire (a 12-byte value, a 2-byte key, one header), in
			// the fetch's frame or copied out of the decompressed
			// batches, and the record's header, a 48-byte RecordHeader.
			if perRecord := (manyBytes - fewBytes) / (many - few); perRecord > 100 {
				t.Errorf("PollInto allocated %.0f B a record", perRecord)
			}
		})
	}
}

// raceEnabled reports whether the test binary was built with -race.
func raceEnabled() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}
