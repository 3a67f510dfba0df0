package kafka_test

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicelog/sluice/net/broker"
)

// startBroker starts a broker with both listeners on 127.0.0.1:0 and
// returns it with its Kafka address.
func startBroker(t *testing.T, edit func(*broker.Config)) (*broker.Broker, string) {
	t.Helper()
	b := broker.StartTest(t, edit)
	if b.KafkaAddr() == nil {
		t.Fatal("broker has no Kafka listener")
	}
	return b, b.KafkaAddr().String()
}

// newClient returns a kgo client of addr, closed when the test ends.
func newClient(t *testing.T, addr string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func newAdmin(t *testing.T, addr string) *kadm.Client {
	t.Helper()
	return kadm.NewClient(newClient(t, addr))
}

// ctx returns a context that ends with the test, or after a generous
// bound so that a hang fails instead of blocking the suite.
func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}

// consume polls until n records arrived (or the context ends).
func consume(t *testing.T, cl *kgo.Client, n int) []*kgo.Record {
	t.Helper()
	c := ctx(t)
	var out []*kgo.Record
	for len(out) < n {
		fs := cl.PollFetches(c)
		if err := c.Err(); err != nil {
			t.Fatalf("consumed %d of %d records: %v", len(out), n, err)
		}
		for _, e := range fs.Errors() {
			t.Fatalf("fetch error: %s[%d]: %v", e.Topic, e.Partition, e.Err)
		}
		out = append(out, fs.Records()...)
	}
	if len(out) != n {
		t.Fatalf("consumed %d records, want %d", len(out), n)
	}
	return out
}

func createTopic(t *testing.T, adm *kadm.Client, name string, partitions int32, configs map[string]*string) {
	t.Helper()
	resp, err := adm.CreateTopic(ctx(t), partitions, 1, configs, name)
	if err != nil || resp.Err != nil {
		t.Fatalf("create topic %s: %v %v", name, err, resp.Err)
	}
}

// keyPartition is the partition Kafka's default partitioner (murmur2 of
// the key, as in the Java client) gives a keyed record.
func keyPartition(key []byte, partitions int32) int32 {
	return int32(kgo.StickyKeyPartitioner(nil).ForTopic("").Partition(&kgo.Record{Key: key}, int(partitions)))
}
