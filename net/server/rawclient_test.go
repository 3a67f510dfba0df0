package server_test

import (
	"net"
	"testing"
	"time"

	"github.com/sluicelog/sluice/net/protocol"
)

// rawClient speaks the protocol by hand, so the server is tested without
// the Go client in between.
type rawClient struct {
	t    testing.TB
	nc   net.Conn
	corr int32
	buf  []byte
}

func dial(t testing.TB, addr string) *rawClient {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return &rawClient{t: t, nc: nc}
}

// send writes a request and returns its correlation id.
func (c *rawClient) send(req protocol.Request) int32 {
	c.t.Helper()
	c.corr++
	frame := protocol.AppendRequestFrame(nil, c.corr, req)
	c.nc.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.nc.Write(frame); err != nil {
		c.t.Fatalf("write: %v", err)
	}
	return c.corr
}

// recv reads one response frame into resp and checks its correlation id.
func (c *rawClient) recv(corr int32, resp protocol.Response) {
	c.t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(20 * time.Second))
	frame, err := protocol.ReadFrame(c.nc, c.buf, 0)
	if err != nil {
		c.t.Fatalf("read response: %v", err)
	}
	c.buf = frame
	got, body, err := protocol.ParseResponseHeader(frame)
	if err != nil {
		c.t.Fatal(err)
	}
	if got != corr {
		c.t.Fatalf("correlation id %d, want %d", got, corr)
	}
	if err := resp.DecodeFrom(body); err != nil {
		c.t.Fatalf("decode %T: %v", resp, err)
	}
}

func (c *rawClient) call(req protocol.Request, resp protocol.Response) {
	c.t.Helper()
	c.recv(c.send(req), resp)
}

// closedByServer reports whether the server closed the connection (reads
// EOF or reset) within the deadline.
func (c *rawClient) closedByServer(within time.Duration) bool {
	c.nc.SetReadDeadline(time.Now().Add(within))
	var b [1]byte
	for {
		_, err := c.nc.Read(b[:])
		if err == nil {
			continue
		}
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			return false
		}
		return true
	}
}
