package quorum

import (
	"bytes"
	"errors"
	"net"
	"strings"
	"testing"
	"time"
)

func TestHelloRoundTrip(t *testing.T) {
	h := hello{Kind: kindCall, NodeID: 3, ClusterID: "abc", Voters: "1@a:1,3@b:2"}
	b, err := h.append(nil)
	if err != nil {
		t.Fatal(err)
	}
	r := bytes.NewReader(append(b, "raft bytes"...))
	got, err := readHello(r)
	if err != nil || got != h {
		t.Fatalf("readHello = %+v, %v; want %+v", got, err, h)
	}
	if r.Len() != len("raft bytes") {
		t.Fatalf("readHello read %d bytes past the hello", len("raft bytes")-r.Len())
	}
	for _, bad := range [][]byte{
		[]byte("GET / HTTP/1.1\r\n"),
		append([]byte("SLQR\x02"), b[5:]...),     // another version
		append([]byte("SLQR\x01\x09"), b[6:]...), // unknown kind
		b[:len(b)-1],
	} {
		if _, err := readHello(bytes.NewReader(bad)); !errors.Is(err, ErrBadHandshake) {
			t.Errorf("readHello(%q) = %v, want ErrBadHandshake", bad, err)
		}
	}
	if _, err := (&hello{ClusterID: strings.Repeat("x", maxClusterIDLen+1)}).append(nil); err == nil {
		t.Error("an over-long cluster id encoded")
	}
}

// TestStrangerRefused: something that is not a quorum peer (a Kafka client
// on the wrong port, say) gets a reply saying why and is disconnected, and
// the node keeps serving.
func TestStrangerRefused(t *testing.T) {
	c := newCluster(t, 1, nil)
	c.leader()
	conn, err := net.Dial("tcp", c.voters[0].Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Write([]byte("\x00\x00\x00\x14\x00\x12\x00\x04....kafka....")); err != nil {
		t.Fatal(err)
	}
	code, msg, err := readReply(conn)
	if err != nil || code != replyBadHello || !strings.Contains(msg, "magic") {
		t.Fatalf("reply = %d %q %v", code, msg, err)
	}
	propose(t, c.nodes[0], "still serving")
}

func TestAlive(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	if !alive(client) {
		t.Fatal("an open idle connection is not alive")
	}
	if !aliveByDeadline(client) {
		t.Fatal("an open idle connection is not alive (deadline check)")
	}
	server.Close()
	waitFor(t, 5*time.Second, "the peer's close to be seen", func() bool { return !alive(client) })
	if aliveByDeadline(client) {
		t.Fatal("a closed connection is alive (deadline check)")
	}
}
