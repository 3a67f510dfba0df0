package schemareg_test

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicelog/sluice/net/client/serde"
	"github.com/sluicelog/sluice/net/schemareg/regclient"
)

type orderV1 struct {
	ID int64 `avro:"id"`
}

type orderV2 struct {
	ID  int64 `avro:"id"`
	Qty int32 `avro:"qty"`
}

const (
	orderV1Schema = `{"type":"record","name":"Order","namespace":"shop","fields":[{"name":"id","type":"long"}]}`
	// v2 adds a field with a default: FULL (BACKWARD and FORWARD).
	orderV2Schema = `{"type":"record","name":"Order","namespace":"shop","fields":[{"name":"id","type":"long"},{"name":"qty","type":"int","default":1}]}`
)

// TestAvroRoundTrip: a producer writes v1 records in Confluent's wire
// format through the broker's Kafka listener, the schema evolves to v2
// under FORWARD, more records are written; a consumer reading as v2 gets
// both (v1's records with qty's default), and an old consumer reading as
// v1 reads v2's records (qty ignored).
func TestAvroRoundTrip(t *testing.T) {
	b, url := startRegistry(t, "")
	reg, err := regclient.New(regclient.Config{URLs: []string{url}})
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	kc, err := kgo.NewClient(kgo.SeedBrokers(b.KafkaAddr().String()), kgo.AllowAutoTopicCreation())
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	const topic = "orders"
	subject := serde.ValueSubject(topic)
	if _, err := reg.SetCompatibilityLevel(ctx, subject, "FORWARD"); err != nil {
		t.Fatal(err)
	}
	produce := func(schema string, values ...any) {
		t.Helper()
		ser, err := serde.NewAvroSerializer(serde.AvroSerializerConfig{Registry: reg, Subject: subject, Schema: schema, AutoRegister: true})
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range values {
			b, err := ser.Serialize(v)
			if err != nil {
				t.Fatal(err)
			}
			if err := kc.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: b}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
	}
	produce(orderV1Schema, orderV1{ID: 1}, &orderV1{ID: 2})
	produce(orderV2Schema, orderV2{ID: 3, Qty: 7}, map[string]any{"id": int64(4), "qty": int32(9)})

	consume := func(reader string, each func(d *serde.AvroDeserializer, value []byte)) {
		t.Helper()
		d, err := serde.NewAvroDeserializer(serde.AvroDeserializerConfig{Registry: reg, Schema: reader})
		if err != nil {
			t.Fatal(err)
		}
		cc, err := kgo.NewClient(kgo.SeedBrokers(b.KafkaAddr().String()), kgo.ConsumeTopics(topic),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
		if err != nil {
			t.Fatal(err)
		}
		defer cc.Close()
		for n := 0; n < 4; {
			fs := cc.PollFetches(ctx)
			if err := ctx.Err(); err != nil {
				t.Fatalf("read %d of 4 records: %v", n, err)
			}
			fs.EachRecord(func(r *kgo.Record) {
				each(d, r.Value)
				n++
			})
		}
	}
	var asV2 []orderV2
	consume(orderV2Schema, func(d *serde.AvroDeserializer, value []byte) {
		var o orderV2
		if err := d.Deserialize(value, &o); err != nil {
			t.Fatal(err)
		}
		asV2 = append(asV2, o)
	})
	if want := []orderV2{{1, 1}, {2, 1}, {3, 7}, {4, 9}}; !equalOrders(asV2, want) {
		t.Fatalf("read as v2: %+v, want %+v", asV2, want)
	}
	var asV1 []orderV1
	consume(orderV1Schema, func(d *serde.AvroDeserializer, value []byte) {
		var o orderV1
		if err := d.Deserialize(value, &o); err != nil {
			t.Fatal(err)
		}
		asV1 = append(asV1, o)
	})
	if len(asV1) != 4 || asV1[2].ID != 3 || asV1[3].ID != 4 {
		t.Fatalf("read as v1: %+v", asV1)
	}
	// A generic consumer reads each record as it was written.
	consume("", func(d *serde.AvroDeserializer, value []byte) {
		var m map[string]any
		if err := d.Deserialize(value, &m); err != nil || m["id"] == nil {
			t.Fatalf("generic read: %v %v", m, err)
		}
	})
}

func equalOrders(a, b []orderV2) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
