package kafka_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"strconv"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"
)

// TestProduceConsumeEveryCodec produces keyed records with every codec and
// consumes them back, at today's protocol versions (flexible Produce v12
// and Fetch v12) and at older ones (Kafka 2.3's: Produce v7, Fetch v11,
// Metadata v7, as librdkafka sends; and Kafka 0.11's first v2-batch
// versions). The consumer starts first, so its fetches long-poll.
func TestProduceConsumeEveryCodec(t *testing.T) {
	_, addr := startBroker(t, nil)
	adm := newAdmin(t, addr)
	codecs := map[string]kgo.CompressionCodec{
		"none": kgo.NoCompression(), "gzip": kgo.GzipCompression(), "snappy": kgo.SnappyCompression(),
		"lz4": kgo.Lz4Compression(), "zstd": kgo.ZstdCompression(),
	}
	versions := map[string]*kversion.Versions{"latest": nil, "2.3": kversion.V2_3_0(), "0.11": kversion.V0_11_0()}
	for vname, vers := range versions {
		for cname, codec := range codecs {
			if vname == "0.11" && cname == "zstd" {
				continue // zstd needs Produce v7 / Fetch v10
			}
			t.Run(vname+"/"+cname, func(t *testing.T) {
				topic := "codec-" + cname + "-" + vname
				const partitions, n = 3, 200
				createTopic(t, adm, topic, partitions, nil)
				var vopt []kgo.Opt
				if vers != nil {
					vopt = append(vopt, kgo.MaxVersions(vers))
				}
				cons := newClient(t, addr, append(vopt, kgo.ConsumeTopics(topic),
					kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))...)
				prod := newClient(t, addr, append(vopt, kgo.ProducerBatchCompression(codec), kgo.DefaultProduceTopic(topic))...)
				var recs []*kgo.Record
				for i := 0; i < n; i++ {
					recs = append(recs, &kgo.Record{
						Key:     []byte("key-" + strconv.Itoa(i%17)),
						Value:   bytes.Repeat([]byte(strconv.Itoa(i)), 20),
						Headers: []kgo.RecordHeader{{Key: "h", Value: []byte(cname)}},
					})
				}
				if err := prod.ProduceSync(ctx(t), recs...).FirstErr(); err != nil {
					t.Fatalf("produce: %v", err)
				}
				got := consume(t, cons, n)
				seen := map[string]bool{}
				for _, r := range got {
					// Kafka's default partitioner: murmur2 of the key.
					if want := keyPartition(r.Key, partitions); r.Partition != want {
						t.Fatalf("key %q in partition %d, Kafka's partitioner says %d", r.Key, r.Partition, want)
					}
					if len(r.Headers) != 1 || string(r.Headers[0].Value) != cname {
						t.Fatalf("headers %v", r.Headers)
					}
					seen[string(r.Value)] = true
				}
				for i := 0; i < n; i++ {
					if v := bytes.Repeat([]byte(strconv.Itoa(i)), 20); !seen[string(v)] {
						t.Fatalf("record %d not consumed", i)
					}
				}
			})
		}
	}
}

// TestAcksZeroAndOne produces without idempotence at acks=0 and acks=1.
func TestAcksZeroAndOne(t *testing.T) {
	_, addr := startBroker(t, nil)
	for i, acks := range []kgo.Acks{kgo.NoAck(), kgo.LeaderAck()} {
		topic := fmt.Sprintf("acks-%d", i)
		prod := newClient(t, addr, kgo.RequiredAcks(acks), kgo.DisableIdempotentWrite(), kgo.DefaultProduceTopic(topic),
			kgo.AllowAutoTopicCreation())
		const n = 50
		for i := 0; i < n; i++ {
			if err := prod.ProduceSync(ctx(t), kgo.StringRecord(strconv.Itoa(i))).FirstErr(); err != nil {
				t.Fatalf("produce: %v", err)
			}
		}
		cons := newClient(t, addr, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
		got := consume(t, cons, n)
		for i, r := range got { // one partition: in order
			if string(r.Value) != strconv.Itoa(i) || r.Offset != int64(i) {
				t.Fatalf("record %d: offset %d value %q", i, r.Offset, r.Value)
			}
		}
	}
}

// TestFetchErrors checks the partition error codes of Fetch and ListOffsets
// that clients act on.
func TestFetchErrors(t *testing.T) {
	_, addr := startBroker(t, nil)
	adm := newAdmin(t, addr)
	createTopic(t, adm, "errs", 1, nil)
	cl := newClient(t, addr)
	if err := cl.ProduceSync(ctx(t), &kgo.Record{Topic: "errs", Value: []byte("x")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	fetch := func(topic string, partition int32, offset int64) int16 {
		req := kmsg.NewPtrFetchRequest()
		req.MaxWaitMillis = 1
		rt := kmsg.NewFetchRequestTopic()
		rt.Topic = topic
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.Partition, rp.FetchOffset, rp.PartitionMaxBytes = partition, offset, 1<<20
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		resp, err := req.RequestWith(ctx(t), cl)
		if err != nil {
			t.Fatal(err)
		}
		return resp.Topics[0].Partitions[0].ErrorCode
	}
	cases := []struct {
		topic     string
		partition int32
		offset    int64
		want      *kerr.Error
	}{
		{"errs", 0, 5, kerr.OffsetOutOfRange},
		{"errs", 3, 0, kerr.UnknownTopicOrPartition},
		{"nope", 0, 0, kerr.UnknownTopicOrPartition},
	}
	for _, c := range cases {
		if got := fetch(c.topic, c.partition, c.offset); got != c.want.Code {
			t.Errorf("fetch %s[%d]@%d: code %d, want %s", c.topic, c.partition, c.offset, got, c.want.Message)
		}
	}
	if got := fetch("errs", 0, 0); got != 0 {
		t.Errorf("fetch errs[0]@0: code %d", got)
	}
}

// TestMessageMaxBytes: a batch over max.message.bytes is refused with
// MESSAGE_TOO_LARGE, and the log is untouched.
func TestMessageMaxBytes(t *testing.T) {
	_, addr := startBroker(t, nil)
	adm := newAdmin(t, addr)
	limit := "1000"
	createTopic(t, adm, "small", 1, map[string]*string{"max.message.bytes": &limit})
	cl := newClient(t, addr, kgo.DefaultProduceTopic("small"))
	big := make([]byte, 5000)
	rand.Read(big) // incompressible
	err := cl.ProduceSync(ctx(t), &kgo.Record{Value: big}).FirstErr()
	if !errors.Is(err, kerr.MessageTooLarge) {
		t.Fatalf("produce of 5000 bytes: %v, want MESSAGE_TOO_LARGE", err)
	}
	if err := cl.ProduceSync(ctx(t), &kgo.Record{Value: []byte("fits")}).FirstErr(); err != nil {
		t.Fatalf("small record after the refused one: %v", err)
	}
	end, err := adm.ListEndOffsets(ctx(t), "small")
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := end.Lookup("small", 0); o.Offset != 1 {
		t.Fatalf("end offset %d, want 1", o.Offset)
	}
}
