package request_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicelog/sluice/engine"
	"github.com/sluicelog/sluice/net/client"
	"github.com/sluicelog/sluice/net/kafka"
	"github.com/sluicelog/sluice/net/protocol"
	"github.com/sluicelog/sluice/net/request"
	"github.com/sluicelog/sluice/net/server"
	"github.com/sluicelog/sluice/segment/batch"
)

// refusing is a Cluster that is Local but for the partitions it refuses:
// LeaderCheck answers them with the error given, as a clustered broker
// does for partitions another broker leads.
type refusing struct {
	*request.Local
	refuse map[string]map[int32]error
}

func (r *refusing) LeaderCheck(topic string, partition int32) error {
	if err, ok := r.refuse[topic][partition]; ok {
		return err
	}
	return r.Local.LeaderCheck(topic, partition)
}

// listeners runs both listeners over one engine and one Handler whose
// cluster refuses what refuse says; topics maps names to partition counts.
func listeners(t *testing.T, topics map[string]int32, refuse map[string]map[int32]error) (native, kafkaAddr string) {
	t.Helper()
	eng, err := engine.Open(t.TempDir(), engine.Options{RetentionCheckInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	for name, n := range topics {
		if err := eng.CreateTopic(name, n, nil); err != nil {
			t.Fatal(err)
		}
	}
	local, err := request.NewLocal(eng, request.LocalConfig{})
	if err != nil {
		t.Fatal(err)
	}
	h := request.New(eng, &refusing{Local: local, refuse: refuse}, request.Config{})
	ns := server.New(eng, server.Config{Addr: "127.0.0.1:0", Handler: h})
	ks := kafka.New(eng, kafka.Config{Addr: "127.0.0.1:0", Handler: h})
	if err := ns.Listen(); err != nil {
		t.Fatal(err)
	}
	if err := ks.Listen(); err != nil {
		t.Fatal(err)
	}
	go ns.Serve()
	go ks.Serve()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		ks.Shutdown(ctx)
		ns.Shutdown(ctx)
		eng.Close()
	})
	return ns.Addr().String(), ks.Addr().String()
}

// nativeCall sends one request over the native protocol and decodes the
// response into resp.
func nativeCall(t *testing.T, addr string, req protocol.Request, resp protocol.Response) {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := nc.Write(protocol.AppendRequestFrame(nil, 1, req)); err != nil {
		t.Fatal(err)
	}
	frame, err := protocol.ReadFrame(nc, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, body, err := protocol.ParseResponseHeader(frame)
	if err != nil {
		t.Fatal(err)
	}
	if err := resp.DecodeFrom(body); err != nil {
		t.Fatal(err)
	}
}

// kafkaCall sends one request to the Kafka listener through franz-go,
// straight to the broker (no routing by the client).
func kafkaCall(t *testing.T, cl *kgo.Client, req kmsg.Request) kmsg.Response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	resp, err := cl.SeedBrokers()[0].Request(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func newKgo(t *testing.T, addr string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func records(t *testing.T) []byte {
	t.Helper()
	b := batch.NewBuilder(batch.None)
	b.Append(time.Now().UnixMilli(), nil, []byte("v"), nil)
	out, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Clone(out)
}

// TestErrorTableBothListeners: every error of the table, met by a
// partition (through LeaderCheck), reaches a native client and a Kafka
// client as the same code, the table's. The one exception is the native
// listener's: UNKNOWN_PRODUCER_ID goes to native clients as
// OUT_OF_ORDER_SEQUENCE_NUMBER (see net/server's errorCode).
func TestErrorTableBothListeners(t *testing.T) {
	var cases []int // indexes into codeCases of the errors
	for i, c := range codeCases {
		if c.err != nil {
			cases = append(cases, i)
		}
	}
	refuse := map[int32]error{}
	for p, i := range cases {
		refuse[int32(p)] = codeCases[i].err
	}
	nativeAddr, kafkaAddr := listeners(t, map[string]int32{"errs": int32(len(cases))},
		map[string]map[int32]error{"errs": refuse})

	// Produce, partition by partition in one request, on both listeners.
	nreq := &protocol.ProduceRequest{Acks: 1, TimeoutMs: 5000, Topics: []protocol.ProduceRequestTopic{{Name: "errs"}}}
	kreq := kmsg.NewPtrProduceRequest()
	kreq.Version, kreq.Acks, kreq.TimeoutMillis = 9, 1, 5000
	kt := kmsg.NewProduceRequestTopic()
	kt.Topic = "errs"
	for p := range cases {
		recs := records(t)
		nreq.Topics[0].Partitions = append(nreq.Topics[0].Partitions, protocol.ProduceRequestPartition{Partition: int32(p), Records: recs})
		kp := kmsg.NewProduceRequestTopicPartition()
		kp.Partition, kp.Records = int32(p), bytes.Clone(recs)
		kt.Partitions = append(kt.Partitions, kp)
	}
	kreq.Topics = append(kreq.Topics, kt)
	var nresp protocol.ProduceResponse
	nativeCall(t, nativeAddr, nreq, &nresp)
	kresp := kafkaCall(t, newKgo(t, kafkaAddr), kreq).(*kmsg.ProduceResponse)

	for p, i := range cases {
		c := codeCases[i]
		n := nresp.Topics[0].Partitions[p]
		k := kresp.Topics[0].Partitions[p]
		if int16(n.ErrorCode) != int16(c.want) || k.ErrorCode != int16(c.want) {
			t.Errorf("%s: native %v, kafka %v, want %v from both", c.name, n.ErrorCode, request.Code(k.ErrorCode), c.want)
		}
		if want := c.err.Error(); n.ErrorMessage == nil || *n.ErrorMessage != want || k.ErrorMessage == nil || *k.ErrorMessage != want {
			t.Errorf("%s: messages %v and %v, want %q", c.name, n.ErrorMessage, k.ErrorMessage, want)
		}
	}
}

// TestLeaderCheckRefusal: a partition the cluster says this broker does
// not lead is refused as NOT_LEADER_OR_FOLLOWER on produce, fetch and list
// offsets, to a native client and to a franz-go client, while its sibling
// is served.
func TestLeaderCheckRefusal(t *testing.T) {
	notLeader := fmt.Errorf("partition 1 is led by broker 2: %w", request.ErrNotLeader)
	nativeAddr, kafkaAddr := listeners(t, map[string]int32{"orders": 2},
		map[string]map[int32]error{"orders": {1: notLeader}})

	t.Run("native", func(t *testing.T) {
		var pr protocol.ProduceResponse
		nativeCall(t, nativeAddr, &protocol.ProduceRequest{Acks: 1, TimeoutMs: 5000, Topics: []protocol.ProduceRequestTopic{{
			Name: "orders", Partitions: []protocol.ProduceRequestPartition{{Partition: 0, Records: records(t)}, {Partition: 1, Records: records(t)}}}}}, &pr)
		if got := pr.Topics[0].Partitions; got[0].ErrorCode != protocol.NoError || got[1].ErrorCode != protocol.ErrNotLeaderOrFollower {
			t.Fatalf("produce: %v, %v", got[0].ErrorCode, got[1].ErrorCode)
		}
		var fr protocol.FetchResponse
		nativeCall(t, nativeAddr, &protocol.FetchRequest{MaxBytes: 1 << 20, Topics: []protocol.FetchRequestTopic{{Name: "orders",
			Partitions: []protocol.FetchRequestPartition{{Partition: 0, PartitionMaxBytes: 1 << 20}, {Partition: 1, PartitionMaxBytes: 1 << 20}}}}}, &fr)
		if got := fr.Topics[0].Partitions; got[0].ErrorCode != protocol.NoError || len(got[0].Records) == 0 || got[1].ErrorCode != protocol.ErrNotLeaderOrFollower {
			t.Fatalf("fetch: %v (%d bytes), %v", got[0].ErrorCode, len(got[0].Records), got[1].ErrorCode)
		}
		var lr protocol.ListOffsetsResponse
		nativeCall(t, nativeAddr, &protocol.ListOffsetsRequest{Topics: []protocol.ListOffsetsRequestTopic{{Name: "orders",
			Partitions: []protocol.ListOffsetsRequestPartition{{Partition: 0, Timestamp: -1}, {Partition: 1, Timestamp: -1}}}}}, &lr)
		if got := lr.Topics[0].Partitions; got[0].ErrorCode != protocol.NoError || got[0].Offset != 1 || got[1].ErrorCode != protocol.ErrNotLeaderOrFollower {
			t.Fatalf("list offsets: %+v", got)
		}
	})

	t.Run("native client", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		cl, err := client.New(ctx, client.Config{BootstrapServers: []string{nativeAddr}})
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		p, err := cl.NewProducer(client.ProducerConfig{Partitioner: client.ManualPartitioner(), Acks: 1, Retries: -1})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close(ctx)
		if _, err := p.SendSync(ctx, &client.Record{Topic: "orders", Partition: 0, Value: []byte("ok")}); err != nil {
			t.Fatalf("partition 0: %v", err)
		}
		_, err = p.SendSync(ctx, &client.Record{Topic: "orders", Partition: 1, Value: []byte("refused")})
		if !errors.Is(err, protocol.ErrNotLeaderOrFollower) {
			t.Fatalf("partition 1: %v, want NOT_LEADER_OR_FOLLOWER", err)
		}
	})

	t.Run("kgo", func(t *testing.T) {
		cl := newKgo(t, kafkaAddr, kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.DisableIdempotentWrite(),
			kgo.RecordRetries(1), kgo.RetryBackoffFn(func(int) time.Duration { return 10 * time.Millisecond }))
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "orders", Partition: 0, Value: []byte("ok")}).FirstErr(); err != nil {
			t.Fatalf("partition 0: %v", err)
		}
		err := cl.ProduceSync(ctx, &kgo.Record{Topic: "orders", Partition: 1, Value: []byte("refused")}).FirstErr()
		if !errors.Is(err, kerr.NotLeaderForPartition) {
			t.Fatalf("partition 1: %v, want NOT_LEADER_OR_FOLLOWER", err)
		}

		fetch := kmsg.NewPtrFetchRequest()
		fetch.Version, fetch.MaxBytes, fetch.ReplicaID = 12, 1<<20, -1
		ft := kmsg.NewFetchRequestTopic()
		ft.Topic = "orders"
		for p := int32(0); p < 2; p++ {
			fp := kmsg.NewFetchRequestTopicPartition()
			fp.Partition, fp.PartitionMaxBytes = p, 1<<20
			ft.Partitions = append(ft.Partitions, fp)
		}
		fetch.Topics = append(fetch.Topics, ft)
		fr := kafkaCall(t, cl, fetch).(*kmsg.FetchResponse)
		if got := fr.Topics[0].Partitions; got[0].ErrorCode != 0 || got[1].ErrorCode != kerr.NotLeaderForPartition.Code {
			t.Fatalf("fetch: %d, %d", got[0].ErrorCode, got[1].ErrorCode)
		}

		lo := kmsg.NewPtrListOffsetsRequest()
		lo.Version, lo.ReplicaID = 4, -1
		lt := kmsg.NewListOffsetsRequestTopic()
		lt.Topic = "orders"
		for p := int32(0); p < 2; p++ {
			lp := kmsg.NewListOffsetsRequestTopicPartition()
			lp.Partition, lp.Timestamp = p, -1
			lt.Partitions = append(lt.Partitions, lp)
		}
		lo.Topics = append(lo.Topics, lt)
		lr := kafkaCall(t, cl, lo).(*kmsg.ListOffsetsResponse)
		if got := lr.Topics[0].Partitions; got[0].ErrorCode != 0 || got[1].ErrorCode != kerr.NotLeaderForPartition.Code {
			t.Fatalf("list offsets: %d, %d", got[0].ErrorCode, got[1].ErrorCode)
		}
	})
}
