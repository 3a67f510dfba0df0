package batch_test

// These tests hold our encoder and decoder against franz-go, an independent
// Kafka implementation: first offline through its message structs and
// codecs, then over the wire through an in-memory kfake cluster, in both
// directions and for every codec.

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicelog/sluice/segment/batch"
)

var franzCodecs = map[batch.Codec]kgo.CompressionCodec{
	batch.None:   kgo.NoCompression(),
	batch.Gzip:   kgo.GzipCompression(),
	batch.Snappy: kgo.SnappyCompression(),
	batch.LZ4:    kgo.Lz4Compression(),
	batch.Zstd:   kgo.ZstdCompression(),
}

// TestKmsgReadsOurBatches parses our batches with kmsg, decompresses them
// with kgo's decompressor and parses each record with kmsg.
func TestKmsgReadsOurBatches(t *testing.T) {
	dec := kgo.DefaultDecompressor()
	for _, codec := range allCodecs {
		recs := sampleRecords(40)
		bb := batch.NewBuilder(codec)
		bb.SetProducer(9, 2, 77)
		for _, r := range recs {
			bb.Append(r.ts, r.key, r.value, r.headers)
		}
		b, err := bb.Build()
		if err != nil {
			t.Fatal(err)
		}
		batch.SetBaseOffset(b, 1234)
		batch.SetPartitionLeaderEpoch(b, 5)
		h, err := batch.Validate(b)
		if err != nil {
			t.Fatal(err)
		}

		var kb kmsg.RecordBatch
		if err := kb.ReadFrom(b); err != nil {
			t.Fatalf("%v: kmsg: %v", codec, err)
		}
		want := kmsg.RecordBatch{
			FirstOffset: 1234, Length: int32(len(b) - 12), PartitionLeaderEpoch: 5, Magic: 2,
			CRC: int32(h.CRC), Attributes: int16(codec), LastOffsetDelta: 39,
			FirstTimestamp: h.BaseTimestamp, MaxTimestamp: h.MaxTimestamp,
			ProducerID: 9, ProducerEpoch: 2, FirstSequence: 77, NumRecords: 40,
			Records: b[batch.HeaderSize:],
		}
		if !equalKmsgBatch(kb, want) {
			t.Fatalf("%v: kmsg header\n got %+v\nwant %+v", codec, noRecords(kb), noRecords(want))
		}
		if crc := int32(crc32.Checksum(b[21:], crc32.MakeTable(crc32.Castagnoli))); kb.CRC != crc {
			t.Fatalf("%v: CRC %#x, want %#x", codec, kb.CRC, crc)
		}

		payload, err := dec.Decompress(kb.Records, kgo.CompressionCodecType(codec))
		if err != nil {
			t.Fatalf("%v: kgo cannot decompress our payload: %v", codec, err)
		}
		var got []batch.Record
		for i := range recs {
			length, n := binary.Varint(payload)
			if n <= 0 || length < 0 || int(length) > len(payload)-n {
				t.Fatalf("%v: record %d: bad length", codec, i)
			}
			var kr kmsg.Record
			if err := kr.ReadFrom(payload[:n+int(length)]); err != nil {
				t.Fatalf("%v: record %d: kmsg: %v", codec, i, err)
			}
			payload = payload[n+int(length):]
			got = append(got, fromKmsgRecord(h, kr))
		}
		if len(payload) != 0 {
			t.Fatalf("%v: %d bytes after the records", codec, len(payload))
		}
		checkRecords(t, h, got, recs)
	}
}

func fromKmsgRecord(h batch.Header, kr kmsg.Record) batch.Record {
	r := batch.Record{
		Attributes: kr.Attributes, TimestampDelta: kr.TimestampDelta64, OffsetDelta: kr.OffsetDelta,
		Offset: h.BaseOffset + int64(kr.OffsetDelta), Timestamp: h.BaseTimestamp + kr.TimestampDelta64,
		Key: kr.Key, Value: kr.Value,
	}
	for _, kh := range kr.Headers {
		r.Headers = append(r.Headers, batch.RecordHeader{Key: []byte(kh.Key), Value: kh.Value})
	}
	return r
}

func noRecords(b kmsg.RecordBatch) kmsg.RecordBatch { b.Records = nil; return b }

func equalKmsgBatch(a, b kmsg.RecordBatch) bool {
	return bytes.Equal(a.Records, b.Records) && reflect.DeepEqual(noRecords(a), noRecords(b))
}

// TestReaderReadsKmsgBatches builds batches from kmsg records, compresses
// them with kgo's compressor, and reads them with ours.
func TestReaderReadsKmsgBatches(t *testing.T) {
	for _, codec := range allCodecs {
		recs := sampleRecords(40)
		var payload []byte
		for i, r := range recs {
			kr := kmsg.Record{
				TimestampDelta64: r.ts - recs[0].ts, OffsetDelta: int32(i),
				Key: r.key, Value: r.value,
			}
			for _, rh := range r.headers {
				kr.Headers = append(kr.Headers, kmsg.Header{Key: string(rh.Key), Value: rh.Value})
			}
			kr.Length = int32(len(kr.AppendTo(nil)) - 1) // with Length 0, the prefix is one byte
			payload = kr.AppendTo(payload)
		}
		if codec != batch.None {
			comp, err := kgo.DefaultCompressor(franzCodecs[codec])
			if err != nil {
				t.Fatal(err)
			}
			var used kgo.CompressionCodecType
			payload, used = comp.Compress(new(bytes.Buffer), payload)
			if used != kgo.CompressionCodecType(codec) {
				t.Fatalf("kgo compressed with %v, want %v", used, codec)
			}
		}
		maxTS := recs[0].ts
		for _, r := range recs {
			maxTS = max(maxTS, r.ts)
		}
		kb := kmsg.RecordBatch{
			FirstOffset: 99, Length: int32(49 + len(payload)), PartitionLeaderEpoch: 3, Magic: 2,
			Attributes: int16(codec), LastOffsetDelta: 39, FirstTimestamp: recs[0].ts, MaxTimestamp: maxTS,
			ProducerID: -1, ProducerEpoch: -1, FirstSequence: -1, NumRecords: 40, Records: payload,
		}
		b := kb.AppendTo(nil)
		fixCRC(b)
		h, got, err := batch.Decode(b)
		if err != nil {
			t.Fatalf("%v: %v", codec, err)
		}
		if h.BaseOffset != 99 || h.PartitionLeaderEpoch != 3 || h.Codec() != codec || h.MaxTimestamp != maxTS {
			t.Fatalf("%v: header %+v", codec, h)
		}
		checkRecords(t, h, got, recs)
	}
}

func newCluster(t *testing.T, topics ...string) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, topics...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	for _, addr := range c.ListenAddrs() {
		if !bytes.HasPrefix([]byte(addr), []byte("127.0.0.1:")) {
			t.Fatalf("kfake listens on %s, want 127.0.0.1", addr)
		}
	}
	return c
}

func newClient(t *testing.T, c *kfake.Cluster, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(c.ListenAddrs()...)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// TestFranzProducerToReader produces with kgo, catches the batches on their
// way into kfake and reads them with our Reader.
func TestFranzProducerToReader(t *testing.T) {
	c := newCluster(t, "from-franz")
	var (
		mu      sync.Mutex
		batches [][]byte
	)
	c.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		mu.Lock()
		defer mu.Unlock()
		for _, topic := range req.(*kmsg.ProduceRequest).Topics {
			for _, p := range topic.Partitions {
				for rest := p.Records; len(rest) > 0; {
					first, r, err := batch.Split(rest)
					if err != nil {
						t.Errorf("Split of a kgo produce: %v", err)
						break
					}
					batches, rest = append(batches, bytes.Clone(first)), r
				}
			}
		}
		return nil, nil, false // observe only: kfake handles the request
	})

	for _, codec := range allCodecs {
		t.Run(codec.String(), func(t *testing.T) {
			mu.Lock()
			batches = nil
			mu.Unlock()
			cl := newClient(t, c, kgo.DefaultProduceTopic("from-franz"),
				kgo.ProducerBatchCompression(franzCodecs[codec]), kgo.ProducerLinger(50*time.Millisecond))
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()

			recs := sampleRecords(300)
			var wg sync.WaitGroup
			for _, r := range recs {
				kr := &kgo.Record{Key: r.key, Value: r.value, Timestamp: time.UnixMilli(r.ts)}
				for _, h := range r.headers {
					kr.Headers = append(kr.Headers, kgo.RecordHeader{Key: string(h.Key), Value: h.Value})
				}
				wg.Add(1)
				cl.Produce(ctx, kr, func(_ *kgo.Record, err error) {
					defer wg.Done()
					if err != nil {
						t.Errorf("produce: %v", err)
					}
				})
			}
			wg.Wait()

			mu.Lock()
			got := slices.Clone(batches)
			mu.Unlock()
			var (
				decoded []batch.Record
				codecs  = map[batch.Codec]int{}
				r       batch.Reader
			)
			for _, b := range got {
				h, err := r.Reset(b)
				if err != nil {
					t.Fatalf("Reset of a kgo batch: %v", err)
				}
				if h.ProducerID < 0 {
					t.Errorf("kgo's idempotent producer sent producer ID %d", h.ProducerID)
				}
				codecs[h.Codec()]++
				for {
					rec, err := r.Next()
					if err != nil {
						if err != io.EOF {
							t.Fatalf("Next: %v", err)
						}
						break
					}
					c := *rec
					c.Key, c.Value = slices.Clone(rec.Key), slices.Clone(rec.Value)
					c.Headers = nil
					for _, hdr := range rec.Headers {
						c.Headers = append(c.Headers, batch.RecordHeader{Key: slices.Clone(hdr.Key), Value: slices.Clone(hdr.Value)})
					}
					// Offsets restart in every batch; checkRecords
					// wants them counted across the run.
					c.Offset, c.OffsetDelta = int64(len(decoded)), int32(len(decoded))
					decoded = append(decoded, c)
				}
			}
			if codecs[codec] == 0 {
				t.Fatalf("no batch used %v (codecs seen: %v)", codec, codecs)
			}
			checkRecords(t, batch.Header{}, decoded, recs)
			t.Logf("%d batches, codecs %v", len(got), codecs)
		})
	}
}

// TestBuilderToFranzConsumer produces our batches with raw produce requests
// and consumes them with kgo, which checks the CRC and decompresses.
func TestBuilderToFranzConsumer(t *testing.T) {
	var topics []string
	for _, codec := range allCodecs {
		topics = append(topics, "to-franz-"+codec.String())
	}
	c := newCluster(t, topics...)
	admin := newClient(t, c)

	for _, codec := range allCodecs {
		t.Run(codec.String(), func(t *testing.T) {
			// kgo stops quietly at a record it cannot parse, so a
			// broken batch shows up as records that never come.
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			topic := "to-franz-" + codec.String()
			var want []rec
			for round := range 3 {
				recs := sampleRecords(50 + round*100)
				want = append(want, recs...)
				bb := batch.NewBuilder(codec)
				for _, r := range recs {
					bb.Append(r.ts, r.key, r.value, r.headers)
				}
				b, err := bb.Build()
				if err != nil {
					t.Fatal(err)
				}
				produceRaw(ctx, t, admin, topic, b)
			}

			cl := newClient(t, c, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
			var got []batch.Record
			for len(got) < len(want) {
				fetches := cl.PollFetches(ctx)
				if err := ctx.Err(); err != nil {
					t.Fatalf("after %d of %d records: %v", len(got), len(want), err)
				}
				fetches.EachError(func(topic string, p int32, err error) {
					t.Fatalf("fetch %s/%d: %v", topic, p, err)
				})
				fetches.EachRecord(func(kr *kgo.Record) {
					r := batch.Record{Offset: kr.Offset, OffsetDelta: int32(kr.Offset),
						Timestamp: kr.Timestamp.UnixMilli(), Key: kr.Key, Value: kr.Value}
					for _, h := range kr.Headers {
						r.Headers = append(r.Headers, batch.RecordHeader{Key: []byte(h.Key), Value: h.Value})
					}
					got = append(got, r)
				})
			}
			checkRecords(t, batch.Header{}, got, want)
		})
	}
}

// produceRaw sends b as is in a produce request; kfake checks its length,
// magic, CRC, codec and counts before appending it.
func produceRaw(ctx context.Context, t *testing.T, cl *kgo.Client, topic string, b []byte) {
	t.Helper()
	// Produce v13 names topics by ID only, so look the ID up first.
	meta := kmsg.NewPtrMetadataRequest()
	mt := kmsg.NewMetadataRequestTopic()
	mt.Topic = kmsg.StringPtr(topic)
	meta.Topics = append(meta.Topics, mt)
	mresp, err := meta.RequestWith(ctx, cl)
	if err != nil || len(mresp.Topics) != 1 {
		t.Fatalf("metadata: %v", err)
	}

	req := kmsg.NewPtrProduceRequest()
	req.Acks = -1
	req.TimeoutMillis = 10000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic, rt.TopicID = topic, mresp.Topics[0].TopicID
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Partition, rp.Records = 0, b
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatalf("produce: %v", err)
	}
	for _, rt := range resp.Topics {
		for _, p := range rt.Partitions {
			if p.ErrorCode != 0 {
				msg := ""
				if p.ErrorMessage != nil {
					msg = *p.ErrorMessage
				}
				t.Fatalf("produce %s: error code %d: %s", topic, p.ErrorCode, msg)
			}
		}
	}
}

// TestFranzReadsCompactedBatches hands franz-go's fetch processing a run of
// filtered batches of every codec, with an empty batch among them and one
// at the end: it must return exactly the kept records, and move its next
// offset past the empty batches' offsets (KAFKA-5443).
func TestFranzReadsCompactedBatches(t *testing.T) {
	var f batch.Filterer
	var run []byte
	var want []batch.Record
	next := int64(0)
	add := func(codec batch.Codec, n int, keep func(*batch.Record) bool, opts batch.FilterOptions) {
		t.Helper()
		src := storedBatch(t, codec, n, false)
		batch.SetBaseOffset(src, next)
		_, all := decodeAll(t, src)
		for _, r := range all {
			if keep(&r) {
				want = append(want, r)
			}
		}
		var err error
		if run, _, err = f.Filter(run, src, keep, opts); err != nil {
			t.Fatal(err)
		}
		next += int64(n)
	}
	none := func(*batch.Record) bool { return false }
	for _, codec := range allCodecs {
		add(codec, 30, dropOdd, batch.FilterOptions{})
		add(codec, 5, none, batch.FilterOptions{KeepEmpty: true})
		add(codec, 5, none, batch.FilterOptions{}) // gone: a gap between batches
		add(codec, 9, func(r *batch.Record) bool { return r.Offset%9 == 3 }, batch.FilterOptions{})
	}
	add(batch.Zstd, 7, none, batch.FilterOptions{KeepEmpty: true})

	fp, nextOffset := kgo.ProcessFetchPartition(kgo.ProcessFetchPartitionOpts{Topic: "t"},
		&kmsg.FetchResponseTopicPartition{RecordBatches: run, HighWatermark: next}, kgo.DefaultDecompressor(), nil)
	if fp.Err != nil {
		t.Fatalf("franz-go: %v", fp.Err)
	}
	if nextOffset != next {
		t.Fatalf("franz-go's next offset %d, want %d (past the trailing empty batch)", nextOffset, next)
	}
	if len(fp.Records) != len(want) {
		t.Fatalf("franz-go read %d records, want %d", len(fp.Records), len(want))
	}
	for i, kr := range fp.Records {
		w := want[i]
		if kr.Offset != w.Offset || kr.Timestamp.UnixMilli() != w.Timestamp ||
			!bytes.Equal(kr.Key, w.Key) || !bytes.Equal(kr.Value, w.Value) || len(kr.Headers) != len(w.Headers) {
			t.Fatalf("franz-go record %d: offset %d key %q, want offset %d key %q", i, kr.Offset, kr.Key, w.Offset, w.Key)
		}
	}

	// And our own reader sees the same, batch by batch.
	var got []batch.Record
	for rest := run; len(rest) > 0; {
		one, tail, err := batch.Split(rest)
		if err != nil {
			t.Fatal(err)
		}
		_, recs := decodeAll(t, one)
		got = append(got, recs...)
		rest = tail
	}
	if len(got) != len(want) {
		t.Fatalf("Reader read %d records, want %d", len(got), len(want))
	}
	for i := range want {
		sameRecord(t, fmt.Sprintf("record %d", i), got[i], want[i])
	}
}
