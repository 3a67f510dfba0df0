package client

import (
	"testing"
	"time"

	"github.com/sluicelog/sluice/net/internal/sockbuf"
)

// TestSocketBufferConfigs: ReceiveBufferBytes sizes the consumer's fetch
// connection and SendBufferBytes the producer's, and no other connection
// (Linux reports twice the size set).
func TestSocketBufferConfigs(t *testing.T) {
	b := startBroker(t, nil)
	addr := b.Addr().String()
	cl := newClient(t, addr, nil)
	ctx := testCtx(t, 30*time.Second)
	if err := cl.CreateTopic(ctx, "bufs", 1, 1, nil); err != nil {
		t.Fatal(err)
	}
	const recvSize, sendSize = 90112, 102400
	p, err := cl.NewProducer(ProducerConfig{Partitioner: ManualPartitioner(), SendBufferBytes: sendSize})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	if _, err := p.SendSync(ctx, &Record{Topic: "bufs", Partition: 0, Value: []byte("v")}); err != nil {
		t.Fatal(err)
	}
	k := cl.NewConsumer(ConsumerConfig{ReceiveBufferBytes: recvSize})
	defer k.Close()
	k.Assign("bufs", 0)
	if err := k.SeekToBeginning(ctx, "bufs", 0); err != nil {
		t.Fatal(err)
	}
	if recs, err := k.Poll(ctx); err != nil || len(recs) != 1 {
		t.Fatalf("poll: %d records, %v", len(recs), err)
	}
	var sized, fetch, produce int
	socks, err := sockbuf.OfPeer(addr)
	if err != nil {
		t.Skipf("reading this process's sockets: %v", err)
	}
	for _, s := range socks {
		switch {
		case s.Send == 2*sendSize && s.Receive != 2*recvSize:
			produce++
		case s.Receive == 2*recvSize && s.Send != 2*sendSize:
			fetch++
		case s.Send == 2*sendSize || s.Receive == 2*recvSize:
			sized++ // both sizes on one connection: a mix-up
		}
	}
	// The admin connection and any others keep the OS's sizes.
	if produce != 1 || fetch != 1 || sized != 0 || len(socks) < 3 {
		t.Errorf("connections to the broker (SO_SNDBUF, SO_RCVBUF): %v; want one with SO_SNDBUF %d (producer), one with SO_RCVBUF %d (consumer) and the rest unsized",
			socks, 2*sendSize, 2*recvSize)
	}
}
