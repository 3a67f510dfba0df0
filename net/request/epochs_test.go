package request_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"

	"github.com/sluicelog/sluice/engine"
	"github.com/sluicelog/sluice/net/client"
	"github.com/sluicelog/sluice/net/kafka"
	"github.com/sluicelog/sluice/net/protocol"
	"github.com/sluicelog/sluice/net/request"
	"github.com/sluicelog/sluice/net/server"
)

// epochCluster is Local with a leader epoch of its own for every
// partition (what LeaderEpoch and Metadata say), partition 1 of every
// topic led elsewhere, and while electing no leader at all: enough of a
// clustered broker for OffsetForLeaderEpoch.
type epochCluster struct {
	*request.Local
	epoch    atomic.Int32
	electing atomic.Bool
}

func (c *epochCluster) LeaderCheck(topic string, partition int32) error {
	if partition == 1 {
		return fmt.Errorf("%s-1 is led by broker 2: %w", topic, request.ErrNotLeader)
	}
	if c.electing.Load() {
		return request.ErrLeaderNotAvailable
	}
	return c.Local.LeaderCheck(topic, partition)
}

func (c *epochCluster) LeaderEpoch(topic string, partition int32) (int32, error) {
	if _, err := c.Local.LeaderEpoch(topic, partition); err != nil {
		return -1, err
	}
	return c.epoch.Load(), nil
}

func (c *epochCluster) Topic(name string) (request.Topic, error) {
	t, err := c.Local.Topic(name)
	for i := range t.Partitions {
		t.Partitions[i].LeaderEpoch = c.epoch.Load()
	}
	return t, err
}

// epochBroker is a replicated engine behind both listeners. Topic "ev"
// has three partitions: 0 holds offsets 0-1 written at leader epoch 1 and
// 2-4 at epoch 3, with the high watermark left at 0 (no follower has
// them); 1 is led elsewhere; 2 is empty, with no epoch history.
type epochBroker struct {
	eng           *engine.Engine
	cluster       *epochCluster
	h             *request.Handler
	native, kafka string
	p0            *engine.Partition
}

func startEpochBroker(t *testing.T) *epochBroker {
	t.Helper()
	eng, err := engine.Open(t.TempDir(), engine.Options{RetentionCheckInterval: -1, Replicated: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.CreateTopic("ev", 3, nil); err != nil {
		t.Fatal(err)
	}
	local, err := request.NewLocal(eng, request.LocalConfig{})
	if err != nil {
		t.Fatal(err)
	}
	b := &epochBroker{eng: eng, cluster: &epochCluster{Local: local}}
	b.cluster.epoch.Store(3)
	if b.p0, err = eng.Partition("ev", 0); err != nil {
		t.Fatal(err)
	}
	for _, epoch := range []int32{1, 1, 3, 3, 3} {
		b.p0.SetLeaderEpoch(epoch)
		if _, err := b.p0.Append(records(t)); err != nil {
			t.Fatal(err)
		}
	}
	b.h = request.New(eng, b.cluster, request.Config{})
	ns := server.New(eng, server.Config{Addr: "127.0.0.1:0", Handler: b.h})
	ks := kafka.New(eng, kafka.Config{Addr: "127.0.0.1:0", Handler: b.h})
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
	b.native, b.kafka = ns.Addr().String(), ks.Addr().String()
	return b
}

// epochCase is one partition of an OffsetForLeaderEpoch request and what
// Kafka's leader would answer.
type epochCase struct {
	topic          string
	partition      int32
	current, asked int32
	code           request.Code
	endEpoch       int32
	endOffset      int64
}

// epochCases run against epochBroker, whose partitions are at epoch 3.
var epochCases = []epochCase{
	{"ev", 0, -1, 3, request.None, 3, 5}, // the latest epoch ends at the log end, past the high watermark
	{"ev", 0, 3, 3, request.None, 3, 5},
	{"ev", 0, 3, 1, request.None, 1, 2}, // ends where epoch 3 starts
	{"ev", 0, 3, 2, request.None, 1, 2}, // never led: the epoch before it, and its end
	{"ev", 0, 3, 0, request.None, 0, 0}, // older than all: where the history starts
	{"ev", 0, -1, 4, request.None, -1, -1},
	{"ev", 0, -1, -1, request.None, -1, -1},
	{"ev", 0, 2, 3, request.FencedLeaderEpoch, -1, -1},
	{"ev", 0, 4, 3, request.UnknownLeaderEpoch, -1, -1},
	{"ev", 1, -1, 3, request.NotLeaderOrFollower, -1, -1},
	{"ev", 2, 3, 0, request.None, -1, -1}, // no history
	{"ev", 7, -1, 0, request.UnknownTopicOrPartition, -1, -1},
	{"ev", -1, -1, 0, request.UnknownTopicOrPartition, -1, -1},
	{"nope", 0, -1, 0, request.UnknownTopicOrPartition, -1, -1},
}

func (c epochCase) String() string {
	return fmt.Sprintf("%s-%d current %d asked %d", c.topic, c.partition, c.current, c.asked)
}

// TestOffsetForLeaderEpochHandler: the request layer answers each
// partition as Kafka's leader does, and a request whose context ended
// answers nothing but REQUEST_TIMED_OUT.
func TestOffsetForLeaderEpochHandler(t *testing.T) {
	b := startEpochBroker(t)
	if hw := b.p0.HighWatermark(); hw != 0 {
		t.Fatalf("high watermark %d, want 0 (nothing replicated)", hw)
	}
	if got := b.p0.EpochHistory(); !slices.Equal(got, [][2]int64{{1, 0}, {3, 2}}) {
		t.Fatalf("epoch history %v", got)
	}
	r := request.OffsetForLeaderEpoch{ReplicaID: -1}
	for _, c := range epochCases {
		r.Partitions = append(r.Partitions, request.EpochPartition{Topic: c.topic, Partition: c.partition,
			CurrentLeaderEpoch: c.current, LeaderEpoch: c.asked})
	}
	b.h.OffsetForLeaderEpoch(context.Background(), &r)
	for i, c := range epochCases {
		p := r.Partitions[i]
		if request.CodeOf(p.Err) != c.code || p.EndEpoch != c.endEpoch || p.EndOffset != c.endOffset {
			t.Errorf("%v: %v (%v) epoch %d end %d, want %v epoch %d end %d", c, request.CodeOf(p.Err), p.Err,
				p.EndEpoch, p.EndOffset, c.code, c.endEpoch, c.endOffset)
		}
	}
	// A follower (replica id 2) gets the same answers.
	r.ReplicaID = 2
	b.h.OffsetForLeaderEpoch(context.Background(), &r)
	if p := r.Partitions[0]; p.Err != nil || p.EndEpoch != 3 || p.EndOffset != 5 {
		t.Fatalf("follower: %+v", p)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	b.h.OffsetForLeaderEpoch(ctx, &r)
	for _, p := range r.Partitions {
		if request.CodeOf(p.Err) != request.RequestTimedOut || p.EndEpoch != -1 || p.EndOffset != -1 {
			t.Fatalf("ended context: %+v", p)
		}
	}
}

// TestOffsetForLeaderEpochListeners: both listeners give the request
// layer's answers, the Kafka one at every version (v0 answers carry no
// epoch; before v2 the client's current epoch is not sent, so nothing is
// fenced), and both list the API in ApiVersions.
func TestOffsetForLeaderEpochListeners(t *testing.T) {
	b := startEpochBroker(t)

	t.Run("native", func(t *testing.T) {
		req := &protocol.OffsetForLeaderEpochRequest{ReplicaID: -1}
		for _, c := range epochCases {
			req.Topics = append(req.Topics, protocol.OffsetForLeaderEpochRequestTopic{Name: c.topic,
				Partitions: []protocol.OffsetForLeaderEpochRequestPartition{{Partition: c.partition, CurrentLeaderEpoch: c.current, LeaderEpoch: c.asked}}})
		}
		var resp protocol.OffsetForLeaderEpochResponse
		nativeCall(t, b.native, req, &resp)
		if resp.ErrorCode != protocol.NoError || len(resp.Topics) != len(epochCases) {
			t.Fatalf("response: %+v", resp)
		}
		for i, c := range epochCases {
			rt := resp.Topics[i]
			if rt.Name != c.topic || len(rt.Partitions) != 1 {
				t.Fatalf("%v: topic %+v", c, rt)
			}
			p := rt.Partitions[0]
			if p.Partition != c.partition || int16(p.ErrorCode) != int16(c.code) || p.LeaderEpoch != c.endEpoch || p.EndOffset != c.endOffset {
				t.Errorf("%v: %+v", c, p)
			}
		}
		var av protocol.APIVersionsResponse
		nativeCall(t, b.native, &protocol.APIVersionsRequest{}, &av)
		if !slices.Contains(av.APIKeys, protocol.APIVersionsResponseKey{APIKey: protocol.OffsetForLeaderEpoch}) {
			t.Fatalf("ApiVersions: %+v", av.APIKeys)
		}
	})

	for v := int16(0); v <= 4; v++ {
		t.Run(fmt.Sprintf("kafka v%d", v), func(t *testing.T) {
			vs := kversion.Stable()
			vs.SetMaxKeyVersion(int16(kmsg.OffsetForLeaderEpoch), v)
			cl := newKgo(t, b.kafka, kgo.MaxVersions(vs))
			req := kmsg.NewPtrOffsetForLeaderEpochRequest()
			req.ReplicaID = -1
			for _, c := range epochCases {
				rt := kmsg.NewOffsetForLeaderEpochRequestTopic()
				rt.Topic = c.topic
				rp := kmsg.NewOffsetForLeaderEpochRequestTopicPartition()
				rp.Partition, rp.CurrentLeaderEpoch, rp.LeaderEpoch = c.partition, c.current, c.asked
				rt.Partitions = append(rt.Partitions, rp)
				req.Topics = append(req.Topics, rt)
			}
			resp := kafkaCall(t, cl, req).(*kmsg.OffsetForLeaderEpochResponse)
			if resp.Version != v || len(resp.Topics) != len(epochCases) {
				t.Fatalf("v%d response: %+v", resp.Version, resp)
			}
			for i, c := range epochCases {
				if v < 2 && (c.code == request.FencedLeaderEpoch || c.code == request.UnknownLeaderEpoch) {
					// The current epoch is not sent: epoch 3 is answered unchecked.
					c.code, c.endEpoch, c.endOffset = request.None, 3, 5
				}
				if v == 0 {
					c.endEpoch = -1
				}
				rt := resp.Topics[i]
				if rt.Topic != c.topic || len(rt.Partitions) != 1 {
					t.Fatalf("%v: topic %+v", c, rt)
				}
				p := rt.Partitions[0]
				if p.Partition != c.partition || p.ErrorCode != int16(c.code) || p.LeaderEpoch != c.endEpoch || p.EndOffset != c.endOffset {
					t.Errorf("%v: %+v", c, p)
				}
			}
		})
	}

	t.Run("kafka ApiVersions", func(t *testing.T) {
		resp := kafkaCall(t, newKgo(t, b.kafka), kmsg.NewPtrApiVersionsRequest()).(*kmsg.ApiVersionsResponse)
		i := slices.IndexFunc(resp.ApiKeys, func(k kmsg.ApiVersionsResponseApiKey) bool { return k.ApiKey == 23 })
		if i < 0 || resp.ApiKeys[i].MinVersion != 0 || resp.ApiKeys[i].MaxVersion != 4 {
			t.Fatalf("ApiVersions: %+v", resp.ApiKeys)
		}
	})
}

// TestOffsetForLeaderEpochClients: franz-go's admin helper and the
// native client ask the leader, and name the refusals as such.
func TestOffsetForLeaderEpochClients(t *testing.T) {
	b := startEpochBroker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	t.Run("kadm", func(t *testing.T) {
		var req kadm.OffsetForLeaderEpochRequest
		req.Add("ev", 0, 2)
		req.Add("ev", 2, 0)
		res, err := kadm.NewClient(newKgo(t, b.kafka)).OffsetForLeaderEpoch(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if got := res["ev"][0]; got.Err != nil || got.LeaderEpoch != 1 || got.EndOffset != 2 {
			t.Fatalf("ev-0 epoch 2: %+v", got)
		}
		if got := res["ev"][2]; got.Err != nil || got.LeaderEpoch != -1 || got.EndOffset != -1 {
			t.Fatalf("ev-2: %+v", got)
		}
	})

	t.Run("native client", func(t *testing.T) {
		cl, err := client.New(ctx, client.Config{BootstrapServers: []string{b.native}, RequestTimeout: 2 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		for _, c := range []struct {
			topic          string
			partition      int32
			current, asked int32
			want           error
			endEpoch       int32
			endOffset      int64
		}{
			{"ev", 0, 3, 3, nil, 3, 5},
			{"ev", 0, -1, 2, nil, 1, 2},
			{"ev", 2, -1, 3, nil, -1, -1},
			{"ev", 0, 1, 3, protocol.ErrFencedLeaderEpoch, -1, -1},
			{"ev", 0, 9, 3, protocol.ErrUnknownLeaderEpoch, -1, -1},
			{"ev", 1, -1, 3, protocol.ErrNotLeaderOrFollower, -1, -1}, // after looking again until RequestTimeout
			{"ev", 3, -1, 3, protocol.ErrUnknownTopicOrPartition, -1, -1},
			{"nope", 0, -1, 3, protocol.ErrUnknownTopicOrPartition, -1, -1},
		} {
			start := time.Now()
			epoch, end, err := cl.OffsetForLeaderEpoch(ctx, c.topic, c.partition, c.current, c.asked)
			if (c.want == nil) != (err == nil) || (c.want != nil && !errors.Is(err, c.want)) || epoch != c.endEpoch || end != c.endOffset {
				t.Errorf("%s-%d current %d asked %d: epoch %d end %d err %v, want %d %d %v",
					c.topic, c.partition, c.current, c.asked, epoch, end, err, c.endEpoch, c.endOffset, c.want)
			}
			if took := time.Since(start); c.want != protocol.ErrNotLeaderOrFollower && took > time.Second {
				t.Errorf("%s-%d: %v to answer %v", c.topic, c.partition, took, err)
			}
		}
	})
}

// TestConsumerDetectsTruncation: a franz-go consumer that read a leader's
// log up to offset 5 at epoch 3 learns, when the leader changes to epoch 5
// with a log cut back to offset 2, that offsets 2-4 are gone
// (OffsetForLeaderEpoch answers epoch 1 ending at 2): it reports
// ErrDataLoss, resets to 2 and reads the new leader's record there.
func TestConsumerDetectsTruncation(t *testing.T) {
	b := startEpochBroker(t)
	b.p0.SetHighWatermark(5)
	cl := newKgo(t, b.kafka, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{"ev": {0: kgo.NewOffset().AtStart()}}),
		kgo.MetadataMinAge(10*time.Millisecond), kgo.MetadataMaxAge(50*time.Millisecond),
		kgo.RetryBackoffFn(func(int) time.Duration { return 10 * time.Millisecond }))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	var read []*kgo.Record
	for len(read) < 5 {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("read %d of 5 records: %v", len(read), err)
		}
		for _, e := range fs.Errors() {
			t.Fatalf("fetch error: %v", e.Err)
		}
		read = append(read, fs.Records()...)
	}
	if last := read[len(read)-1]; last.Offset != 4 || last.LeaderEpoch != 3 {
		t.Fatalf("last record read: offset %d epoch %d", last.Offset, last.LeaderEpoch)
	}

	// A leader election, during which the partition has no leader; the
	// new leader (epoch 5) never had offsets 2-4.
	b.cluster.electing.Store(true)
	if err := b.p0.TruncateTo(2); err != nil {
		t.Fatal(err)
	}
	b.p0.SetLeaderEpoch(5)
	if _, err := b.p0.Append(records(t)); err != nil {
		t.Fatal(err)
	}
	b.p0.SetHighWatermark(3)
	b.cluster.epoch.Store(5)
	b.cluster.electing.Store(false)
	if e, end := b.p0.EndOffsetForEpoch(3); e != 1 || end != 2 {
		t.Fatalf("epoch 3 after the cut: epoch %d ends at %d", e, end)
	}

	var loss *kgo.ErrDataLoss
	for {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("no data loss reported and no record at offset 2: %v", err)
		}
		for _, e := range fs.Errors() {
			if !errors.As(e.Err, &loss) {
				t.Fatalf("fetch error: %v", e.Err)
			}
			if loss.ConsumedTo != 5 || loss.ConsumedToEpoch != 3 || loss.ResetTo != 2 || loss.ResetToEpoch != 1 {
				t.Fatalf("data loss: %+v", loss)
			}
		}
		if recs := fs.Records(); len(recs) > 0 {
			if loss == nil || recs[0].Offset != 2 || recs[0].LeaderEpoch != 5 {
				t.Fatalf("after the cut: offset %d epoch %d, data loss %v", recs[0].Offset, recs[0].LeaderEpoch, loss)
			}
			return
		}
	}
}
