package engine_test

import (
	"fmt"
	"io"
	"log"
	"os"

	"github.com/sluicelog/sluice/engine"
	"github.com/sluicelog/sluice/segment/batch"
)

// Example shows the embedded engine end to end: open a data directory,
// create a topic, append a batch built record by record, read it back.
func Example() {
	dir, _ := os.MkdirTemp("", "sluice-example")
	defer os.RemoveAll(dir)

	e, err := engine.Open(dir, engine.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer e.Close()

	if err := e.CreateTopic("events", 3, map[string]string{"retention.ms": "86400000"}); err != nil {
		log.Fatal(err)
	}
	p, err := e.Partition("events", 0)
	if err != nil {
		log.Fatal(err)
	}

	// Records go into a Kafka v2 batch; the builder reuses its buffers.
	b := batch.NewBuilder(batch.LZ4)
	b.Append(1764072000000, []byte("user-1"), []byte("signed up"), nil)
	b.Append(1764072000500, []byte("user-1"), []byte("logged in"), nil)
	records, err := b.Build()
	if err != nil {
		log.Fatal(err)
	}
	res, err := p.Append(records)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("appended offsets", res.BaseOffset, "to", res.LastOffset)

	// Read returns whole batches from the offset on; Reader decodes them.
	buf, err := p.ReadBytes(nil, 0, 1<<20)
	if err != nil {
		log.Fatal(err)
	}
	var rd batch.Reader
	if _, err := rd.Reset(buf); err != nil {
		log.Fatal(err)
	}
	for {
		r, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("offset %d key %s value %s\n", r.Offset, r.Key, r.Value)
	}
	// Output:
	// appended offsets 0 to 1
	// offset 0 key user-1 value signed up
	// offset 1 key user-1 value logged in
}

// ExamplePartition_ListOffset finds offsets by time, as Kafka's ListOffsets
// does.
func ExamplePartition_ListOffset() {
	dir, _ := os.MkdirTemp("", "sluice-example")
	defer os.RemoveAll(dir)
	e, _ := engine.Open(dir, engine.Options{})
	defer e.Close()
	e.CreateTopic("clicks", 1, nil)
	p, _ := e.Partition("clicks", 0)

	b := batch.NewBuilder(batch.None)
	for i := int64(0); i < 5; i++ {
		b.Append(1000+i*100, nil, []byte("click"), nil)
	}
	records, _ := b.Build()
	p.Append(records)

	earliest, _ := p.ListOffset(engine.Earliest)
	latest, _ := p.ListOffset(engine.Latest)
	at, _ := p.ListOffset(1250) // first record at or after t=1250
	fmt.Println(earliest, latest, at)
	// Output: 0 5 3
}

// ExampleEngine_DescribeTopic lists a topic's partitions and a config.
func ExampleEngine_DescribeTopic() {
	dir, _ := os.MkdirTemp("", "sluice-example")
	defer os.RemoveAll(dir)
	e, _ := engine.Open(dir, engine.Options{})
	defer e.Close()
	e.CreateTopic("orders", 2, map[string]string{"segment.bytes": "104857600"})

	d, _ := e.DescribeTopic("orders")
	for _, p := range d.Partitions {
		fmt.Println("partition", p.ID, "log end", p.LogEndOffset)
	}
	for _, c := range d.Configs {
		if c.Name == "segment.bytes" {
			fmt.Println(c.Name, c.Value, c.Source)
		}
	}
	// Output:
	// partition 0 log end 0
	// partition 1 log end 0
	// segment.bytes 104857600 topic
}
