package kafka_test

import (
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicelog/sluice/net/client"
)

// metadataOf sends one Metadata request, at the highest version both
// sides speak (topic ids from v10), for the topics named (nil: all).
func metadataOf(t *testing.T, cl *kgo.Client, topics []kmsg.MetadataRequestTopic) *kmsg.MetadataResponse {
	t.Helper()
	req := kmsg.NewPtrMetadataRequest()
	req.Topics = topics
	resp, err := req.RequestWith(ctx(t), cl)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func byName(name string) kmsg.MetadataRequestTopic {
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = kmsg.StringPtr(name)
	return rt
}

func byID(id [16]byte) kmsg.MetadataRequestTopic {
	rt := kmsg.NewMetadataRequestTopic()
	rt.TopicID = id
	return rt
}

// shape is a topic of a Metadata answer: its name, error and partition
// ids, each led by node 0 with replicas and ISR [0].
func shape(t *testing.T, rt kmsg.MetadataResponseTopic) (string, error, []int32) {
	t.Helper()
	var ids []int32
	for _, p := range rt.Partitions {
		if p.Leader != 0 || !slices.Equal(p.Replicas, []int32{0}) || !slices.Equal(p.ISR, []int32{0}) {
			t.Fatalf("topic %v partition %d: leader %d replicas %v isr %v", rt.Topic, p.Partition, p.Leader, p.Replicas, p.ISR)
		}
		ids = append(ids, p.Partition)
	}
	name := ""
	if rt.Topic != nil {
		name = *rt.Topic
	}
	return name, kerr.ErrorForCode(rt.ErrorCode), ids
}

func seq(n int32) []int32 {
	out := make([]int32, n)
	for i := range out {
		out[i] = int32(i)
	}
	return out
}

// TestMetadataOneTopicAmongMany: asked for one topic, by name or by id,
// the Kafka listener answers with that topic alone, whole; a topic
// deleted and created again under its name is found by its new id only;
// asked for all, every topic comes with its own partition count (the
// single node shares one placement between topics, which must not leak
// one topic's count into another's).
func TestMetadataOneTopicAmongMany(t *testing.T) {
	_, addr := startBroker(t, nil)
	cl := newClient(t, addr)
	adm := newAdmin(t, addr)
	counts := map[string]int32{"m-a": 3, "m-b": 7, "m-c": 1, "m-d": 12}
	for name, n := range counts {
		createTopic(t, adm, name, n, nil)
	}

	ids := map[string][16]byte{}
	for name, n := range counts {
		resp := metadataOf(t, cl, []kmsg.MetadataRequestTopic{byName(name)})
		if len(resp.Topics) != 1 {
			t.Fatalf("asked for %s, got %d topics", name, len(resp.Topics))
		}
		got, err, parts := shape(t, resp.Topics[0])
		if got != name || err != nil || !slices.Equal(parts, seq(n)) {
			t.Fatalf("asked for %s: got %s err %v partitions %v", name, got, err, parts)
		}
		ids[name] = resp.Topics[0].TopicID
	}

	for name, n := range counts {
		resp := metadataOf(t, cl, []kmsg.MetadataRequestTopic{byID(ids[name])})
		if len(resp.Topics) != 1 {
			t.Fatalf("asked for id of %s, got %d topics", name, len(resp.Topics))
		}
		got, err, parts := shape(t, resp.Topics[0])
		if got != name || err != nil || resp.Topics[0].TopicID != ids[name] || !slices.Equal(parts, seq(n)) {
			t.Fatalf("asked for id of %s: got %q err %v partitions %v", name, got, err, parts)
		}
	}

	// Delete m-b and create it again: its old id is unknown, the new
	// one finds it with its new partition count.
	if _, err := adm.DeleteTopics(ctx(t), "m-b"); err != nil {
		t.Fatal(err)
	}
	createTopic(t, adm, "m-b", 2, nil)
	resp := metadataOf(t, cl, []kmsg.MetadataRequestTopic{byID(ids["m-b"]), byName("m-b")})
	if len(resp.Topics) != 2 {
		t.Fatalf("got %d topics, want 2", len(resp.Topics))
	}
	if _, err, parts := shape(t, resp.Topics[0]); err != kerr.UnknownTopicID || len(parts) != 0 {
		t.Fatalf("old id of m-b: err %v partitions %v, want UNKNOWN_TOPIC_ID", err, parts)
	}
	newID := resp.Topics[1].TopicID
	if newID == ids["m-b"] {
		t.Fatal("m-b kept its id across delete and create")
	}
	resp = metadataOf(t, cl, []kmsg.MetadataRequestTopic{byID(newID)})
	if got, err, parts := shape(t, resp.Topics[0]); got != "m-b" || err != nil || !slices.Equal(parts, seq(2)) {
		t.Fatalf("new id of m-b: got %q err %v partitions %v", got, err, parts)
	}
	counts["m-b"] = 2

	// An unknown name is refused alone, beside a known one.
	resp = metadataOf(t, cl, []kmsg.MetadataRequestTopic{byName("m-none"), byName("m-c")})
	if _, err, _ := shape(t, resp.Topics[0]); err != kerr.UnknownTopicOrPartition {
		t.Fatalf("unknown topic: %v", err)
	}
	if got, err, parts := shape(t, resp.Topics[1]); got != "m-c" || err != nil || !slices.Equal(parts, seq(1)) {
		t.Fatalf("m-c beside an unknown topic: got %q err %v partitions %v", got, err, parts)
	}

	resp = metadataOf(t, cl, nil)
	seen := map[string]bool{}
	for _, rt := range resp.Topics {
		name, err, parts := shape(t, rt)
		n, ours := counts[name]
		if !ours {
			continue // internal topics
		}
		if err != nil || !slices.Equal(parts, seq(n)) {
			t.Fatalf("all topics: %s err %v partitions %v, want %d", name, err, parts, n)
		}
		seen[name] = true
	}
	if len(seen) != len(counts) {
		t.Fatalf("all topics: saw %v, want %v", seen, counts)
	}
}

// TestNativeMetadataOneTopic: the native listener answers Metadata
// through the same handler: one topic asked, that topic, whole.
func TestNativeMetadataOneTopic(t *testing.T) {
	b, addr := startBroker(t, nil)
	adm := newAdmin(t, addr)
	createTopic(t, adm, "n-a", 4, nil)
	createTopic(t, adm, "n-b", 9, nil)
	c, err := client.New(ctx(t), client.Config{BootstrapServers: []string{b.Addr().String()}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for name, n := range map[string]int{"n-a": 4, "n-b": 9} {
		info, err := c.DescribeTopic(ctx(t), name)
		if err != nil {
			t.Fatal(err)
		}
		if info.Name != name || len(info.Partitions) != n {
			t.Fatalf("native describe %s: %s with %d partitions, want %d", name, info.Name, len(info.Partitions), n)
		}
		for i, p := range info.Partitions {
			if p.Partition != int32(i) || p.Leader != 0 {
				t.Fatalf("native describe %s: partition %d is %+v", name, i, p)
			}
		}
	}
}
