package broker_test

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicelog/sluice/net/broker"
	"github.com/sluicelog/sluice/net/client"
	"github.com/sluicelog/sluice/segment/batch"
)

// TestClusterAcksAllPipelines: produces with acks=all pipelined on one
// connection to a leader whose follower is lost (and not fenced: the
// session timeout is long) are all appended while the first still waits
// for the in-sync replicas, since the wait is the connection's reply
// writer's, not its handler's; each then times out a request timeout
// after its append, together, and the answers come in request order.
// Were the wait the handler's, the second would be appended only once the
// first had timed out.
func TestClusterAcksAllPipelines(t *testing.T) {
	const topic = "pipe"
	cfgs, bs, leader, follower := startRF2Partition(t, topic)
	kill(bs[follower-1])
	bs[follower-1] = nil

	nc, err := net.Dial("tcp", bs[leader-1].KafkaAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(60 * time.Second))
	records := oneRecordBatch(t)
	const n = 5
	f := kmsg.NewRequestFormatter(kmsg.FormatterClientID("pipe"))
	var out []byte
	for i := range n {
		req := kmsg.NewPtrProduceRequest()
		req.Version, req.Acks, req.TimeoutMillis = 9, -1, 2000
		rt := kmsg.NewProduceRequestTopic()
		rt.Topic = topic
		rp := kmsg.NewProduceRequestTopicPartition()
		rp.Records = records
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		// AppendRequest sizes the frame by all of dst: one buffer each.
		out = append(out, f.AppendRequest(nil, req, int32(i+1))...)
	}
	if _, err := nc.Write(out); err != nil {
		t.Fatal(err)
	}
	frames := make(chan []byte, n)
	var answered atomic.Bool
	go func() {
		defer close(frames)
		for range n {
			var size [4]byte
			if _, err := io.ReadFull(nc, size[:]); err != nil {
				return
			}
			answered.Store(true)
			b := make([]byte, binary.BigEndian.Uint32(size[:]))
			if _, err := io.ReadFull(nc, b); err != nil {
				return
			}
			frames <- b
		}
	}()

	// Every request is in the leader's log before any is answered. (The
	// log is read before the flag, so a full log seen with no answer yet
	// was full before the first answer.)
	logFile := filepath.Join(cfgs[leader-1].DataDir, topic+"-0", "00000000000000000000.log")
	deadline := time.Now().Add(30 * time.Second)
	for {
		fi, err := os.Stat(logFile)
		early := answered.Load()
		if err == nil && fi.Size() >= int64(n*len(records)) && !early {
			break
		}
		if early {
			t.Fatalf("a request was answered before all %d were appended (log %d bytes of %d)",
				n, sizeOf(fi), n*len(records))
		}
		if time.Now().After(deadline) {
			t.Fatalf("the leader's log holds %d bytes, want %d (stat: %v)", sizeOf(fi), n*len(records), err)
		}
		time.Sleep(10 * time.Millisecond)
	}

	for i := range n {
		b, ok := <-frames
		if !ok {
			t.Fatalf("connection ended after %d responses", i)
		}
		if corr := int32(binary.BigEndian.Uint32(b)); corr != int32(i+1) {
			t.Fatalf("response %d has correlation id %d", i+1, corr)
		}
		resp := kmsg.NewPtrProduceResponse()
		resp.SetVersion(9)
		if err := resp.ReadFrom(b[5:]); err != nil { // id, empty header tags
			t.Fatal(err)
		}
		p := resp.Topics[0].Partitions[0]
		if p.ErrorCode != kerr.RequestTimedOut.Code {
			t.Fatalf("request %d: %v, want REQUEST_TIMED_OUT", i+1, kerr.ErrorForCode(p.ErrorCode))
		}
	}
}

func sizeOf(fi os.FileInfo) int64 {
	if fi == nil {
		return 0
	}
	return fi.Size()
}

func oneRecordBatch(t *testing.T) []byte {
	t.Helper()
	b := batch.NewBuilder(batch.None)
	b.Append(time.Now().UnixMilli(), []byte("k"), []byte("v"), nil)
	recs, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// startRF2Partition starts a cluster of three whose lost brokers are not
// fenced for a minute (the session timeout), and creates topic with one
// partition on two of them (min.insync.replicas 1), both in sync on every
// broker: killing the follower then leaves the leader waiting for it.
func startRF2Partition(t *testing.T, topic string) (cfgs []broker.Config, bs []*broker.Broker, leader, follower int32) {
	t.Helper()
	cfgs, err := broker.TestClusterConfigs(3, t.TempDir)
	if err != nil {
		t.Fatal(err)
	}
	for i := range cfgs {
		cfgs[i].BrokerSessionTimeout = 60 * time.Second
	}
	bs = startCluster(t, cfgs)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	eventually(t, "every broker to see three live brokers", func() bool {
		for _, b := range bs {
			if len(b.Member().Brokers("SLUICE")) != 3 {
				return false
			}
		}
		return true
	})
	admin, err := client.New(ctx, client.Config{BootstrapServers: []string{bs[0].Addr().String()}})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if err := admin.CreateTopic(ctx, topic, 1, 2, map[string]string{"min.insync.replicas": "1"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the partition led with both replicas in sync on every broker", func() bool {
		for _, b := range bs {
			top, ok := b.Member().State().Topic(topic)
			if !ok || len(top.Partitions) != 1 {
				return false
			}
			p := top.Partitions[0]
			if p.Leader < 0 || len(p.ISR) != 2 {
				return false
			}
			leader = p.Leader
			for _, r := range p.Replicas {
				if r != p.Leader {
					follower = r
				}
			}
		}
		return true
	})
	return cfgs, bs, leader, follower
}
