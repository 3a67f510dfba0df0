package kafka_test

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestOffsetForLeaderEpochSingleNode: a single node's partitions are
// never replicated and keep no leader-epoch history, so OffsetForLeaderEpoch
// answers -1/-1 without an error (Kafka's UNDEFINED_EPOCH_OFFSET, "cannot
// tell"), after checking the client's current epoch against the node's
// (always 0). A franz-go consumer, which now sees the API advertised and
// uses leader epochs, still reads everything. (Answers from a log with a
// history: net/request's epochs_test.go.)
func TestOffsetForLeaderEpochSingleNode(t *testing.T) {
	_, addr := startBroker(t, nil)
	adm := newAdmin(t, addr)
	createTopic(t, adm, "single", 2, nil)
	cl := newClient(t, addr, kgo.DefaultProduceTopic("single"))
	for i := 0; i < 4; i++ {
		if err := cl.ProduceSync(ctx(t), &kgo.Record{Value: []byte("v")}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}

	var req kadm.OffsetForLeaderEpochRequest
	req.Add("single", 0, 0)
	req.Add("single", 1, 0)
	res, err := adm.OffsetForLeaderEpoch(ctx(t), req)
	if err != nil {
		t.Fatal(err)
	}
	for p := int32(0); p < 2; p++ {
		if got := res["single"][p]; got.Err != nil || got.LeaderEpoch != -1 || got.EndOffset != -1 {
			t.Fatalf("single-%d: %+v", p, got)
		}
	}

	raw := kmsg.NewPtrOffsetForLeaderEpochRequest()
	raw.ReplicaID = -1
	for _, tc := range []struct {
		topic     string
		partition int32
		current   int32
		want      error
	}{
		{"single", 0, 0, nil},
		{"single", 0, -1, nil},
		{"single", 0, 1, kerr.UnknownLeaderEpoch},
		{"single", 7, -1, kerr.UnknownTopicOrPartition},
		{"missing", 0, -1, kerr.UnknownTopicOrPartition},
	} {
		raw.Topics = raw.Topics[:0]
		rt := kmsg.NewOffsetForLeaderEpochRequestTopic()
		rt.Topic = tc.topic
		rp := kmsg.NewOffsetForLeaderEpochRequestTopicPartition()
		rp.Partition, rp.CurrentLeaderEpoch, rp.LeaderEpoch = tc.partition, tc.current, 0
		rt.Partitions = append(rt.Partitions, rp)
		raw.Topics = append(raw.Topics, rt)
		resp, err := cl.Broker(0).Request(ctx(t), raw)
		if err != nil {
			t.Fatal(err)
		}
		r := resp.(*kmsg.OffsetForLeaderEpochResponse)
		if len(r.Topics) != 1 || len(r.Topics[0].Partitions) != 1 {
			t.Fatalf("%+v: %+v", tc, r)
		}
		p := r.Topics[0].Partitions[0]
		if err := kerr.ErrorForCode(p.ErrorCode); err != tc.want || p.LeaderEpoch != -1 || p.EndOffset != -1 {
			t.Fatalf("%+v: %+v", tc, p)
		}
	}

	consumer := newClient(t, addr, kgo.ConsumeTopics("single"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	consume(t, consumer, 4)
}
