package serde_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicelog/sluice/net/broker"
	"github.com/sluicelog/sluice/net/client"
	"github.com/sluicelog/sluice/net/client/serde"
)

// TestClients sends keys and Avro values through a broker with the native
// client and with franz-go (over the broker's Kafka listener), tombstone
// included, reads them all back with both, and decodes them: the bytes are
// the clients' Key and Value as they are.
func TestClients(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b := broker.StartTest(t, nil)
	reg := startRegistry(t)
	const topic = "users"
	ser := newSerializer(t, reg.client(t), serde.ValueSubject(topic), userV2, true)
	des := newDeserializer(t, reg.client(t), userV2)

	cl, err := client.New(ctx, client.Config{BootstrapServers: []string{b.Addr().String()}})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.CreateTopic(ctx, topic, 1, 1, nil); err != nil {
		t.Fatal(err)
	}

	// Offsets 0-2 from the native client, 3-5 from franz-go; 2 and 5 are
	// tombstones (a nil Value from a nil value).
	value := func(i int64) []byte {
		var v *UserV2
		if i%3 != 2 {
			v = &UserV2{Name: fmt.Sprint("user-", i), ID: i, Email: "e"}
		}
		b, err := ser.Serialize(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	p, err := cl.NewProducer(client.ProducerConfig{Partitioner: client.ManualPartitioner()})
	if err != nil {
		t.Fatal(err)
	}
	for i := range int64(3) {
		if _, err := p.SendSync(ctx, &client.Record{Topic: topic, Partition: 0, Key: serde.EncodeInt64(i), Value: value(i)}); err != nil {
			t.Fatal(err)
		}
	}
	p.Close(ctx)
	kc, err := kgo.NewClient(kgo.SeedBrokers(b.KafkaAddr().String()), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	for i := int64(3); i < 6; i++ {
		if err := kc.ProduceSync(ctx, &kgo.Record{Topic: topic, Partition: 0, Key: serde.EncodeInt64(i), Value: value(i)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}

	check := func(who string, offset int64, key, val []byte) {
		t.Helper()
		k, err := serde.DecodeInt64(key)
		if err != nil || k != offset {
			t.Errorf("%s offset %d: key %d, %v", who, offset, k, err)
		}
		var u UserV2
		err = des.Deserialize(val, &u)
		if offset%3 == 2 {
			if !errors.Is(err, serde.ErrNull) {
				t.Errorf("%s offset %d: tombstone read as %+v, %v", who, offset, u, err)
			}
			return
		}
		if want := (UserV2{Name: fmt.Sprint("user-", offset), ID: offset, Email: "e"}); err != nil || u != want {
			t.Errorf("%s offset %d: %+v, %v", who, offset, u, err)
		}
	}
	var seen int
	for seen < 6 {
		fs := kc.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			t.Fatal(err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			check("franz-go", r.Offset, r.Key, r.Value)
			seen++
		})
	}
	k := cl.NewConsumer(client.ConsumerConfig{MaxWait: 100 * time.Millisecond})
	defer k.Close()
	k.Assign(topic, 0)
	for k.Position(topic, 0) < 6 {
		recs, err := k.Poll(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			check("native", r.Offset, r.Key, r.Value)
		}
	}
}
