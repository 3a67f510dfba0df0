package serde_test

import (
	"errors"
	"fmt"
	"log"

	"github.com/sluicelog/sluice/net/client"
	"github.com/sluicelog/sluice/net/client/serde"
	"github.com/sluicelog/sluice/net/schemareg/regclient"
)

// Keys and values in Kafka's layouts, appended into one reused buffer.
func Example() {
	buf := make([]byte, 0, 64)
	key := serde.AppendInt64(buf, 42)
	fmt.Printf("% x\n", key)
	v, err := serde.DecodeInt64(key)
	fmt.Println(v, err)
	_, err = serde.DecodeInt32(key)
	fmt.Println(errors.Is(err, serde.ErrLength))
	_, err = serde.DecodeString(nil) // a tombstone
	fmt.Println(errors.Is(err, serde.ErrNull))
	// Output:
	// 00 00 00 00 00 00 00 2a
	// 42 <nil>
	// true
	// true
}

type Greeting struct {
	Name string `avro:"name"`
}

func ExampleAvroSerializer() {
	reg := newTestRegistry() // a registry over HTTP, for the example
	defer reg.srv.Close()
	rc, err := regclient.New(regclient.Config{URLs: []string{reg.srv.URL}})
	if err != nil {
		log.Fatal(err)
	}
	s, err := serde.NewAvroSerializer(serde.AvroSerializerConfig{
		Registry:     rc,
		Subject:      serde.ValueSubject("greetings"),
		Schema:       `{"type":"record","name":"Greeting","fields":[{"name":"name","type":"string"}]}`,
		AutoRegister: true,
	})
	if err != nil {
		log.Fatal(err)
	}
	value, err := s.Serialize(&Greeting{Name: "ada"})
	if err != nil {
		log.Fatal(err)
	}
	// The record to send: a native client.Record, or a kgo.Record alike.
	rec := client.Record{Topic: "greetings", Key: serde.EncodeString("ada"), Value: value}
	fmt.Printf("key % x, value % x\n", rec.Key, rec.Value)
	// Output: key 61 64 61, value 00 00 00 00 01 06 61 64 61
}

// A consumer whose schema added a field with a default reads records
// written before it.
func ExampleAvroDeserializer() {
	reg := newTestRegistry()
	defer reg.srv.Close()
	rc, err := regclient.New(regclient.Config{URLs: []string{reg.srv.URL}})
	if err != nil {
		log.Fatal(err)
	}
	s, err := serde.NewAvroSerializer(serde.AvroSerializerConfig{Registry: rc, Subject: "greetings-value", AutoRegister: true,
		Schema: `{"type":"record","name":"Greeting","fields":[{"name":"name","type":"string"}]}`})
	if err != nil {
		log.Fatal(err)
	}
	old, err := s.Serialize(map[string]any{"name": "ada"})
	if err != nil {
		log.Fatal(err)
	}

	d, err := serde.NewAvroDeserializer(serde.AvroDeserializerConfig{Registry: rc,
		Schema: `{"type":"record","name":"Greeting","fields":[
			{"name":"name","type":"string"},
			{"name":"lang","type":"string","default":"en"}]}`})
	if err != nil {
		log.Fatal(err)
	}
	var g struct {
		Name string `avro:"name"`
		Lang string `avro:"lang"`
	}
	if err := d.Deserialize(old, &g); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%+v\n", g)
	err = d.Deserialize([]byte{0, 0, 0, 0, 9, 0}, &g)
	fmt.Println(errors.Is(err, serde.ErrUnknownSchema), errors.Is(err, regclient.ErrSchemaNotFound))
	// Output:
	// {Name:ada Lang:en}
	// true true
}

func ExampleParseHeader() {
	id, body, err := serde.ParseHeader([]byte{0, 0, 0, 1, 0, 6, 'a', 'd', 'a'})
	fmt.Println(id, body, err)
	_, _, err = serde.ParseHeader([]byte(`{"name":"ada"}`))
	fmt.Println(errors.Is(err, serde.ErrMagicByte))
	// Output:
	// 256 [6 97 100 97] <nil>
	// true
}
