package broker_test

import (
	"net"
	"testing"
	"time"

	"github.com/sluicelog/sluice/net/broker"
	"github.com/sluicelog/sluice/net/internal/sockbuf"
)

// peerSocketBuffers returns the SO_SNDBUF and SO_RCVBUF of the broker's
// end of the connection c; ok is false while the broker has not accepted
// c yet.
func peerSocketBuffers(t *testing.T, c net.Conn) (send, recv int, ok bool) {
	t.Helper()
	socks, err := sockbuf.OfPeer(c.LocalAddr().String())
	if err != nil {
		t.Skipf("reading this process's sockets: %v", err)
	}
	if len(socks) == 0 {
		return 0, 0, false
	}
	return socks[0].Send, socks[0].Receive, true
}

// TestSocketBufferProperties: socket.send.buffer.bytes and
// socket.receive.buffer.bytes size the sockets of both listeners'
// connections (Linux reports twice the size set).
func TestSocketBufferProperties(t *testing.T) {
	b := broker.StartTest(t, func(c *broker.Config) {
		if err := c.ApplyProperties(map[string]string{"socket.send.buffer.bytes": "102400", "socket.receive.buffer.bytes": "90112"}); err != nil {
			t.Fatal(err)
		}
	})
	wantSend, wantRecv := 2*102400, 2*90112
	for name, addr := range map[string]net.Addr{"native": b.Addr(), "kafka": b.KafkaAddr()} {
		c, err := net.Dial("tcp", addr.String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		// The broker sizes a socket just after accepting it: wait for
		// the sizes, up to a deadline.
		var send, recv int
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
			var ok bool
			if send, recv, ok = peerSocketBuffers(t, c); ok && send == wantSend && recv == wantRecv {
				break
			}
		}
		if send != wantSend || recv != wantRecv {
			t.Errorf("%s listener: SO_SNDBUF %d, SO_RCVBUF %d; want %d and %d", name, send, recv, wantSend, wantRecv)
		}
	}
}

// TestSocketBuffersDefault: by default the broker leaves the buffers to
// the OS (which autotunes them): its end of a new connection has the
// sizes of a socket nobody sized, here one this test accepts itself.
func TestSocketBuffersDefault(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	plain, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	accepted, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer accepted.Close()
	wantSend, wantRecv, ok := peerSocketBuffers(t, plain)
	if !ok {
		t.Fatal("the test's own accepted socket was not found")
	}

	b := broker.StartTest(t, nil)
	c, err := net.Dial("tcp", b.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var send, recv int
	ok = false
	for deadline := time.Now().Add(10 * time.Second); !ok && time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		send, recv, ok = peerSocketBuffers(t, c)
	}
	if !ok {
		t.Fatal("the broker's end of the connection was not found")
	}
	if send != wantSend || recv != wantRecv {
		t.Errorf("SO_SNDBUF %d, SO_RCVBUF %d; want the OS's defaults %d and %d", send, recv, wantSend, wantRecv)
	}
}
